//! The officer's worklist for their county (or the whole city): filings waiting for review,
//! oldest first; enterprises with projects but no approved org; enterprises whose notice
//! boards do not cover every required place.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::FromRow;

use super::state;
use super::Kind;
use crate::auth::Scope;
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;
use crate::registry::enterprise::Enterprise;
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
    pub pending: Vec<Pending>,
    pub without_org: Vec<EnterpriseGap>,
    pub incomplete_coverage: Vec<EnterpriseGap>,
}

#[derive(FromRow)]
struct Candidate {
    #[sqlx(flatten)]
    enterprise: Enterprise,
    county_name: String,
    projects: i64,
    has_org: bool,
}

pub async fn build(
    conn: &mut Conn<'_>,
    scope: Scope,
    rules: &RuleSet,
    as_of: NaiveDate,
) -> Result<Worklist> {
    let mut pending = on_conn!(conn, |c| {
        sqlx::query_as::<_, Pending>(
        "SELECT f.id AS filing_id, f.kind, f.revision, e.id AS enterprise_id, e.name AS enterprise_name,
                j.name AS county_name, f.submitted_at
         FROM filings f JOIN enterprises e ON e.id = f.enterprise_id JOIN jurisdictions j ON j.id = e.county_id
         WHERE f.status = 'submitted' AND ($1 IS NULL OR e.county_id = $1)
         ORDER BY f.submitted_at, f.id"
    )
    .bind(scope.county())
    .fetch_all(c)
    .await
    })?;
    let now = Utc::now();
    for p in &mut pending {
        p.age_days = (now - p.submitted_at).num_days();
    }
    let candidates = on_conn!(conn, |c| {
        sqlx::query_as::<_, Candidate>(
        "SELECT e.*, j.name AS county_name,
                (SELECT COUNT(*) FROM projects p WHERE p.enterprise_id = e.id) AS projects,
                EXISTS (SELECT 1 FROM filings f WHERE f.enterprise_id = e.id AND f.status = 'approved'
                        AND f.kind IN ('establishment', 'delegation')) AS has_org
         FROM enterprises e JOIN jurisdictions j ON j.id = e.county_id
         WHERE e.status = 'active' AND ($1 IS NULL OR e.county_id = $1)
         ORDER BY j.code, e.name"
    )
    .bind(scope.county())
    .fetch_all(c)
    .await
    })?;
    let mut without_org = Vec::new();
    let mut incomplete_coverage = Vec::new();
    for cand in candidates {
        let e = &cand.enterprise;
        if cand.projects > 0 && !cand.has_org {
            without_org.push(EnterpriseGap {
                enterprise_id: e.id,
                enterprise_name: e.name.clone(),
                county_name: cand.county_name.clone(),
                projects: cand.projects,
                detail: format!("有{}个项目，无已通过的售后服务机构设立备案", cand.projects),
            });
        }
        let cov = state::coverage(conn, e, rules, as_of).await?;
        if cand.projects > 0 && !cov.complete() {
            let missing: Vec<&str> = cov.uncovered().map(|p| p.label.as_str()).collect();
            incomplete_coverage.push(EnterpriseGap {
                enterprise_id: e.id,
                enterprise_name: e.name.clone(),
                county_name: cand.county_name,
                projects: cand.projects,
                detail: format!(
                    "公示牌覆盖 {}/{}，缺：{}",
                    cov.covered,
                    cov.required,
                    missing.join("、")
                ),
            });
        }
    }
    Ok(Worklist {
        as_of,
        pending,
        without_org,
        incomplete_coverage,
    })
}
