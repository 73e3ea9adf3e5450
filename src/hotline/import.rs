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

use super::attribute::Attributor;
use super::classify::Classifier;
use super::facts::{self, Fact, FactStore};
use super::profile::{self, Profile};
pub use super::row::{parse_row, Ticket};
use super::Satisfaction;
use crate::audit::{self, Actor};
use crate::db::{Backend, Conn, Db};
use crate::error::{Error, Result};
use crate::import::{self as core, reports};
use crate::on_conn;
use crate::tabular::{RawRow, RowStream};
use crate::text;

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

/// The reason for a row a county officer may not import: the same whether the row resolves
/// to another county or names a ticket another county holds, so counts reveal nothing.
const OTHER_COUNTY: &str = "工单属于其他县区，无权导入";

/// Rows per INSERT statement: 30 values each stays under SQLite's 32,766 bind limit.
const BATCH: usize = 500;
const COLUMNS: &str = "source, ticket_no, received_at, channel, district, community_text, enterprise_text,
    credit_code_text, source_category, content, forwarded_at, deadline_at, responded_at, closed_at, satisfaction,
    revisited, revisited_at, group_petition, category, subcategory, severity, enterprise_id, project_id, county_id,
    attribution, attribution_score, row_hash, import_id, updated_at, source_fields";
const WIDTH: usize = 30;

/// The batch statement. SQLite gets anonymous `?` placeholders: sqlx looks up every
/// parameter's name, and SQLite finds `$n` names by walking a list, which makes a
/// 14,500-parameter statement quadratic (measured: 80% of the import time).
fn upsert_sql(rows: usize, backend: Backend) -> String {
    let mut sql = format!("INSERT INTO tickets ({COLUMNS}) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..WIDTH {
            if c > 0 {
                sql.push(',');
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", r * WIDTH + c + 1)),
            }
        }
        sql.push(')');
    }
    // A re-import refreshes what the source says; an officer's manual attribution stands.
    sql.push_str(
        " ON CONFLICT (source, ticket_no) DO UPDATE SET
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
        source_fields = excluded.source_fields",
    );
    sql
}

async fn flush(
    conn: &mut Conn<'_>,
    source: &str,
    import_id: i64,
    batch: &mut Vec<Ticket>,
    sql_full: &str,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let partial;
    let sql = if batch.len() == BATCH {
        sql_full
    } else {
        partial = upsert_sql(batch.len(), conn.backend());
        &partial
    };
    let now = chrono::Utc::now().timestamp();
    on_conn!(conn, |c| {
        let mut q = sqlx::query(sql);
        for t in batch.iter() {
            q = q
                .bind(source)
                .bind(&t.ticket_no)
                .bind(t.received_at)
                .bind(&t.channel)
                .bind(&t.district)
                .bind(&t.community_text)
                .bind(&t.enterprise_text)
                .bind(&t.credit_code_text)
                .bind(&t.source_category)
                .bind(&t.content)
                .bind(t.forwarded_at)
                .bind(t.deadline_at)
                .bind(t.responded_at)
                .bind(t.closed_at)
                .bind(t.satisfaction.unwrap_or(Satisfaction::Unrated).code())
                .bind(t.revisited)
                .bind(t.revisited_at)
                .bind(t.group_petition)
                .bind(&t.category)
                .bind(&t.subcategory)
                .bind(t.severity)
                .bind(t.enterprise_id)
                .bind(t.project_id)
                .bind(t.county_id)
                .bind(t.attribution)
                .bind(t.attribution_score)
                .bind(&t.row_hash)
                .bind(import_id)
                .bind(now)
                .bind(t.source_fields);
        }
        q.execute(c).await.map(|r| r.rows_affected())
    })?;
    batch.clear();
    Ok(())
}

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
    let classifier = Classifier::shipped()?;

    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let mut attributor = Attributor::load(&mut conn).await?;
    let counties = county_names(&mut conn).await?;
    // The existing tickets' hashes tell updated from unchanged; their counties keep a county
    // officer from rewriting another county's ticket.
    // A manual attribution survives a re-import: the facts copy must keep it too.
    let existing: HashMap<String, Existing> = {
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
    let mut changes: Vec<Fact> = Vec::new();
    let fields_text = profile::field_list(&header);
    let import_id: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO hotline_imports (source, file_name, sha256, profile, actor, imported_at, rows, inserted, updated,
             unchanged, rejected, unmatched, committed, fields) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, 0, 0, 0, FALSE, $7) RETURNING id"
    )
    .bind(&source)
    .bind(&summary.file)
    .bind(crate::secret::sha256_hex(&bytes))
    .bind(&profile.id)
    .bind(&actor.label)
    .bind(chrono::Utc::now())
    .bind(&fields_text)
    .fetch_one(c)
    .await
    })?;

    let rebuild = set_aside_indexes(&mut conn, bytes.len()).await?;
    let sql_full = upsert_sql(BATCH, conn.backend());
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut rejected_rows: Vec<RawRow> = Vec::new();
    let mut head = head.into_iter().skip(pos + 1);
    // Reading (a blocking thread), parsing, classifying and attributing (this task) overlap
    // with SQLite writing a batch (its worker thread): the producer hands full batches over a
    // short channel, so each side waits only when the other is two batches behind.
    let (to_writer, mut batches) = tokio::sync::mpsc::channel::<Vec<Ticket>>(2);
    let producer = async {
        let mut batch: Vec<Ticket> = Vec::with_capacity(BATCH);
        loop {
            let row = match head.next() {
                Some(row) => row,
                None => match rows.next().await {
                    Some(row) => row?,
                    None => break,
                },
            };
            summary.rows += 1;
            let mut reject = |summary: &mut Summary, row: RawRow, reason: String| {
                summary.reject(row.line, reason);
                rejected_rows.push(row);
            };
            let mut t = match parse_row(&header, &row) {
                Ok(t) => t,
                Err(reason) => {
                    reject(&mut summary, row, reason);
                    continue;
                }
            };
            if let Some(first) = first_line.get(&t.ticket_no) {
                let reason = format!("工单编号 {} 与第{first}行重复", t.ticket_no);
                reject(&mut summary, row, reason);
                continue;
            }
            first_line.insert(t.ticket_no.clone(), row.line);
            let known = existing.get(&t.ticket_no);
            if let (
                Some(own),
                Some(Existing {
                    county: Some(held), ..
                }),
            ) = (base.only_county, known)
            {
                if own != *held {
                    reject(&mut summary, row, OTHER_COUNTY.into());
                    continue;
                }
            }
            t.row_hash = t.source_hash();
            t.source_fields = source_fields;
            let is_update = match known {
                Some(k) if k.hash == t.row_hash => {
                    summary.unchanged += 1;
                    continue;
                }
                Some(_) => true,
                None => false,
            };
            let class = classifier.classify(&t.source_category, &t.content, t.group_petition);
            t.category = class.category;
            t.subcategory = class.subcategory;
            t.severity = class.severity.code();
            let m =
                attributor.attribute(&t.credit_code_text, &t.enterprise_text, &t.community_text);
            t.enterprise_id = m.enterprise_id;
            t.project_id = m.project_id;
            t.attribution = m.how.code();
            t.attribution_score = m.score;
            t.county_id = m
                .enterprise_id
                .and_then(|e| attributor.county_of.get(&e).copied())
                .or_else(|| counties.get(&text::clean(&t.district)).copied());
            if let (Some(own), Some(other)) = (base.only_county, t.county_id) {
                if own != other {
                    reject(&mut summary, row, OTHER_COUNTY.into());
                    continue;
                }
            }
            if is_update {
                summary.updated += 1;
            } else {
                summary.inserted += 1;
            }
            if m.enterprise_id.is_none() {
                summary.unmatched += 1;
            }
            if opts.facts.is_some() {
                let manual = known.and_then(|k| k.manual);
                changes.push(fact_of(&source, &t, manual));
            }
            batch.push(t);
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if to_writer.send(full).await.is_err() {
                    break; // the writer stopped on an error, which it reports
                }
            }
        }
        if !batch.is_empty() {
            let _ = to_writer.send(batch).await;
        }
        drop(to_writer);
        Ok::<_, Error>(())
    };
    let writer = async {
        while let Some(mut batch) = batches.recv().await {
            flush(&mut conn, &source, import_id, &mut batch, &sql_full).await?;
        }
        Ok::<_, Error>(())
    };
    let (produced, written) = tokio::join!(producer, writer);
    written?;
    produced?;

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
    for sql in &rebuild {
        on_conn!(&mut conn, |c| sqlx::query(sql)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
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
             committed = TRUE, report_id = $7 WHERE id = $8"
    )
    .bind(summary.rows as i64)
    .bind(summary.inserted as i64)
    .bind(summary.updated as i64)
    .bind(summary.unchanged as i64)
    .bind(summary.rejected as i64)
    .bind(summary.unmatched as i64)
    .bind(summary.report_id)
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
        store.patch(step, |t| t.apply(&changes)).await;
    }
    if summary.inserted + summary.updated > 10_000 {
        crate::db::checkpoint(db).await?;
    }
    Ok(summary)
}

/// Roughly the bytes one exported ticket takes, to tell a bulk load from a daily file.
const BYTES_PER_ROW: usize = 200;

/// On SQLite, a file that adds more tickets than the table holds loads faster into the table
/// without its secondary indexes, rebuilt once at the end from sorted data, than through
/// them row by row. The indexes are dropped inside the import's transaction: readers keep
/// using them (WAL snapshots), and a refused file rolls the drop back. Returns the statements
/// that recreate them, read from the schema so they always match the migrations.
async fn set_aside_indexes(conn: &mut Conn<'_>, file_bytes: usize) -> Result<Vec<String>> {
    let expected = file_bytes / BYTES_PER_ROW;
    if conn.backend() != Backend::Sqlite || expected < 50_000 {
        return Ok(Vec::new());
    }
    // Every source's tickets share the indexes: compare with the whole table.
    let stored: i64 = on_conn!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(c)
        .await)?;
    if i64::try_from(expected).unwrap_or(i64::MAX) < stored {
        return Ok(Vec::new());
    }
    let indexes: Vec<(String, String)> = on_conn!(conn, |c| sqlx::query_as(
        "SELECT name, sql FROM sqlite_master
         WHERE type = 'index' AND tbl_name = 'tickets' AND sql IS NOT NULL"
    )
    .fetch_all(c)
    .await)?;
    for (name, _) in &indexes {
        let drop = format!("DROP INDEX \"{}\"", name.replace('"', "\"\""));
        on_conn!(conn, |c| sqlx::query(&drop)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(indexes.into_iter().map(|(_, sql)| sql).collect())
}

/// What the import knows of a ticket already stored.
struct Existing {
    hash: String,
    county: Option<i64>,
    /// The enterprise an officer assigned it to, which a re-import keeps.
    manual: Option<i64>,
}

fn fact_of(source: &str, t: &Ticket, manual: Option<i64>) -> Fact {
    Fact {
        key: facts::key(source, &t.ticket_no),
        enterprise: manual.or(t.enterprise_id),
        received: t.received_at,
        forwarded: t.forwarded_at,
        responded: t.responded_at,
        closed: t.closed_at,
        revisited: t.revisited,
        revisited_at: t.revisited_at,
        sat: t.satisfaction.unwrap_or(Satisfaction::Unrated),
        group: t.group_petition,
        source_fields: t.source_fields,
        category: t.category.clone(),
    }
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
