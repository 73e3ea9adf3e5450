//! SQLite: prepared single-row inserts (new tickets) and upserts (changed ones) run on the
//! connection's own handle, with the full secondary indexes set aside for a bulk load.
//!
//! Through sqlx each batch cost a statement of 15,000 parameters, every text value copied
//! twice (into owned arguments for the worker thread, then by SQLite) and a round trip to
//! sqlx's worker. Here the import's own task steps one prepared statement per row on the
//! handle sqlx lends it (`lock_handle`), binding the ticket's text in place; the parsing
//! runs meanwhile on the producer's thread.

use sqlx::SqliteConnection;
use tokio::sync::mpsc::Receiver;

use super::{Stamp, COLUMNS, ON_CONFLICT, WIDTH};
use crate::error::{Error, Result};
use crate::hotline::row::{Text, Ticket};
use crate::hotline::Satisfaction;

pub struct Writer {
    stamp: Stamp,
    /// For a new ticket: nothing to conflict with (the import read the stored tickets inside
    /// its write transaction), so no conflict clause to prepare for.
    insert: String,
    /// For a changed ticket.
    upsert: String,
    /// Statements that recreate the indexes set aside.
    rebuild: Vec<String>,
}

fn insert_sql() -> String {
    let marks = vec!["?"; WIDTH].join(",");
    format!("INSERT INTO tickets ({COLUMNS}) VALUES ({marks})")
}

fn failed(e: rusqlite::Error) -> Error {
    Error::Internal(format!("写入工单失败：{e}"))
}

impl Writer {
    pub fn start(stamp: Stamp, rebuild: Vec<String>) -> Writer {
        Writer {
            stamp,
            insert: insert_sql(),
            upsert: format!("{}{ON_CONFLICT}", insert_sql()),
            rebuild,
        }
    }

    /// Writes every batch `batches` brings.
    pub async fn write_all(
        &mut self,
        conn: &mut SqliteConnection,
        batches: &mut Receiver<Vec<Ticket>>,
    ) -> Result<()> {
        while let Some(batch) = batches.recv().await {
            self.write(conn, &batch).await?;
        }
        Ok(())
    }

    async fn write(&mut self, conn: &mut SqliteConnection, batch: &[Ticket]) -> Result<()> {
        let mut locked = conn.lock_handle().await?;
        let raw = locked.as_raw_handle();
        // SAFETY: while `locked` lives, sqlx's worker makes no call on this handle. The
        // borrowed connection does not close the handle when dropped, and it is dropped, with
        // its statement, before `locked`; no await happens in between.
        let db = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }.map_err(failed)?;
        {
            let mut insert = db.prepare(&self.insert).map_err(failed)?;
            let mut upsert = db.prepare(&self.upsert).map_err(failed)?;
            let s = &self.stamp;
            for t in batch.iter() {
                let stmt = if t.stored { &mut upsert } else { &mut insert };
                stmt.execute(rusqlite::params![
                    s.source,
                    t.text(Text::TicketNo),
                    t.received_at,
                    t.text(Text::Channel),
                    t.text(Text::District),
                    t.text(Text::Community),
                    t.text(Text::Enterprise),
                    t.text(Text::CreditCode),
                    t.text(Text::SourceCategory),
                    t.text(Text::Content),
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
        Ok(())
    }

    pub async fn finish(self, conn: &mut SqliteConnection) -> Result<()> {
        if self.rebuild.is_empty() {
            return Ok(());
        }
        // Nothing else runs by now: the sorter may use the other core, which SQLite does only
        // when its temporary files are files (in the OS cache for runs this size), and it
        // sorts runs of up to the page cache's size, which sort faster when they fit the
        // processor's cache. The three full indexes, sqlite3 CLI on a million tickets, one
        // transaction: 5.6 s with one in-memory run; on two threads 2.3–2.5 s with 8 MiB runs,
        // 1.7–2.0 s with 2 MiB runs, 1.5–1.8 s with 1 MiB runs (the same day, three runs each
        // way, alternating).
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
        // The settings only speed the rebuild up: a setting SQLite refuses (temp_store cannot
        // change inside a transaction once the connection has used its temporary database)
        // leaves the rebuild slower, not wrong.
        for sql in settings(2, 1, -2048) {
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
