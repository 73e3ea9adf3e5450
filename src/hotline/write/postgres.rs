//! PostgreSQL: `COPY` into a staging table, then one merge into `tickets`.
//!
//! Each batch is appended to a buffer in COPY's text format; a full buffer is streamed into
//! a temporary table that the transaction drops at its end. `finish` merges the whole file
//! with one `INSERT … SELECT … ON CONFLICT`, so the upsert's rules (an officer's manual
//! attribution stands) are the same SQL as SQLite's.

use sqlx::PgConnection;

use super::{Stamp, COLUMNS, ON_CONFLICT};
use crate::error::{Error, Result};
use crate::hotline::row::Ticket;
use crate::hotline::Satisfaction;

/// Bytes of COPY data sent at a time.
const FLUSH_BYTES: usize = 4 << 20;

pub struct Writer {
    stamp: Stamp,
    buf: Vec<u8>,
}

/// A text value in COPY's text format: backslash, tab, newline and carriage return escaped.
fn text(buf: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
    buf.push(b'\t');
}

fn int(buf: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => buf.extend_from_slice(v.to_string().as_bytes()),
        None => buf.extend_from_slice(b"\\N"),
    }
    buf.push(b'\t');
}

fn boolean(buf: &mut Vec<u8>, v: bool) {
    buf.extend_from_slice(if v { b"t\t" } else { b"f\t" });
}

/// One ticket as a line of COPY text, in `COLUMNS` order.
fn line(buf: &mut Vec<u8>, s: &Stamp, t: &Ticket) {
    text(buf, &s.source);
    text(buf, &t.ticket_no);
    int(buf, Some(t.received_at));
    text(buf, &t.channel);
    text(buf, &t.district);
    text(buf, &t.community_text);
    text(buf, &t.enterprise_text);
    text(buf, &t.credit_code_text);
    text(buf, &t.source_category);
    text(buf, &t.content);
    int(buf, t.forwarded_at);
    int(buf, t.deadline_at);
    int(buf, t.responded_at);
    int(buf, t.closed_at);
    text(buf, t.satisfaction.unwrap_or(Satisfaction::Unrated).code());
    boolean(buf, t.revisited);
    int(buf, t.revisited_at);
    boolean(buf, t.group_petition);
    text(buf, &t.category);
    text(buf, &t.subcategory);
    text(buf, t.severity);
    int(buf, t.enterprise_id);
    int(buf, t.project_id);
    int(buf, t.county_id);
    text(buf, t.attribution);
    int(buf, Some(t.attribution_score));
    text(buf, &t.row_hash);
    int(buf, Some(s.import_id));
    int(buf, Some(s.now));
    int(buf, Some(t.source_fields));
    // The last field ends the line, not a tab.
    buf.pop();
    buf.push(b'\n');
}

impl Writer {
    pub async fn start(conn: &mut PgConnection, stamp: Stamp) -> Result<Writer> {
        // Dropped at the end of the import's transaction, whether it commits or not.
        sqlx::query(&format!(
            "CREATE TEMP TABLE ticket_staging ON COMMIT DROP AS SELECT {COLUMNS} FROM tickets WITH NO DATA"
        ))
        .execute(&mut *conn)
        .await?;
        Ok(Writer {
            stamp,
            buf: Vec::with_capacity(FLUSH_BYTES + (64 << 10)),
        })
    }

    pub async fn write(&mut self, conn: &mut PgConnection, batch: &mut Vec<Ticket>) -> Result<()> {
        for t in batch.iter() {
            line(&mut self.buf, &self.stamp, t);
        }
        batch.clear();
        if self.buf.len() >= FLUSH_BYTES {
            self.flush(conn).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, conn: &mut PgConnection) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut copy = conn
            .copy_in_raw(&format!("COPY ticket_staging ({COLUMNS}) FROM STDIN"))
            .await?;
        copy.send(self.buf.as_slice()).await?;
        copy.finish().await?;
        self.buf.clear();
        Ok(())
    }

    pub async fn finish(mut self, conn: &mut PgConnection) -> Result<()> {
        self.flush(conn).await?;
        let unchecked = may_skip_triggers(conn).await?;
        if unchecked {
            sqlx::query("SET LOCAL session_replication_role = replica")
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query(&format!(
            "INSERT INTO tickets ({COLUMNS}) SELECT {COLUMNS} FROM ticket_staging{ON_CONFLICT}"
        ))
        .execute(&mut *conn)
        .await?;
        if unchecked {
            sqlx::query("SET LOCAL session_replication_role = origin")
                .execute(&mut *conn)
                .await?;
            check_references(conn).await?;
        }
        Ok(())
    }
}

/// Whether this session may turn off triggers for the merge (`session_replication_role`):
/// a superuser, or on PostgreSQL 15 and later a role granted
/// `GRANT SET ON PARAMETER session_replication_role TO <role>`.
///
/// PostgreSQL checks a foreign key with a trigger per row and reference: for a million
/// tickets with four references, four million queries that lock the parent row. Without them
/// the merge checks the references itself, once per file, with one anti-join per reference
/// ([`check_references`]), as SQLite's import relies on reading every id it writes inside
/// its own transaction (`db::Unchecked`). `tickets` has no other triggers, and nothing
/// deletes enterprises, projects, counties or imports.
async fn may_skip_triggers(conn: &mut PgConnection) -> Result<bool> {
    let granted: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'has_parameter_privilege')",
    )
    .fetch_one(&mut *conn)
    .await?;
    let sql = if granted {
        "SELECT has_parameter_privilege('session_replication_role', 'SET')"
    } else {
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    };
    Ok(sqlx::query_scalar::<_, bool>(sql)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or(false))
}

/// The foreign keys of the staged tickets, checked as sets: the import's transaction is
/// refused if one names a row that does not exist.
async fn check_references(conn: &mut PgConnection) -> Result<()> {
    for (column, parent) in [
        ("enterprise_id", "enterprises"),
        ("project_id", "projects"),
        ("county_id", "jurisdictions"),
        ("import_id", "hotline_imports"),
    ] {
        let missing: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT s.{column} FROM ticket_staging s
             WHERE s.{column} IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = s.{column})
             LIMIT 1"
        ))
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(id) = missing {
            return Err(Error::Internal(format!(
                "导入的工单引用了不存在的记录：{parent}.id = {id}"
            )));
        }
    }
    Ok(())
}
