//! Login throttling, kept in the database so it holds across instances: after too many
//! failures for one user name (or from one address) within the window, logins are refused
//! until the oldest failure ages out.
//!
//! Counting and deciding happen in one write transaction, before the password is verified:
//! every admitted attempt is recorded as a failure up front and removed again only when the
//! password turns out right. So parallel guesses cannot all pass the check before any of them
//! is counted; at most `limit` are ever evaluated within a window.

use chrono::{DateTime, Duration, Utc};

use crate::db::{self, Conn, Db};
use crate::error::Result;
use crate::on_conn;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_user: i64,
    pub per_ip: i64,
    pub window: Duration,
}

/// The outcome of asking to try a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead; the attempt is already counted (row id in `login_failures`) and must be
    /// withdrawn with [`succeeded`] if the password is right.
    Admitted(i64),
    /// Refused, with how long until a retry may be admitted.
    Refused(Duration),
}

/// PostgreSQL advisory-lock classes (two-key form) for a user name and an address. Locks are
/// always taken user first, then address, so two logins never wait on each other in a cycle.
const LOCK_USER: i32 = 7012;
const LOCK_IP: i32 = 7013;

/// Counts the recent failures and, when below both limits, records this attempt — atomically:
/// SQLite write transactions hold the database's write lock from their start (`BEGIN
/// IMMEDIATE`); on PostgreSQL transaction-scoped advisory locks on the user name and the
/// address serialise attempts for the same user or address.
pub async fn admit(db: &Db, limits: &Limits, username: &str, ip: &str) -> Result<Admission> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    db::lock_key(&mut conn, LOCK_USER, username).await?;
    if !ip.is_empty() {
        db::lock_key(&mut conn, LOCK_IP, ip).await?;
    }
    let now = Utc::now();
    let since = now - limits.window;
    let by_user: Vec<DateTime<Utc>> = on_conn!(&mut conn, |c| sqlx::query_scalar(
        "SELECT at FROM login_failures WHERE username = $1 AND at > $2 ORDER BY at"
    )
    .bind(username)
    .bind(since)
    .fetch_all(c)
    .await)?;
    let by_ip: Vec<DateTime<Utc>> = if ip.is_empty() {
        Vec::new()
    } else {
        on_conn!(&mut conn, |c| sqlx::query_scalar(
            "SELECT at FROM login_failures WHERE ip = $1 AND at > $2 ORDER BY at"
        )
        .bind(ip)
        .bind(since)
        .fetch_all(c)
        .await)?
    };
    let user_wait = wait(&by_user, limits.per_user, limits.window, now);
    let ip_wait = if ip.is_empty() {
        None
    } else {
        wait(&by_ip, limits.per_ip, limits.window, now)
    };
    if let Some(w) = user_wait.into_iter().chain(ip_wait).max() {
        // Dropping the transaction rolls it back: a refused attempt is not counted, so a
        // persistent guesser does not keep pushing the lockout further out.
        return Ok(Admission::Refused(w));
    }
    let id: i64 = on_conn!(&mut conn, |c| sqlx::query_scalar(
        "INSERT INTO login_failures (username, ip, at) VALUES ($1, $2, $3) RETURNING id"
    )
    .bind(username)
    .bind(ip)
    .bind(now)
    .fetch_one(c)
    .await)?;
    tx.commit().await?;
    Ok(Admission::Admitted(id))
}

/// How long until an attempt may be admitted, when `failures` (oldest first, all inside the
/// window) already reach `limit`.
fn wait(
    failures: &[DateTime<Utc>],
    limit: i64,
    window: Duration,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX).max(1);
    if failures.len() < limit {
        return None;
    }
    // Allowed again when enough failures have left the window.
    let pivot = failures.get(failures.len() - limit)?;
    Some((*pivot + window - now).max(Duration::seconds(1)))
}

/// The password was right: the attempt no longer counts, nor do the user's earlier failures.
pub async fn succeeded(conn: &mut Conn<'_>, username: &str, attempt: i64) -> Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "DELETE FROM login_failures WHERE id = $1 OR username = $2"
    )
    .bind(attempt)
    .bind(username)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_starts_at_the_limit_and_ends_when_the_oldest_counted_failure_ages_out() {
        let now = Utc::now();
        let window = Duration::minutes(15);
        let at = |mins_ago: i64| now - Duration::minutes(mins_ago);
        let four = [at(10), at(8), at(6), at(4)];
        assert_eq!(wait(&four, 5, window, now), None);
        let five = [at(10), at(8), at(6), at(4), at(2)];
        assert_eq!(wait(&five, 5, window, now), Some(Duration::minutes(5)));
        // With six failures and a limit of five, the second-oldest decides.
        let six = [at(12), at(10), at(8), at(6), at(4), at(2)];
        assert_eq!(wait(&six, 5, window, now), Some(Duration::minutes(5)));
        // A nonsensical limit never indexes out of range.
        assert!(wait(&six, 0, window, now).is_some());
        assert!(wait(&[], -3, window, now).is_none());
    }
}
