//! The officer's worklist for their county (or the whole city): filings waiting for review,
//! oldest first; enterprises with projects but no approved org; enterprises whose notice
//! boards do not cover every required place. The last two are computed in bulk and served
//! from memory per generation of their inputs ([`super::served`]).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::served::{Gaps, Worklists};
use super::state::{self, Coverage};
use super::{store, Kind};
use crate::auth::Scope;
use crate::db::{Conn, Db};
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::{Page, Paging};
use crate::rules::RuleSet;

#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Pending {
    pub filing_id: i64,
    pub kind: Kind,
    pub revision: i64,
    pub enterprise_id: i64,
    pub enterprise_name: String,
    pub county_name: String,
    pub submitted_at: DateTime<Utc>,
    #[sqlx(skip)]
    pub age_days: i64,
}

impl Pending {
    pub fn submitted_local(&self) -> String {
        crate::time::local(&self.submitted_at)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnterpriseGap {
    pub enterprise_id: i64,
    pub enterprise_name: String,
    pub county_name: String,
    pub projects: i64,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Worklist {
    pub as_of: NaiveDate,
    pub pending: Page<Pending>,
    pub without_org: Page<EnterpriseGap>,
    pub incomplete_coverage: Page<EnterpriseGap>,
}

/// Which page of each of the worklist's three lists to show; `per_page` applies to all three.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// The date to compute for (Beijing date); today by default.
    pub as_of: Option<NaiveDate>,
    pub pending_page: Option<i64>,
    pub without_org_page: Option<i64>,
    pub coverage_page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(FromRow)]
struct Candidate {
    id: i64,
    name: String,
    county_id: i64,
    county_name: String,
    projects: i64,
    has_org: bool,
}

/// The worklist of a county (or the city) on `as_of`, each list paged. Coverage is computed
/// for every enterprise of the scope from rows loaded in bulk (a handful of statements however
/// many enterprises there are), with the same function the org page uses per enterprise, and
/// kept in `served` until the registry or a filing changes.
pub async fn build(
    db: &Db,
    served: &Worklists,
    scope: Scope,
    rules: &RuleSet,
    as_of: NaiveDate,
    params: &Params,
) -> Result<Worklist> {
    let pending_paging = paging(params.pending_page, params.per_page, "pending_page")?;
    let without_paging = paging(params.without_org_page, params.per_page, "without_org_page")?;
    let coverage_paging = paging(params.coverage_page, params.per_page, "coverage_page")?;
    let pending = {
        let mut pooled = db.acquire().await?;
        pending(&mut pooled.conn(), scope, pending_paging).await?
    };
    let gaps = served.gaps(db, rules, as_of).await?;
    let county = scope.county();
    Ok(Worklist {
        as_of,
        pending,
        without_org: page_of(&gaps.without_org, county, without_paging),
        incomplete_coverage: page_of(&gaps.incomplete_coverage, county, coverage_paging),
    })
}

/// [`Paging::new`], with a refused page named by the list's own parameter.
fn paging(page: Option<i64>, per_page: Option<i64>, field: &str) -> Result<Paging> {
    Paging::new(page, per_page).map_err(|e| match e {
        Error::Invalid(inv) => Error::invalid(field, inv.message),
        other => other,
    })
}

/// One page of the gaps of `county` (all of them for the city), from the city's list.
fn page_of(
    all: &[(i64, EnterpriseGap)],
    county: Option<i64>,
    paging: Paging,
) -> Page<EnterpriseGap> {
    let skip = usize::try_from(paging.offset()).unwrap_or(usize::MAX);
    let take = usize::try_from(paging.per_page).unwrap_or(0);
    let in_scope = || {
        all.iter()
            .filter(move |(c, _)| county.is_none_or(|county| *c == county))
            .map(|(_, gap)| gap)
    };
    let total = in_scope().count() as i64;
    paging.wrap(in_scope().skip(skip).take(take).cloned().collect(), total)
}

/// Filings waiting for review, oldest first.
async fn pending(conn: &mut Conn<'_>, scope: Scope, paging: Paging) -> Result<Page<Pending>> {
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM filings f JOIN enterprises e ON e.id = f.enterprise_id
         WHERE f.status = 'submitted' AND ($1 IS NULL OR e.county_id = $1)"
    )
    .bind(scope.county())
    .fetch_one(c)
    .await)?;
    let mut items = on_conn!(conn, |c| {
        sqlx::query_as::<_, Pending>(
        "SELECT f.id AS filing_id, f.kind, f.revision, e.id AS enterprise_id, e.name AS enterprise_name,
                j.name AS county_name, f.submitted_at
         FROM filings f JOIN enterprises e ON e.id = f.enterprise_id JOIN jurisdictions j ON j.id = e.county_id
         WHERE f.status = 'submitted' AND ($1 IS NULL OR e.county_id = $1)
         ORDER BY f.submitted_at, f.id LIMIT $2 OFFSET $3"
    )
    .bind(scope.county())
    .bind(paging.per_page)
    .bind(paging.offset())
    .fetch_all(c)
    .await
    })?;
    let now = Utc::now();
    for p in &mut items {
        p.age_days = (now - p.submitted_at).num_days();
    }
    Ok(paging.wrap(items, total))
}

/// Enterprises with projects but no approved org, and those whose boards miss a required
/// place, in county and name order, each with its county: for `county`, or the city for
/// `None`. An enterprise's gaps are the same either way (its county's query loads its
/// subsidiaries' projects and boards too), so the city's list serves every county.
pub async fn gaps(
    conn: &mut Conn<'_>,
    county: Option<i64>,
    rules: &RuleSet,
    as_of: NaiveDate,
) -> Result<Gaps> {
    let candidates = on_conn!(conn, |c| {
        sqlx::query_as::<_, Candidate>(
        "SELECT e.id, e.name, e.county_id, j.name AS county_name,
                (SELECT COUNT(*) FROM projects p WHERE p.enterprise_id = e.id) AS projects,
                EXISTS (SELECT 1 FROM filings f WHERE f.enterprise_id = e.id AND f.status = 'approved'
                        AND f.kind IN ('establishment', 'delegation')) AS has_org
         FROM enterprises e JOIN jurisdictions j ON j.id = e.county_id
         WHERE e.status = 'active' AND ($1 IS NULL OR e.county_id = $1)
         ORDER BY j.code, e.name, e.id"
    )
    .bind(county)
    .fetch_all(c)
    .await
    })?;
    // Every project with the enterprises answering for it.
    let answerable = store::answerable_by_enterprise(conn, county, as_of).await?;
    let boards = store::approved_boards_in(conn, county).await?;
    let asked = asked_hours(rules, as_of);
    let hours = match asked {
        Some(_) => filed_hours(conn, county, as_of).await?,
        None => HashMap::new(),
    };
    let mut short_hours = Vec::new();
    let mut without_org = Vec::new();
    let mut incomplete_coverage = Vec::new();
    for cand in candidates {
        if cand.projects == 0 {
            continue;
        }
        if !cand.has_org {
            without_org.push((
                cand.county_id,
                EnterpriseGap {
                    enterprise_id: cand.id,
                    enterprise_name: cand.name.clone(),
                    county_name: cand.county_name.clone(),
                    projects: cand.projects,
                    detail: format!("有{}个项目，无已通过的售后服务机构设立备案", cand.projects),
                },
            ));
        }
        let projects = answerable
            .get(&cand.id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let cov = state::coverage_of(cand.id, projects, &boards, rules, as_of);
        if !cov.complete() {
            incomplete_coverage.push((cand.county_id, coverage_gap(&cand, &cov)));
        }
        if let (Some((days, per_day)), Some(h)) = (asked, hours.get(&cand.id)) {
            if i64::from(h.days_per_week()) < days || i64::from(h.hours_per_day()) < per_day {
                short_hours.push((
                    cand.county_id,
                    EnterpriseGap {
                        enterprise_id: cand.id,
                        enterprise_name: cand.name.clone(),
                        county_name: cand.county_name.clone(),
                        projects: cand.projects,
                        detail: format!(
                            "备案的电话服务时间为{h}，少于每周{days}天、每天{per_day}小时"
                        ),
                    },
                ));
            }
        }
    }
    Ok(Gaps {
        without_org,
        incomplete_coverage,
        short_hours,
    })
}

/// The hotline hours the rule set asks for (days a week, hours a day), if it asks: both
/// parameters present and above zero on `as_of`.
fn asked_hours(rules: &RuleSet, as_of: NaiveDate) -> Option<(i64, i64)> {
    let get = |name: &str| {
        rules
            .parameters
            .contains_key(name)
            .then(|| rules.value(name, as_of, None).value)
            .filter(|v| *v > 0)
    };
    Some((
        get("hotline_min_days_per_week")?,
        get("hotline_min_hours_per_day")?,
    ))
}

/// The hotline hours each enterprise filed last (by effective date, up to `as_of`): from its
/// establishment, unless a later hotline change states new hours.
async fn filed_hours(
    conn: &mut Conn<'_>,
    county: Option<i64>,
    as_of: NaiveDate,
) -> Result<HashMap<i64, crate::phone::ServiceHours>> {
    let rows: Vec<(i64, String)> = on_conn!(conn, |c| {
        sqlx::query_as(
        "SELECT f.enterprise_id, f.payload FROM filings f JOIN enterprises e ON e.id = f.enterprise_id
         WHERE f.status = 'approved' AND f.kind IN ('establishment', 'hotline_change')
           AND f.effective_on <= $1 AND ($2 IS NULL OR e.county_id = $2)
         ORDER BY f.enterprise_id, f.effective_on, f.id"
    )
    .bind(as_of)
    .bind(county)
    .fetch_all(c)
    .await
    })?;
    let mut out = HashMap::new();
    for (enterprise, payload) in rows {
        let filed = match serde_json::from_str::<super::Payload>(&payload) {
            Ok(super::Payload::Establishment(e)) => e.service_hours,
            Ok(super::Payload::HotlineChange(c)) => c.service_hours,
            _ => None,
        };
        if let Some(h) = filed {
            out.insert(enterprise, h);
        }
    }
    Ok(out)
}

fn coverage_gap(cand: &Candidate, cov: &Coverage) -> EnterpriseGap {
    let missing: Vec<&str> = cov.uncovered().map(|p| p.label.as_str()).collect();
    EnterpriseGap {
        enterprise_id: cand.id,
        enterprise_name: cand.name.clone(),
        county_name: cand.county_name.clone(),
        projects: cand.projects,
        detail: format!(
            "公示牌覆盖 {}/{}，缺：{}",
            cov.covered,
            cov.required,
            missing.join("、")
        ),
    }
}
