//! Embedded migrations, one list per backend, applied at start. Each applied migration's
//! checksum is recorded so that an edited migration is caught instead of silently skipped.

use super::{Conn, Db};
use crate::error::{Error, Result};
use crate::on_conn;

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../../migrations/postgres/", $name, ".sql")),
        }
    };
}

pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_foundation"),
    migration!(2, "0002_filings"),
    migration!(3, "0003_hotline"),
    migration!(4, "0004_imports"),
    migration!(5, "0005_accounts"),
    migration!(6, "0006_paging"),
    migration!(7, "0007_generations"),
    migration!(8, "0008_filings_generation"),
    migration!(9, "0009_cases"),
    migration!(10, "0010_mail"),
    migration!(11, "0011_evaluations"),
    migration!(12, "0012_circulars"),
    migration!(13, "0013_ticket_checks"),
    migration!(14, "0014_ticket_number_key"),
    migration!(15, "0015_ticket_column_order"),
];

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// Applies every pending migration, each in its own transaction. Returns how many ran.
pub async fn run(db: &Db) -> Result<usize> {
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    // Several instances may start at once on one PostgreSQL: only one migrates.
    if let Conn::Postgres(c) = &mut conn {
        sqlx::query("SELECT pg_advisory_lock(7011)")
            .execute(&mut **c)
            .await?;
    }
    let outcome = apply_pending(db, &mut conn).await;
    if let Conn::Postgres(c) = &mut conn {
        sqlx::query("SELECT pg_advisory_unlock(7011)")
            .execute(&mut **c)
            .await?;
    }
    if let (Ok(ran), Db::Sqlite(pool), super::Pooled::Sqlite(c)) = (&outcome, db, pooled) {
        if *ran > 0 {
            // A SQLite connection expands `*` from the schema it last loaded, then re-prepares
            // on first use after another connection changed it: sqlx then gets a row wider
            // than the statement it prepared. Connections opened before the migrations go.
            c.close().await?;
            while let Some(idle) = pool.try_acquire() {
                idle.close().await?;
            }
        }
    }
    outcome
}

async fn apply_pending(db: &Db, conn: &mut Conn<'_>) -> Result<usize> {
    on_conn!(conn, |c| sqlx::raw_sql(BOOKKEEPING)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    let applied: Vec<(i64, String)> = on_conn!(conn, |c| sqlx::query_as(
        "SELECT version, checksum FROM schema_migrations ORDER BY version"
    )
    .fetch_all(c)
    .await)?;
    let mut ran = 0;
    for m in MIGRATIONS {
        let sql = match conn {
            Conn::Sqlite(_) => m.sqlite,
            Conn::Postgres(_) => m.postgres,
        };
        let checksum = crate::secret::sha256_hex(sql.as_bytes());
        if let Some((_, seen)) = applied.iter().find(|(v, _)| *v == m.version) {
            if *seen != checksum {
                return Err(Error::Internal(format!(
                    "迁移 {} 已应用，但其内容已被修改（校验和不符）",
                    m.name
                )));
            }
            continue;
        }
        // The migration and its bookkeeping row commit together, on a separate connection
        // from the one holding the advisory lock. On SQLite foreign keys are off while it
        // runs, so that a table can be rebuilt (create, copy, drop, rename), and checked as a
        // whole before the commit, as SQLite prescribes for schema changes.
        let mut tx = db.begin_unchecked().await?;
        let mut c = tx.conn();
        on_conn!(&mut c, |c| sqlx::raw_sql(sql)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if let Conn::Sqlite(c) = &mut c {
            let broken: Vec<(String, Option<i64>, String)> =
                sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
                    .fetch_all(&mut **c)
                    .await?;
            if let Some((table, row, parent)) = broken.first() {
                return Err(Error::Internal(format!(
                    "迁移 {} 后 {table} 第 {} 行引用的 {parent} 记录不存在（共 {} 处），未提交",
                    m.name,
                    row.unwrap_or_default(),
                    broken.len()
                )));
            }
        }
        on_conn!(&mut c, |c| {
            sqlx::query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(m.version)
        .bind(m.name)
        .bind(&checksum)
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(c)
        .await.map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        ran += 1;
    }
    Ok(ran)
}
