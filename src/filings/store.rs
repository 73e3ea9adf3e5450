//! Storing filings and moving them through their lifecycle:
//! draft → submitted → approved | rejected (→ corrected and resubmitted), or withdrawn.
//! Every step checks who is asking, is audited, and keeps what was submitted at each revision
//! and every review, so the history stays visible after the state moves on.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::FromRow;

use super::{Context, Kind, Payload, Status};
use crate::audit;
use crate::auth::{Principal, Role, Scope};
use crate::blobs::{self, BlobStore};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::notify;
use crate::on_conn;
use crate::registry::enterprise::{self, Enterprise};
use crate::registry::project::Project;
use crate::registry::{Page, Paging};
use crate::rules::RuleSet;

#[derive(Debug, Clone, FromRow)]
struct Row {
    id: i64,
    enterprise_id: i64,
    kind: Kind,
    status: Status,
    payload: String,
    revision: i64,
    late: bool,
    created_by: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    first_submitted_at: Option<DateTime<Utc>>,
    submitted_at: Option<DateTime<Utc>>,
    decided_at: Option<DateTime<Utc>>,
    decided_by: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Filing {
    pub id: i64,
    pub enterprise_id: i64,
    pub kind: Kind,
    pub status: Status,
    pub payload: Payload,
    /// How many times it has been submitted.
    pub revision: i64,
    /// An Art. 6 change first filed more than the rule set's deadline after it took effect.
    pub late: bool,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub first_submitted_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<i64>,
}

impl TryFrom<Row> for Filing {
    type Error = Error;
    fn try_from(r: Row) -> Result<Filing> {
        let payload = serde_json::from_str(&r.payload)
            .map_err(|e| Error::Internal(format!("备案 {} 的内容无法读取：{e}", r.id)))?;
        Ok(Filing {
            id: r.id,
            enterprise_id: r.enterprise_id,
            kind: r.kind,
            status: r.status,
            payload,
            revision: r.revision,
            late: r.late,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            first_submitted_at: r.first_submitted_at,
            submitted_at: r.submitted_at,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
        })
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, FromRow, utoipa::ToSchema)]
pub struct FileRef {
    pub id: i64,
    pub filing_id: i64,
    pub slot: String,
    pub sha256: String,
    pub original_name: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: DateTime<Utc>,
}

fn local(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref()
        .map(crate::time::local)
        .unwrap_or_else(|| "—".into())
}

impl Filing {
    pub fn submitted_local(&self) -> String {
        local(&self.submitted_at)
    }
    pub fn decided_local(&self) -> String {
        local(&self.decided_at)
    }
}

impl ListItem {
    pub fn submitted_local(&self) -> String {
        local(&self.submitted_at)
    }
    pub fn updated_local(&self) -> String {
        crate::time::local(&self.updated_at)
    }
}

impl Review {
    pub fn at_local(&self) -> String {
        crate::time::local(&self.at)
    }
}

impl Revision {
    pub fn submitted_local(&self) -> String {
        crate::time::local(&self.submitted_at)
    }
}

impl FileRef {
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Review {
    pub revision: i64,
    pub reviewer: String,
    pub decision: String,
    /// Reason per field (or `general`).
    pub reasons: BTreeMap<String, String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Revision {
    pub revision: i64,
    pub payload: Payload,
    pub files: Vec<FileRef>,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FilingDetail {
    #[serde(flatten)]
    pub filing: Filing,
    pub enterprise_name: String,
    pub county_id: i64,
    pub files: Vec<FileRef>,
    pub reviews: Vec<Review>,
    pub revisions: Vec<Revision>,
}

#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct ListItem {
    pub id: i64,
    pub enterprise_id: i64,
    pub enterprise_name: String,
    pub county_id: i64,
    pub county_name: String,
    pub kind: Kind,
    pub status: Status,
    pub revision: i64,
    pub late: bool,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    pub enterprise_id: Option<i64>,
    pub status: Option<Status>,
    pub kind: Option<Kind>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

// --- who may do what --------------------------------------------------------------------

fn require_visible(p: &Principal, e: &Enterprise) -> Result<()> {
    if p.can_view_enterprise(e) {
        Ok(())
    } else {
        Err(Error::NotFound("备案"))
    }
}

/// Only the enterprise itself files; an officer who can see it is told so, anyone else sees
/// nothing.
fn require_owner(p: &Principal, e: &Enterprise) -> Result<()> {
    require_visible(p, e)?;
    match p.role {
        Role::Enterprise { enterprise_id } if enterprise_id == e.id => Ok(()),
        _ => Err(Error::Forbidden("备案由企业本身填报")),
    }
}

/// Reviews belong to the officers of the enterprise's county (and the city).
fn require_reviewer(p: &Principal, e: &Enterprise) -> Result<()> {
    require_visible(p, e)?;
    if p.is_officer() && p.covers_county(e.county_id) {
        Ok(())
    } else {
        Err(Error::Forbidden("备案由企业所在县区的主管部门审核"))
    }
}

// --- reading ------------------------------------------------------------------------------

pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Filing> {
    let row = on_conn!(conn, |c| sqlx::query_as::<_, Row>(
        "SELECT * FROM filings WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("备案"))?;
    row.try_into()
}

pub async fn files(conn: &mut Conn<'_>, filing_id: i64) -> Result<Vec<FileRef>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, FileRef>(
        "SELECT * FROM filing_files WHERE filing_id = $1 ORDER BY slot, id"
    )
    .bind(filing_id)
    .fetch_all(c)
    .await)?)
}

/// A filing the caller may see, with its files, reviews and submitted revisions.
pub async fn detail(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<FilingDetail> {
    let filing = get(conn, id).await?;
    let e = enterprise::get(conn, filing.enterprise_id).await?;
    require_visible(p, &e)?;
    let files = files(conn, id).await?;
    let review_rows: Vec<(i64, String, String, String, DateTime<Utc>)> =
        on_conn!(conn, |c| sqlx::query_as(
            "SELECT r.revision, u.display_name, r.decision, r.reasons, r.at FROM filing_reviews r
         JOIN users u ON u.id = r.reviewer_id WHERE r.filing_id = $1 ORDER BY r.id"
        )
        .bind(id)
        .fetch_all(c)
        .await)?;
    let reviews = review_rows
        .into_iter()
        .map(|(revision, reviewer, decision, reasons, at)| Review {
            revision,
            reviewer,
            decision,
            reasons: serde_json::from_str(&reasons).unwrap_or_default(),
            at,
        })
        .collect();
    let revision_rows: Vec<(i64, String, String, DateTime<Utc>)> = on_conn!(conn, |c| {
        sqlx::query_as(
        "SELECT revision, payload, files, submitted_at FROM filing_revisions WHERE filing_id = $1 ORDER BY revision"
    )
    .bind(id)
    .fetch_all(c)
    .await
    })?;
    let mut revisions = Vec::new();
    for (revision, payload, files, submitted_at) in revision_rows {
        revisions.push(Revision {
            revision,
            payload: serde_json::from_str(&payload).map_err(|e| Error::Internal(e.to_string()))?,
            files: serde_json::from_str(&files).unwrap_or_default(),
            submitted_at,
        });
    }
    Ok(FilingDetail {
        filing,
        enterprise_name: e.name,
        county_id: e.county_id,
        files,
        reviews,
        revisions,
    })
}

const LIST_WHERE: &str = "WHERE ($1 IS NULL OR e.county_id = $1)
      AND ($2 IS NULL OR f.enterprise_id = $2)
      AND ($3 IS NULL OR f.enterprise_id = $3)
      AND ($4 IS NULL OR f.status = $4)
      AND ($5 IS NULL OR f.kind = $5)";

pub async fn list(conn: &mut Conn<'_>, scope: Scope, filter: &Filter) -> Result<Page<ListItem>> {
    let paging = Paging::new(filter.page, filter.per_page);
    let status = filter.status.map(Status::code);
    let kind = filter.kind.map(Kind::code);
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM filings f JOIN enterprises e ON e.id = f.enterprise_id {LIST_WHERE}"
    ))
    .bind(scope.county())
    .bind(scope.enterprise())
    .bind(filter.enterprise_id)
    .bind(status)
    .bind(kind)
    .fetch_one(c)
    .await)?;
    let items = on_conn!(conn, |c| {
        sqlx::query_as::<_, ListItem>(&format!(
        "SELECT f.id, f.enterprise_id, e.name AS enterprise_name, e.county_id, j.name AS county_name, f.kind, f.status,
                f.revision, f.late, f.submitted_at, f.decided_at, f.updated_at
         FROM filings f JOIN enterprises e ON e.id = f.enterprise_id JOIN jurisdictions j ON j.id = e.county_id
         {LIST_WHERE}
         ORDER BY f.updated_at DESC, f.id DESC LIMIT $6 OFFSET $7"
    ))
    .bind(scope.county())
    .bind(scope.enterprise())
    .bind(filter.enterprise_id)
    .bind(status)
    .bind(kind)
    .bind(paging.per_page)
    .bind(paging.offset())
    .fetch_all(c)
    .await
    })?;
    Ok(paging.wrap(items, total))
}

/// Approved filings of an enterprise with their files, in the order they took effect.
pub async fn approved(
    conn: &mut Conn<'_>,
    enterprise_id: i64,
) -> Result<Vec<(Filing, Vec<FileRef>)>> {
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, Row>(
        "SELECT * FROM filings WHERE enterprise_id = $1 AND status = 'approved' ORDER BY decided_at, id"
    )
    .bind(enterprise_id)
    .fetch_all(c)
    .await
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let f: Filing = r.try_into()?;
        let fs = files(conn, f.id).await?;
        out.push((f, fs));
    }
    out.sort_by_key(|(f, _)| (f.payload.effective_on(), f.decided_at, f.id));
    Ok(out)
}

/// Projects whose notice boards an enterprise answers for: its own, and from the date of
/// their revocation or cancellation those of its subsidiaries (Art. 7).
pub async fn answerable_projects(
    conn: &mut Conn<'_>,
    enterprise_id: i64,
    as_of: NaiveDate,
) -> Result<Vec<Project>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, Project>(
        "SELECT p.* FROM projects p JOIN enterprises e ON e.id = p.enterprise_id
         WHERE p.enterprise_id = $1
            OR (e.parent_id = $1 AND e.status <> 'active' AND e.status_date <= $2)
         ORDER BY p.name, p.id"
    )
    .bind(enterprise_id)
    .bind(as_of)
    .fetch_all(c)
    .await)?)
}

async fn context_check(
    conn: &mut Conn<'_>,
    e: &Enterprise,
    rules: &RuleSet,
    payload: &Payload,
) -> Result<()> {
    let today = crate::time::today();
    let projects = answerable_projects(conn, e.id, today).await?;
    let delegate = match payload {
        Payload::Delegation(d) => enterprise::find_by_code(conn, &d.delegate_credit_code).await?,
        _ => None,
    };
    payload.check(&Context {
        enterprise: e,
        projects: &projects,
        rules,
        today,
        delegate: delegate.as_ref(),
    })
}

// --- changing -----------------------------------------------------------------------------

/// The columns stored beside the JSON payload, for queries: (payload, effective date, board
/// place kind, board project).
type Columns = (String, Option<NaiveDate>, Option<&'static str>, Option<i64>);

fn write_columns(payload: &Payload) -> Result<Columns> {
    let json = serde_json::to_string(payload).map_err(|e| Error::Internal(e.to_string()))?;
    let place = payload.place();
    Ok((
        json,
        payload.effective_on(),
        place.map(|p| p.kind_code()),
        place.and_then(|p| p.project_id()),
    ))
}

/// Starts a draft for the enterprise. A revoked or cancelled enterprise files nothing: its
/// duties have passed to its parent (Art. 7).
pub async fn create(
    conn: &mut Conn<'_>,
    p: &Principal,
    rules: &RuleSet,
    enterprise_id: i64,
    payload: &Payload,
) -> Result<Filing> {
    let e = enterprise::get(conn, enterprise_id)
        .await
        .map_err(|_| Error::NotFound("企业"))?;
    require_owner(p, &e)?;
    if e.status != crate::registry::Status::Active {
        return Err(Error::Conflict(format!(
            "企业已{}，其售后服务职责由母公司承担（第七条），不再填报备案",
            e.status.label()
        )));
    }
    context_check(conn, &e, rules, payload).await?;
    let (json, effective_on, place_kind, place_project) = write_columns(payload)?;
    let now = Utc::now();
    let id: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO filings (enterprise_id, kind, status, payload, effective_on, place_kind, place_project_id,
             created_by, created_at, updated_at)
         VALUES ($1, $2, 'draft', $3, $4, $5, $6, $7, $8, $8) RETURNING id"
    )
    .bind(enterprise_id)
    .bind(payload.kind().code())
    .bind(&json)
    .bind(effective_on)
    .bind(place_kind)
    .bind(place_project)
    .bind(p.user_id)
    .bind(now)
    .fetch_one(c)
    .await
    })?;
    let filing = get(conn, id).await?;
    audit::record(
        conn,
        &p.actor(),
        "create",
        "filing",
        Some(id),
        None::<&()>,
        Some(&filing),
    )
    .await?;
    Ok(filing)
}

async fn owned_editable(
    conn: &mut Conn<'_>,
    p: &Principal,
    id: i64,
) -> Result<(Filing, Enterprise)> {
    let f = get(conn, id).await?;
    let e = enterprise::get(conn, f.enterprise_id).await?;
    require_owner(p, &e)?;
    if !f.status.editable() {
        return Err(Error::Conflict(format!(
            "备案{}，不能再修改",
            f.status.label()
        )));
    }
    Ok((f, e))
}

/// Replaces a draft's or a returned filing's content; the kind cannot change.
pub async fn update(
    conn: &mut Conn<'_>,
    p: &Principal,
    rules: &RuleSet,
    id: i64,
    payload: &Payload,
) -> Result<Filing> {
    let (before, e) = owned_editable(conn, p, id).await?;
    if payload.kind() != before.kind {
        return Err(Error::invalid("kind", "不能更改备案类型，请另建备案"));
    }
    context_check(conn, &e, rules, payload).await?;
    let (json, effective_on, place_kind, place_project) = write_columns(payload)?;
    on_conn!(conn, |c| {
        sqlx::query(
        "UPDATE filings SET payload = $1, effective_on = $2, place_kind = $3, place_project_id = $4, updated_at = $5 WHERE id = $6"
    )
    .bind(&json)
    .bind(effective_on)
    .bind(place_kind)
    .bind(place_project)
    .bind(Utc::now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    let after = get(conn, id).await?;
    audit::record(
        conn,
        &p.actor(),
        "update",
        "filing",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    Ok(after)
}

/// How many photos one board filing may carry.
const MAX_PHOTOS: i64 = 10;

/// Attaches an uploaded file to a slot. Document and agreement slots hold one file (a new
/// upload replaces it); the photo slot holds several.
#[allow(clippy::too_many_arguments)]
pub async fn attach(
    conn: &mut Conn<'_>,
    store: &dyn BlobStore,
    max_bytes: usize,
    p: &Principal,
    id: i64,
    slot: &str,
    original_name: &str,
    bytes: &[u8],
) -> Result<FileRef> {
    let (f, _) = owned_editable(conn, p, id).await?;
    if !f.kind.file_slots().iter().any(|(s, _)| *s == slot) {
        let allowed: Vec<&str> = f.kind.file_slots().iter().map(|(s, _)| *s).collect();
        return Err(Error::invalid(
            "slot",
            if allowed.is_empty() {
                format!("{}不需要上传文件", f.kind.label())
            } else {
                format!("文件位置应为 {}", allowed.join("、"))
            },
        ));
    }
    // What the file is decides where it may go, before anything is written.
    let file_type = blobs::inspect(bytes, max_bytes, slot)?;
    if slot == "photo" {
        if !file_type.is_image() {
            return Err(Error::invalid(slot, "公示牌照片应为 JPEG 或 PNG 图片"));
        }
        let n: i64 = on_conn!(conn, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM filing_files WHERE filing_id = $1 AND slot = 'photo'"
        )
        .bind(id)
        .fetch_one(c)
        .await)?;
        if n >= MAX_PHOTOS {
            return Err(Error::invalid(
                slot,
                format!("每份公示牌备案最多{MAX_PHOTOS}张照片"),
            ));
        }
    } else {
        on_conn!(conn, |c| sqlx::query(
            "DELETE FROM filing_files WHERE filing_id = $1 AND slot = $2"
        )
        .bind(id)
        .bind(slot)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    let stored = blobs::store(conn, store, bytes, max_bytes, slot).await?;
    let name: String = original_name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let file_id: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO filing_files (filing_id, slot, sha256, original_name, content_type, size, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
    )
    .bind(id)
    .bind(slot)
    .bind(&stored.sha256)
    .bind(if name.is_empty() { "upload".to_string() } else { name })
    .bind(stored.file_type.content_type())
    .bind(stored.size)
    .bind(Utc::now())
    .fetch_one(c)
    .await
    })?;
    on_conn!(conn, |c| sqlx::query(
        "UPDATE filings SET updated_at = $1 WHERE id = $2"
    )
    .bind(Utc::now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let file = files(conn, id)
        .await?
        .into_iter()
        .find(|x| x.id == file_id)
        .ok_or(Error::NotFound("文件"))?;
    audit::record(
        conn,
        &p.actor(),
        "attach_file",
        "filing",
        Some(id),
        None::<&()>,
        Some(&file),
    )
    .await?;
    Ok(file)
}

pub async fn detach(conn: &mut Conn<'_>, p: &Principal, id: i64, file_id: i64) -> Result<()> {
    owned_editable(conn, p, id).await?;
    let file = files(conn, id)
        .await?
        .into_iter()
        .find(|x| x.id == file_id)
        .ok_or(Error::NotFound("文件"))?;
    on_conn!(conn, |c| sqlx::query(
        "DELETE FROM filing_files WHERE id = $1"
    )
    .bind(file_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(
        conn,
        &p.actor(),
        "detach_file",
        "filing",
        Some(id),
        Some(&file),
        None::<&()>,
    )
    .await?;
    Ok(())
}

/// Counts this enterprise's filings of `kind` in the given statuses, other than `except`.
async fn count_kind(
    conn: &mut Conn<'_>,
    enterprise_id: i64,
    kind: Kind,
    statuses: &[&str],
    except: i64,
) -> Result<i64> {
    let list = statuses
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM filings WHERE enterprise_id = $1 AND kind = $2 AND id <> $3 AND status IN ({list})"
    ))
    .bind(enterprise_id)
    .bind(kind.code())
    .bind(except)
    .fetch_one(c)
    .await
    })?)
}

/// Submits (or resubmits) for review, once everything the kind needs is there.
pub async fn submit(
    conn: &mut Conn<'_>,
    p: &Principal,
    rules: &RuleSet,
    id: i64,
) -> Result<Filing> {
    let (before, e) = owned_editable(conn, p, id).await?;
    context_check(conn, &e, rules, &before.payload).await?;
    let attached = files(conn, id).await?;
    let has = |slot: &str| attached.iter().any(|f| f.slot == slot);
    let missing_file = match before.kind {
        Kind::Documents if !super::DOCUMENT_SLOTS.iter().any(|(s, _)| has(s)) => Some((
            "files",
            "请至少上传一份制度文件（机构职能、岗位职责、服务承诺制度或工作流程）",
        )),
        Kind::NoticeBoard if !has("photo") => Some(("photo", "请上传公示牌照片")),
        Kind::Delegation if !has("agreement") => Some(("agreement", "请上传委托协议")),
        _ => None,
    };
    if let Some((field, message)) = missing_file {
        return Err(Error::invalid(field, message));
    }
    // One org per enterprise (Art. 4); changes (Art. 6) change an org that exists.
    let establishments = count_kind(
        conn,
        e.id,
        Kind::Establishment,
        &["submitted", "approved"],
        id,
    )
    .await?;
    let approved_org = count_kind(conn, e.id, Kind::Establishment, &["approved"], id).await? > 0;
    if before.kind == Kind::Establishment && establishments > 0 {
        return Err(Error::Conflict(
            "已有设立备案（待审核或已通过）；机构信息变化请提交变更备案".into(),
        ));
    }
    if before.kind.is_change() && !approved_org {
        return Err(Error::Conflict(
            "售后服务机构设立备案尚未通过，暂不能提交变更".into(),
        ));
    }
    let now = Utc::now();
    let revision = before.revision + 1;
    on_conn!(conn, |c| {
        sqlx::query(
        "UPDATE filings SET status = 'submitted', revision = $1, submitted_at = $2,
             first_submitted_at = COALESCE(first_submitted_at, $2), decided_at = NULL, decided_by = NULL, updated_at = $2
         WHERE id = $3"
    )
    .bind(revision)
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    let payload_json =
        serde_json::to_string(&before.payload).map_err(|e| Error::Internal(e.to_string()))?;
    let files_json =
        serde_json::to_string(&attached).map_err(|e| Error::Internal(e.to_string()))?;
    on_conn!(conn, |c| {
        sqlx::query(
        "INSERT INTO filing_revisions (filing_id, revision, payload, files, submitted_by, submitted_at) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(id)
    .bind(revision)
    .bind(&payload_json)
    .bind(&files_json)
    .bind(p.user_id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    let after = get(conn, id).await?;
    audit::record(
        conn,
        &p.actor(),
        "submit",
        "filing",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    Ok(after)
}

pub async fn withdraw(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<Filing> {
    let before = get(conn, id).await?;
    let e = enterprise::get(conn, before.enterprise_id).await?;
    require_owner(p, &e)?;
    if !matches!(
        before.status,
        Status::Draft | Status::Submitted | Status::Rejected
    ) {
        return Err(Error::Conflict(format!(
            "备案{}，不能撤回",
            before.status.label()
        )));
    }
    set_status(conn, id, Status::Withdrawn, None, false).await?;
    let after = get(conn, id).await?;
    audit::record(
        conn,
        &p.actor(),
        "withdraw",
        "filing",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    Ok(after)
}

async fn set_status(
    conn: &mut Conn<'_>,
    id: i64,
    status: Status,
    decided_by: Option<i64>,
    late: bool,
) -> Result<()> {
    let now = Utc::now();
    on_conn!(conn, |c| {
        sqlx::query(
        "UPDATE filings SET status = $1, decided_by = $2, decided_at = CASE WHEN $2 IS NULL THEN decided_at ELSE $3 END,
             late = $4, updated_at = $3 WHERE id = $5"
    )
    .bind(status.code())
    .bind(decided_by)
    .bind(now)
    .bind(late)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

async fn record_review(
    conn: &mut Conn<'_>,
    p: &Principal,
    f: &Filing,
    decision: &str,
    reasons: &BTreeMap<String, String>,
) -> Result<()> {
    let json = serde_json::to_string(reasons).map_err(|e| Error::Internal(e.to_string()))?;
    on_conn!(conn, |c| {
        sqlx::query(
        "INSERT INTO filing_reviews (filing_id, revision, reviewer_id, decision, reasons, at) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(f.id)
    .bind(f.revision)
    .bind(p.user_id)
    .bind(decision)
    .bind(&json)
    .bind(Utc::now())
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

async fn reviewable(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<(Filing, Enterprise)> {
    let f = get(conn, id).await?;
    let e = enterprise::get(conn, f.enterprise_id).await?;
    require_reviewer(p, &e)?;
    if f.status != Status::Submitted {
        return Err(Error::Conflict(format!(
            "备案{}，不在待审核状态",
            f.status.label()
        )));
    }
    Ok((f, e))
}

/// Days between a change taking effect and its first filing (Beijing dates).
pub fn filing_delay_days(effective_on: NaiveDate, first_submitted_at: DateTime<Utc>) -> i64 {
    let filed_on = first_submitted_at
        .with_timezone(&crate::time::china())
        .date_naive();
    (filed_on - effective_on).num_days()
}

pub async fn approve(
    conn: &mut Conn<'_>,
    p: &Principal,
    rules: &RuleSet,
    id: i64,
) -> Result<Filing> {
    let (before, e) = reviewable(conn, p, id).await?;
    let late = match (
        before.kind.is_change(),
        before.payload.effective_on(),
        before.first_submitted_at,
    ) {
        (true, Some(effective), Some(filed)) => {
            let allowed = rules.value("change_filing_days", effective, None).value;
            filing_delay_days(effective, filed) > allowed
        }
        _ => false,
    };
    let note = if late {
        "（该变更报备逾期，已记录）"
    } else {
        ""
    };
    let message = format!("已审核通过{note}。");
    decide(
        conn,
        p,
        &before,
        &e,
        Status::Approved,
        late,
        &BTreeMap::new(),
        &message,
    )
    .await
}

/// Returns a filing with a reason for each field the officer objects to (`general` for the
/// filing as a whole).
pub async fn reject(
    conn: &mut Conn<'_>,
    p: &Principal,
    id: i64,
    reasons: &BTreeMap<String, String>,
) -> Result<Filing> {
    let (before, e) = reviewable(conn, p, id).await?;
    let reasons: BTreeMap<String, String> = reasons
        .iter()
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if reasons.is_empty() {
        return Err(Error::invalid("reasons", "退回须至少写明一条理由"));
    }
    if let Some(field) = reasons
        .keys()
        .find(|f| before.kind.field_label(f).is_none())
    {
        return Err(Error::invalid(
            "reasons",
            format!("“{field}”不是{}的字段", before.kind.label()),
        ));
    }
    let lines: Vec<String> = reasons
        .iter()
        .map(|(k, v)| format!("- {}：{v}", before.kind.field_label(k).unwrap_or("其他")))
        .collect();
    let message = format!(
        "被退回，请按以下意见修改后重新提交：\n\n{}",
        lines.join("\n")
    );
    decide(
        conn,
        p,
        &before,
        &e,
        Status::Rejected,
        false,
        &reasons,
        &message,
    )
    .await
}

/// Records an officer's decision: the new status, the review, the audit entry, and the
/// message to the enterprise in the outbox — all in the caller's transaction.
#[allow(clippy::too_many_arguments)]
async fn decide(
    conn: &mut Conn<'_>,
    p: &Principal,
    before: &Filing,
    e: &Enterprise,
    status: Status,
    late: bool,
    reasons: &BTreeMap<String, String>,
    message: &str,
) -> Result<Filing> {
    set_status(conn, before.id, status, Some(p.user_id), late).await?;
    record_review(conn, p, before, status.code(), reasons).await?;
    let after = get(conn, before.id).await?;
    let action = if status == Status::Approved {
        "approve"
    } else {
        "reject"
    };
    audit::record(
        conn,
        &p.actor(),
        action,
        "filing",
        Some(before.id),
        Some(before),
        Some(&after),
    )
    .await?;
    let what = format!("{}（第{}号）", before.kind.label(), before.id);
    notify::enqueue(
        conn,
        notify::Message {
            recipient: &e.email,
            subject: format!(
                "【备案{}】{what}",
                if status == Status::Approved {
                    "通过"
                } else {
                    "退回"
                }
            ),
            body: format!(
                "{}：\n\n贵单位提交的{what}{message}\n\n审核人：{}\n",
                e.name, p.display_name
            ),
            kind: if status == Status::Approved {
                "filing_approved"
            } else {
                "filing_rejected"
            },
        },
    )
    .await?;
    Ok(after)
}

/// A file of a filing the caller may see: a current one, or one an earlier revision carried
/// (replaced files stay in the blob store, so the history can still show them).
pub async fn file_for(
    conn: &mut Conn<'_>,
    p: &Principal,
    filing_id: i64,
    file_id: i64,
) -> Result<FileRef> {
    let f = get(conn, filing_id).await?;
    let e = enterprise::get(conn, f.enterprise_id).await?;
    require_visible(p, &e)?;
    if let Some(file) = files(conn, filing_id)
        .await?
        .into_iter()
        .find(|x| x.id == file_id)
    {
        return Ok(file);
    }
    let snapshots: Vec<String> = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT files FROM filing_revisions WHERE filing_id = $1"
    )
    .bind(filing_id)
    .fetch_all(c)
    .await)?;
    snapshots
        .iter()
        .filter_map(|s| serde_json::from_str::<Vec<FileRef>>(s).ok())
        .flatten()
        .find(|x| x.id == file_id)
        .ok_or(Error::NotFound("文件"))
}
