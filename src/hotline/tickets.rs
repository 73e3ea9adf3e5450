//! Reading tickets back: lists with filters, one ticket, who may see what. An enterprise sees
//! its own tickets, and from a subsidiary's revocation date that subsidiary's (Art. 7); a
//! county officer sees the county's, and unattributed ones naming the county or no county.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::{Attribution, Satisfaction, Severity};
use crate::auth::{Principal, Role, Scope};
use crate::db::{Conn, Counts, Generations};
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::{like_pattern, Page, Paging};

#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Ticket {
    pub id: i64,
    pub source: String,
    pub ticket_no: String,
    /// Epoch seconds (UTC) for all times.
    pub received_at: i64,
    pub channel: String,
    pub district: String,
    pub community_text: String,
    pub enterprise_text: String,
    pub credit_code_text: String,
    pub source_category: String,
    pub content: String,
    pub forwarded_at: Option<i64>,
    pub deadline_at: Option<i64>,
    pub responded_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub satisfaction: Satisfaction,
    pub revisited: bool,
    pub revisited_at: Option<i64>,
    pub group_petition: bool,
    pub category: String,
    pub subcategory: String,
    pub severity: Severity,
    pub enterprise_id: Option<i64>,
    pub project_id: Option<i64>,
    pub county_id: Option<i64>,
    pub attribution: Attribution,
    pub attribution_score: i64,
    #[sqlx(default)]
    pub enterprise_name: Option<String>,
}

impl Ticket {
    pub fn received_local(&self) -> String {
        local(self.received_at)
    }
    pub fn responded_local(&self) -> String {
        self.responded_at.map(local).unwrap_or_else(|| "—".into())
    }
    pub fn closed_local(&self) -> String {
        self.closed_at.map(local).unwrap_or_else(|| "—".into())
    }
}

pub fn local(epoch: i64) -> String {
    DateTime::<Utc>::from_timestamp(epoch, 0)
        .map(|t| crate::time::local(&t))
        .unwrap_or_default()
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    pub enterprise_id: Option<i64>,
    pub attribution: Option<Attribution>,
    pub category: Option<String>,
    /// Calendar year (Beijing time) the ticket was received in.
    pub year: Option<i32>,
    pub month: Option<u32>,
    /// Matches ticket id, community, enterprise text or content.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// [start, end) in epoch seconds of a Beijing calendar year or month.
pub fn period_bounds(year: i32, month: Option<u32>) -> Option<(i64, i64)> {
    use chrono::{NaiveDate, TimeZone};
    let (start, end) = match month {
        None => (
            NaiveDate::from_ymd_opt(year, 1, 1)?,
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?,
        ),
        Some(m) if (1..=12).contains(&m) => {
            let next = if m == 12 {
                NaiveDate::from_ymd_opt(year + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(year, m + 1, 1)?
            };
            (NaiveDate::from_ymd_opt(year, m, 1)?, next)
        }
        _ => return None,
    };
    let tz = crate::time::china();
    let s = tz
        .from_local_datetime(&start.and_hms_opt(0, 0, 0)?)
        .single()?
        .timestamp();
    let e = tz
        .from_local_datetime(&end.and_hms_opt(0, 0, 0)?)
        .single()?
        .timestamp();
    Some((s, e))
}

/// Subsidiaries whose tickets an enterprise answers for (Art. 7), each from the Beijing
/// midnight of its revocation or cancellation date, as epoch seconds.
pub async fn handovers(conn: &mut Conn<'_>, enterprise_id: i64) -> Result<Vec<(i64, i64)>> {
    let rows: Vec<(i64, Option<chrono::NaiveDate>)> = on_conn!(conn, |c| {
        sqlx::query_as(
        "SELECT id, status_date FROM enterprises WHERE parent_id = $1 AND status <> 'active' AND status_date IS NOT NULL"
    )
    .bind(enterprise_id)
    .fetch_all(c)
    .await
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, d)| Some((id, day_start(d?))))
        .collect())
}

/// Epoch seconds of Beijing midnight at the start of `d`.
pub fn day_start(d: chrono::NaiveDate) -> i64 {
    use chrono::TimeZone;
    d.and_hms_opt(0, 0, 0)
        .and_then(|t| crate::time::china().from_local_datetime(&t).single())
        .map(|t| t.timestamp())
        .unwrap_or(i64::MIN)
}

/// `t.enterprise_id = <id>`, widened by the handed-over subsidiaries. The values are integers
/// computed here, never user text, so they are written into the SQL.
fn answers_for(enterprise_id: i64, handed: &[(i64, i64)]) -> String {
    let mut clause = format!("(t.enterprise_id = {enterprise_id}");
    for (sub, since) in handed {
        clause.push_str(&format!(
            " OR (t.enterprise_id = {sub} AND t.received_at >= {since})"
        ));
    }
    clause.push(')');
    clause
}

/// Which tickets a county officer sees, with the officer's county bound as `$1` (NULL for the
/// city): the county's, and the unattributed ones naming no county. The list, [`visible`] (its
/// in-memory form) and the queue's bulk assignment all apply it.
pub const COUNTY_SEES: &str =
    "($1 IS NULL OR t.county_id = $1 OR (t.county_id IS NULL AND t.enterprise_id IS NULL))";

/// [`COUNTY_SEES`] for a county officer reading a page, `$1` being set: the unary `+` keeps the planner off the county index, so it
/// walks the received-time index newest first and stops after the page, instead of
/// collecting and sorting a whole county's tickets.
const COUNTY_OFFICER_SEES_IN_ORDER: &str =
    "(+t.county_id = $1 OR (+t.county_id IS NULL AND t.enterprise_id IS NULL))";

/// A page of the tickets `scope` may see, newest first. The total is kept in `counts` per
/// generation (counting reads up to a million index entries; the page reads fifty rows).
pub async fn list(
    conn: &mut Conn<'_>,
    counts: &Counts,
    scope: Scope,
    filter: &Filter,
) -> Result<Page<Ticket>> {
    let paging = Paging::new(filter.page, filter.per_page)?;
    let enterprise = match (scope, filter.enterprise_id) {
        (Scope::Enterprise(own), Some(asked)) if asked != own => {
            return Ok(paging.wrap(Vec::new(), 0))
        }
        (Scope::Enterprise(own), _) => Some(own),
        (_, asked) => asked,
    };
    let enterprise_clause = match enterprise {
        Some(id) => answers_for(id, &handovers(conn, id).await?),
        None => "TRUE".to_string(),
    };
    let (start, end) = match filter.year {
        Some(y) => period_bounds(y, filter.month)
            .map(|(s, e)| (Some(s), Some(e)))
            .unwrap_or((None, None)),
        None => (None, None),
    };
    let q = filter
        .q
        .as_deref()
        .filter(|q| !q.trim().is_empty())
        .map(like_pattern);
    let attribution = filter.attribution.map(Attribution::code);
    let category = filter.category.as_deref().filter(|c| !c.is_empty());
    // Only the filters in use become row predicates; an unused one stays a `$n IS NULL` the
    // database evaluates once, so the ones in use can be served from an index.
    let used = |on: bool, predicate: &str, param: &str| {
        if on {
            predicate.to_string()
        } else {
            format!("{param} IS NULL")
        }
    };
    let attribution_clause = used(attribution.is_some(), "t.attribution = $2", "$2");
    let category_clause = used(category.is_some(), "t.category = $3", "$3");
    let start_clause = used(start.is_some(), "t.received_at >= $4", "$4");
    let end_clause = used(end.is_some(), "t.received_at < $5", "$5");
    let q_clause = used(
        q.is_some(),
        "(t.ticket_no LIKE $6 ESCAPE '\\' OR t.community_text LIKE $6 ESCAPE '\\'
          OR t.enterprise_text LIKE $6 ESCAPE '\\' OR t.content LIKE $6 ESCAPE '\\')",
        "$6",
    );
    let county_in_order = used(scope.county().is_some(), COUNTY_OFFICER_SEES_IN_ORDER, "$1");
    let filters = format!(
        "{attribution_clause} AND {category_clause} AND {start_clause} AND {end_clause} AND {q_clause}"
    );
    // A county officer's two disjoint sets are counted apart, each a range of the county
    // index (counted as one OR, PostgreSQL scans the whole index).
    let count_sql = if scope.county().is_some() {
        format!(
            "SELECT (SELECT COUNT(*) FROM tickets t
                     WHERE {enterprise_clause} AND t.county_id = $1 AND {filters})
                  + (SELECT COUNT(*) FROM tickets t
                     WHERE {enterprise_clause} AND t.county_id IS NULL AND t.enterprise_id IS NULL
                       AND {filters})"
        )
    } else {
        format!(
            "SELECT COUNT(*) FROM tickets t WHERE {enterprise_clause} AND $1 IS NULL AND {filters}"
        )
    };
    let generations = Generations::read(conn).await?;
    let key = format!(
        "{count_sql}\n{:?}",
        (scope.county(), attribution, category, start, end, &q)
    );
    let total = counts
        .total(generations, key, async {
            Ok(on_conn!(conn, |c| sqlx::query_scalar(&count_sql)
                .bind(scope.county())
                .bind(attribution)
                .bind(category)
                .bind(start)
                .bind(end)
                .bind(&q)
                .fetch_one(c)
                .await)?)
        })
        .await?;
    let items = on_conn!(conn, |c| {
        sqlx::query_as::<_, Ticket>(&format!(
        "SELECT t.*, e.name AS enterprise_name FROM tickets t LEFT JOIN enterprises e ON e.id = t.enterprise_id
         WHERE {enterprise_clause} AND {county_in_order} AND {filters}
         ORDER BY t.received_at DESC, t.id DESC LIMIT $7 OFFSET $8"
    ))
    .bind(scope.county())
    .bind(attribution)
    .bind(category)
    .bind(start)
    .bind(end)
    .bind(&q)
    .bind(paging.per_page)
    .bind(paging.offset())
    .fetch_all(c)
    .await
    })?;
    Ok(paging.wrap(items, total))
}

/// Whether `p` may see ticket `t`: [`COUNTY_SEES`] for officers, Art. 7 for enterprises.
pub async fn visible(conn: &mut Conn<'_>, p: &Principal, t: &Ticket) -> Result<bool> {
    Ok(match p.role {
        Role::CityAdmin => true,
        Role::CountyOfficer { county_id } => {
            t.county_id == Some(county_id) || (t.county_id.is_none() && t.enterprise_id.is_none())
        }
        Role::Enterprise { enterprise_id } => match t.enterprise_id {
            Some(owner) if owner == enterprise_id => true,
            Some(owner) => handovers(conn, enterprise_id)
                .await?
                .iter()
                .any(|(sub, since)| *sub == owner && t.received_at >= *since),
            None => false,
        },
    })
}

pub async fn get(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<Ticket> {
    let t = on_conn!(conn, |c| sqlx::query_as::<_, Ticket>(
        "SELECT t.*, e.name AS enterprise_name FROM tickets t LEFT JOIN enterprises e ON e.id = t.enterprise_id WHERE t.id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("工单"))?;
    if !visible(conn, p, &t).await? {
        return Err(Error::NotFound("工单"));
    }
    Ok(t)
}
