//! SQLite through `rusqlite`. Statements run on the calling task: a read of a page's rows takes
//! tens of microseconds, less than a hand-off to a worker thread would. Writers of this process
//! queue on an async lock before they take SQLite's, so a writer waits without holding a thread,
//! and `busy_timeout` is left for other processes (the CLI, a second instance).

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Statement};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::OwnedMutexGuard;

use super::{Decoder, Error, RowRef, Take, Value, is_read_only};

/// Statements kept prepared per connection.
const STATEMENT_CACHE: usize = 256;
/// How long a writer waits for this process's other writers.
const WRITER_WAIT: Duration = Duration::from_secs(10);

struct Inner {
    path: String,
    flags: OpenFlags,
    /// Connections not in use; at most `max_idle` are kept.
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    /// This process's writers, in arrival order.
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Set by [`Pool::close`]: no connection is handed out any more.
    closed: AtomicBool,
}

#[derive(Clone)]
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    /// `rest` is the URL after `sqlite:`: `//path?mode=rwc`, `path?mode=ro`, or a bare path.
    pub(crate) fn open(rest: &str, max_idle: usize) -> Result<Self, Error> {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            flags = match pair {
                "mode=rwc" => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
                "mode=rw" => OpenFlags::SQLITE_OPEN_READ_WRITE,
                "mode=ro" => OpenFlags::SQLITE_OPEN_READ_ONLY,
                other => return Err(Error::Connection(format!("unsupported sqlite url option `{other}`"))),
            };
        }
        if path.is_empty() || path == ":memory:" {
            return Err(Error::Connection("a sqlite url must name a file".into()));
        }
        let flags = flags | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let pool = Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                flags,
                idle: Mutex::new(Vec::new()),
                max_idle,
                writer: Arc::new(tokio::sync::Mutex::new(())),
                closed: AtomicBool::new(false),
            }),
        };
        // Open one connection now, so a bad path or a locked file is reported at start.
        let conn = pool.take()?;
        pool.give(conn);
        Ok(pool)
    }

    fn connect(&self) -> Result<Connection, Error> {
        let conn = Connection::open_with_flags(&self.inner.path, self.inner.flags).map_err(error)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(error)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        if !self.inner.flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY) {
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0)).map_err(error)?;
            conn.pragma_update(None, "synchronous", "NORMAL").map_err(error)?;
        }
        conn.pragma_update(None, "foreign_keys", "ON").map_err(error)?;
        Ok(conn)
    }

    fn take(&self) -> Result<Connection, Error> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Connection("the pool is closed".into()));
        }
        let idle = self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    fn give(&self, conn: Connection) {
        // A connection left inside a transaction (a failed COMMIT or ROLLBACK) is not reused.
        if !conn.is_autocommit() {
            return;
        }
        let mut idle = self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.inner.max_idle && !self.inner.closed.load(Ordering::Acquire) {
            idle.push(conn);
        }
    }

    /// This process's writer lock, given up on after [`WRITER_WAIT`] (a statement on the pool
    /// issued by a task that holds a transaction would otherwise wait for itself).
    async fn writer(&self) -> Result<OwnedMutexGuard<()>, Error> {
        tokio::time::timeout(WRITER_WAIT, self.inner.writer.clone().lock_owned())
            .await
            .map_err(|_| Error::Connection("database busy: no write lock within 10 s".into()))
    }

    async fn with_conn<T>(&self, sql: &str, run: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let _writer = if is_read_only(sql) { None } else { Some(self.writer().await?) };
        let conn = self.take()?;
        let result = run(&conn);
        self.give(conn);
        result
    }

    pub(crate) async fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<super::Done, Error> {
        self.with_conn(sql, |conn| execute(conn, sql, args)).await
    }

    pub(crate) async fn fetch<O>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        take: Take,
        decode: Decoder<O>,
    ) -> Result<Vec<O>, Error> {
        self.with_conn(sql, |conn| fetch(conn, sql, args, take, decode)).await
    }

    pub(crate) async fn batch(&self, sql: &str) -> Result<(), Error> {
        self.with_conn("", |conn| conn.execute_batch(sql).map_err(error)).await
    }

    /// A write transaction: this process's writer lock, then `BEGIN IMMEDIATE`.
    pub(crate) async fn begin(&self) -> Result<TxConn, Error> {
        let writer = self.writer().await?;
        let conn = self.take()?;
        if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
            self.give(conn);
            return Err(error(err));
        }
        Ok(TxConn { conn: Some(conn), pool: self.clone(), _writer: writer })
    }

    pub(crate) fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// The connection of a write transaction; it holds the writer lock until it ends.
pub(crate) struct TxConn {
    conn: Option<Connection>,
    pool: Pool,
    _writer: OwnedMutexGuard<()>,
}

impl TxConn {
    fn conn(&self) -> Result<&Connection, Error> {
        self.conn.as_ref().ok_or_else(|| Error::Connection("transaction already ended".into()))
    }

    pub(crate) fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<super::Done, Error> {
        execute(self.conn()?, sql, args)
    }

    pub(crate) fn fetch<O>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        take: Take,
        decode: Decoder<O>,
    ) -> Result<Vec<O>, Error> {
        fetch(self.conn()?, sql, args, take, decode)
    }

    pub(crate) fn batch(&self, sql: &str) -> Result<(), Error> {
        self.conn()?.execute_batch(sql).map_err(error)
    }

    pub(crate) fn commit(mut self) -> Result<(), Error> {
        let conn = self.conn.take().ok_or_else(|| Error::Connection("transaction already ended".into()))?;
        let done = conn.execute_batch("COMMIT").map_err(error);
        if done.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.pool.give(conn);
        done
    }
}

impl Drop for TxConn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.execute_batch("ROLLBACK");
            self.pool.give(conn);
        }
    }
}

/// Binds `$n` (or `?n`) parameters by their number, as PostgreSQL does.
fn bind(stmt: &mut Statement<'_>, args: &[Value<'_>]) -> Result<(), Error> {
    let count = stmt.parameter_count();
    if count != args.len() {
        return Err(Error::Database {
            unique: false,
            constraint: None,
            message: format!("statement takes {count} parameters, {} given", args.len()),
        });
    }
    for index in 1..=count {
        let number = match stmt.parameter_name(index) {
            None => index,
            Some(name) => name.get(1..).and_then(|n| n.parse::<usize>().ok()).unwrap_or(0),
        };
        let value = number.checked_sub(1).and_then(|n| args.get(n)).ok_or_else(|| Error::Database {
            unique: false,
            constraint: None,
            message: format!("parameter {index} has no value"),
        })?;
        match value {
            Value::Null(_) => stmt.raw_bind_parameter(index, rusqlite::types::Null),
            Value::Int(v) => stmt.raw_bind_parameter(index, v),
            Value::Text(v) => stmt.raw_bind_parameter(index, v.as_ref()),
            Value::Bytes(v) => stmt.raw_bind_parameter(index, v.as_ref()),
            Value::Bool(v) => stmt.raw_bind_parameter(index, i64::from(*v)),
            Value::Time(v) => stmt.raw_bind_parameter(index, v.unix_timestamp()),
        }
        .map_err(error)?;
    }
    Ok(())
}

fn execute(conn: &Connection, sql: &str, args: &[Value<'_>]) -> Result<super::Done, Error> {
    let mut stmt = conn.prepare_cached(sql).map_err(error)?;
    bind(&mut stmt, args)?;
    let mut rows = stmt.raw_query();
    while rows.next().map_err(error)?.is_some() {}
    drop(rows);
    count_steps(&stmt);
    Ok(super::Done { rows: conn.changes() })
}

fn fetch<O>(conn: &Connection, sql: &str, args: &[Value<'_>], take: Take, decode: Decoder<O>) -> Result<Vec<O>, Error> {
    let mut stmt = conn.prepare_cached(sql).map_err(error)?;
    bind(&mut stmt, args)?;
    decode.check(stmt.column_names().into_iter())?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(error)? {
        out.push((decode.decode)(&RowRef::Sqlite(row))?);
        if take == Take::First {
            break;
        }
    }
    drop(rows);
    count_steps(&stmt);
    Ok(out)
}

#[cfg(feature = "testing")]
thread_local! {
    static VM_STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Adds the virtual-machine steps `stmt` took to this thread's count (test builds only), so a
/// test can tell a lookup that reads its own rows from one that reads the whole table.
#[cfg(feature = "testing")]
fn count_steps(stmt: &Statement<'_>) {
    let steps = stmt.reset_status(rusqlite::StatementStatus::VmStep);
    VM_STEPS.with(|count| count.set(count.get() + u64::try_from(steps).unwrap_or(0)));
}

#[cfg(not(feature = "testing"))]
fn count_steps(_: &Statement<'_>) {}

/// The SQLite virtual-machine steps this thread's statements took so far. Statements run on the
/// calling task, so on a current-thread runtime this counts one test's queries.
#[cfg(feature = "testing")]
pub(crate) fn vm_steps() -> u64 {
    VM_STEPS.with(std::cell::Cell::get)
}

#[allow(clippy::needless_pass_by_value)] // shaped for `.map_err(error)`
pub(super) fn error(err: rusqlite::Error) -> Error {
    let unique = matches!(
        &err,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    );
    let message = match &err {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
        other => other.to_string(),
    };
    Error::Database { unique, constraint: None, message }
}

pub(super) fn integer(value: ValueRef<'_>) -> Result<i64, String> {
    match value {
        ValueRef::Integer(v) => Ok(v),
        other => Err(format!("expected an integer, found {}", other.data_type())),
    }
}

pub(super) fn text(value: ValueRef<'_>) -> Result<String, String> {
    with_str(value, |s| Ok(s.to_owned()))
}

/// The text of `value`, borrowed for `f` (no copy). Validated with SIMD: a page of orders reads
/// a thousand texts.
pub(super) fn with_str<T>(value: ValueRef<'_>, f: impl FnOnce(&str) -> Result<T, String>) -> Result<T, String> {
    match value {
        ValueRef::Text(bytes) => f(simdutf8::basic::from_utf8(bytes).map_err(|_| "text is not UTF-8".to_owned())?),
        other => Err(format!("expected text, found {}", other.data_type())),
    }
}

pub(super) fn bytes(value: ValueRef<'_>) -> Result<Vec<u8>, String> {
    match value {
        ValueRef::Blob(bytes) => Ok(bytes.to_vec()),
        other => Err(format!("expected a blob, found {}", other.data_type())),
    }
}
