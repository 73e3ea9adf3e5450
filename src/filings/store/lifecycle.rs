//! Drafting, editing, submitting and withdrawing: what the enterprise does with its filings.

use chrono::{NaiveDate, Utc};

use super::access::require_owner;
use super::{answerable_projects, files, get, Filing};
use crate::audit;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::filings::{Context, Kind, Payload, Status, DOCUMENT_SLOTS};
use crate::on_conn;
use crate::registry::enterprise::{self, Enterprise};
use crate::rules::RuleSet;

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

pub(super) async fn owned_editable(
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
        Kind::Documents if !DOCUMENT_SLOTS.iter().any(|(s, _)| has(s)) => Some((
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

pub(super) async fn set_status(
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
