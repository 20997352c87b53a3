//! PostgreSQL through `tokio-postgres` on a `deadpool` pool. Each statement is prepared once per
//! connection with its parameters' declared types; values are converted to the column types the
//! server reports, so an integer column may be `int4` or `int8` and a flag `boolean` or an integer.

use deadpool_postgres::{Manager, ManagerConfig, Object, RecyclingMethod, Runtime};
use std::error::Error as StdError;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{NoTls, Row, Statement};

use super::{Decoder, Error, Kind, RowRef, Take, Value};

type BoxError = Box<dyn StdError + Sync + Send>;

#[derive(Clone)]
pub(crate) struct Pool {
    pool: deadpool_postgres::Pool,
}

impl Pool {
    pub(crate) fn open(url: &str, max: usize) -> Result<Self, Error> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e: tokio_postgres::Error| Error::Connection(e.to_string()))?;
        let manager = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let pool = deadpool_postgres::Pool::builder(Manager::from_config(config, NoTls, manager))
            .max_size(max)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Connection(e.to_string()))?;
        Ok(Self { pool })
    }

    async fn get(&self) -> Result<Object, Error> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(err) => error(&err),
            other => Error::Connection(other.to_string()),
        })
    }

    pub(crate) async fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<super::Done, Error> {
        execute(&self.get().await?, sql, args).await
    }

    pub(crate) async fn fetch<O>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        take: Take,
        decode: Decoder<O>,
    ) -> Result<Vec<O>, Error> {
        fetch(&self.get().await?, sql, args, take, decode).await
    }

    pub(crate) async fn batch(&self, sql: &str) -> Result<(), Error> {
        self.get().await?.batch_execute(sql).await.map_err(|e| error(&e))
    }

    pub(crate) async fn begin(&self) -> Result<TxConn, Error> {
        // The guard exists before BEGIN is sent: if this future is dropped while BEGIN is in
        // flight, the connection is still rolled back before it returns to the pool.
        let tx = TxConn { client: Some(self.get().await?) };
        tx.client()?.batch_execute("BEGIN").await.map_err(|e| error(&e))?;
        Ok(tx)
    }

    pub(crate) fn close(&self) {
        self.pool.close();
    }
}

/// The connection of a transaction; rolled back (before it returns to the pool) when dropped
/// without a commit.
pub(crate) struct TxConn {
    client: Option<Object>,
}

impl TxConn {
    fn client(&self) -> Result<&Object, Error> {
        self.client.as_ref().ok_or_else(|| Error::Connection("transaction already ended".into()))
    }

    pub(crate) async fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<super::Done, Error> {
        execute(self.client()?, sql, args).await
    }

    pub(crate) async fn fetch<O>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        take: Take,
        decode: Decoder<O>,
    ) -> Result<Vec<O>, Error> {
        fetch(self.client()?, sql, args, take, decode).await
    }

    pub(crate) async fn batch(&self, sql: &str) -> Result<(), Error> {
        self.client()?.batch_execute(sql).await.map_err(|e| error(&e))
    }

    pub(crate) async fn commit(mut self) -> Result<(), Error> {
        let client = self.client.take().ok_or_else(|| Error::Connection("transaction already ended".into()))?;
        match client.batch_execute("COMMIT").await {
            Ok(()) => Ok(()),
            Err(err) => {
                // The connection's state is unknown: it does not go back to the pool.
                drop(Object::take(client));
                Err(error(&err))
            }
        }
    }
}

impl Drop for TxConn {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if client.batch_execute("ROLLBACK").await.is_err() {
                        drop(Object::take(client));
                    }
                });
            }
            // No runtime to roll back on: closing the connection rolls back on the server.
            Err(_) => drop(Object::take(client)),
        }
    }
}

fn declared(kind: Kind) -> Type {
    match kind {
        Kind::Int => Type::INT8,
        Kind::Text => Type::TEXT,
        Kind::Bytes => Type::BYTEA,
        Kind::Bool => Type::BOOL,
        Kind::Time => Type::TIMESTAMPTZ,
    }
}

async fn prepare(client: &Object, sql: &str, args: &[Value<'_>]) -> Result<Statement, Error> {
    let types: Vec<Type> = args.iter().map(|a| declared(a.kind())).collect();
    client.prepare_typed_cached(sql, &types).await.map_err(|e| error(&e))
}

fn params<'a>(args: &'a [Value<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

async fn execute(client: &Object, sql: &str, args: &[Value<'_>]) -> Result<super::Done, Error> {
    let statement = prepare(client, sql, args).await?;
    let rows = client.execute(&statement, &params(args)).await.map_err(|e| error(&e))?;
    Ok(super::Done { rows })
}

async fn fetch<O>(
    client: &Object,
    sql: &str,
    args: &[Value<'_>],
    take: Take,
    decode: Decoder<O>,
) -> Result<Vec<O>, Error> {
    let statement = prepare(client, sql, args).await?;
    decode.check(statement.columns().iter().map(tokio_postgres::Column::name))?;
    let rows = client.query(&statement, &params(args)).await.map_err(|e| error(&e))?;
    let keep = if take == Take::First { rows.len().min(1) } else { rows.len() };
    rows[..keep].iter().map(|row| (decode.decode)(&RowRef::Postgres(row))).collect()
}

pub(super) fn error(err: &tokio_postgres::Error) -> Error {
    if let Some(db) = err.as_db_error() {
        return Error::Database {
            unique: db.code() == &SqlState::UNIQUE_VIOLATION,
            constraint: db.constraint().map(str::to_owned),
            message: db.message().to_owned(),
        };
    }
    match err.source() {
        Some(source) => Error::Connection(format!("{err}: {source}")),
        None => Error::Connection(err.to_string()),
    }
}

impl ToSql for Value<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null(_) => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => Err(format!("cannot bind an integer as {ty}").into()),
            },
            Value::Text(v) => v.as_ref().to_sql(ty, out),
            Value::Bytes(v) => v.as_ref().to_sql(ty, out),
            Value::Bool(v) => match *ty {
                Type::BOOL => v.to_sql(ty, out),
                Type::INT8 => i64::from(*v).to_sql(ty, out),
                _ => Err(format!("cannot bind a flag as {ty}").into()),
            },
            Value::Time(v) => match *ty {
                Type::TIMESTAMPTZ => v.to_sql(ty, out),
                Type::INT8 => v.unix_timestamp().to_sql(ty, out),
                _ => Err(format!("cannot bind a time as {ty}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Any integer-like column, read as `i64`.
struct AnyInt(i64);

impl<'a> FromSql<'a> for AnyInt {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Self(match *ty {
            Type::INT8 => i64::from_sql(ty, raw)?,
            Type::INT4 => i64::from(i32::from_sql(ty, raw)?),
            Type::INT2 => i64::from(i16::from_sql(ty, raw)?),
            Type::BOOL => i64::from(bool::from_sql(ty, raw)?),
            _ => return Err(format!("expected an integer, found {ty}").into()),
        }))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL)
    }
}

/// A time column: `timestamptz`, or Unix seconds in an integer.
struct AnyTime(OffsetDateTime);

impl<'a> FromSql<'a> for AnyTime {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Self(match *ty {
            Type::TIMESTAMPTZ => OffsetDateTime::from_sql(ty, raw)?,
            _ => OffsetDateTime::from_unix_timestamp(AnyInt::from_sql(ty, raw)?.0)?,
        }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ || AnyInt::accepts(ty)
    }
}

/// Accepts any column, to tell whether it is NULL.
struct Anything;

impl<'a> FromSql<'a> for Anything {
    fn from_sql(_: &Type, _: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Self)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn read<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> Result<T, String> {
    row.try_get::<_, T>(index).map_err(|e| match e.source() {
        Some(source) => source.to_string(),
        None => e.to_string(),
    })
}

pub(super) fn is_null(row: &Row, index: usize) -> Result<bool, String> {
    read::<Option<Anything>>(row, index).map(|v| v.is_none())
}

pub(super) fn integer(row: &Row, index: usize) -> Result<i64, String> {
    read::<AnyInt>(row, index).map(|v| v.0)
}

pub(super) fn time(row: &Row, index: usize) -> Result<OffsetDateTime, String> {
    read::<AnyTime>(row, index).map(|v| v.0)
}

pub(super) fn text(row: &Row, index: usize) -> Result<String, String> {
    read::<String>(row, index)
}

/// The text at `index`, borrowed for `f` (no copy).
pub(super) fn with_str<T>(row: &Row, index: usize, f: impl FnOnce(&str) -> Result<T, String>) -> Result<T, String> {
    f(read::<&str>(row, index)?)
}

pub(super) fn bytes(row: &Row, index: usize) -> Result<Vec<u8>, String> {
    read::<Vec<u8>>(row, index)
}
