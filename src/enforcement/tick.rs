//! The scheduler's work, run every minute inside `serve` and by `aftercare tick` from cron:
//! rectification deadlines that passed become overdue at 00:00 Beijing time the day after,
//! reminders go out 3 days and 1 day before a deadline, and group petitions whose
//! face-to-face report (Art. 16) falls due are reminded. Each step is keyed in the database
//! (a conditional update, a unique reminder row), so several instances running it at once do
//! each thing once.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use serde::Serialize;

use super::record::note_overdue;
use super::{mail, petitions, store};
use crate::audit::{self, Actor};
use crate::db::{Conn, Db};
use crate::error::Result;
use crate::on_conn;
use crate::registry::enterprise;
use crate::time;

/// Rows handled per query: bounded work per transaction, however many fall due at once.
const BATCH: i64 = 200;

/// Reminders are sent from this Beijing time on, not at the midnight tick.
fn reminder_hour() -> NaiveTime {
    NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN)
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    pub overdue: usize,
    pub reminders: usize,
    pub petition_reminders: usize,
}

/// One pass at `now`.
pub async fn run(db: &Db, now: DateTime<Utc>) -> Result<Report> {
    let local = now.with_timezone(&time::china());
    let today = local.date_naive();
    let mut report = Report {
        overdue: mark_overdue(db, today, now).await?,
        ..Report::default()
    };
    if local.time() >= reminder_hour() {
        report.reminders = remind(db, today, now).await?;
        report.petition_reminders = petitions::remind_due(db, now).await?;
    }
    Ok(report)
}

/// Orders whose deadline is before `today` and that nobody rectified. A case whose submission
/// awaits verification is not marked: the verification decides (see [`super::machine`]).
async fn mark_overdue(db: &Db, today: NaiveDate, now: DateTime<Utc>) -> Result<usize> {
    let mut done = 0;
    loop {
        let mut tx = db.begin().await?;
        let mut conn = tx.conn();
        let due: Vec<(i64, NaiveDate)> = on_conn!(&mut conn, |c| {
            sqlx::query_as(
            "SELECT id, deadline FROM cases WHERE state = 'ordered' AND deadline < $1 ORDER BY id LIMIT $2"
        )
        .bind(today)
        .bind(BATCH)
        .fetch_all(c)
        .await
        })?;
        let n = due.len();
        for (id, deadline) in due {
            if overdue_one(&mut conn, id, deadline, now).await? {
                done += 1;
            }
        }
        tx.commit().await?;
        if n < BATCH as usize {
            return Ok(done);
        }
    }
}

async fn overdue_one(
    conn: &mut Conn<'_>,
    id: i64,
    deadline: NaiveDate,
    now: DateTime<Utc>,
) -> Result<bool> {
    let before = store::get(conn, id).await?;
    let moved = on_conn!(conn, |c| {
        sqlx::query(
        "UPDATE cases SET state = 'overdue', updated_at = $1 WHERE id = $2 AND state = 'ordered' AND deadline = $3"
    )
    .bind(now)
    .bind(id)
    .bind(deadline)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    if moved != 1 {
        return Ok(false);
    }
    note_overdue(conn, id, deadline, now, Some("系统（期限届满）")).await?;
    let after = store::get(conn, id).await?;
    audit::record(
        conn,
        &Actor::system("scheduler"),
        "overdue",
        "case",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    let e = enterprise::get(conn, after.enterprise_id).await?;
    mail::overdue_notice(conn, &e, &after).await?;
    Ok(true)
}

/// 3 days and 1 day before a running deadline, once each per deadline.
async fn remind(db: &Db, today: NaiveDate, now: DateTime<Utc>) -> Result<usize> {
    let until = today + Duration::days(3);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    // Cases with a reminder still owed for their current deadline; the NOT EXISTS keeps the
    // batch from being filled with cases already reminded.
    let due: Vec<(i64, NaiveDate)> = on_conn!(&mut conn, |c| {
        sqlx::query_as(
        "SELECT c.id, c.deadline FROM cases c
         WHERE c.state = 'ordered' AND c.deadline > $1 AND c.deadline <= $2
           AND NOT EXISTS (SELECT 1 FROM case_reminders r WHERE r.case_id = c.id AND r.deadline = c.deadline
                           AND r.days_before = CASE WHEN c.deadline <= $3 THEN 1 ELSE 3 END)
         ORDER BY c.deadline, c.id LIMIT $4"
    )
    .bind(today)
    .bind(until)
    .bind(today + Duration::days(1))
    .bind(BATCH)
    .fetch_all(c)
    .await
    })?;
    let mut sent = 0;
    for (id, deadline) in due {
        let days_left = (deadline - today).num_days();
        let lead: i32 = if days_left <= 1 { 1 } else { 3 };
        let inserted = on_conn!(&mut conn, |c| {
            sqlx::query(
            "INSERT INTO case_reminders (case_id, deadline, days_before, queued_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (case_id, deadline, days_before) DO NOTHING"
        )
        .bind(id)
        .bind(deadline)
        .bind(lead)
        .bind(now)
        .execute(c)
    .await
    .map(|r| r.rows_affected())
        })?;
        if inserted == 1 {
            let case = store::get(&mut conn, id).await?;
            let e = enterprise::get(&mut conn, case.enterprise_id).await?;
            mail::deadline_reminder(&mut conn, &e, &case, days_left).await?;
            sent += 1;
        }
    }
    tx.commit().await?;
    Ok(sent)
}

/// Runs [`run`] every minute until `shutdown` resolves. A failed pass is logged and retried
/// at the next minute: nothing it does is lost by waiting.
pub async fn scheduler(db: Db, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(60));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = interval.tick() => {}
        }
        let now = Utc::now();
        match run(&db, now).await {
            Ok(r) if r.overdue + r.reminders + r.petition_reminders > 0 => tracing::info!(
                overdue = r.overdue,
                reminders = r.reminders,
                petition_reminders = r.petition_reminders,
                "deadlines checked at {}:{:02}",
                now.with_timezone(&time::china()).hour(),
                now.with_timezone(&time::china()).minute()
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("deadline check failed: {e}"),
        }
    }
}
