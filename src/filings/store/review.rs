//! An officer's review: approve (noting a late Art. 6 change) or reject with a reason per
//! field; either way the enterprise is told by e-mail through the outbox.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::access::require_reviewer;
use super::lifecycle::set_status;
use super::{get, mail, Filing};
use crate::audit;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::filings::Status;
use crate::notify;
use crate::on_conn;
use crate::registry::enterprise::{self, Enterprise};
use crate::rules::RuleSet;

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
    let message = mail::approved(&e, &before, &p.display_name, late);
    let after = decide(conn, p, &before, Status::Approved, late, &BTreeMap::new()).await?;
    notify::enqueue(conn, &e.email, &message).await?;
    Ok(after)
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
    let message = mail::rejected(&e, &before, &p.display_name, &reasons);
    let after = decide(conn, p, &before, Status::Rejected, false, &reasons).await?;
    notify::enqueue(conn, &e.email, &message).await?;
    Ok(after)
}

/// Records an officer's decision: the new status, the review and the audit entry, in the
/// caller's transaction (which the caller's message to the enterprise joins).
async fn decide(
    conn: &mut Conn<'_>,
    p: &Principal,
    before: &Filing,
    status: Status,
    late: bool,
    reasons: &BTreeMap<String, String>,
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
    Ok(after)
}
