//! Login throttling, kept in the database so it holds across instances: after too many
//! failures for one user name (or from one address) within the window, logins are refused
//! until the oldest failure ages out.

use chrono::{DateTime, Duration, Utc};

use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_user: i64,
    pub per_ip: i64,
    pub window: Duration,
}

/// `Some(wait)` when the attempt must be refused, with how long until it may be retried.
pub async fn check(
    conn: &mut Conn<'_>,
    limits: &Limits,
    username: &str,
    ip: &str,
) -> Result<Option<Duration>> {
    let now = Utc::now();
    let since = now - limits.window;
    let by_user: Vec<DateTime<Utc>> = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT at FROM login_failures WHERE username = $1 AND at > $2 ORDER BY at"
    )
    .bind(username)
    .bind(since)
    .fetch_all(c)
    .await)?;
    let by_ip: Vec<DateTime<Utc>> = if ip.is_empty() {
        Vec::new()
    } else {
        on_conn!(conn, |c| sqlx::query_scalar(
            "SELECT at FROM login_failures WHERE ip = $1 AND at > $2 ORDER BY at"
        )
        .bind(ip)
        .bind(since)
        .fetch_all(c)
        .await)?
    };
    let wait = |failures: &[DateTime<Utc>], limit: i64| -> Option<Duration> {
        if (failures.len() as i64) < limit {
            return None;
        }
        // Allowed again when enough failures have left the window.
        let pivot = failures[failures.len() - limit as usize];
        Some((pivot + limits.window - now).max(Duration::seconds(1)))
    };
    Ok(
        match (wait(&by_user, limits.per_user), wait(&by_ip, limits.per_ip)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
    )
}

pub async fn record_failure(conn: &mut Conn<'_>, username: &str, ip: &str) -> Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "INSERT INTO login_failures (username, ip, at) VALUES ($1, $2, $3)"
    )
    .bind(username)
    .bind(ip)
    .bind(Utc::now())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn clear(conn: &mut Conn<'_>, username: &str) -> Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "DELETE FROM login_failures WHERE username = $1"
    )
    .bind(username)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
