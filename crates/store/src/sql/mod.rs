//! The store's own small data layer: one SQL text for both engines, run on SQLite through
//! `rusqlite` (libsqlite3, statements executed on the calling task, no worker-thread hop) and on
//! PostgreSQL through `tokio-postgres` (a `deadpool` pool, statements prepared once per
//! connection).
//!
//! SQL is written in the dialect both engines share, with `$n` placeholders. Parameters are bound
//! with their Rust type's database type (as the previous sqlx driver declared them), so PostgreSQL
//! never has to guess a parameter's type. Rows are decoded by position into the structs declared
//! with [`row!`], and each column's name is checked against the field it fills: a `SELECT` whose
//! columns drift from its struct fails loudly, never fills the wrong field.

mod migrate;
mod postgres;
mod sqlite;

use std::borrow::Cow;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use time::OffsetDateTime;

pub(crate) use migrate::Migrations;
#[cfg(feature = "testing")]
pub(crate) use sqlite::vm_steps as sqlite_vm_steps;

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The database refused the statement.
    #[error("{message}")]
    Database { unique: bool, constraint: Option<String>, message: String },
    /// `fetch_one` found no row.
    #[error("no row returned")]
    NotFound,
    /// A stored value does not fit the type it is read as.
    #[error("column {column}: {problem}")]
    Decode { column: String, problem: String },
    /// No connection could be had (pool exhausted past its wait, server unreachable).
    #[error("database connection: {0}")]
    Connection(String),
}

impl Error {
    /// The violated constraint's name (PostgreSQL) and the engine's message, for a unique or
    /// primary-key violation.
    pub(crate) fn unique_violation(&self) -> Option<(&str, &str)> {
        match self {
            Self::Database { unique: true, constraint, message } => {
                Some((constraint.as_deref().unwrap_or(""), message))
            }
            _ => None,
        }
    }

    fn decode(column: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Decode { column: column.into(), problem: problem.into() }
    }
}

/// The database type a parameter is declared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Text,
    Bytes,
    Bool,
    Time,
}

/// One bound parameter.
#[derive(Debug)]
pub(crate) enum Value<'q> {
    Null(Kind),
    Int(i64),
    Text(Cow<'q, str>),
    Bytes(Cow<'q, [u8]>),
    Bool(bool),
    Time(OffsetDateTime),
}

impl Value<'_> {
    fn kind(&self) -> Kind {
        match self {
            Self::Null(kind) => *kind,
            Self::Int(_) => Kind::Int,
            Self::Text(_) => Kind::Text,
            Self::Bytes(_) => Kind::Bytes,
            Self::Bool(_) => Kind::Bool,
            Self::Time(_) => Kind::Time,
        }
    }
}

/// A Rust value that can be bound as a parameter.
pub(crate) trait Encode<'q> {
    const KIND: Kind;
    fn encode(self) -> Value<'q>;
}

impl<'q> Encode<'q> for i64 {
    const KIND: Kind = Kind::Int;
    fn encode(self) -> Value<'q> {
        Value::Int(self)
    }
}

impl<'q> Encode<'q> for &i64 {
    const KIND: Kind = Kind::Int;
    fn encode(self) -> Value<'q> {
        Value::Int(*self)
    }
}

impl<'q> Encode<'q> for i32 {
    const KIND: Kind = Kind::Int;
    fn encode(self) -> Value<'q> {
        Value::Int(i64::from(self))
    }
}

impl<'q> Encode<'q> for u32 {
    const KIND: Kind = Kind::Int;
    fn encode(self) -> Value<'q> {
        Value::Int(i64::from(self))
    }
}

impl<'q> Encode<'q> for bool {
    const KIND: Kind = Kind::Bool;
    fn encode(self) -> Value<'q> {
        Value::Bool(self)
    }
}

impl<'q> Encode<'q> for OffsetDateTime {
    const KIND: Kind = Kind::Time;
    fn encode(self) -> Value<'q> {
        Value::Time(self)
    }
}

impl<'q> Encode<'q> for &'q str {
    const KIND: Kind = Kind::Text;
    fn encode(self) -> Value<'q> {
        Value::Text(Cow::Borrowed(self))
    }
}

impl<'q> Encode<'q> for String {
    const KIND: Kind = Kind::Text;
    fn encode(self) -> Value<'q> {
        Value::Text(Cow::Owned(self))
    }
}

impl<'q> Encode<'q> for &'q String {
    const KIND: Kind = Kind::Text;
    fn encode(self) -> Value<'q> {
        Value::Text(Cow::Borrowed(self.as_str()))
    }
}

impl<'q> Encode<'q> for &'q [u8] {
    const KIND: Kind = Kind::Bytes;
    fn encode(self) -> Value<'q> {
        Value::Bytes(Cow::Borrowed(self))
    }
}

impl<'q> Encode<'q> for Vec<u8> {
    const KIND: Kind = Kind::Bytes;
    fn encode(self) -> Value<'q> {
        Value::Bytes(Cow::Owned(self))
    }
}

impl<'q> Encode<'q> for &'q Vec<u8> {
    const KIND: Kind = Kind::Bytes;
    fn encode(self) -> Value<'q> {
        Value::Bytes(Cow::Borrowed(self.as_slice()))
    }
}

impl<'q, T: Encode<'q>> Encode<'q> for Option<T> {
    const KIND: Kind = T::KIND;
    fn encode(self) -> Value<'q> {
        self.map_or(Value::Null(T::KIND), Encode::encode)
    }
}

impl<'q, T> Encode<'q> for &'q Option<T>
where
    &'q T: Encode<'q>,
{
    const KIND: Kind = <&'q T as Encode<'q>>::KIND;
    fn encode(self) -> Value<'q> {
        self.as_ref().map_or(Value::Null(Self::KIND), Encode::encode)
    }
}

/// A column value that can be read into a Rust type.
pub(crate) trait Column: Sized {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String>;
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String>;
}

impl<T: Column> Column for Option<T> {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        match value {
            rusqlite::types::ValueRef::Null => Ok(None),
            other => T::from_sqlite(other).map(Some),
        }
    }
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        if postgres::is_null(row, index)? { Ok(None) } else { T::from_postgres(row, index).map(Some) }
    }
}

impl Column for i64 {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        sqlite::integer(value)
    }
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        postgres::integer(row, index)
    }
}

impl Column for bool {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        sqlite::integer(value).map(|v| v != 0)
    }
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        postgres::integer(row, index).map(|v| v != 0)
    }
}

impl Column for String {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        sqlite::text(value)
    }
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        postgres::text(row, index)
    }
}

/// Implements [`Column`] for types stored as a text code (an enum's `as_str`), parsed from the
/// row's bytes without a `String` in between; an unknown code is a decode error naming it.
macro_rules! text_code_columns {
    ($($ty:ty => $parse:path),+ $(,)?) => {$(
        impl Column for $ty {
            fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
                sqlite::with_str(value, |s| $parse(s).ok_or_else(|| format!("unknown {} {s:?}", stringify!($ty))))
            }
            fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
                postgres::with_str(row, index, |s| {
                    $parse(s).ok_or_else(|| format!("unknown {} {s:?}", stringify!($ty)))
                })
            }
        }
    )+};
}

/// Implements [`Encode`] and [`Column`] for the typed ids: bound and read as the integer they wrap.
macro_rules! id_columns {
    ($($ty:ty),+ $(,)?) => {$(
        impl<'q> Encode<'q> for $ty {
            const KIND: Kind = Kind::Int;
            fn encode(self) -> Value<'q> {
                Value::Int(self.0)
            }
        }

        impl Column for $ty {
            fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
                sqlite::integer(value).map(Self)
            }
            fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
                postgres::integer(row, index).map(Self)
            }
        }
    )+};
}

id_columns!(
    domain::StaffId,
    domain::NotificationId,
    domain::PaymentId,
    domain::RefundId,
    domain::FinanceAlertId,
    domain::SmsCodeId,
    domain::StationTokenId,
    domain::PickupPointId,
);

impl<'q> Encode<'q> for app::gateway::Channel {
    const KIND: Kind = Kind::Text;
    fn encode(self) -> Value<'q> {
        Value::Text(Cow::Borrowed(self.as_str()))
    }
}

impl<'q> Encode<'q> for domain::document::DocumentKind {
    const KIND: Kind = Kind::Text;
    fn encode(self) -> Value<'q> {
        Value::Text(Cow::Borrowed(self.as_str()))
    }
}

text_code_columns!(
    app::gateway::Channel => app::gateway::Channel::parse,
    domain::document::DocumentKind => domain::document::DocumentKind::parse,
    domain::OrderStatus => domain::OrderStatus::parse,
    domain::application::SubjectKind => domain::application::SubjectKind::parse,
    domain::application::Business => domain::application::Business::parse,
    domain::pricing::Delivery => domain::pricing::Delivery::parse,
);

impl Column for Vec<u8> {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        sqlite::bytes(value)
    }
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        postgres::bytes(row, index)
    }
}

/// A time: Unix seconds in an integer column, or PostgreSQL's `timestamptz`. A value outside
/// the representable range is an error, never a made-up date.
impl Column for OffsetDateTime {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        let seconds = sqlite::integer(value)?;
        OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| format!("time out of range: {seconds}"))
    }
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        postgres::time(row, index)
    }
}

/// A row being decoded, on either engine.
pub(crate) enum RowRef<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a tokio_postgres::Row),
}

impl RowRef<'_> {
    fn column_name(&self, index: usize) -> Option<&str> {
        match self {
            Self::Sqlite(row) => row.as_ref().column_name(index).ok(),
            Self::Postgres(row) => row.columns().get(index).map(tokio_postgres::Column::name),
        }
    }

    /// The value at `index`, read as `T`.
    pub(crate) fn get<T: Column>(&self, index: usize) -> Result<T, Error> {
        let read = match self {
            Self::Sqlite(row) => row.get_ref(index).map_err(|e| e.to_string()).and_then(T::from_sqlite),
            Self::Postgres(row) => {
                if index >= row.len() {
                    Err("no such column".to_owned())
                } else {
                    T::from_postgres(row, index)
                }
            }
        };
        read.map_err(|problem| Error::decode(self.column_name(index).unwrap_or("?").to_owned(), problem))
    }
}

/// A type a whole row decodes into.
pub(crate) trait FromRow: Sized {
    /// The column names it expects, in order (checked once per statement); empty: not checked.
    const COLUMNS: &'static [&'static str] = &[];
    fn from_row(row: &RowRef<'_>) -> Result<Self, Error>;
}

/// How a fetch turns rows into values: the expected column names and the decoder.
pub(crate) struct Decoder<O> {
    columns: &'static [&'static str],
    decode: fn(&RowRef<'_>) -> Result<O, Error>,
}

impl<O> Clone for Decoder<O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<O> Copy for Decoder<O> {}

impl<O> Decoder<O> {
    /// Checks the statement's column names (as the engine reports them) against the expected.
    fn check<'n>(&self, names: impl ExactSizeIterator<Item = &'n str>) -> Result<(), Error> {
        if self.columns.is_empty() {
            return Ok(());
        }
        if names.len() != self.columns.len() {
            return Err(Error::decode(
                self.columns.join(", "),
                format!("expected {} columns, the statement has {}", self.columns.len(), names.len()),
            ));
        }
        for (index, (found, expected)) in names.zip(self.columns).enumerate() {
            if !found.eq_ignore_ascii_case(expected) {
                return Err(Error::decode(*expected, format!("expected at position {index}, found {found}")));
            }
        }
        Ok(())
    }
}

macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Column),+> FromRow for ($($t,)+) {
            fn from_row(row: &RowRef<'_>) -> Result<Self, Error> {
                Ok(($(row.get::<$t>($i)?,)+))
            }
        }
    };
}
tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// Declares a struct that a row decodes into, field by field in `SELECT` order; each column's
/// name must match its field's (checked once per statement, before the first row).
macro_rules! row {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])* $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty),* }

        impl $crate::sql::FromRow for $name {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];

            #[allow(unused_assignments)]
            fn from_row(row: &$crate::sql::RowRef<'_>) -> Result<Self, $crate::sql::Error> {
                let mut index = 0usize;
                $(
                    let $field = row.get::<$ty>(index)?;
                    index += 1;
                )*
                Ok(Self { $($field),* })
            }
        }
    };
}
pub(crate) use row;

/// What a statement changed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done {
    rows: u64,
}

impl Done {
    pub(crate) fn rows_affected(self) -> u64 {
        self.rows
    }
}

/// A connection pool on one of the two engines (cheap to clone: it is shared).
#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(sqlite::Pool),
    Postgres(postgres::Pool),
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite(_) => "Pool(SQLite)",
            Self::Postgres(_) => "Pool(PostgreSQL)",
        })
    }
}

impl Pool {
    /// Opens a pool for `sqlite://path?mode=rwc` or `postgres://…`.
    pub(crate) fn open(url: &str) -> Result<Self, Error> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            sqlite::Pool::open(rest, 8).map(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            postgres::Pool::open(url, 16).map(Self::Postgres)
        } else {
            Err(Error::Connection("database url must start with sqlite: or postgres:".into()))
        }
    }

    /// Checks that a connection can be had (PostgreSQL connects lazily).
    pub(crate) async fn check(&self) -> Result<(), Error> {
        query("SELECT 1").execute(self).await.map(|_| ())
    }

    /// Runs one or more statements of trusted SQL without parameters.
    pub(crate) async fn batch(&self, sql: &str) -> Result<(), Error> {
        match self {
            Self::Sqlite(pool) => pool.batch(sql).await,
            Self::Postgres(pool) => pool.batch(sql).await,
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`,
    /// after this process's other writers), so it never fails on upgrading a read lock.
    pub(crate) async fn begin(&self) -> Result<Tx, Error> {
        let conn = match self {
            Self::Sqlite(pool) => TxConn::Sqlite(pool.begin().await?),
            Self::Postgres(pool) => TxConn::Postgres(pool.begin().await?),
        };
        Ok(Tx { conn })
    }

    /// Closes the idle connections and stops handing out new ones (PostgreSQL) or keeping them.
    pub(crate) fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close(),
            Self::Postgres(pool) => pool.close(),
        }
    }
}

/// The connection of an open transaction.
pub(crate) enum TxConn {
    Sqlite(sqlite::TxConn),
    Postgres(postgres::TxConn),
}

/// An open transaction; rolled back when dropped without [`Tx::commit`].
pub(crate) struct Tx {
    conn: TxConn,
}

impl Tx {
    /// Runs trusted SQL without parameters inside the transaction (migrations).
    pub(crate) async fn batch(&self, sql: &str) -> Result<(), Error> {
        match &self.conn {
            TxConn::Sqlite(conn) => conn.batch(sql),
            TxConn::Postgres(conn) => conn.batch(sql).await,
        }
    }

    pub(crate) async fn commit(self) -> Result<(), Error> {
        match self.conn {
            TxConn::Sqlite(conn) => conn.commit(),
            TxConn::Postgres(conn) => conn.commit().await,
        }
    }
}

impl Deref for Tx {
    type Target = TxConn;
    fn deref(&self) -> &TxConn {
        &self.conn
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut TxConn {
        &mut self.conn
    }
}

/// Where a statement runs: on any pooled connection, or inside a transaction.
pub(crate) enum Target<'c> {
    Pool(&'c Pool),
    Tx(&'c mut TxConn),
}

impl<'c> From<&'c Pool> for Target<'c> {
    fn from(pool: &'c Pool) -> Self {
        Self::Pool(pool)
    }
}

impl<'c> From<&'c mut TxConn> for Target<'c> {
    fn from(conn: &'c mut TxConn) -> Self {
        Self::Tx(conn)
    }
}

impl<'c> From<&'c mut Tx> for Target<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        Self::Tx(&mut tx.conn)
    }
}

/// A statement and its parameters.
pub(crate) struct Query<'q> {
    sql: &'q str,
    args: Vec<Value<'q>>,
}

/// A statement whose rows decode into `O`.
pub(crate) struct QueryAs<'q, O> {
    query: Query<'q>,
    row: PhantomData<fn() -> O>,
}

/// A statement whose first column decodes into `T`.
pub(crate) struct QueryScalar<'q, T> {
    query: Query<'q>,
    value: PhantomData<fn() -> T>,
}

pub(crate) fn query(sql: &str) -> Query<'_> {
    Query { sql, args: Vec::new() }
}

pub(crate) fn query_as<O: FromRow>(sql: &str) -> QueryAs<'_, O> {
    QueryAs { query: query(sql), row: PhantomData }
}

pub(crate) fn query_scalar<T: Column>(sql: &str) -> QueryScalar<'_, T> {
    QueryScalar { query: query(sql), value: PhantomData }
}

/// How many rows a fetch keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Take {
    First,
    All,
}

impl<'q> Query<'q> {
    pub(crate) fn bind(mut self, value: impl Encode<'q>) -> Self {
        self.args.push(value.encode());
        self
    }

    pub(crate) async fn execute<'c>(self, target: impl Into<Target<'c>>) -> Result<Done, Error> {
        match target.into() {
            Target::Pool(Pool::Sqlite(pool)) => pool.execute(self.sql, &self.args).await,
            Target::Pool(Pool::Postgres(pool)) => pool.execute(self.sql, &self.args).await,
            Target::Tx(TxConn::Sqlite(conn)) => conn.execute(self.sql, &self.args),
            Target::Tx(TxConn::Postgres(conn)) => conn.execute(self.sql, &self.args).await,
        }
    }

    async fn fetch<'c, O>(
        self,
        target: impl Into<Target<'c>>,
        take: Take,
        decode: Decoder<O>,
    ) -> Result<Vec<O>, Error> {
        match target.into() {
            Target::Pool(Pool::Sqlite(pool)) => pool.fetch(self.sql, &self.args, take, decode).await,
            Target::Pool(Pool::Postgres(pool)) => pool.fetch(self.sql, &self.args, take, decode).await,
            Target::Tx(TxConn::Sqlite(conn)) => conn.fetch(self.sql, &self.args, take, decode),
            Target::Tx(TxConn::Postgres(conn)) => conn.fetch(self.sql, &self.args, take, decode).await,
        }
    }
}

impl<'q, O: FromRow> QueryAs<'q, O> {
    fn decoder() -> Decoder<O> {
        Decoder { columns: O::COLUMNS, decode: O::from_row }
    }

    pub(crate) fn bind(mut self, value: impl Encode<'q>) -> Self {
        self.query = self.query.bind(value);
        self
    }

    pub(crate) async fn fetch_all<'c>(self, target: impl Into<Target<'c>>) -> Result<Vec<O>, Error> {
        self.query.fetch(target, Take::All, Self::decoder()).await
    }

    pub(crate) async fn fetch_optional<'c>(self, target: impl Into<Target<'c>>) -> Result<Option<O>, Error> {
        Ok(self.query.fetch(target, Take::First, Self::decoder()).await?.into_iter().next())
    }

    pub(crate) async fn fetch_one<'c>(self, target: impl Into<Target<'c>>) -> Result<O, Error> {
        self.fetch_optional(target).await?.ok_or(Error::NotFound)
    }
}

fn first_column<T: Column>(row: &RowRef<'_>) -> Result<T, Error> {
    row.get(0)
}

impl<'q, T: Column> QueryScalar<'q, T> {
    pub(crate) fn bind(mut self, value: impl Encode<'q>) -> Self {
        self.query = self.query.bind(value);
        self
    }

    pub(crate) async fn fetch_all<'c>(self, target: impl Into<Target<'c>>) -> Result<Vec<T>, Error> {
        self.query.fetch(target, Take::All, Decoder { columns: &[], decode: first_column::<T> }).await
    }

    pub(crate) async fn fetch_optional<'c>(self, target: impl Into<Target<'c>>) -> Result<Option<T>, Error> {
        Ok(self
            .query
            .fetch(target, Take::First, Decoder { columns: &[], decode: first_column::<T> })
            .await?
            .into_iter()
            .next())
    }

    pub(crate) async fn fetch_one<'c>(self, target: impl Into<Target<'c>>) -> Result<T, Error> {
        self.fetch_optional(target).await?.ok_or(Error::NotFound)
    }
}

/// Whether a statement only reads (and so needs no place in the writers' queue).
fn is_read_only(sql: &str) -> bool {
    let head = sql.trim_start();
    head.get(..6).is_some_and(|w| w.eq_ignore_ascii_case("select"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::{Error, Pool, query_as, query_scalar};

    row! {
        struct Pair {
            id: i64,
            name: String,
        }
    }

    #[tokio::test]
    async fn columns_are_checked_against_fields_and_values_against_types() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::open(&format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display())).unwrap();
        let pair: Pair = query_as("SELECT 7 AS id, 'x' AS name").fetch_one(&pool).await.unwrap();
        assert_eq!((pair.id, pair.name.as_str()), (7, "x"));
        let drifted = query_as::<Pair>("SELECT 'x' AS name, 7 AS id").fetch_one(&pool).await;
        assert!(matches!(&drifted, Err(Error::Decode { column, .. }) if column == "id"), "{:?}", drifted.err());
        let short = query_as::<Pair>("SELECT 7 AS id").fetch_optional(&pool).await;
        assert!(matches!(short, Err(Error::Decode { .. })));
        let text_as_number = query_scalar::<i64>("SELECT 'seven'").fetch_one(&pool).await;
        assert!(matches!(text_as_number, Err(Error::Decode { .. })));
        let far = query_scalar::<time::OffsetDateTime>("SELECT 99999999999999").fetch_one(&pool).await;
        assert!(matches!(far, Err(Error::Decode { .. })), "a time out of range is an error, not 1970");
        let missing = query_scalar::<i64>("SELECT $1 + $2").bind(1_i64).fetch_one(&pool).await;
        assert!(matches!(missing, Err(Error::Database { .. })), "a parameter without a value is refused");
        let numbered: i64 = query_scalar("SELECT $2 - $1").bind(1_i64).bind(10_i64).fetch_one(&pool).await.unwrap();
        assert_eq!(numbered, 9, "$n binds by number, not by order of appearance");
    }
}
