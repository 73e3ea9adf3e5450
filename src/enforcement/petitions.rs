//! Group petitions (Art. 16): "发生投诉人群体上访的，售后服务机构主要负责人应当在第一时间内到场
//! 接访，处理相关问题，并在3日内到房地产开发管理主管部门面复处理情况". A ticket flagged as a group
//! petition starts a follow-up: the officer records the manager on site and the face-to-face
//! report; a report later than 3 (calendar) days after the petition, or none by then, is late.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::access::{require_officer_of, require_visible};
use super::mail;
use crate::audit;
use crate::auth::Principal;
use crate::db::{Conn, Db};
use crate::error::{Error, Result};
use crate::hotline::petition::{late_from, late_sql, LATE_FROM_SQL, REPORT_DAYS};
use crate::hotline::tickets::COUNTY_SEES;
use crate::on_conn;
use crate::registry::enterprise;
use crate::registry::{Page, Paging};
use crate::scope::Scope;
use crate::time;

#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Petition {
    pub ticket_id: i64,
    pub ticket_no: String,
    /// Epoch seconds.
    pub received_at: i64,
    pub enterprise_id: Option<i64>,
    pub enterprise_name: Option<String>,
    pub content: String,
    pub manager_name: Option<String>,
    pub manager_on_site_at: Option<i64>,
    /// Epoch second of 00:00 Beijing on the day of the face-to-face report.
    pub reported_at: Option<i64>,
    pub note: Option<String>,
}

impl Petition {
    pub fn due(&self) -> NaiveDate {
        epoch_date(self.received_at) + Duration::days(REPORT_DAYS)
    }

    /// Late: reported after the due day, or not reported and the due day is over at `now`.
    pub fn is_late(&self, now: &i64) -> bool {
        let limit = late_from(self.received_at);
        match self.reported_at {
            Some(r) => r >= limit,
            None => *now >= limit,
        }
    }

    pub fn received_local(&self) -> String {
        epoch_local(self.received_at)
    }

    pub fn on_site_local(&self) -> String {
        self.manager_on_site_at.map(epoch_local).unwrap_or_default()
    }

    /// The on-site time as a `datetime-local` form value keeps it on re-saving.
    pub fn on_site_input(&self) -> String {
        self.manager_on_site_at
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .map(|t| {
                t.with_timezone(&time::china())
                    .format("%Y-%m-%dT%H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }

    pub fn reported_on(&self) -> Option<NaiveDate> {
        self.reported_at.map(epoch_date)
    }
}

fn epoch_date(t: i64) -> NaiveDate {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .with_timezone(&time::china())
        .date_naive()
}

fn epoch_local(t: i64) -> String {
    time::local(&DateTime::from_timestamp(t, 0).unwrap_or_default())
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// `open` (no report yet), `late` (reported late or overdue now), `reported`.
    pub status: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Group petitions `scope` may see, those without a report first, newest first.
pub async fn list(
    conn: &mut Conn<'_>,
    scope: Scope,
    f: &Filter,
    now: i64,
) -> Result<Page<Petition>> {
    let paging = Paging::new(f.page, f.per_page)?;
    let status = match f.status.as_deref().map(str::trim) {
        None | Some("") => 0_i64,
        Some("open") => 1,
        Some("late") => 2,
        Some("reported") => 3,
        Some(s) => {
            return Err(Error::invalid(
                "status",
                format!("“{s}”应为 open、late 或 reported"),
            ))
        }
    };
    let filter = format!(
        "FROM tickets t LEFT JOIN petition_followups f ON f.ticket_id = t.id
         LEFT JOIN enterprises e ON e.id = t.enterprise_id
         WHERE t.group_petition AND {COUNTY_SEES} AND ($2 IS NULL OR t.enterprise_id = $2)
           AND ($3 <> 1 OR f.reported_at IS NULL)
           AND ($3 <> 2 OR {late})
           AND ($3 <> 3 OR f.reported_at IS NOT NULL)",
        late = late_sql("$4")
    );
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) {filter}"
    ))
    .bind(scope.county())
    .bind(scope.enterprise())
    .bind(status)
    .bind(now)
    .fetch_one(c)
    .await)?;
    let sql = format!(
        "SELECT t.id AS ticket_id, t.ticket_no, t.received_at, t.enterprise_id, e.name AS enterprise_name,
                t.content, f.manager_name, f.manager_on_site_at, f.reported_at, f.note
         {filter}
         ORDER BY (f.reported_at IS NOT NULL), t.received_at DESC, t.id DESC
         LIMIT $5 OFFSET $6"
    );
    let items = on_conn!(conn, |c| sqlx::query_as::<_, Petition>(&sql)
        .bind(scope.county())
        .bind(scope.enterprise())
        .bind(status)
        .bind(now)
        .bind(paging.per_page)
        .bind(paging.offset())
        .fetch_all(c)
        .await)?;
    Ok(paging.wrap(items, total))
}

async fn get(conn: &mut Conn<'_>, ticket_id: i64) -> Result<Option<Petition>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as::<_, Petition>(
        "SELECT t.id AS ticket_id, t.ticket_no, t.received_at, t.enterprise_id, e.name AS enterprise_name,
                t.content, f.manager_name, f.manager_on_site_at, f.reported_at, f.note
         FROM tickets t LEFT JOIN petition_followups f ON f.ticket_id = t.id
         LEFT JOIN enterprises e ON e.id = t.enterprise_id
         WHERE t.id = $1 AND t.group_petition"
    )
    .bind(ticket_id)
    .fetch_optional(c)
    .await
    })?)
}

/// What the officer records.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct FollowUpInput {
    /// The org's principal who came to the scene.
    #[serde(default)]
    pub manager_name: String,
    /// When the manager was on site (Beijing time).
    pub manager_on_site_at: Option<NaiveDateTime>,
    /// The day of the face-to-face report to the bureau.
    pub reported_on: Option<NaiveDate>,
    #[serde(default)]
    pub note: String,
}

/// Records the follow-up of petition `ticket_id`, as an officer of its enterprise's county.
pub async fn record(
    conn: &mut Conn<'_>,
    p: &Principal,
    ticket_id: i64,
    input: &FollowUpInput,
) -> Result<Petition> {
    let before = get(conn, ticket_id)
        .await?
        .ok_or(Error::NotFound("群体上访工单"))?;
    let Some(eid) = before.enterprise_id else {
        // Unattributed: visible at most to officers, and nobody to follow up with yet.
        return Err(Error::Conflict(
            "该工单尚未归属企业，请先在未匹配工单中指定企业".into(),
        ));
    };
    let e = enterprise::get(conn, eid)
        .await
        .map_err(|_| Error::NotFound("群体上访工单"))?;
    require_visible(p, &e).map_err(|_| Error::NotFound("群体上访工单"))?;
    require_officer_of(p, &e)?;
    let received = epoch_date(before.received_at);
    let today = time::today();
    let name = super::store::text("manager_name", "到场负责人", &input.manager_name, 50, false)?;
    let note = super::store::text("note", "备注", &input.note, 2000, false)?;
    let on_site = match input.manager_on_site_at {
        Some(t) => {
            let at = time::china()
                .from_local_datetime(&t)
                .single()
                .ok_or_else(|| Error::invalid("manager_on_site_at", "时间无效"))?
                .timestamp();
            if at > Utc::now().timestamp() {
                return Err(Error::invalid("manager_on_site_at", "到场时间不能晚于现在"));
            }
            Some(at)
        }
        None => None,
    };
    let reported_at = match input.reported_on {
        Some(d) if d > today => {
            return Err(Error::invalid("reported_on", "面复日期不能晚于今天"));
        }
        Some(d) if d < received => {
            return Err(Error::invalid(
                "reported_on",
                format!("面复日期不能早于上访日期{received}"),
            ));
        }
        Some(d) => time::china()
            .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .single()
            .map(|t| t.timestamp()),
        None => None,
    };
    let now = Utc::now();
    on_conn!(conn, |c| {
        sqlx::query(
        "INSERT INTO petition_followups (ticket_id, manager_name, manager_on_site_at, reported_at, note, recorded_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (ticket_id) DO UPDATE SET manager_name = excluded.manager_name,
             manager_on_site_at = excluded.manager_on_site_at, reported_at = excluded.reported_at,
             note = excluded.note, recorded_by = excluded.recorded_by, updated_at = excluded.updated_at"
    )
    .bind(ticket_id)
    .bind(&name)
    .bind(on_site)
    .bind(reported_at)
    .bind(&note)
    .bind(p.user_id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    let after = get(conn, ticket_id)
        .await?
        .ok_or(Error::NotFound("群体上访工单"))?;
    audit::record(
        conn,
        &p.actor(),
        "petition_followup",
        "ticket",
        Some(ticket_id),
        Some(&before),
        Some(&after),
    )
    .await?;
    Ok(after)
}

/// Group petitions of `enterprise_id` in `[start, end)` (epoch seconds) and how many were
/// reported late (or not at all by `now`).
pub async fn late_counts(
    conn: &mut Conn<'_>,
    enterprise_id: i64,
    start: i64,
    end: i64,
    now: i64,
) -> Result<(i64, i64)> {
    Ok(
        crate::hotline::petition::late_counts(conn, &[enterprise_id], start, end, now)
            .await?
            .get(&enterprise_id)
            .copied()
            .unwrap_or((0, 0)),
    )
}

/// Reminds the enterprise once when a petition's report is due today or tomorrow and not
/// recorded. Reads only the last few days of petitions (the partial index on them).
pub async fn remind_due(db: &Db, now: DateTime<Utc>) -> Result<usize> {
    let t = now.timestamp();
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let due: Vec<(i64, String, i64, i64)> = on_conn!(&mut conn, |c| sqlx::query_as(&format!(
        "SELECT t.id, t.ticket_no, t.received_at, t.enterprise_id FROM tickets t
         LEFT JOIN petition_followups f ON f.ticket_id = t.id
         WHERE t.group_petition AND t.received_at >= $1 AND t.enterprise_id IS NOT NULL
           AND f.reported_at IS NULL AND $2 < {LATE_FROM_SQL} AND $2 + 172800 >= {LATE_FROM_SQL}
           AND NOT EXISTS (SELECT 1 FROM petition_reminders r WHERE r.ticket_id = t.id)
         ORDER BY t.id LIMIT 200"
    ))
    .bind(t - (REPORT_DAYS + 2) * 86_400)
    .bind(t)
    .fetch_all(c)
    .await)?;
    let mut sent = 0;
    for (id, ticket_no, received_at, eid) in due {
        let inserted = on_conn!(&mut conn, |c| {
            sqlx::query(
            "INSERT INTO petition_reminders (ticket_id, queued_at) VALUES ($1, $2) ON CONFLICT (ticket_id) DO NOTHING"
        )
        .bind(id)
        .bind(now)
        .execute(c)
    .await
    .map(|r| r.rows_affected())
        })?;
        if inserted == 1 {
            let e = enterprise::get(&mut conn, eid).await?;
            let day = epoch_date(received_at);
            let due = day + Duration::days(REPORT_DAYS);
            mail::petition_due(&mut conn, &e, &ticket_no, day, due).await?;
            sent += 1;
        }
    }
    tx.commit().await?;
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_from_is_the_fourth_beijing_midnight() {
        // Received 2025-03-10 23:30 Beijing = 15:30 UTC.
        let received = Utc
            .with_ymd_and_hms(2025, 3, 10, 15, 30, 0)
            .unwrap()
            .timestamp();
        let limit = Utc
            .with_ymd_and_hms(2025, 3, 13, 16, 0, 0)
            .unwrap()
            .timestamp();
        assert_eq!(late_from(received), limit);
        let p = Petition {
            ticket_id: 1,
            ticket_no: "x".into(),
            received_at: received,
            enterprise_id: None,
            enterprise_name: None,
            content: String::new(),
            manager_name: None,
            manager_on_site_at: None,
            reported_at: None,
            note: None,
        };
        assert_eq!(p.due().to_string(), "2025-03-13");
        assert!(!p.is_late(&(limit - 1)));
        assert!(p.is_late(&limit));
    }
}
