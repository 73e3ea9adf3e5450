//! SQLite: prepared single-row upserts run on the connection's own handle, with the secondary
//! indexes set aside for a bulk load.
//!
//! Through sqlx each batch cost a statement of 15,000 parameters, every text value copied
//! twice (into owned arguments for the worker thread, then by SQLite) and a round trip to
//! sqlx's worker. Here the import's own task steps one prepared statement per row on the
//! handle sqlx lends it (`lock_handle`), binding the ticket's text in place; the parsing
//! runs meanwhile on the producer's thread.

use sqlx::SqliteConnection;

use super::{Stamp, COLUMNS, ON_CONFLICT, WIDTH};
use crate::error::{Error, Result};
use crate::hotline::row::Ticket;
use crate::hotline::Satisfaction;

/// Roughly the bytes one exported ticket takes, to tell a bulk load from a daily file.
const BYTES_PER_ROW: usize = 200;

pub struct Writer {
    stamp: Stamp,
    sql: String,
    /// Statements that recreate the indexes set aside.
    rebuild: Vec<String>,
}

fn upsert_sql() -> String {
    let marks = vec!["?"; WIDTH].join(",");
    format!("INSERT INTO tickets ({COLUMNS}) VALUES ({marks}){ON_CONFLICT}")
}

fn failed(e: rusqlite::Error) -> Error {
    Error::Internal(format!("写入工单失败：{e}"))
}

/// A file that adds more tickets than the table holds loads faster into the table without
/// its secondary indexes, rebuilt once at the end from sorted data, than through them row by
/// row (measured: 30 s against 42 s for a million rows on a busy machine). The indexes are
/// dropped inside the import's transaction: readers keep using them (WAL snapshots), and a
/// refused file rolls the drop back. Returns the statements that recreate them, read from the
/// schema so they always match the migrations.
async fn set_aside_indexes(conn: &mut SqliteConnection, file_bytes: usize) -> Result<Vec<String>> {
    let expected = file_bytes / BYTES_PER_ROW;
    if expected < 50_000 {
        return Ok(Vec::new());
    }
    // Every source's tickets share the indexes: compare with the whole table.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(&mut *conn)
        .await?;
    if i64::try_from(expected).unwrap_or(i64::MAX) < stored {
        return Ok(Vec::new());
    }
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master
         WHERE type = 'index' AND tbl_name = 'tickets' AND sql IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (name, _) in &indexes {
        let drop = format!("DROP INDEX \"{}\"", name.replace('"', "\"\""));
        sqlx::query(&drop).execute(&mut *conn).await?;
    }
    Ok(indexes.into_iter().map(|(_, sql)| sql).collect())
}

impl Writer {
    pub async fn start(
        conn: &mut SqliteConnection,
        stamp: Stamp,
        file_bytes: usize,
    ) -> Result<Writer> {
        Ok(Writer {
            stamp,
            sql: upsert_sql(),
            rebuild: set_aside_indexes(conn, file_bytes).await?,
        })
    }

    pub async fn write(
        &mut self,
        conn: &mut SqliteConnection,
        batch: &mut Vec<Ticket>,
    ) -> Result<()> {
        let mut locked = conn.lock_handle().await?;
        let raw = locked.as_raw_handle();
        // SAFETY: while `locked` lives, sqlx's worker makes no call on this handle. The
        // borrowed connection does not close the handle when dropped, and it is dropped, with
        // its statement, before `locked`; no await happens in between.
        let db = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }.map_err(failed)?;
        {
            let mut stmt = db.prepare(&self.sql).map_err(failed)?;
            let s = &self.stamp;
            for t in batch.iter() {
                stmt.execute(rusqlite::params![
                    s.source,
                    t.ticket_no,
                    t.received_at,
                    t.channel,
                    t.district,
                    t.community_text,
                    t.enterprise_text,
                    t.credit_code_text,
                    t.source_category,
                    t.content,
                    t.forwarded_at,
                    t.deadline_at,
                    t.responded_at,
                    t.closed_at,
                    t.satisfaction.unwrap_or(Satisfaction::Unrated).code(),
                    t.revisited,
                    t.revisited_at,
                    t.group_petition,
                    t.category,
                    t.subcategory,
                    t.severity,
                    t.enterprise_id,
                    t.project_id,
                    t.county_id,
                    t.attribution,
                    t.attribution_score,
                    t.row_hash,
                    s.import_id,
                    s.now,
                    t.source_fields,
                ])
                .map_err(failed)?;
            }
        }
        drop(db);
        drop(locked);
        batch.clear();
        Ok(())
    }

    pub async fn finish(self, conn: &mut SqliteConnection) -> Result<()> {
        if self.rebuild.is_empty() {
            return Ok(());
        }
        // Nothing else runs by now: the sorter may use the other core, which SQLite does only
        // when its temporary files are files (in the OS cache for runs this size), and it
        // sorts runs of up to the page cache's size, which sort faster when they fit the
        // processor's cache. Three of the indexes, sqlite3 CLI on a million tickets: 5.6 s
        // with one in-memory run, 2.5 s with 8 MiB runs sorted on two threads.
        let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut *conn)
            .await?;
        let temp: i64 = sqlx::query_scalar("PRAGMA temp_store")
            .fetch_one(&mut *conn)
            .await?;
        let settings = |threads: i64, temp: i64, cache: i64| {
            [
                format!("PRAGMA threads = {threads}"),
                format!("PRAGMA temp_store = {temp}"),
                format!("PRAGMA cache_size = {cache}"),
            ]
        };
        // The settings only speed the rebuild up: a setting SQLite refuses (temp_store cannot change
        // inside a transaction once the connection has used its temporary database) leaves
        // the rebuild slower, not wrong.
        for sql in settings(2, 1, -8192) {
            if let Err(e) = sqlx::query(&sql).execute(&mut *conn).await {
                tracing::warn!(%sql, error = %e, "index rebuild setting refused");
            }
        }
        for sql in &self.rebuild {
            sqlx::query(sql).execute(&mut *conn).await?;
        }
        for sql in settings(0, temp, cache) {
            if let Err(e) = sqlx::query(&sql).execute(&mut *conn).await {
                tracing::warn!(%sql, error = %e, "index rebuild setting not restored");
            }
        }
        Ok(())
    }
}
