//! Browser sessions, kept in the database so any instance behind a load balancer can serve
//! any request. The cookie holds a random token; the database holds only its SHA-256 digest
//! and the session's CSRF token.

use chrono::{DateTime, Duration, Utc};
use sqlx::FromRow;

use super::Principal;
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;
use crate::secret;

pub const COOKIE: &str = "aftercare_session";

/// A live session as the web layer needs it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub principal: Principal,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

impl Session {
    /// Sliding expiry: a session used in the second half of its lifetime is due to be
    /// extended (by [`extend`], which the caller runs off the request's path).
    pub fn due_for_extension(&self, now: DateTime<Utc>, ttl: Duration) -> bool {
        self.expires_at - now < ttl / 2
    }
}

pub struct Created {
    /// Goes into the cookie; never stored.
    pub token: String,
    pub csrf_token: String,
}

pub async fn create(conn: &mut Conn<'_>, user_id: i64, ttl: Duration, ip: &str) -> Result<Created> {
    let token = secret::random_hex(32);
    let csrf_token = secret::random_hex(32);
    let now = Utc::now();
    on_conn!(conn, |c| sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, ip)
         VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(secret::sha256_hex(token.as_bytes()))
    .bind(user_id)
    .bind(&csrf_token)
    .bind(now)
    .bind(now + ttl)
    .bind(ip)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(Created { token, csrf_token })
}

#[derive(FromRow)]
struct Row {
    session_id: i64,
    csrf_token: String,
    expires_at: DateTime<Utc>,
    #[sqlx(flatten)]
    user: super::user::UserRow,
}

/// The session for a cookie token, if it exists, has not expired and its user is active. Only
/// reads: a request that only reads must not wait for SQLite's write lock (which an import
/// holds for its whole transaction), so the sliding extension is left to the caller
/// ([`Session::due_for_extension`], [`extend`]).
pub async fn lookup(conn: &mut Conn<'_>, token: &str) -> Result<Option<Session>> {
    let now = Utc::now();
    let row = on_conn!(conn, |c| sqlx::query_as::<_, Row>(&format!(
        "SELECT s.id AS session_id, s.csrf_token, s.expires_at, {}
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = TRUE",
        super::user::COLUMNS
    ))
    .bind(secret::sha256_hex(token.as_bytes()))
    .bind(now)
    .fetch_optional(c)
    .await)?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Session {
        id: row.session_id,
        principal: row.user.principal()?,
        csrf_token: row.csrf_token,
        expires_at: row.expires_at,
    }))
}

/// Moves a live session's expiry to `until` (never earlier than it was).
pub async fn extend(conn: &mut Conn<'_>, session_id: i64, until: DateTime<Utc>) -> Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "UPDATE sessions SET expires_at = $1 WHERE id = $2 AND expires_at < $1"
    )
    .bind(until)
    .bind(session_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete(conn: &mut Conn<'_>, session_id: i64) -> Result<()> {
    on_conn!(conn, |c| sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(session_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Removes expired sessions and stale login failures; run periodically by `serve`.
pub async fn purge_expired(conn: &mut Conn<'_>, keep_failures: Duration) -> Result<u64> {
    let now = Utc::now();
    let sessions = on_conn!(conn, |c| sqlx::query(
        "DELETE FROM sessions WHERE expires_at <= $1"
    )
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    on_conn!(conn, |c| sqlx::query(
        "DELETE FROM login_failures WHERE at < $1"
    )
    .bind(now - keep_failures)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(sessions)
}
