//! Cases the worklist proposes. Suggestions, not punishment: the officer opens a case or
//! dismisses the suggestion with a reason, which is kept (for the year) and shown.
//!
//! - `no_org`: an enterprise with projects that need an org but no approved establishment
//!   filing (Art. 4; the worklist's own gap list).
//! - `unanswered`: an org whose forwarded tickets this year were mostly not answered within
//!   Art. 15's 3 days (thresholds are rule-set parameters). An unknown answer rate (exports
//!   without the response column) proposes nothing.
//!
//! - `short_hours`: an org whose filed hotline hours fall short of what the rule set asks
//!   (`hotline_min_days_per_week`, `hotline_min_hours_per_day`; seed 002: 7 days, ≥ 10 h a
//!   day). A set without them, or with 0, asks nothing; an org that filed no hours is unknown
//!   and proposes nothing.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::access::require_officer_of;
use super::Ground;
use crate::audit;
use crate::auth::Principal;
use crate::db::{Conn, Db};
use crate::error::{Error, Result};
use crate::filings::served::Worklists;
use crate::hotline::served::Analytics;
use crate::on_conn;
use crate::registry::access::linked_enterprise;
use crate::registry::{Page, Paging};
use crate::rules::RuleSet;
use crate::scope::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SuggestionKind)]
pub enum Kind {
    NoOrg,
    Unanswered,
    ShortHours,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::NoOrg => "no_org",
            Kind::Unanswered => "unanswered",
            Kind::ShortHours => "short_hours",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::NoOrg, Kind::Unanswered, Kind::ShortHours]
            .into_iter()
            .find(|k| k.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::NoOrg => "有项目但无已备案的售后服务机构",
            Kind::Unanswered => "转办件大多未在3日内反馈",
            Kind::ShortHours => "备案的电话服务时间不足",
        }
    }

    /// The ground a case opened from this suggestion has.
    pub fn ground(self) -> Ground {
        match self {
            Kind::NoOrg => Ground::NoOrg,
            Kind::Unanswered | Kind::ShortHours => Ground::NotFunctioning,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub kind: Kind,
    pub enterprise_id: i64,
    pub enterprise_name: String,
    pub county_name: String,
    /// The figures behind it, in words.
    pub evidence: String,
    /// Set when an officer dismissed it this year.
    pub dismissed_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// Include the suggestions dismissed this year (with their reasons).
    pub dismissed: Option<bool>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The suggestions for `scope` on `as_of`, paged. Reads the worklist's gaps and the year's
/// ticket metrics, both kept per generation: nothing here recomputes the city.
pub async fn list(
    db: &Db,
    worklists: &Worklists,
    analytics: &Analytics,
    rules: &RuleSet,
    scope: Scope,
    as_of: NaiveDate,
    q: &Params,
) -> Result<Page<Suggestion>> {
    let paging = Paging::new(q.page, q.per_page)?;
    let gaps = worklists.gaps(db, rules, as_of).await?;
    let year = as_of.year();
    let metrics = analytics.metrics(db, year, None).await?;
    let min = rules
        .value("suggest_unanswered_min_forwarded", as_of, None)
        .value;
    let max_pct = rules
        .value("suggest_unanswered_max_answer_pct", as_of, None)
        .value;
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    let sees = |county: i64, enterprise: i64| match scope {
        Scope::City => true,
        Scope::County(c) => c == county,
        Scope::Enterprise(e) => e == enterprise,
    };
    let mut found: Vec<Suggestion> = gaps
        .without_org
        .iter()
        .filter(|(county, g)| sees(*county, g.enterprise_id))
        .map(|(_, g)| Suggestion {
            kind: Kind::NoOrg,
            enterprise_id: g.enterprise_id,
            enterprise_name: g.enterprise_name.clone(),
            county_name: g.county_name.clone(),
            evidence: g.detail.clone(),
            dismissed_reason: None,
        })
        .collect();
    found.extend(
        gaps.short_hours
            .iter()
            .filter(|(county, g)| sees(*county, g.enterprise_id))
            .map(|(_, g)| Suggestion {
                kind: Kind::ShortHours,
                enterprise_id: g.enterprise_id,
                enterprise_name: g.enterprise_name.clone(),
                county_name: g.county_name.clone(),
                evidence: g.detail.clone(),
                dismissed_reason: None,
            }),
    );
    let weak: Vec<_> = metrics
        .enterprises
        .iter()
        .filter(|m| m.forwarded_due >= min)
        .filter(|m| m.answer_rate.is_some_and(|r| r * 100.0 <= max_pct as f64))
        .collect();
    if !weak.is_empty() {
        let names = enterprise_names(
            &mut conn,
            scope,
            &weak.iter().map(|m| m.enterprise_id).collect::<Vec<_>>(),
        )
        .await?;
        for m in weak {
            if let Some((name, county, county_name)) = names.get(&m.enterprise_id) {
                if !sees(*county, m.enterprise_id) {
                    continue;
                }
                found.push(Suggestion {
                    kind: Kind::Unanswered,
                    enterprise_id: m.enterprise_id,
                    enterprise_name: name.clone(),
                    county_name: county_name.clone(),
                    evidence: format!(
                        "{year}年到期转办件{}件，3日内反馈{}件（{:.0}%）",
                        m.forwarded_due,
                        m.answered_in_3_days,
                        m.answer_rate.unwrap_or(0.0) * 100.0
                    ),
                    dismissed_reason: None,
                });
            }
        }
    }
    // Enterprises that already have an active case on the suggestion's ground.
    // Only the caller's enterprises: a county's officer reads the county's cases, not the city's.
    let visible = crate::registry::visibility::ENTERPRISE_VISIBLE;
    let active_sql = format!(
        "SELECT c.enterprise_id, c.ground FROM cases c JOIN enterprises e ON e.id = c.enterprise_id
         WHERE {visible} AND c.state NOT IN ('rectified', 'closed')"
    );
    let active: HashSet<(i64, String)> =
        on_conn!(&mut conn, |c| sqlx::query_as::<_, (i64, String)>(
            &active_sql
        )
        .bind(scope.county())
        .bind(scope.enterprise())
        .fetch_all(c)
        .await)?
        .into_iter()
        .collect();
    let dismissed_sql = format!(
        "SELECT d.enterprise_id, d.kind, d.reason FROM suggestion_dismissals d
         JOIN enterprises e ON e.id = d.enterprise_id WHERE {visible} AND d.year = $3"
    );
    let dismissed: Vec<(i64, String, String)> =
        on_conn!(&mut conn, |c| sqlx::query_as(&dismissed_sql)
            .bind(scope.county())
            .bind(scope.enterprise())
            .bind(year)
            .fetch_all(c)
            .await)?;
    let show_dismissed = q.dismissed.unwrap_or(false);
    let has_active = |e: i64, g: Ground| active.contains(&(e, g.code().to_string()));
    found.retain_mut(|s| {
        // An org that was never set up cannot be "not functioning": the no-org case covers it.
        if has_active(s.enterprise_id, s.kind.ground())
            || (s.kind != Kind::NoOrg && has_active(s.enterprise_id, Ground::NoOrg))
        {
            return false;
        }
        s.dismissed_reason = dismissed
            .iter()
            .find(|(e, k, _)| *e == s.enterprise_id && k == s.kind.code())
            .map(|(_, _, r)| r.clone());
        show_dismissed || s.dismissed_reason.is_none()
    });
    found.sort_by(|a, b| {
        (
            a.county_name.as_str(),
            a.enterprise_name.as_str(),
            a.kind.code(),
        )
            .cmp(&(
                b.county_name.as_str(),
                b.enterprise_name.as_str(),
                b.kind.code(),
            ))
    });
    let total = i64::try_from(found.len()).unwrap_or(i64::MAX);
    let start = usize::try_from(paging.offset()).unwrap_or(usize::MAX);
    let items = found
        .into_iter()
        .skip(start)
        .take(usize::try_from(paging.per_page).unwrap_or(50))
        .collect();
    Ok(paging.wrap(items, total))
}

/// Names and counties of the enterprises `ids` that `scope` may see.
async fn enterprise_names(
    conn: &mut Conn<'_>,
    scope: Scope,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, (String, i64, String)>> {
    let mut out = std::collections::HashMap::new();
    // Bounded statements however many enterprises qualify.
    for chunk in ids.chunks(500) {
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT e.id, e.name, e.county_id, j.name FROM enterprises e JOIN jurisdictions j ON j.id = e.county_id
             WHERE {} AND e.id IN ({list})",
            crate::registry::visibility::ENTERPRISE_VISIBLE
        );
        let rows: Vec<(i64, String, i64, String)> = on_conn!(conn, |c| sqlx::query_as(&sql)
            .bind(scope.county())
            .bind(scope.enterprise())
            .fetch_all(c)
            .await)?;
        for (id, name, county, county_name) in rows {
            out.insert(id, (name, county, county_name));
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DismissInput {
    pub enterprise_id: i64,
    pub kind: Kind,
    pub reason: String,
}

/// Dismisses a suggestion for the rest of `year`, keeping the officer's reason.
pub async fn dismiss(
    conn: &mut Conn<'_>,
    p: &Principal,
    input: &DismissInput,
    year: i32,
) -> Result<()> {
    p.require_officer()?;
    let e = linked_enterprise(conn, p, input.enterprise_id, "enterprise_id", "企业").await?;
    require_officer_of(p, &e)?;
    let reason = super::store::text("reason", "不立案的理由", &input.reason, 2000, true)?;
    let done = on_conn!(conn, |c| {
        sqlx::query(
        "INSERT INTO suggestion_dismissals (enterprise_id, kind, year, reason, dismissed_by, dismissed_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (enterprise_id, kind, year) DO NOTHING"
    )
    .bind(e.id)
    .bind(input.kind.code())
    .bind(year)
    .bind(&reason)
    .bind(p.user_id)
    .bind(Utc::now())
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    if done == 0 {
        return Err(Error::Conflict("该建议今年已被驳回".into()));
    }
    audit::record(
        conn,
        &p.actor(),
        "dismiss_suggestion",
        "enterprise",
        Some(e.id),
        None::<&()>,
        Some(&serde_json::json!({"kind": input.kind.code(), "year": year, "reason": reason})),
    )
    .await?;
    Ok(())
}
