//! One query layer over two backends. SQLite is the embedded default, PostgreSQL the
//! production database. The backend is chosen once, at connect time; every query is written
//! once in portable SQL (`$1` placeholders work in both) and run through [`on_conn!`], which
//! expands it for each backend, so no `sqlx::Any` and its missing date types.

pub mod generations;
mod migrate;

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::error::{Error, Result};

pub use generations::{Counts, Generations};
pub use migrate::MIGRATIONS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool of whichever backend the deployment uses.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A borrowed connection: a pooled one or the inside of a transaction. Query functions take
/// `&mut Conn<'_>` so the same function runs inside or outside a transaction.
pub enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

pub enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    SqliteUnchecked(Unchecked),
}

/// A SQLite write transaction on a connection with foreign-key checks off, for bulk writes
/// whose references the caller has read in the same transaction (the hotline import: every
/// enterprise, project, county and import id it writes comes from rows it holds the write
/// lock over). SQLite checks each reference with a cursor on the parent table; for a
/// million tickets with four references that was 6.4 of 7.9 s of inserting (sqlite3 CLI,
/// same rows). The pragma cannot change inside a transaction, so it is set before `BEGIN`
/// and restored after `COMMIT`; a transaction that does not commit closes its connection
/// instead of returning it to the pool, which rolls it back and never lends out a connection
/// with the checks off.
///
/// Its commit does not checkpoint the WAL either: SQLite's automatic checkpoint would run
/// inside `COMMIT`, copying the whole bulk write into the database file before the caller
/// may answer (~0.8 s for a million tickets). The caller checkpoints afterwards, off its
/// answer's path ([`checkpoint_later`]).
pub struct Unchecked {
    conn: PoolConnection<Sqlite>,
    committed: bool,
    /// The connection's `wal_autocheckpoint`, restored after `COMMIT`.
    autocheckpoint: i64,
}

impl Drop for Unchecked {
    fn drop(&mut self) {
        if !self.committed {
            self.conn.close_on_drop();
        }
    }
}

/// Runs one sqlx expression on whichever backend `$conn` (a `&mut Conn`) holds. Inside the
/// body `$c` is a `&mut SqliteConnection` or a `&mut PgConnection`.
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite(__inner) => {
                let $c = &mut **__inner;
                $body
            }
            $crate::db::Conn::Postgres(__inner) => {
                let $c = &mut **__inner;
                $body
            }
        }
    };
}

/// Reads a column stored as TEXT into a parsed domain type on either backend: the row
/// types can then hold `CreditCode`, `Grade`, `Status` instead of strings.
#[macro_export]
macro_rules! text_column {
    ($ty:ty, $parse:expr) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $ty
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }
        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $ty
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <String as sqlx::Decode<'r, DB>>::decode(value)?;
                let parse: fn(&str) -> Option<$ty> = $parse;
                parse(&s)
                    .ok_or_else(|| format!("stored {} is not valid: {s}", stringify!($ty)).into())
            }
        }
    };
}

/// SQLite counts every allocation it makes under a global mutex, for `sqlite3_memory_used`,
/// which nothing here reads: a lock and an unlock per allocation were 6 % of a million-row
/// import. The switch must come before SQLite initializes, i.e. before the first connection;
/// later calls are refused by SQLite (SQLITE_MISUSE) and change nothing.
fn sqlite_without_memstatus() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int; sqlite3_config is only unsafe while
        // another thread uses SQLite, and no connection exists before the first connect.
        unsafe {
            rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0);
        }
    });
}

impl Db {
    /// Connects to `sqlite://path` (the file and its folder are created) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Db> {
        if url.starts_with("sqlite:") {
            sqlite_without_memstatus();
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| Error::invalid("database_url", format!("无法解析 SQLite 地址：{e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // The default 2 MB page cache makes a million-row import re-read index pages
                // through syscalls; 64 MB per connection and memory-mapped reads avoid that.
                .pragma("cache_size", "-65536")
                .pragma("mmap_size", "1073741824")
                .pragma("temp_store", "memory");
            if let Some(dir) = opts.get_filename().parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)?;
                }
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(opts)
                .await?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url).map_err(|e| {
                Error::invalid("database_url", format!("无法解析 PostgreSQL 地址：{e}"))
            })?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(Error::invalid(
                "database_url",
                "应以 sqlite:// 或 postgres:// 开头",
            ))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn acquire(&self) -> Result<Pooled> {
        Ok(match self {
            Db::Sqlite(p) => Pooled::Sqlite(p.acquire().await?),
            Db::Postgres(p) => Pooled::Postgres(p.acquire().await?),
        })
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads and then writes fails with a busy
    /// snapshot when another writer committed in between, whatever the busy timeout.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// `begin`, without foreign-key checks on SQLite (see [`Unchecked`]); the same as `begin`
    /// on PostgreSQL, whose checks are cheap.
    pub async fn begin_unchecked(&self) -> Result<Tx> {
        match self {
            Db::Sqlite(p) => {
                let mut conn = p.acquire().await?;
                let autocheckpoint: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
                    .fetch_one(&mut *conn)
                    .await?;
                let mut tx = Unchecked {
                    conn,
                    committed: false,
                    autocheckpoint,
                };
                sqlx::query("PRAGMA foreign_keys = OFF")
                    .execute(&mut *tx.conn)
                    .await?;
                sqlx::query("PRAGMA wal_autocheckpoint = 0")
                    .execute(&mut *tx.conn)
                    .await?;
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut *tx.conn)
                    .await?;
                Ok(Tx::SqliteUnchecked(tx))
            }
            Db::Postgres(_) => self.begin().await,
        }
    }

    pub async fn migrate(&self) -> Result<usize> {
        migrate::run(self).await
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

impl Pooled {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Sqlite(c) => Conn::Sqlite(c),
            Pooled::Postgres(c) => Conn::Postgres(c),
        }
    }
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t) => Conn::Sqlite(t),
            Tx::Postgres(t) => Conn::Postgres(t),
            Tx::SqliteUnchecked(t) => Conn::Sqlite(&mut t.conn),
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
            Tx::SqliteUnchecked(mut t) => {
                sqlx::query("COMMIT").execute(&mut *t.conn).await?;
                sqlx::query("PRAGMA foreign_keys = ON")
                    .execute(&mut *t.conn)
                    .await?;
                sqlx::query(&format!("PRAGMA wal_autocheckpoint = {}", t.autocheckpoint))
                    .execute(&mut *t.conn)
                    .await?;
                t.committed = true;
            }
        }
        Ok(())
    }
}

impl Conn<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }
}

/// After a bulk write on SQLite, moves the write-ahead log into the database file so readers
/// do not search a WAL of millions of frames. A no-op on PostgreSQL.
pub async fn checkpoint(db: &Db) -> Result<()> {
    if let Db::Sqlite(pool) = db {
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Checkpoints the WAL on a task of its own, after a large write: its answer does not wait
/// for the copy into the database file, and readers go on meanwhile (`PASSIVE`).
pub fn checkpoint_later(db: &Db) {
    let db = db.clone();
    tokio::spawn(async move {
        if let Err(e) = checkpoint(&db).await {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    });
}

/// Liveness of the database for `/healthz`.
pub async fn ping(db: &Db) -> Result<()> {
    let mut p = db.acquire().await?;
    let mut c = p.conn();
    on_conn!(&mut c, |c| sqlx::query("SELECT 1")
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Takes a transaction-scoped lock on `key` within `class` (PostgreSQL only: SQLite's write
/// transaction already excludes every other writer).
pub async fn lock_key(conn: &mut Conn<'_>, class: i32, key: &str) -> Result<()> {
    if let Conn::Postgres(c) = conn {
        let digest = crate::secret::sha256_hex(key.as_bytes());
        let key32 = u32::from_str_radix(digest.get(..8).unwrap_or("0"), 16).unwrap_or(0) as i32;
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(class)
            .bind(key32)
            .execute(&mut **c)
            .await?;
    }
    Ok(())
}
