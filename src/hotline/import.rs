//! Importing hotline exports: CSV (UTF-8 with or without BOM, GBK/GB18030) or XLSX, read with
//! the mapping profile that recognizes the header. Rows are read on a blocking thread and
//! streamed, never all held as text; each is parsed, classified and attributed, then upserted
//! by (source, ticket id) in batches inside one transaction. A file with any bad row imports
//! nothing unless bad rows are skipped; either way every rejected row is reported with its
//! line and reason. Each ticket remembers which columns its import had, so a metric whose
//! column was missing reads unknown rather than 0.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

use serde::Serialize;

use super::attribute::Registry;
use super::classify::Classifier;
use super::facts::{self, FactStore};
use super::produce::{self, Existing, Produced, Producer};
use super::profile::{self, Profile};
pub use super::row::{parse_row, Columns, Ticket};
use super::write;
use super::FastMap;
use crate::audit::{self, Actor};
use crate::db::{Conn, Db};
use crate::error::{Error, Result};
use crate::import::{self as core, reports};
use crate::on_conn;
use crate::tabular::{RawRow, RowStream};

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Skipping bad rows, the report, the county scope and the size limits.
    pub base: core::Options,
    /// Read with this profile only, instead of choosing among the shipped and user ones.
    pub profile_file: Option<std::path::PathBuf>,
    /// Folder of user-supplied profiles (`*.toml`).
    pub profile_dir: Option<std::path::PathBuf>,
    /// The facts copy to patch after the import commits (the server's and the CLI's); without
    /// one, the next metrics read rebuilds it from the database.
    pub facts: Option<std::sync::Arc<FactStore>>,
}

pub use core::Rejection;

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[schema(as = HotlineImportSummary)]
pub struct Summary {
    #[serde(flatten)]
    pub base: core::Summary,
    pub profile: String,
    pub source: String,
    /// Imported rows no enterprise could be found for: they wait in the unmatched queue.
    pub unmatched: usize,
}

impl Deref for Summary {
    type Target = core::Summary;
    fn deref(&self) -> &core::Summary {
        &self.base
    }
}

impl DerefMut for Summary {
    fn deref_mut(&mut self) -> &mut core::Summary {
        &mut self.base
    }
}

/// Tickets handed to the writer at a time.
const BATCH: usize = 500;

/// Counties by name or code, for tickets no enterprise was found for.
async fn county_names(conn: &mut Conn<'_>) -> Result<HashMap<String, i64>> {
    let rows: Vec<(i64, String, String)> = on_conn!(conn, |c| sqlx::query_as(
        "SELECT id, code, name FROM jurisdictions WHERE kind = 'county'"
    )
    .fetch_all(c)
    .await)?;
    let mut out = HashMap::new();
    for (id, code, name) in rows {
        out.insert(code, id);
        // Exports write 任城区 or 任城.
        if let Some(short) = name
            .strip_suffix(['区', '县', '市'])
            .filter(|s| s.chars().count() >= 2)
        {
            out.insert(short.to_string(), id);
        }
        out.insert(name, id);
    }
    Ok(out)
}

/// Imports one file. `only_county` restricts a county officer's import to tickets of their
/// county (attributed to its enterprises, or naming it as the district), and keeps it from
/// rewriting a ticket another county holds.
pub async fn import(
    db: &Db,
    actor: &Actor,
    bytes: Vec<u8>,
    file_name: &str,
    opts: &Options,
) -> Result<Summary> {
    let profiles = match &opts.profile_file {
        Some(p) => vec![Profile::load_file(p)?],
        None => Profile::all(opts.profile_dir.as_deref())?,
    };
    let base = &opts.base;
    // Owned and shared with the reading thread: a large export is not copied.
    let bytes = std::sync::Arc::new(bytes);
    // Built while the file's head is read and the transaction is prepared, off the async
    // workers, by the process's first import (the classifier's automaton takes a quarter of a
    // second); later imports share it.
    let preparing = tokio::task::spawn_blocking({
        let bytes = std::sync::Arc::clone(&bytes);
        move || Classifier::shared().map(|c| (c, rows_at_most(&bytes)))
    });
    let mut rows = RowStream::spawn(std::sync::Arc::clone(&bytes), base.limits);
    let mut head = Vec::new();
    while head.len() < core::HEADER_SEARCH_ROWS {
        match rows.next().await {
            Some(r) => head.push(r?),
            None => break,
        }
    }
    let (profile, pos, header) = profile::choose(&profiles, &head)?;
    let source = profile.source.clone();
    let source_fields = profile::field_mask(&header);
    let mut summary = Summary {
        base: core::Summary::new(file_name, &header),
        profile: profile.id.clone(),
        source: source.clone(),
        ..Summary::default()
    };

    let mut tx = db.begin_unchecked().await?;
    let mut conn = tx.conn();
    lock_imports(&mut conn).await?;
    let registry = Registry::load(&mut conn).await?;
    let counties = county_names(&mut conn).await?;
    // The existing tickets' hashes tell updated from unchanged; their counties keep a county
    // officer from rewriting another county's ticket.
    // A manual attribution survives a re-import: the facts copy must keep it too.
    let existing: FastMap<String, Existing> = {
        let rows: Vec<(String, String, Option<i64>, Option<i64>)> =
            on_conn!(&mut conn, |c| sqlx::query_as(
                "SELECT ticket_no, row_hash, county_id,
                        CASE WHEN attribution = 'manual' THEN enterprise_id END
                 FROM tickets WHERE source = $1"
            )
            .bind(&source)
            .fetch_all(c)
            .await)?;
        rows.into_iter()
            .map(|(no, hash, county, manual)| {
                (
                    no,
                    Existing {
                        hash,
                        county,
                        manual,
                    },
                )
            })
            .collect()
    };
    let fields_text = profile::field_list(&header);
    let import_id: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO hotline_imports (source, file_name, sha256, profile, actor, imported_at, rows, inserted, updated,
             unchanged, rejected, unmatched, committed, fields) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, 0, 0, 0, FALSE, $7) RETURNING id"
    )
    .bind(&source)
    .bind(&summary.file)
    // Set with the result, below.
    .bind("")
    .bind(&profile.id)
    .bind(&actor.label)
    .bind(chrono::Utc::now())
    .bind(&fields_text)
    .fetch_one(c)
    .await
    })?;

    let stamp = write::Stamp {
        source: source.clone(),
        import_id,
        now: chrono::Utc::now().timestamp(),
    };
    let mut writer = write::Writer::start(&mut conn, stamp, bytes.len()).await?;
    let (classifier, rows_at_most) = preparing
        .await
        .map_err(|e| Error::Internal(format!("准备分类器失败：{e}")))??;
    let producer = Producer {
        columns: Columns::new(&header),
        source: source.clone(),
        source_fields,
        only_county: base.only_county,
        classifier,
        registry,
        counties,
        existing,
        keep_facts: opts.facts.is_some(),
        batch: BATCH,
        expected_rows: rows_at_most.min(base.limits.max_rows),
    };
    let out = Produced {
        summary: std::mem::take(&mut summary.base),
        ..Produced::default()
    };
    let head: Vec<RawRow> = head.into_iter().skip(pos + 1).collect();
    // Reading (a blocking thread) and parsing, classifying and attributing (another) overlap
    // with storing (this task): the producer hands full batches over a short channel, so
    // each side waits only when the other is two batches behind.
    let (to_writer, batches) = tokio::sync::mpsc::channel::<Vec<Ticket>>(2);
    let producing = produce::spawn(producer, out, head, rows, to_writer);
    let writing = async {
        // Owned here: a writer that fails drops the channel, and the producer stops at its
        // next batch instead of waiting for room.
        let mut batches = batches;
        writer.write_all(&mut conn, &mut batches).await
    };
    let (produced, written) = tokio::join!(producing, writing);
    written?;
    let Produced {
        summary: base_summary,
        unmatched,
        rejected_rows,
        changes,
    } = produced?;
    summary.base = base_summary;
    summary.unmatched = unmatched;

    if summary.close_rejections(base) {
        drop(tx);
        summary.inserted = 0;
        summary.updated = 0;
        summary.unchanged = 0;
        summary.unmatched = 0;
        record_refused(
            db,
            actor,
            &mut summary,
            &bytes,
            base,
            &header,
            &rejected_rows,
        )
        .await?;
        return Ok(summary);
    }
    // The file's digest, recorded with the result, is computed while the writer finishes: a
    // bulk load's index rebuild leaves this process idle.
    let digest = tokio::task::spawn_blocking({
        let bytes = std::sync::Arc::clone(&bytes);
        move || crate::secret::sha256_hex(&bytes)
    });
    writer.finish(&mut conn).await?;
    let sha256 = digest
        .await
        .map_err(|e| Error::Internal(format!("计算文件摘要失败：{e}")))?;
    reports::save(
        &mut conn,
        actor,
        base,
        "hotline",
        &mut summary.base,
        &header.headers,
        &rejected_rows,
    )
    .await?;
    on_conn!(&mut conn, |c| {
        sqlx::query(
        "UPDATE hotline_imports SET rows = $1, inserted = $2, updated = $3, unchanged = $4, rejected = $5, unmatched = $6,
             committed = TRUE, report_id = $7, sha256 = $8 WHERE id = $9"
    )
    .bind(summary.rows as i64)
    .bind(summary.inserted as i64)
    .bind(summary.updated as i64)
    .bind(summary.unchanged as i64)
    .bind(summary.rejected as i64)
    .bind(summary.unmatched as i64)
    .bind(summary.report_id)
    .bind(&sha256)
    .bind(import_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    audit::record(
        &mut conn,
        actor,
        "import",
        "hotline_import",
        Some(import_id),
        None::<&()>,
        Some(&summary_for_audit(&summary)),
    )
    .await?;
    let step = facts::bump(&mut conn).await?;
    tx.commit().await?;
    summary.committed = true;
    if let Some(store) = &opts.facts {
        store.patch(step, |t| t.apply(changes)).await;
    }
    // Its commit left the WAL as it was (`db::Unchecked`).
    crate::db::checkpoint_later(db);
    Ok(summary)
}

/// About how many rows a file holds, from above for a CSV file: a row ends at a line break
/// (a quoted field's own breaks only add to the count). The per-row collections are reserved
/// at this size, untouched until used: a vector that doubles copies itself and, on a virtual
/// machine, pays for every fresh page twice. A workbook's compressed bytes give a guess.
fn rows_at_most(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|&b| usize::from(b == b'\n'))
        .sum::<usize>()
        + 1
}

/// PostgreSQL advisory-lock class (two-key form) of the hotline imports.
const LOCK_IMPORTS: i32 = 7014;

/// Keeps a second import waiting until this one ends, before this one reads the stored
/// tickets: what it then writes as new is new (PostgreSQL adds new tickets with a plain
/// `COPY`, see `write::postgres`), and two bulk loads never wait on each other's lock on the
/// table. SQLite's write transaction already excludes every other writer.
async fn lock_imports(conn: &mut Conn<'_>) -> Result<()> {
    crate::db::lock_key(conn, LOCK_IMPORTS, "tickets").await
}

/// The audit entry keeps the counts, not every rejection.
fn summary_for_audit(s: &Summary) -> Summary {
    let mut out = s.clone();
    out.rejections = Vec::new();
    out
}

/// A refused file leaves a record that it was tried, and its report, outside the rolled-back
/// transaction.
async fn record_refused(
    db: &Db,
    actor: &Actor,
    s: &mut Summary,
    bytes: &[u8],
    opts: &core::Options,
    header: &core::Header,
    rejected: &[RawRow],
) -> Result<()> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    reports::save(
        &mut conn,
        actor,
        opts,
        "hotline",
        &mut s.base,
        &header.headers,
        rejected,
    )
    .await?;
    let id: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO hotline_imports (source, file_name, sha256, profile, actor, imported_at, rows, inserted, updated,
             unchanged, rejected, unmatched, committed, fields, report_id) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, 0, $8, 0, FALSE, $9, $10) RETURNING id"
    )
    .bind(&s.source)
    .bind(&s.file)
    .bind(crate::secret::sha256_hex(bytes))
    .bind(&s.profile)
    .bind(&actor.label)
    .bind(chrono::Utc::now())
    .bind(s.rows as i64)
    .bind(s.rejected as i64)
    .bind(profile::field_list(header))
    .bind(s.report_id)
    .fetch_one(c)
    .await
    })?;
    audit::record(
        &mut conn,
        actor,
        "import_refused",
        "hotline_import",
        Some(id),
        None::<&()>,
        Some(&summary_for_audit(s)),
    )
    .await?;
    tx.commit().await
}
