//! Cases in the database: opening one, reading one with its timeline, and the paged list.
//! Recording events is in [`super::record`]; files in [`super::files`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::access::{require_officer_of, require_visible};
use super::{Case, Event, Ground, State, TimelineEntry};
use crate::audit;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::access::linked_enterprise;
use crate::registry::enterprise::{self, Enterprise};
use crate::registry::{Page, Paging};
use crate::scope::Scope;

/// Longest free text a case field takes.
pub(super) const MAX_TEXT: usize = 10_000;

/// Trims `s` and refuses it when longer than `max` characters (or empty, when `required`).
pub(super) fn text(
    field: &str,
    label: &str,
    s: &str,
    max: usize,
    required: bool,
) -> Result<String> {
    let s = s.trim();
    if required && s.is_empty() {
        return Err(Error::invalid(field, format!("请填写{label}")));
    }
    if s.chars().count() > max {
        return Err(Error::invalid(field, format!("{label}不应超过{max}字")));
    }
    Ok(s.to_string())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct OpenInput {
    pub enterprise_id: i64,
    pub ground: Ground,
    /// Required when `ground` is `other`.
    #[serde(default)]
    pub ground_text: String,
    /// The suggestion the case follows (`no_org`, `unanswered`, `short_hours`), if any.
    #[serde(default)]
    pub suggestion: Option<String>,
}

/// Opens a case against an enterprise of the officer's county. One active case per
/// enterprise and ground: a second would split one rectification over two timelines.
pub async fn open(conn: &mut Conn<'_>, p: &Principal, input: &OpenInput) -> Result<Case> {
    p.require_officer()?;
    let e = linked_enterprise(conn, p, input.enterprise_id, "enterprise_id", "企业").await?;
    require_officer_of(p, &e)?;
    let ground_text = text(
        "ground_text",
        "立案事由说明",
        &input.ground_text,
        2000,
        input.ground == Ground::Other,
    )?;
    let suggestion = match input.suggestion.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) if super::suggest::Kind::parse(s).is_some() => Some(s.to_string()),
        Some(s) => return Err(Error::invalid("suggestion", format!("未知的建议类型“{s}”"))),
    };
    let existing: Option<i64> = on_conn!(conn, |c| {
        sqlx::query_scalar(
        "SELECT id FROM cases WHERE enterprise_id = $1 AND ground = $2 AND state NOT IN ('rectified', 'closed') LIMIT 1"
    )
    .bind(e.id)
    .bind(input.ground.code())
    .fetch_optional(c)
    .await
    })?;
    if let Some(id) = existing {
        return Err(Error::Conflict(format!(
            "该企业已有未结案的同类案件（第{id}号），请在该案件中继续办理"
        )));
    }
    let now = Utc::now();
    let id: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO cases (enterprise_id, ground, ground_text, state, suggestion, opened_by, opened_at, updated_at)
         VALUES ($1, $2, $3, 'opened', $4, $5, $6, $6) RETURNING id"
    )
    .bind(e.id)
    .bind(input.ground.code())
    .bind(&ground_text)
    .bind(&suggestion)
    .bind(p.user_id)
    .bind(now)
    .fetch_one(c)
    .await
    })?;
    let event = Event::Opened {
        ground: input.ground,
        ground_text,
    };
    insert_event(conn, id, &event, Some(p.user_id), &p.display_name, now).await?;
    let case = get(conn, id).await?;
    audit::record(
        conn,
        &p.actor(),
        "open",
        "case",
        Some(id),
        None::<&()>,
        Some(&case),
    )
    .await?;
    Ok(case)
}

/// Appends an event to a case's timeline.
pub(super) async fn insert_event(
    conn: &mut Conn<'_>,
    case_id: i64,
    event: &Event,
    user_id: Option<i64>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<i64> {
    let payload = serde_json::to_string(event).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(on_conn!(conn, |c| sqlx::query_scalar(
        "INSERT INTO case_events (case_id, kind, payload, actor_user_id, actor, at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
    )
    .bind(case_id)
    .bind(event.code())
    .bind(&payload)
    .bind(user_id)
    .bind(actor)
    .bind(at)
    .fetch_one(c)
    .await)?)
}

/// A case by id, unchecked: for callers that decide access themselves.
pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Case> {
    on_conn!(conn, |c| sqlx::query_as::<_, Case>(
        "SELECT * FROM cases WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("案件"))
}

/// A case and its enterprise, if `p` may see them; 404 otherwise.
pub(super) async fn visible(
    conn: &mut Conn<'_>,
    p: &Principal,
    id: i64,
) -> Result<(Case, Enterprise)> {
    let case = get(conn, id).await?;
    let e = enterprise::get(conn, case.enterprise_id)
        .await
        .map_err(|_| Error::NotFound("案件"))?;
    require_visible(p, &e)?;
    Ok((case, e))
}

/// A file attached to an event.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct CaseFile {
    pub id: i64,
    pub event_id: i64,
    #[serde(skip)]
    pub sha256: String,
    pub original_name: String,
    pub content_type: String,
    pub size: i64,
}

impl CaseFile {
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

#[derive(FromRow)]
struct EventRow {
    id: i64,
    payload: String,
    actor: String,
    at: DateTime<Utc>,
}

/// A case with everything its page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseDetail {
    pub case: Case,
    pub number: String,
    pub enterprise_name: String,
    pub county_name: String,
    pub state_label: String,
    /// What may come next, in words.
    pub expected: String,
    /// Days from today (Beijing) to the running deadline; negative once passed.
    pub days_left: Option<i64>,
    pub timeline: Vec<TimelineEntry>,
    /// Every evaluation year a missed deadline of this case counts for.
    pub overdue_years: Vec<i32>,
    /// The requirements of the latest rectification order, for the enterprise's portal.
    pub requirements: Option<String>,
}

pub async fn detail(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<CaseDetail> {
    let (case, e) = visible(conn, p, id).await?;
    let rows: Vec<EventRow> = on_conn!(conn, |c| sqlx::query_as::<_, EventRow>(
        "SELECT id, payload, actor, at FROM case_events WHERE case_id = $1 ORDER BY id"
    )
    .bind(id)
    .fetch_all(c)
    .await)?;
    let files: Vec<CaseFile> = on_conn!(conn, |c| sqlx::query_as::<_, CaseFile>(
        "SELECT f.* FROM case_files f JOIN case_events ev ON ev.id = f.event_id
         WHERE ev.case_id = $1 ORDER BY f.id"
    )
    .bind(id)
    .fetch_all(c)
    .await)?;
    let mut timeline = Vec::with_capacity(rows.len());
    for r in rows {
        let event: Event = serde_json::from_str(&r.payload)
            .map_err(|e| Error::Internal(format!("case event {}: {e}", r.id)))?;
        timeline.push(TimelineEntry {
            id: r.id,
            event,
            actor: r.actor,
            at: r.at,
            files: files
                .iter()
                .filter(|f| f.event_id == r.id)
                .cloned()
                .collect(),
        });
    }
    let overdue_years: Vec<i32> = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT DISTINCT year FROM case_overdues WHERE case_id = $1 ORDER BY year"
    )
    .bind(id)
    .fetch_all(c)
    .await)?;
    let county_name = crate::registry::jurisdiction::get(conn, e.county_id)
        .await?
        .name;
    let today = crate::time::today();
    let requirements = timeline.iter().rev().find_map(|t| match &t.event {
        Event::Order { requirements, .. } => Some(requirements.clone()),
        _ => None,
    });
    Ok(CaseDetail {
        requirements,
        number: case.number(),
        enterprise_name: e.name.clone(),
        county_name,
        state_label: case.state.label().to_string(),
        expected: super::machine::expected(case.state).to_string(),
        days_left: running_deadline(&case).map(|d| (d - today).num_days()),
        timeline,
        overdue_years,
        case,
    })
}

/// The deadline the enterprise is working towards, while it is.
fn running_deadline(case: &Case) -> Option<NaiveDate> {
    matches!(
        case.state,
        State::Ordered | State::Submitted | State::Overdue
    )
    .then_some(case.deadline)
    .flatten()
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// One state code (`opened`, `interviewed`, `ordered`, `submitted`, `overdue`, `rectified`, `closed`), or `active` for all but rectified and closed.
    pub state: Option<String>,
    pub county_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct CaseListItem {
    pub id: i64,
    pub enterprise_id: i64,
    pub enterprise_name: String,
    pub county_name: String,
    pub ground: Ground,
    pub state: State,
    pub document_no: Option<String>,
    pub deadline: Option<NaiveDate>,
    pub deadline_rule: Option<String>,
    pub overdue_year: Option<i32>,
    pub opened_at: DateTime<Utc>,
}

impl CaseListItem {
    pub fn number(&self) -> String {
        super::case_number(self.id, self.opened_at)
    }
}

/// Cases in `scope`, overdue first, then by the nearest deadline; paged on the server.
pub async fn list(conn: &mut Conn<'_>, scope: Scope, f: &Filter) -> Result<Page<CaseListItem>> {
    let paging = Paging::new(f.page, f.per_page)?;
    let (state, active) = match f.state.as_deref().map(str::trim) {
        None | Some("") => (None, false),
        Some("active") => (None, true),
        Some(s) => (
            Some(
                State::parse(s)
                    .ok_or_else(|| Error::invalid("state", format!("未知的案件状态“{s}”")))?,
            ),
            false,
        ),
    };
    // $1/$2 carry the scope (see registry::visibility), the rest the filters.
    let filter = format!(
        "FROM cases c JOIN enterprises e ON e.id = c.enterprise_id
         JOIN jurisdictions j ON j.id = e.county_id
         WHERE {} AND ($3 IS NULL OR c.state = $3) AND ($4 IS NULL OR e.county_id = $4)
           AND ($5 IS NULL OR c.enterprise_id = $5)
           AND ($6 = 0 OR c.state NOT IN ('rectified', 'closed'))",
        crate::registry::visibility::ENTERPRISE_VISIBLE
    );
    let state_code = state.map(State::code);
    let active = i64::from(active);
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) {filter}"
    ))
    .bind(scope.county())
    .bind(scope.enterprise())
    .bind(state_code)
    .bind(f.county_id)
    .bind(f.enterprise_id)
    .bind(active)
    .fetch_one(c)
    .await)?;
    let sql = format!(
        "SELECT c.id, c.enterprise_id, e.name AS enterprise_name, j.name AS county_name, c.ground,
                c.state, c.document_no, c.deadline, c.deadline_rule, c.overdue_year, c.opened_at
         {filter}
         ORDER BY CASE c.state WHEN 'overdue' THEN 0 WHEN 'submitted' THEN 1 WHEN 'ordered' THEN 2
                  WHEN 'interviewed' THEN 3 WHEN 'opened' THEN 3 ELSE 4 END,
                  (c.deadline IS NULL), c.deadline, c.id DESC
         LIMIT $7 OFFSET $8"
    );
    let items = on_conn!(conn, |c| sqlx::query_as::<_, CaseListItem>(&sql)
        .bind(scope.county())
        .bind(scope.enterprise())
        .bind(state_code)
        .bind(f.county_id)
        .bind(f.enterprise_id)
        .bind(active)
        .bind(paging.per_page)
        .bind(paging.offset())
        .fetch_all(c)
        .await)?;
    Ok(paging.wrap(items, total))
}

/// Enterprises with a deadline missed in `year` (Art. 22: −20 and no 2A grade), each with
/// the cases it missed them in: what the annual evaluation reads.
pub async fn overdue_for_year(conn: &mut Conn<'_>, year: i32) -> Result<Vec<(i64, i64)>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as::<_, (i64, i64)>(
        "SELECT DISTINCT c.enterprise_id, c.id FROM case_overdues o JOIN cases c ON c.id = o.case_id
         WHERE o.year = $1 ORDER BY c.enterprise_id, c.id"
    )
    .bind(year)
    .fetch_all(c)
    .await
    })?)
}
