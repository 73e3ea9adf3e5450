//! The digest's enforcement sections (Art. 16, 22): rectification deadlines and group-petition
//! reports. Read straight from the tables, so that `notify` does not depend on `enforcement`
//! (which sends its mail through `notify`).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::digest::{section, DigestItem, DigestSection, MAX_ITEMS};
use crate::db::Conn;
use crate::error::Result;
use crate::hotline::petition::{LATE_FROM_SQL, REPORT_DAYS};
use crate::on_conn;
use crate::time::china;

/// How far ahead a deadline is worth a line: the reminders' lead time.
const AHEAD_DAYS: i64 = 3;
/// How far back an unreported petition is still listed.
const PETITION_BACK_DAYS: i64 = 30;

/// id, enterprise name, state, document number, deadline.
type CaseRow = (i64, String, String, Option<String>, Option<NaiveDate>);

fn state_label(state: &str) -> &'static str {
    match state {
        "ordered" => "限期整改中",
        "submitted" => "整改材料待核查",
        "overdue" => "逾期未改正",
        _ => "办理中",
    }
}

/// Cases with a deadline within three days, past it, or a submission waiting to be verified:
/// of the county's enterprises (`county`), or of one enterprise (`enterprise`, which sees only
/// what it must do: running and overdue orders).
pub async fn cases_due(
    conn: &mut Conn<'_>,
    county: Option<i64>,
    enterprise: Option<i64>,
    today: NaiveDate,
) -> Result<DigestSection> {
    let from = "FROM cases c JOIN enterprises e ON e.id = c.enterprise_id
         WHERE ($1 IS NULL OR e.county_id = $1) AND ($2 IS NULL OR c.enterprise_id = $2)
           AND (c.state = 'overdue' OR (c.state = 'ordered' AND c.deadline <= $3)
                OR ($2 IS NULL AND c.state = 'submitted'))";
    let soon = today + Duration::days(AHEAD_DAYS);
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) {from}"
    ))
    .bind(county)
    .bind(enterprise)
    .bind(soon)
    .fetch_one(c)
    .await)?;
    let rows: Vec<CaseRow> = on_conn!(conn, |c| sqlx::query_as(&format!(
        "SELECT c.id, e.name, c.state, c.document_no, c.deadline {from}
             ORDER BY CASE c.state WHEN 'overdue' THEN 0 ELSE 1 END, c.deadline, c.id LIMIT $4"
    ))
    .bind(county)
    .bind(enterprise)
    .bind(soon)
    .bind(MAX_ITEMS as i64)
    .fetch_all(c)
    .await)?;
    let items = rows
        .into_iter()
        .map(|(id, name, state, document_no, deadline)| DigestItem {
            title: format!(
                "{name} 整改通知{}：{}",
                document_no.unwrap_or_default(),
                state_label(&state)
            ),
            due: deadline,
            overdue: state == "overdue" || deadline.is_some_and(|d| d < today),
            link: format!("/cases/{id}"),
        })
        .collect();
    let title = if enterprise.is_some() {
        "整改期限临近或已逾期的责令整改通知（第二十二条）"
    } else {
        "整改期限临近、已逾期或待核查的案件（第二十二条）"
    };
    Ok(section(title, items, total))
}

/// Group petitions without a recorded face-to-face report whose 3-day window ends within a
/// day or ended in the last month.
pub async fn petitions_due(
    conn: &mut Conn<'_>,
    county: Option<i64>,
    enterprise: Option<i64>,
    now: DateTime<Utc>,
) -> Result<DigestSection> {
    let t = now.timestamp();
    let from = format!(
        "FROM tickets t LEFT JOIN petition_followups f ON f.ticket_id = t.id
         WHERE t.group_petition AND t.enterprise_id IS NOT NULL AND f.reported_at IS NULL
           AND ($1 IS NULL OR t.county_id = $1) AND ($2 IS NULL OR t.enterprise_id = $2)
           AND t.received_at >= $3 AND {LATE_FROM_SQL} <= $4"
    );
    let since = t - (PETITION_BACK_DAYS + REPORT_DAYS + 1) * 86_400;
    let until = t + 86_400;
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) {from}"
    ))
    .bind(county)
    .bind(enterprise)
    .bind(since)
    .bind(until)
    .fetch_one(c)
    .await)?;
    let rows: Vec<(String, i64)> = on_conn!(conn, |c| sqlx::query_as(&format!(
        "SELECT t.ticket_no, t.received_at {from} ORDER BY t.received_at, t.id LIMIT $5"
    ))
    .bind(county)
    .bind(enterprise)
    .bind(since)
    .bind(until)
    .bind(MAX_ITEMS as i64)
    .fetch_all(c)
    .await)?;
    let items = rows
        .into_iter()
        .map(|(ticket_no, received)| {
            let day = DateTime::from_timestamp(received, 0)
                .unwrap_or_default()
                .with_timezone(&china())
                .date_naive();
            let due = day + Duration::days(REPORT_DAYS);
            DigestItem {
                title: format!("工单{ticket_no}（群体上访，{day}）：负责人须到主管部门面复"),
                due: Some(due),
                overdue: crate::hotline::petition::late_from(received) <= t,
                link: "/petitions?status=open".into(),
            }
        })
        .collect();
    Ok(section("群体上访面复（第十六条）", items, total))
}
