//! Importing hotline exports: CSV (UTF-8 with or without BOM, GBK/GB18030) or XLSX, read with
//! the mapping profile that recognizes the header. Rows are streamed, never all held as text;
//! each is parsed, classified and attributed, then upserted by (source, ticket id) in batches
//! inside one transaction. A file with any bad row imports nothing unless bad rows are
//! skipped; either way every rejected row is reported with its line and reason.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use chrono::TimeZone;
use serde::Serialize;

use super::attribute::Attributor;
use super::classify::Classifier;
use super::profile::{self, Profile};
use super::{Satisfaction, DAY};
use crate::audit::{self, Actor};
use crate::db::{Backend, Conn, Db};
use crate::error::{Error, Result};
use crate::on_conn;
use crate::tabular::{self, Header, RawRow};
use crate::text;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub skip_bad_rows: bool,
    /// Folder for the rejected-row report; none writes no file.
    pub report_dir: Option<PathBuf>,
    /// Read with this profile only, instead of choosing among the shipped and user ones.
    pub profile_file: Option<PathBuf>,
    /// Folder of user-supplied profiles (`*.toml`).
    pub profile_dir: Option<PathBuf>,
    /// A county officer's import: tickets that resolve to another county are rejected rows.
    pub only_county: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rejection {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub file: String,
    pub profile: String,
    pub source: String,
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    /// Imported rows no enterprise could be found for: they wait in the unmatched queue.
    pub unmatched: usize,
    pub committed: bool,
    pub rejections: Vec<Rejection>,
    pub report_path: Option<String>,
}

/// One parsed row, ready to store.
#[derive(Debug, Clone, Default)]
pub struct Ticket {
    pub ticket_no: String,
    pub received_at: i64,
    pub channel: String,
    pub district: String,
    pub community_text: String,
    pub enterprise_text: String,
    pub credit_code_text: String,
    pub source_category: String,
    pub content: String,
    pub forwarded_at: Option<i64>,
    pub deadline_at: Option<i64>,
    pub responded_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub satisfaction: Option<Satisfaction>,
    pub revisited: bool,
    pub revisited_at: Option<i64>,
    pub group_petition: bool,
    // Derived:
    pub category: String,
    pub subcategory: String,
    pub severity: &'static str,
    pub enterprise_id: Option<i64>,
    pub project_id: Option<i64>,
    pub county_id: Option<i64>,
    pub attribution: &'static str,
    pub attribution_score: i64,
    pub row_hash: String,
}

/// Beijing wall-clock text → UTC epoch seconds.
fn epoch(s: &str) -> Option<i64> {
    let dt = text::parse_datetime(s)?;
    crate::time::china()
        .from_local_datetime(&dt)
        .single()
        .map(|t| t.timestamp())
}

fn time_field(
    header: &Header,
    row: &RawRow,
    key: &str,
    label: &str,
) -> std::result::Result<Option<i64>, String> {
    let raw = header.raw(row, key).trim();
    if raw.is_empty() {
        return Ok(None);
    }
    epoch(raw)
        .map(Some)
        .ok_or_else(|| format!("{label}“{raw}”不是可识别的日期时间"))
}

/// A deadline is a date-time, or a span such as `3天` / `5个工作日` after forwarding.
/// Working days are counted as calendar days here (no holiday calendar yet).
fn deadline(raw: &str, from: Option<i64>) -> std::result::Result<Option<i64>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Some(t) = epoch(raw) {
        return Ok(Some(t));
    }
    let s = text::clean(raw);
    let days: Option<i64> = ["个工作日", "工作日", "天", "日"]
        .iter()
        .find_map(|u| s.strip_suffix(u))
        .and_then(|n| n.trim().parse().ok());
    match (days, from) {
        (Some(d), Some(f)) => Ok(Some(f + d * DAY)),
        (Some(_), None) => Ok(None),
        (None, _) => Err(format!("办理时限“{raw}”应为日期时间或天数（如 3个工作日）")),
    }
}

pub fn parse_row(header: &Header, row: &RawRow) -> std::result::Result<Ticket, String> {
    let cell = |k: &str| text::tidy(header.raw(row, k));
    let ticket_no = text::clean(header.raw(row, "ticket_no"));
    if ticket_no.is_empty() {
        return Err("工单编号为空".into());
    }
    let received_raw = header.raw(row, "received_at").trim().to_string();
    if received_raw.is_empty() {
        return Err("受理时间为空".into());
    }
    let received_at = epoch(&received_raw)
        .ok_or_else(|| format!("受理时间“{received_raw}”不是可识别的日期时间"))?;
    let forwarded_at = time_field(header, row, "forwarded_at", "转办时间")?;
    let responded_at = time_field(header, row, "responded_at", "答复时间")?;
    let closed_at = time_field(header, row, "closed_at", "办结时间")?;
    let revisited_at = time_field(header, row, "revisited_at", "回访时间")?;
    let deadline_at = deadline(
        header.raw(row, "deadline_at"),
        forwarded_at.or(Some(received_at)),
    )?;
    if closed_at.is_some_and(|c| c < received_at) {
        return Err("办结时间早于受理时间".into());
    }
    if forwarded_at.is_some_and(|f| f < received_at) {
        return Err("转办时间早于受理时间".into());
    }
    if let (Some(r), Some(f)) = (responded_at, forwarded_at) {
        if r < f {
            return Err("答复时间早于转办时间".into());
        }
    }
    let sat_raw = header.raw(row, "satisfaction");
    let satisfaction = Satisfaction::parse(sat_raw).ok_or_else(|| {
        format!(
            "满意度“{}”无法识别（应为满意、基本满意、不满意或未评价）",
            sat_raw.trim()
        )
    })?;
    let rev_raw = header.raw(row, "revisited");
    let revisited = if rev_raw.trim().is_empty() {
        revisited_at.is_some()
    } else {
        text::parse_bool(rev_raw, &["已回访", "回访"], &["未回访", "不需回访"])
            .ok_or_else(|| format!("是否回访“{}”无法识别", rev_raw.trim()))?
            || revisited_at.is_some()
    };
    let group_raw = header.raw(row, "group_petition");
    let group_petition = if group_raw.trim().is_empty() {
        false
    } else {
        text::parse_bool(group_raw, &["群体", "群访", "是群体"], &["个人", "非群体"])
            .ok_or_else(|| format!("是否群体诉求“{}”无法识别", group_raw.trim()))?
    };
    Ok(Ticket {
        ticket_no,
        received_at,
        channel: cell("channel"),
        district: cell("district"),
        community_text: cell("community"),
        enterprise_text: cell("enterprise"),
        credit_code_text: text::clean(header.raw(row, "credit_code")),
        source_category: cell("category"),
        content: cell("content"),
        forwarded_at,
        deadline_at,
        responded_at,
        closed_at,
        satisfaction: Some(satisfaction),
        revisited,
        revisited_at,
        group_petition,
        ..Ticket::default()
    })
}

impl Ticket {
    /// A digest of what the source said (not of what we derived), to tell an updated row from
    /// an unchanged one on re-import.
    fn source_hash(&self) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (
            &self.ticket_no,
            self.received_at,
            &self.channel,
            &self.district,
            &self.community_text,
            &self.enterprise_text,
            &self.credit_code_text,
            &self.source_category,
            &self.content,
        )
            .hash(&mut h);
        (
            self.forwarded_at,
            self.deadline_at,
            self.responded_at,
            self.closed_at,
            self.satisfaction.map(Satisfaction::code),
            self.revisited,
            self.revisited_at,
            self.group_petition,
        )
            .hash(&mut h);
        format!("{:016x}", h.finish())
    }
}

/// Rows per INSERT statement: 29 values each stays under SQLite's 32,766 bind limit.
const BATCH: usize = 500;
const COLUMNS: &str = "source, ticket_no, received_at, channel, district, community_text, enterprise_text,
    credit_code_text, source_category, content, forwarded_at, deadline_at, responded_at, closed_at, satisfaction,
    revisited, revisited_at, group_petition, category, subcategory, severity, enterprise_id, project_id, county_id,
    attribution, attribution_score, row_hash, import_id, updated_at";
const WIDTH: usize = 29;

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
        row_hash = excluded.row_hash, import_id = excluded.import_id, updated_at = excluded.updated_at",
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
                .bind(now);
        }
        q.execute(c).await.map(|r| r.rows_affected())
    })?;
    batch.clear();
    Ok(())
}

fn file_label(name: &str) -> String {
    Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string())
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
/// county (attributed to its enterprises, or naming it as the district).
pub async fn import(
    db: &Db,
    actor: &Actor,
    bytes: &[u8],
    file_name: &str,
    opts: &Options,
) -> Result<Summary> {
    let profiles = match &opts.profile_file {
        Some(p) => vec![Profile::load_file(p)?],
        None => Profile::all(opts.profile_dir.as_deref())?,
    };
    let workbook;
    let text;
    let mut rows: Box<dyn Iterator<Item = Result<RawRow>> + Send + '_> =
        if tabular::is_workbook(bytes) {
            workbook = tabular::read_rows(bytes)?;
            Box::new(workbook.into_iter().map(Ok))
        } else {
            text = tabular::decode(bytes);
            Box::new(tabular::csv_rows(&text))
        };
    let mut head = Vec::new();
    while head.len() < tabular::HEADER_SEARCH_ROWS {
        match rows.next() {
            Some(r) => head.push(r?),
            None => break,
        }
    }
    let (profile, pos, header) = profile::choose(&profiles, &head)?;
    let source = profile.source.clone();
    let mut summary = Summary {
        file: file_label(file_name),
        profile: profile.id.clone(),
        source: source.clone(),
        ..Summary::default()
    };
    let classifier = Classifier::shipped()?;

    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let mut attributor = Attributor::load(&mut conn).await?;
    let counties = county_names(&mut conn).await?;
    let existing: HashMap<String, String> = {
        let pairs: Vec<(String, String)> = on_conn!(&mut conn, |c| sqlx::query_as(
            "SELECT ticket_no, row_hash FROM tickets WHERE source = $1"
        )
        .bind(&source)
        .fetch_all(c)
        .await)?;
        pairs.into_iter().collect()
    };
    let import_id: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO hotline_imports (source, file_name, sha256, profile, actor, imported_at, rows, inserted, updated,
             unchanged, rejected, unmatched, committed) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, 0, 0, 0, FALSE) RETURNING id"
    )
    .bind(&source)
    .bind(&summary.file)
    .bind(crate::secret::sha256_hex(bytes))
    .bind(&profile.id)
    .bind(&actor.label)
    .bind(chrono::Utc::now())
    .fetch_one(c)
    .await
    })?;

    let sql_full = upsert_sql(BATCH, conn.backend());
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut rejected_rows: Vec<RawRow> = Vec::new();
    let data = head.into_iter().skip(pos + 1).map(Ok).chain(rows);
    // Parsing, classifying and attributing (this task) overlap with SQLite writing a batch
    // (its worker thread): the producer hands full batches over a short channel, so each side
    // waits only when the other is two batches behind.
    let (to_writer, mut batches) = tokio::sync::mpsc::channel::<Vec<Ticket>>(2);
    let producer = async {
        let mut batch: Vec<Ticket> = Vec::with_capacity(BATCH);
        for row in data {
            let row = row?;
            summary.rows += 1;
            let mut t = match parse_row(&header, &row) {
                Ok(t) => t,
                Err(reason) => {
                    summary.rejections.push(Rejection {
                        line: row.line,
                        reason,
                    });
                    rejected_rows.push(row);
                    continue;
                }
            };
            if let Some(first) = first_line.get(&t.ticket_no) {
                summary.rejections.push(Rejection {
                    line: row.line,
                    reason: format!("工单编号 {} 与第{first}行重复", t.ticket_no),
                });
                rejected_rows.push(row);
                continue;
            }
            first_line.insert(t.ticket_no.clone(), row.line);
            t.row_hash = t.source_hash();
            let is_update = match existing.get(&t.ticket_no) {
                Some(h) if *h == t.row_hash => {
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
            if let (Some(own), Some(other)) = (opts.only_county, t.county_id) {
                if own != other {
                    summary.rejections.push(Rejection {
                        line: row.line,
                        reason: "工单属于其他县区，无权导入".into(),
                    });
                    rejected_rows.push(row);
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
    summary.rejected = summary.rejections.len();
    write_report(&mut summary, &header, &rejected_rows, opts)?;

    if summary.rejected > 0 && !opts.skip_bad_rows {
        drop(tx);
        summary.inserted = 0;
        summary.updated = 0;
        summary.unchanged = 0;
        summary.unmatched = 0;
        record_refused(db, actor, &summary, bytes).await?;
        return Ok(summary);
    }
    on_conn!(&mut conn, |c| {
        sqlx::query(
        "UPDATE hotline_imports SET rows = $1, inserted = $2, updated = $3, unchanged = $4, rejected = $5, unmatched = $6,
             committed = TRUE, report_path = $7 WHERE id = $8"
    )
    .bind(summary.rows as i64)
    .bind(summary.inserted as i64)
    .bind(summary.updated as i64)
    .bind(summary.unchanged as i64)
    .bind(summary.rejected as i64)
    .bind(summary.unmatched as i64)
    .bind(&summary.report_path)
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
    tx.commit().await?;
    summary.committed = true;
    if summary.inserted + summary.updated > 10_000 {
        crate::db::checkpoint(db).await?;
    }
    Ok(summary)
}

/// The audit entry keeps the counts, not every rejection.
fn summary_for_audit(s: &Summary) -> Summary {
    Summary {
        rejections: Vec::new(),
        ..s.clone()
    }
}

/// A refused file leaves a record that it was tried, outside the rolled-back transaction.
async fn record_refused(db: &Db, actor: &Actor, s: &Summary, bytes: &[u8]) -> Result<()> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let id: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO hotline_imports (source, file_name, sha256, profile, actor, imported_at, rows, inserted, updated,
             unchanged, rejected, unmatched, committed, report_path) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, 0, $8, 0, FALSE, $9) RETURNING id"
    )
    .bind(&s.source)
    .bind(&s.file)
    .bind(crate::secret::sha256_hex(bytes))
    .bind(&s.profile)
    .bind(&actor.label)
    .bind(chrono::Utc::now())
    .bind(s.rows as i64)
    .bind(s.rejected as i64)
    .bind(&s.report_path)
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

fn write_report(
    summary: &mut Summary,
    header: &Header,
    rows: &[RawRow],
    opts: &Options,
) -> Result<()> {
    let Some(dir) = &opts.report_dir else {
        return Ok(());
    };
    if summary.rejections.is_empty() {
        return Ok(());
    }
    let rejected = summary
        .rejections
        .iter()
        .zip(rows)
        .map(|(r, row)| (r.line, r.reason.as_str(), Some(row)));
    summary.report_path = Some(tabular::write_rejections(
        dir,
        "hotline",
        &summary.file,
        &header.headers,
        rejected,
    )?);
    Ok(())
}
