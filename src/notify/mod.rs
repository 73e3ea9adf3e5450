//! Notifications. Every message is written to the `outbox` table in the same transaction as
//! the change it reports, so nothing is lost; the sender (SMTP through lettre, with retries)
//! drains the outbox. This release records messages only — the notification issue adds the
//! sender — so the outbox is the durable record of what is owed.

use chrono::Utc;

use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

pub struct Message<'a> {
    pub recipient: &'a str,
    pub subject: String,
    pub body: String,
    /// What the message is about, e.g. `filing_approved`.
    pub kind: &'static str,
}

/// Queues a message; a recipient without an address is skipped (nothing to send to).
pub async fn enqueue(conn: &mut Conn<'_>, m: Message<'_>) -> Result<bool> {
    if m.recipient.trim().is_empty() {
        return Ok(false);
    }
    let now = Utc::now();
    on_conn!(conn, |c| {
        sqlx::query(
        "INSERT INTO outbox (recipient, subject, body, kind, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $5)"
    )
    .bind(m.recipient.trim())
    .bind(&m.subject)
    .bind(&m.body)
    .bind(m.kind)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(true)
}
