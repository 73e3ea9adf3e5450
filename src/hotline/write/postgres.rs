//! PostgreSQL: `COPY` straight into `tickets` for new tickets; updates through a staging table
//! and one merge.
//!
//! Each batch is appended to two buffers in COPY's text format, one for tickets the source
//! adds and one for tickets it changes. A full buffer is streamed to the server while the
//! next batches are parsed. New tickets need no upsert: the importer read the source's
//! stored tickets inside this transaction, under a lock that keeps every other import out
//! (`import::lock_imports`), so a `COPY` into `tickets` adds them with
//! PostgreSQL's batched heap inserts, with no staging copy and no per-row conflict check.
//! Changed tickets go to a temporary table that the transaction drops at its end, and
//! `finish` merges them with one `INSERT … SELECT … ON CONFLICT`, so the upsert's rules (an
//! officer's manual attribution stands) are the same SQL as SQLite's.
//!
//! A bulk load drops the secondary indexes inside the transaction and rebuilds them in
//! `finish`. Unlike SQLite's WAL readers, PostgreSQL's readers of `tickets` then wait for the
//! import to commit (`DROP INDEX` locks the table): seconds, once, for the first load of a
//! deployment or a backfill of history larger than what is stored; a month's file never does.

use sqlx::PgConnection;
use tokio::sync::mpsc::Receiver;

use super::{Stamp, COLUMNS, ON_CONFLICT};
use crate::error::{Error, Result};
use crate::hotline::row::Ticket;
use crate::hotline::{FastMap, Satisfaction};

/// Bytes of new tickets' COPY data sent at a time.
const SEND_BYTES: usize = 256 << 10;

/// Bytes of changed tickets' COPY data staged at a time.
const FLUSH_BYTES: usize = 4 << 20;

pub struct Writer {
    stamp: Stamp,
    /// New tickets, for `COPY tickets`.
    added: Vec<u8>,
    /// Changed tickets, for `COPY ticket_staging`.
    changed: Vec<u8>,
    staged_any: bool,
    /// Statements that recreate the indexes set aside for a bulk load.
    rebuild: Vec<String>,
    /// Set when foreign-key triggers are off for the import ([`may_skip_triggers`]): the ids
    /// written, per referenced table, to check as sets at the end.
    references: Option<References>,
}

/// The distinct ids an import's tickets refer to.
#[derive(Default)]
struct References {
    enterprises: FastMap<i64, ()>,
    projects: FastMap<i64, ()>,
    counties: FastMap<i64, ()>,
}

impl References {
    fn note(&mut self, t: &Ticket) {
        for (set, id) in [
            (&mut self.enterprises, t.enterprise_id),
            (&mut self.projects, t.project_id),
            (&mut self.counties, t.county_id),
        ] {
            if let Some(id) = id {
                set.insert(id, ());
            }
        }
    }
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
        Some(v) => buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
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
    pub async fn start(
        conn: &mut PgConnection,
        stamp: Stamp,
        rebuild: Vec<String>,
    ) -> Result<Writer> {
        // Dropped at the end of the import's transaction, whether it commits or not.
        sqlx::query(&format!(
            "CREATE TEMP TABLE ticket_staging ON COMMIT DROP AS SELECT {COLUMNS} FROM tickets WITH NO DATA"
        ))
        .execute(&mut *conn)
        .await?;
        let references = if may_skip_triggers(conn).await? {
            // Until `finish`: nothing but this writer writes in the transaction meanwhile.
            sqlx::query("SET LOCAL session_replication_role = replica")
                .execute(&mut *conn)
                .await?;
            Some(References::default())
        } else {
            None
        };
        Ok(Writer {
            stamp,
            added: Vec::with_capacity(SEND_BYTES + (64 << 10)),
            changed: Vec::new(),
            staged_any: false,
            rebuild,
            references,
        })
    }

    /// Writes every batch `batches` brings. New tickets go down one `COPY` that stays open
    /// while the next batches are parsed, so the server inserts while this process reads: a
    /// `COPY` per few megabytes made each side wait for the other. A full buffer of changed
    /// tickets ends it for a `COPY` into the staging table, and the next batch opens another.
    pub async fn write_all(
        &mut self,
        conn: &mut PgConnection,
        batches: &mut Receiver<Vec<Ticket>>,
    ) -> Result<()> {
        loop {
            let mut adding = conn
                .copy_in_raw(&format!("COPY tickets ({COLUMNS}) FROM STDIN"))
                .await?;
            let ended = loop {
                let Some(mut batch) = batches.recv().await else {
                    break true;
                };
                self.format(&mut batch);
                if self.added.len() >= SEND_BYTES {
                    adding.send(self.added.as_slice()).await?;
                    self.added.clear();
                }
                if self.changed.len() >= FLUSH_BYTES {
                    break false;
                }
            };
            if !self.added.is_empty() {
                adding.send(self.added.as_slice()).await?;
                self.added.clear();
            }
            adding.finish().await?;
            if !self.changed.is_empty() {
                self.staged_any = true;
                copy(conn, "ticket_staging", &mut self.changed).await?;
            }
            if ended {
                return Ok(());
            }
        }
    }

    /// Appends a batch to the buffers as COPY text, leaving it empty.
    fn format(&mut self, batch: &mut Vec<Ticket>) {
        for t in batch.iter() {
            if let Some(r) = &mut self.references {
                r.note(t);
            }
            let buf = if t.stored {
                &mut self.changed
            } else {
                &mut self.added
            };
            line(buf, &self.stamp, t);
        }
        batch.clear();
    }

    pub async fn finish(self, conn: &mut PgConnection) -> Result<()> {
        if self.staged_any {
            sqlx::query(&format!(
                "INSERT INTO tickets ({COLUMNS}) SELECT {COLUMNS} FROM ticket_staging{ON_CONFLICT}"
            ))
            .execute(&mut *conn)
            .await?;
        }
        if !self.rebuild.is_empty() {
            // Sorted in memory (in parallel workers, up to `max_parallel_maintenance_workers`)
            // rather than in temporary files: a million tickets' largest index sorts in
            // ~100 MB.
            sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
                .execute(&mut *conn)
                .await?;
            for sql in &self.rebuild {
                sqlx::query(sql).execute(&mut *conn).await?;
            }
        }
        if let Some(references) = &self.references {
            sqlx::query("SET LOCAL session_replication_role = origin")
                .execute(&mut *conn)
                .await?;
            check_references(conn, references, self.stamp.import_id).await?;
        }
        Ok(())
    }
}

/// Streams `buf` into `table` and empties it.
async fn copy(conn: &mut PgConnection, table: &str, buf: &mut Vec<u8>) -> Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    let mut copy = conn
        .copy_in_raw(&format!("COPY {table} ({COLUMNS}) FROM STDIN"))
        .await?;
    copy.send(buf.as_slice()).await?;
    copy.finish().await?;
    buf.clear();
    Ok(())
}

/// Whether this session may turn off triggers for the import (`session_replication_role`):
/// a superuser, or on PostgreSQL 15 and later a role granted
/// `GRANT SET ON PARAMETER session_replication_role TO <role>`.
///
/// PostgreSQL checks a foreign key with a trigger per row and reference: for a million
/// tickets with four references, four million queries that lock the parent row. Without them
/// the import checks the references itself, once per file, as sets ([`check_references`]),
/// as SQLite's import relies on reading every id it writes inside its own transaction
/// (`db::Unchecked`). `tickets` has no other triggers, and nothing deletes enterprises,
/// projects, counties or imports.
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

/// The foreign keys of the written tickets, checked as sets of the distinct ids they name:
/// the import's transaction is refused if one names a row that does not exist.
async fn check_references(
    conn: &mut PgConnection,
    references: &References,
    import_id: i64,
) -> Result<()> {
    for (set, parent) in [
        (&references.enterprises, "enterprises"),
        (&references.projects, "projects"),
        (&references.counties, "jurisdictions"),
    ] {
        let ids: Vec<i64> = set.keys().copied().collect();
        let missing: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT x FROM unnest($1::int8[]) AS x
             WHERE NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = x)
             LIMIT 1"
        ))
        .bind(&ids)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(id) = missing {
            return Err(Error::Internal(format!(
                "导入的工单引用了不存在的记录：{parent}.id = {id}"
            )));
        }
    }
    let recorded: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM hotline_imports WHERE id = $1)")
            .bind(import_id)
            .fetch_one(&mut *conn)
            .await?;
    if !recorded {
        return Err(Error::Internal(format!(
            "导入的工单引用了不存在的记录：hotline_imports.id = {import_id}"
        )));
    }
    Ok(())
}
