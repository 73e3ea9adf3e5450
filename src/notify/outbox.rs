//! The outbox's SQL, one statement per step of a message's life:
//!
//! ```text
//! queued ──claim──▶ sending ──accepted──▶ sent
//!   ▲                 │  └──refused / unreachable, attempts left──▶ queued (next_attempt_at later)
//!   │                 └──refused for good, or attempts used up──▶ failed ──admin retry──▶ queued
//!   └──────── lease_until passed (the worker died) ──── claim again
//! ```
//!
//! A claim is one `UPDATE … RETURNING` that leases a bounded batch: on PostgreSQL the inner
//! `SELECT … FOR UPDATE SKIP LOCKED` lets several workers claim side by side without waiting
//! for or taking each other's rows (a row another worker just leased no longer matches when
//! PostgreSQL rechecks it under the lock); SQLite has one writer, so the same statement
//! without the locking clause is already exclusive.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::Rendered;
use crate::audit;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::{Page, Paging};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
// Named apart from the registry's `Status` in the OpenAPI document.
#[schema(as = OutboxStatus)]
pub enum Status {
    Queued,
    Sending,
    Sent,
    Failed,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Queued,
        Status::Sending,
        Status::Sent,
        Status::Failed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Failed => "failed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Queued => "待发送",
            Status::Sending => "发送中",
            Status::Sent => "已发送",
            Status::Failed => "发送失败",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.code() == s)
    }
}

crate::text_column!(Status, Status::parse);

/// One message as stored.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
#[schema(as = OutboxMessage)]
pub struct Message {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    /// The plain-text part.
    pub body: String,
    /// The HTML part.
    pub html: String,
    pub kind: String,
    pub status: Status,
    /// Attempts made so far (a claim counts as one, so a worker that dies mid-send uses one up).
    pub attempts: i64,
    /// The SMTP server's answer (or the connection error) of the last failed attempt.
    pub last_error: Option<String>,
    /// The server's answer when it accepted the message.
    pub reply: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub leased_by: Option<String>,
    /// `<outbox-{id}@{host}>`, set when it is first sent.
    pub message_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

fn local(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref()
        .map(crate::time::local)
        .unwrap_or_else(|| "—".into())
}

impl Message {
    pub fn created_local(&self) -> String {
        crate::time::local(&self.created_at)
    }
    /// The next attempt, when one is still to come.
    pub fn next_local(&self) -> String {
        match self.status {
            Status::Queued => crate::time::local(&self.next_attempt_at),
            Status::Sending => local(&self.lease_until),
            _ => "—".into(),
        }
    }
    pub fn sent_local(&self) -> String {
        local(&self.sent_at)
    }
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
    pub fn error_text(&self) -> &str {
        self.last_error.as_deref().unwrap_or("")
    }
}

/// Queues a rendered message in the caller's transaction; answers its id.
pub async fn insert(conn: &mut Conn<'_>, to: &str, kind: &str, m: &Rendered) -> Result<i64> {
    let now = Utc::now();
    let id: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO outbox (recipient, subject, body, html, kind, status, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6) RETURNING id"
    )
    .bind(to)
    .bind(&m.subject)
    .bind(&m.text)
    .bind(&m.html)
    .bind(kind)
    .bind(now)
    .fetch_one(c)
    .await
    })?;
    Ok(id)
}

/// Leases up to `limit` messages that are due (queued and past their next attempt, or sending
/// with a lease that ran out) to `worker` until `lease_until`, counting the attempt. Oldest
/// first.
pub async fn claim(
    conn: &mut Conn<'_>,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Message>> {
    const DUE: &str = "(status = 'queued' AND next_attempt_at <= $3) OR (status = 'sending' AND lease_until < $3)";
    let locking = match conn {
        Conn::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        Conn::Sqlite(_) => "",
    };
    let sql = format!(
        "UPDATE outbox SET status = 'sending', lease_until = $1, leased_by = $2, attempts = attempts + 1
         WHERE id IN (SELECT id FROM outbox WHERE {DUE} ORDER BY id{locking} LIMIT $4)
         RETURNING *"
    );
    let mut claimed: Vec<Message> = on_conn!(conn, |c| sqlx::query_as(&sql)
        .bind(lease_until)
        .bind(worker)
        .bind(now)
        .bind(limit)
        .fetch_all(c)
        .await)?;
    claimed.sort_by_key(|m| m.id);
    Ok(claimed)
}

/// Records the Message-ID before the first byte goes out, so that a copy sent by a worker
/// that then lost its lease carries the same id as the one sent after.
pub async fn set_message_id(conn: &mut Conn<'_>, id: i64, message_id: &str) -> Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "UPDATE outbox SET message_id = $2 WHERE id = $1 AND message_id IS NULL"
    )
    .bind(id)
    .bind(message_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Marks a message sent, whoever holds its lease now: the server accepted it, so it must
/// never go out again. `false` when it was already sent (another worker delivered it after
/// this one's lease ran out: the same Message-ID went out twice).
pub async fn mark_sent(
    conn: &mut Conn<'_>,
    id: i64,
    reply: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let n = on_conn!(conn, |c| sqlx::query(
        "UPDATE outbox SET status = 'sent', sent_at = $2, reply = $3, lease_until = NULL
         WHERE id = $1 AND status <> 'sent'"
    )
    .bind(id)
    .bind(at)
    .bind(reply)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Records a failed attempt by the worker holding the lease: back to `queued` for
/// `next_attempt` or, with `None`, `failed` until an admin retries. A worker that no longer
/// holds the lease changes nothing (the message is another worker's now, or already sent).
pub async fn mark_failed(
    conn: &mut Conn<'_>,
    id: i64,
    worker: &str,
    error: &str,
    next_attempt: Option<DateTime<Utc>>,
) -> Result<bool> {
    let status = if next_attempt.is_some() {
        Status::Queued
    } else {
        Status::Failed
    };
    let n = on_conn!(conn, |c| sqlx::query(
        "UPDATE outbox SET status = $3, last_error = $4, lease_until = NULL,
                next_attempt_at = COALESCE($5, next_attempt_at)
         WHERE id = $1 AND status = 'sending' AND leased_by = $2"
    )
    .bind(id)
    .bind(worker)
    .bind(status.code())
    .bind(error)
    .bind(next_attempt)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Gives a leased message back untouched (a worker stopping before it sent it, or finding
/// its lease about to end): the attempt it counted is returned too.
pub async fn release(conn: &mut Conn<'_>, id: i64, worker: &str) -> Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "UPDATE outbox SET status = 'queued', lease_until = NULL, attempts = attempts - 1
         WHERE id = $1 AND status = 'sending' AND leased_by = $2"
    )
    .bind(id)
    .bind(worker)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// How many messages are in each status.
pub async fn counts(conn: &mut Conn<'_>) -> Result<Vec<(Status, i64)>> {
    let rows: Vec<(String, i64)> = on_conn!(conn, |c| sqlx::query_as(
        "SELECT status, COUNT(*) FROM outbox GROUP BY status"
    )
    .fetch_all(c)
    .await)?;
    Ok(Status::ALL
        .into_iter()
        .map(|s| {
            let n = rows
                .iter()
                .find(|(code, _)| code == s.code())
                .map_or(0, |(_, n)| *n);
            (s, n)
        })
        .collect())
}

/// The admin's view of the outbox, newest first, optionally of one status. Anyone else is
/// told there is no such page; `None` is the CLI, run by whoever operates the server.
pub async fn list(
    conn: &mut Conn<'_>,
    p: Option<&Principal>,
    status: Option<Status>,
    paging: Paging,
) -> Result<Page<Message>> {
    if let Some(p) = p {
        require_admin(p)?;
    }
    let status = status.map(Status::code);
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE ($1 IS NULL OR status = $1)"
    )
    .bind(status)
    .fetch_one(c)
    .await)?;
    let items: Vec<Message> = on_conn!(conn, |c| {
        sqlx::query_as(
        "SELECT * FROM outbox WHERE ($1 IS NULL OR status = $1) ORDER BY id DESC LIMIT $2 OFFSET $3"
    )
    .bind(status)
    .bind(paging.per_page)
    .bind(paging.offset())
    .fetch_all(c)
    .await
    })?;
    Ok(paging.wrap(items, total))
}

pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Message> {
    let found: Option<Message> = on_conn!(conn, |c| sqlx::query_as(
        "SELECT * FROM outbox WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    found.ok_or(Error::NotFound("邮件"))
}

/// Puts a failed message back in the queue for an immediate attempt, with a fresh allowance
/// of attempts; recorded in the audit log. Only a failed message can be retried (a queued
/// one is on its way; a sent one must not go out twice). `p` as for [`list`].
pub async fn retry(
    conn: &mut Conn<'_>,
    actor: &audit::Actor,
    p: Option<&Principal>,
    id: i64,
) -> Result<Message> {
    if let Some(p) = p {
        require_admin(p)?;
    }
    let before = get(conn, id).await?;
    if before.status != Status::Failed {
        return Err(Error::Conflict(format!(
            "邮件{}，只有发送失败的邮件可以重试",
            before.status.label()
        )));
    }
    on_conn!(conn, |c| {
        sqlx::query(
        "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = $2, lease_until = NULL
         WHERE id = $1 AND status = 'failed'"
    )
    .bind(id)
    .bind(Utc::now())
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    let after = get(conn, id).await?;
    audit::record(
        conn,
        actor,
        "retry",
        "outbox",
        Some(id),
        Some(&Summary::of(&before)),
        Some(&Summary::of(&after)),
    )
    .await?;
    Ok(after)
}

/// What the audit log keeps of a message: its state, not its content.
#[derive(Serialize)]
struct Summary<'a> {
    recipient: &'a str,
    kind: &'a str,
    status: Status,
    attempts: i64,
    last_error: Option<&'a str>,
}

impl<'a> Summary<'a> {
    fn of(m: &'a Message) -> Self {
        Summary {
            recipient: &m.recipient,
            kind: &m.kind,
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error.as_deref(),
        }
    }
}

/// The outbox holds addresses and what was said to whom: only the city administrator sees
/// it, and to anyone else it does not exist.
fn require_admin(p: &Principal) -> Result<()> {
    if p.is_admin() {
        Ok(())
    } else {
        Err(Error::NotFound("页面"))
    }
}
