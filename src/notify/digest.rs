//! The daily digest (每日待办), at 09:30 Beijing time: each county officer gets what is due
//! or overdue in their county, each enterprise user their enterprise's open items. A
//! recipient with nothing to report, or without an e-mail address, gets nothing.
//!
//! Exactly once per recipient and day, however many `serve` instances run: a `digest_runs`
//! row keyed (user, day) is inserted in the same transaction as the digest's outbox row, so
//! the instance that inserts it sends, and any other finds the key taken and moves on.
//!
//! What a digest lists is gathered by [`gather`], one section per source: filings awaiting
//! review (officers); forwarded 12345 tickets near or past their Art. 15 answer deadline
//! (enterprises); rectification deadlines within three days or past, and submissions awaiting
//! verification (Art. 22); group petitions whose face-to-face report is due or late (Art. 16)
//! — the last two in [`super::digest_cases`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::digest_cases::{cases_due, petitions_due};
use super::templates::{cn_date, DailyDigest};
use super::MailConfig;
use crate::db::{Conn, Db};
use crate::error::Result;
use crate::filings::Kind;
use crate::hotline::metrics::ANSWER_WITHIN;
use crate::hotline::DAY;
use crate::on_conn;
use crate::time::china;

/// One thing to do, with its deadline when it has one.
#[derive(Debug, Clone, Serialize)]
pub struct DigestItem {
    pub title: String,
    pub due: Option<NaiveDate>,
    pub overdue: bool,
    /// A path of this site, e.g. `/filings/12`; the message puts the base URL before it.
    pub link: String,
}

impl DigestItem {
    pub fn due_cn(&self) -> Option<String> {
        self.due.map(cn_date)
    }
}

/// A heading and its items; `more` counts the items beyond those listed.
#[derive(Debug, Clone, Serialize)]
pub struct DigestSection {
    pub title: String,
    pub items: Vec<DigestItem>,
    pub more: usize,
}

/// Items listed per section; the rest are counted (a digest stays readable, and bounded).
pub const MAX_ITEMS: usize = 30;
/// Recipients read per round of one run.
const RECIPIENTS_PER_ROUND: i64 = 200;

/// Who a digest is for, and what they may see.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    pub user_id: i64,
    pub display_name: String,
    pub email: String,
    pub county_id: Option<i64>,
    pub enterprise_id: Option<i64>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Digests queued.
    pub queued: usize,
    /// Recipients with nothing to report today.
    pub empty: usize,
}

/// Runs today's digest when it is past `digest_at` (Beijing time) on `now`; before that,
/// does nothing. Recipients already done today (by this or another instance) are skipped.
pub async fn run_due(db: &Db, mail: &MailConfig, now: DateTime<Utc>) -> Result<Outcome> {
    let local = now.with_timezone(&china());
    if !mail.digest || local.time() < mail.digest_at {
        return Ok(Outcome::default());
    }
    run(db, mail, local.date_naive(), now).await
}

/// The digest of `day` for every recipient not yet done: each in its own transaction, so one
/// recipient's failure leaves the others' digests queued.
pub async fn run(
    db: &Db,
    mail: &MailConfig,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    loop {
        let round = {
            let mut p = db.acquire().await?;
            pending(&mut p.conn(), day).await?
        };
        if round.is_empty() {
            return Ok(outcome);
        }
        for r in round {
            let mut tx = db.begin().await?;
            let mut c = tx.conn();
            if !take_day(&mut c, r.user_id, day, now).await? {
                continue;
            }
            let sections = gather(&mut c, &r, now).await?;
            if sections.is_empty() {
                tx.commit().await?;
                outcome.empty += 1;
                continue;
            }
            let digest = DailyDigest {
                recipient: r.display_name.clone(),
                day,
                base_url: mail.base_url.clone(),
                sections,
            };
            if let Some(id) = super::enqueue_id(&mut c, &r.email, &digest).await? {
                on_conn!(&mut c, |c| sqlx::query(
                    "UPDATE digest_runs SET outbox_id = $3 WHERE user_id = $1 AND day = $2"
                )
                .bind(r.user_id)
                .bind(day)
                .bind(id)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
                outcome.queued += 1;
            }
            tx.commit().await?;
        }
    }
}

/// Active county officers and enterprise users with an address and no digest row for `day`.
async fn pending(conn: &mut Conn<'_>, day: NaiveDate) -> Result<Vec<Recipient>> {
    Ok(on_conn!(conn, |c| sqlx::query_as(
        "SELECT u.id AS user_id, u.display_name, u.email, u.county_id, u.enterprise_id FROM users u
         WHERE u.active AND u.email <> '' AND u.role IN ('county_officer', 'enterprise')
           AND NOT EXISTS (SELECT 1 FROM digest_runs d WHERE d.user_id = u.id AND d.day = $1)
         ORDER BY u.id LIMIT $2"
    )
    .bind(day)
    .bind(RECIPIENTS_PER_ROUND)
    .fetch_all(c)
    .await)?)
}

/// Takes (user, day) for this transaction; `false` when another instance already has.
async fn take_day(
    conn: &mut Conn<'_>,
    user_id: i64,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = on_conn!(conn, |c| sqlx::query(
        "INSERT INTO digest_runs (user_id, day, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, day) DO NOTHING"
    )
    .bind(user_id)
    .bind(day)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The sections of one recipient's digest, empty ones left out.
pub async fn gather(
    conn: &mut Conn<'_>,
    r: &Recipient,
    now: DateTime<Utc>,
) -> Result<Vec<DigestSection>> {
    let mut sections = Vec::new();
    let today = now.with_timezone(&china()).date_naive();
    if let Some(county) = r.county_id {
        sections.push(pending_reviews(conn, county, now).await?);
        sections.push(cases_due(conn, Some(county), None, today).await?);
        sections.push(petitions_due(conn, Some(county), None, now).await?);
    }
    if let Some(enterprise) = r.enterprise_id {
        sections.push(tickets_due(conn, enterprise, now).await?);
        sections.push(cases_due(conn, None, Some(enterprise), today).await?);
        sections.push(petitions_due(conn, None, Some(enterprise), now).await?);
    }
    sections.retain(|s| !s.items.is_empty());
    Ok(sections)
}

pub(super) fn section(title: &str, mut items: Vec<DigestItem>, total: i64) -> DigestSection {
    items.truncate(MAX_ITEMS);
    let total = usize::try_from(total).unwrap_or(0);
    DigestSection {
        title: title.to_string(),
        more: total.saturating_sub(items.len()),
        items,
    }
}

/// Filings of the county's enterprises waiting for an officer's review, oldest first.
async fn pending_reviews(
    conn: &mut Conn<'_>,
    county: i64,
    now: DateTime<Utc>,
) -> Result<DigestSection> {
    const FROM: &str = "FROM filings f JOIN enterprises e ON e.id = f.enterprise_id
         WHERE f.status = 'submitted' AND e.county_id = $1";
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) {FROM}"
    ))
    .bind(county)
    .fetch_one(c)
    .await)?;
    let rows: Vec<(i64, Kind, String, Option<DateTime<Utc>>)> = on_conn!(conn, |c| {
        sqlx::query_as(
        &format!("SELECT f.id, f.kind, e.name, f.submitted_at {FROM} ORDER BY f.submitted_at, f.id LIMIT $2")
    )
    .bind(county)
    .bind(MAX_ITEMS as i64)
    .fetch_all(c)
    .await
    })?;
    let items = rows
        .into_iter()
        .map(|(id, kind, enterprise, submitted)| {
            let waited = submitted.map_or(0, |s| (now - s).num_days());
            DigestItem {
                title: format!(
                    "{enterprise} {}（第{id}号），已等待{waited}天",
                    kind.label()
                ),
                due: None,
                overdue: false,
                link: format!("/filings/{id}"),
            }
        })
        .collect();
    Ok(section("待审核的备案", items, total))
}

/// Forwarded tickets of the enterprise not yet answered (nor closed) whose Art. 15 deadline
/// (3 days after forwarding) is within a day or already past.
async fn tickets_due(
    conn: &mut Conn<'_>,
    enterprise: i64,
    now: DateTime<Utc>,
) -> Result<DigestSection> {
    const FROM: &str = "FROM tickets t WHERE t.enterprise_id = $1 AND t.forwarded_at IS NOT NULL
         AND t.forwarded_at <= $2 AND t.responded_at IS NULL AND t.closed_at IS NULL";
    // Due within a day: forwarded_at + 3 days <= now + 1 day.
    let cutoff = now.timestamp() + DAY - ANSWER_WITHIN;
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) {FROM}"
    ))
    .bind(enterprise)
    .bind(cutoff)
    .fetch_one(c)
    .await)?;
    let rows: Vec<(String, i64, String)> = on_conn!(conn, |c| {
        sqlx::query_as(&format!(
        "SELECT t.ticket_no, t.forwarded_at, t.content {FROM} ORDER BY t.forwarded_at, t.id LIMIT $3"
    ))
    .bind(enterprise)
    .bind(cutoff)
    .bind(MAX_ITEMS as i64)
    .fetch_all(c)
    .await
    })?;
    let items = rows
        .into_iter()
        .map(|(ticket_no, forwarded, content)| {
            let deadline = forwarded + ANSWER_WITHIN;
            let due = DateTime::from_timestamp(deadline, 0)
                .map(|d| d.with_timezone(&china()).date_naive());
            let gist: String = content.chars().take(30).collect();
            let ellipsis = if content.chars().count() > 30 {
                "…"
            } else {
                ""
            };
            DigestItem {
                title: format!("工单{ticket_no}：{gist}{ellipsis}（转办后3日内须答复）"),
                due,
                overdue: deadline < now.timestamp(),
                link: format!("/enterprises/{enterprise}/hotline"),
            }
        })
        .collect();
    Ok(section(
        "即将到期或已逾期未答复的12345转办工单",
        items,
        total,
    ))
}
