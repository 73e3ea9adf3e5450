//! Writing an import's tickets: each backend its own way (SQLite through prepared single-row
//! inserts and upserts, PostgreSQL through `COPY`), behind one interface the importer drives:
//! `start`, `write_all` the batches as the producer makes them, `finish` before the commit. A
//! refused file never reaches `finish`; its transaction is rolled back.
//!
//! A bulk load (a file that adds more tickets than the table holds) sets the table's secondary
//! indexes aside and rebuilds them in `finish`, from sorted data, instead of updating them row
//! by row. A million tickets: SQLite 30 s against 42 s (a busy machine, an earlier build);
//! PostgreSQL's `COPY` 4.7 s plus 1.8 s of rebuilding against 14.0 s. Partial indexes stay:
//! they take a tenth of the rows or fewer (unmatched tickets, group petitions), cheaper to
//! update as they come than to rebuild with a scan of the whole table each (~0.15 s a
//! million).

mod postgres;
mod primary;
mod sqlite;

use tokio::sync::mpsc::Receiver;

use super::row::Ticket;
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

/// Roughly the bytes one exported ticket takes, to tell a bulk load from a daily file.
const BYTES_PER_ROW: usize = 200;

/// Below this many rows a file is never a bulk load: rebuilding the indexes costs more.
const BULK_MIN_ROWS: usize = 50_000;

/// Whether a file of `file_bytes` is a bulk load: it adds more tickets than the table holds
/// (every source's tickets share the indexes, so the whole table counts).
async fn is_bulk(conn: &mut Conn<'_>, file_bytes: usize) -> Result<bool> {
    let expected = file_bytes / BYTES_PER_ROW;
    if expected < BULK_MIN_ROWS {
        return Ok(false);
    }
    let stored: i64 = on_conn!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(c)
        .await)?;
    Ok(i64::try_from(expected).unwrap_or(i64::MAX) >= stored)
}

/// The stored columns, in the order every writer binds them.
pub(crate) const COLUMNS: &str = "source, ticket_no, received_at, channel, district, community_text, enterprise_text,
    credit_code_text, source_category, content, forwarded_at, deadline_at, responded_at, closed_at, satisfaction,
    revisited, revisited_at, group_petition, category, subcategory, severity, enterprise_id, project_id, county_id,
    attribution, attribution_score, row_hash, import_id, updated_at, source_fields";
pub(crate) const WIDTH: usize = 30;

/// A re-import refreshes what the source says; an officer's manual attribution stands.
pub(crate) const ON_CONFLICT: &str = " ON CONFLICT (source, ticket_no) DO UPDATE SET
        received_at = excluded.received_at, channel = excluded.channel, district = excluded.district,
        community_text = excluded.community_text, enterprise_text = excluded.enterprise_text,
        credit_code_text = excluded.credit_code_text, source_category = excluded.source_category,
        content = excluded.content, forwarded_at = excluded.forwarded_at, deadline_at = excluded.deadline_at,
        responded_at = excluded.responded_at, closed_at = excluded.closed_at, satisfaction = excluded.satisfaction,
        revisited = excluded.revisited, revisited_at = excluded.revisited_at, group_petition = excluded.group_petition,
        category = excluded.category, subcategory = excluded.subcategory, severity = excluded.severity,
        enterprise_id = CASE WHEN tickets.attribution = 'manual' THEN tickets.enterprise_id ELSE excluded.enterprise_id END,
        project_id = CASE WHEN tickets.attribution = 'manual' THEN tickets.project_id ELSE excluded.project_id END,
        county_id = CASE WHEN tickets.attribution = 'manual' THEN tickets.county_id ELSE excluded.county_id END,
        attribution_score = CASE WHEN tickets.attribution = 'manual' THEN tickets.attribution_score ELSE excluded.attribution_score END,
        attribution = CASE WHEN tickets.attribution = 'manual' THEN tickets.attribution ELSE excluded.attribution END,
        row_hash = excluded.row_hash, import_id = excluded.import_id, updated_at = excluded.updated_at,
        source_fields = excluded.source_fields";

/// The full secondary indexes of `tickets`, named with the statements that recreate them,
/// from each backend's catalog so they always match the migrations: not the primary key (on
/// PostgreSQL set aside apart, with the petitions' foreign keys that need it: `primary`) nor
/// the partial indexes (see the module's note). SQLite keeps
/// the unique source and number too: its writer upserts row by row through it. PostgreSQL's
/// `COPY` adds only tickets the import found new, so the key is rebuilt with the others,
/// first (the merge of changed tickets needs it); a duplicate the import missed fails that
/// rebuild, and the whole import with it.
const FULL_INDEXES_SQLITE: &str = "SELECT m.name, m.sql
    FROM sqlite_master m JOIN pragma_index_list('tickets') l ON l.name = m.name
    WHERE m.type = 'index' AND l.origin = 'c' AND l.partial = 0";
const FULL_INDEXES_POSTGRES: &str = "SELECT c.relname::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = 'tickets'::regclass AND NOT i.indisprimary AND i.indpred IS NULL
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
    ORDER BY i.indisunique DESC, c.relname";

/// Drops the full secondary indexes for a bulk load, inside the import's transaction (a
/// refused file rolls the drop back), and returns the statements that recreate them.
/// SQLite's readers keep using them (WAL snapshots); PostgreSQL's wait for the commit (see
/// `postgres`).
async fn set_aside_indexes(conn: &mut Conn<'_>) -> Result<Vec<String>> {
    let (sql, key) = match conn {
        Conn::Sqlite(_) => (FULL_INDEXES_SQLITE, primary::SetAside::default()),
        Conn::Postgres(c) => (FULL_INDEXES_POSTGRES, primary::set_aside(c).await?),
    };
    let indexes: Vec<(String, String)> =
        on_conn!(conn, |c| sqlx::query_as(sql).fetch_all(c).await)?;
    for (name, _) in &indexes {
        let drop = format!("DROP INDEX \"{}\"", name.replace('"', "\"\""));
        on_conn!(conn, |c| sqlx::query(&drop).execute(c).await.map(|_| ()))?;
    }
    // The key before the indexes, the foreign keys that need it after them.
    let mut rebuild = key.first;
    rebuild.extend(indexes.into_iter().map(|(_, sql)| sql));
    rebuild.extend(key.last);
    Ok(rebuild)
}

/// What every stored row shares besides the ticket.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub source: String,
    pub import_id: i64,
    /// The import's time, epoch seconds.
    pub now: i64,
}

pub enum Writer {
    Sqlite(sqlite::Writer),
    // Boxed: its buffers' bookkeeping makes it three times the size of SQLite's.
    Postgres(Box<postgres::Writer>),
}

impl Writer {
    /// Prepares the transaction behind `conn` for an import of `file_bytes` bytes.
    pub async fn start(conn: &mut Conn<'_>, stamp: Stamp, file_bytes: usize) -> Result<Writer> {
        let rebuild = if is_bulk(conn, file_bytes).await? {
            set_aside_indexes(conn).await?
        } else {
            Vec::new()
        };
        Ok(match conn {
            Conn::Sqlite(_) => Writer::Sqlite(sqlite::Writer::start(stamp, rebuild)),
            Conn::Postgres(c) => {
                Writer::Postgres(Box::new(postgres::Writer::start(c, stamp, rebuild).await?))
            }
        })
    }

    /// Writes (or stages) every batch `batches` brings, until the producer closes it.
    pub async fn write_all(
        &mut self,
        conn: &mut Conn<'_>,
        batches: &mut Receiver<Vec<Ticket>>,
    ) -> Result<()> {
        match (self, conn) {
            (Writer::Sqlite(w), Conn::Sqlite(c)) => w.write_all(c, batches).await,
            (Writer::Postgres(w), Conn::Postgres(c)) => w.write_all(c, batches).await,
            _ => Err(crate::error::Error::Internal(
                "导入写入器与数据库连接不匹配".into(),
            )),
        }
    }

    /// Completes the writes before the commit (rebuilds set-aside indexes, merges staging).
    pub async fn finish(self, conn: &mut Conn<'_>) -> Result<()> {
        match (self, conn) {
            (Writer::Sqlite(w), Conn::Sqlite(c)) => w.finish(c).await,
            (Writer::Postgres(w), Conn::Postgres(c)) => (*w).finish(c).await,
            _ => Err(crate::error::Error::Internal(
                "导入写入器与数据库连接不匹配".into(),
            )),
        }
    }
}
