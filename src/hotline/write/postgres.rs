//! PostgreSQL: `COPY` straight into `tickets` for new tickets; updates through a staging table
//! and one merge.
//!
//! Each batch is appended to two buffers in COPY's binary format, one for tickets the source
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
//! Holding the table alone, a bulk load also numbers its new tickets itself ([`Numbering`]).

use sqlx::PgConnection;
use tokio::sync::mpsc::Receiver;

use super::{Stamp, COLUMNS, ON_CONFLICT};
use crate::error::{Error, Result};
use crate::hotline::row::{Text, Ticket};
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
    /// In a bulk load, the id the next new ticket takes ([`Numbering`]).
    numbering: Option<Numbering>,
    /// Set when foreign-key triggers are off for the import ([`may_skip_triggers`]): the ids
    /// written, per referenced table, to check as sets at the end.
    references: Option<References>,
}

/// A bulk load numbers its new tickets itself, from one value taken from the identity's
/// sequence and moved past the last at the end: a `nextval` per row was a tenth of the
/// server's `COPY` (0.3 s a million rows). Only while the import holds `tickets` exclusively,
/// as a bulk load does from setting its indexes aside (`DROP INDEX`), so no other
/// transaction can take a value in between.
struct Numbering {
    /// The value taken from the sequence, the first ticket's number.
    first: i64,
    next: i64,
}

const SEQUENCE: &str = "pg_get_serial_sequence('tickets', 'id')";

/// The distinct ids an import's tickets refer to.
#[derive(Default)]
struct References {
    enterprises: Ids,
    projects: Ids,
    counties: Ids,
}

impl References {
    fn note(&mut self, t: &Ticket) {
        for (set, id) in [
            (&mut self.enterprises, t.enterprise_id),
            (&mut self.projects, t.project_id),
            (&mut self.counties, t.county_id),
        ] {
            if let Some(id) = id {
                set.insert(id);
            }
        }
    }
}

/// A set of ids: a bit each for the small positive ids a table's identity hands out (three a
/// ticket, a million tickets: a hash insert each cost more than the `COPY` formatting), a
/// hash set beyond.
#[derive(Default)]
struct Ids {
    bits: Vec<u64>,
    other: FastMap<i64, ()>,
}

impl Ids {
    /// Ids below this are bits: 2 MiB at most.
    const BITS: i64 = 1 << 24;

    fn insert(&mut self, id: i64) {
        match usize::try_from(id) {
            Ok(i) if id < Self::BITS => {
                let word = i / 64;
                if self.bits.len() <= word {
                    self.bits.resize(word + 1, 0);
                }
                self.bits[word] |= 1 << (i % 64);
            }
            _ => {
                self.other.insert(id, ());
            }
        }
    }

    fn to_vec(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.other.keys().copied().collect();
        for (word, &bits) in self.bits.iter().enumerate() {
            for bit in 0..64 {
                if bits & (1 << bit) != 0 {
                    ids.push((word * 64 + bit) as i64);
                }
            }
        }
        ids
    }
}

/// The start of a binary `COPY`: signature, flags, no header extension.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The end of a binary `COPY`: a tuple of -1 fields.
const TRAILER: &[u8] = &(-1i16).to_be_bytes();

/// Fields per tuple, as binary `COPY` counts them.
const FIELDS: i16 = super::WIDTH as i16;

/// A field's length as binary `COPY` writes it. Exported fields are bounded far below 2 GiB
/// by the import's byte limit; a longer one would be refused by the server, not wrapped.
fn len(buf: &mut Vec<u8>, n: usize) {
    buf.extend_from_slice(&i32::try_from(n).unwrap_or(i32::MAX).to_be_bytes());
}

/// A text value: its UTF-8 bytes as they are (binary `COPY` needs no escaping).
fn text(buf: &mut Vec<u8>, s: &str) {
    len(buf, s.len());
    buf.extend_from_slice(s.as_bytes());
}

fn int(buf: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => {
            len(buf, 8);
            buf.extend_from_slice(&v.to_be_bytes());
        }
        None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
    }
}

fn boolean(buf: &mut Vec<u8>, v: bool) {
    len(buf, 1);
    buf.push(u8::from(v));
}

/// One ticket as a binary `COPY` tuple, in `COLUMNS` order, after its `id` when it has one.
fn tuple(buf: &mut Vec<u8>, s: &Stamp, t: &Ticket, id: Option<i64>) {
    match id {
        Some(id) => {
            buf.extend_from_slice(&(FIELDS + 1).to_be_bytes());
            int(buf, Some(id));
        }
        None => buf.extend_from_slice(&FIELDS.to_be_bytes()),
    }
    text(buf, &s.source);
    text(buf, t.text(Text::TicketNo));
    int(buf, Some(t.received_at));
    text(buf, t.text(Text::Channel));
    text(buf, t.text(Text::District));
    text(buf, t.text(Text::Community));
    text(buf, t.text(Text::Enterprise));
    text(buf, t.text(Text::CreditCode));
    text(buf, t.text(Text::SourceCategory));
    text(buf, t.text(Text::Content));
    int(buf, t.forwarded_at);
    int(buf, t.deadline_at);
    int(buf, t.responded_at);
    int(buf, t.closed_at);
    text(buf, t.satisfaction.unwrap_or(Satisfaction::Unrated).code());
    boolean(buf, t.revisited);
    int(buf, t.revisited_at);
    boolean(buf, t.group_petition);
    text(buf, t.category);
    text(buf, t.subcategory);
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
}

/// `COPY table FROM STDIN` in the binary format, which the server reads without parsing
/// numbers or splitting lines; with the `id` first when the import numbers the tickets.
fn copy_sql(table: &str, numbered: bool) -> String {
    let id = if numbered { "id, " } else { "" };
    format!("COPY {table} ({id}{COLUMNS}) FROM STDIN WITH (FORMAT binary)")
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
        let numbering = if rebuild.is_empty() {
            None
        } else {
            let next: i64 = sqlx::query_scalar(&format!("SELECT nextval({SEQUENCE})"))
                .fetch_one(&mut *conn)
                .await?;
            Some(Numbering { first: next, next })
        };
        Ok(Writer {
            stamp,
            numbering,
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
            let numbered = self.numbering.is_some();
            let mut adding = conn.copy_in_raw(&copy_sql("tickets", numbered)).await?;
            adding.send(HEADER).await?;
            let ended = loop {
                let Some(batch) = batches.recv().await else {
                    break true;
                };
                self.format(&batch);
                if self.added.len() >= SEND_BYTES {
                    adding.send(self.added.as_slice()).await?;
                    self.added.clear();
                }
                if self.changed.len() >= FLUSH_BYTES {
                    break false;
                }
            };
            self.added.extend_from_slice(TRAILER);
            adding.send(self.added.as_slice()).await?;
            self.added.clear();
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

    /// Appends a batch to the buffers as binary COPY tuples.
    fn format(&mut self, batch: &[Ticket]) {
        for t in batch.iter() {
            if let Some(r) = &mut self.references {
                r.note(t);
            }
            if t.stored {
                tuple(&mut self.changed, &self.stamp, t, None);
            } else {
                let id = self.numbering.as_mut().map(|n| {
                    let id = n.next;
                    n.next = n.next.saturating_add(1);
                    id
                });
                tuple(&mut self.added, &self.stamp, t, id);
            }
        }
    }

    pub async fn finish(self, conn: &mut PgConnection) -> Result<()> {
        // The set-aside indexes first: the merge's `ON CONFLICT` needs the unique key.
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
        // Past the last number a ticket took, if any took one; before the merge, whose new
        // rows take their ids from the sequence.
        if let Some(Numbering { next, .. }) = self.numbering.filter(|n| n.next > n.first) {
            sqlx::query(&format!("SELECT setval({SEQUENCE}, $1)"))
                .bind(next - 1)
                .execute(&mut *conn)
                .await?;
        }
        if self.staged_any {
            sqlx::query(&format!(
                "INSERT INTO tickets ({COLUMNS}) SELECT {COLUMNS} FROM ticket_staging{ON_CONFLICT}"
            ))
            .execute(&mut *conn)
            .await?;
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
    let mut copy = conn.copy_in_raw(&copy_sql(table, false)).await?;
    copy.send(HEADER).await?;
    buf.extend_from_slice(TRAILER);
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
        let ids = set.to_vec();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_a_set_on_both_sides_of_the_bits() {
        let mut ids = Ids::default();
        for id in [3, 64, 3, Ids::BITS - 1, Ids::BITS, -7, i64::MAX, 64, 0] {
            ids.insert(id);
        }
        let mut got = ids.to_vec();
        got.sort_unstable();
        assert_eq!(got, vec![-7, 0, 3, 64, Ids::BITS - 1, Ids::BITS, i64::MAX]);
        assert!(Ids::default().to_vec().is_empty());
    }

    #[test]
    fn a_tuple_counts_its_fields() {
        let stamp = Stamp {
            source: "12345".into(),
            import_id: 9,
            now: 1_700_000_000,
        };
        let t = Ticket::default().with_text(Text::TicketNo, "A1");
        let mut buf = Vec::new();
        tuple(&mut buf, &stamp, &t, None);
        assert_eq!(&buf[..2], &FIELDS.to_be_bytes());
        let mut numbered = Vec::new();
        tuple(&mut numbered, &stamp, &t, Some(7));
        assert_eq!(&numbered[..2], &(FIELDS + 1).to_be_bytes());
        assert_eq!(
            &numbered[2..14],
            &[&8i32.to_be_bytes()[..], &7i64.to_be_bytes()].concat()
        );
        assert_eq!(&numbered[14..], &buf[2..]);
        // The source: its length, then its bytes.
        assert_eq!(&buf[2..6], &5i32.to_be_bytes());
        assert_eq!(&buf[6..11], b"12345");
        // A missing time is a length of -1 and no bytes.
        let mut null = Vec::new();
        int(&mut null, None);
        assert_eq!(null, (-1i32).to_be_bytes());
        assert_eq!(HEADER.len(), 19);
    }
}
