//! Who may see and change which registry rows (DESIGN §1). Reading one row goes through
//! [`visible_enterprise`] / [`visible_project`]: outside the caller's scope answers 404, like
//! a missing row. Changing goes through the functions here, which take the [`Principal`] and
//! check the row as it is and as it will be:
//!
//! - only officers change the registry (403 for enterprise users);
//! - a county officer changes rows whose current county and new county are both theirs (403);
//! - a project may be changed only if its developer, before and after, is an enterprise the
//!   officer can see: a project located in the county but developed by another county's
//!   enterprise is visible to the officer but maintained by the city (403);
//! - a link (parent, developer) must name an enterprise the caller can see: else 422 naming
//!   the field, worded like a link to nothing.
//!
//! The unchecked `insert` / `update` of [`enterprise`] and [`project`] stay for trusted callers:
//! the CLI, the demo, and the imports (which limit a county officer to the county's rows).

use super::enterprise::{self, Enterprise, EnterpriseInput};
use super::project::{self, Project, ProjectInput};
use super::visibility::{unknown_link, ENTERPRISE_VISIBLE, PROJECT_VISIBLE};
use super::{CreditCode, Saved};
use crate::auth::{Principal, Role};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::scope::Scope;

impl Principal {
    /// [`ENTERPRISE_VISIBLE`] for a row already in hand.
    pub fn can_view_enterprise(&self, e: &Enterprise) -> bool {
        match self.role {
            Role::CityAdmin => true,
            Role::CountyOfficer { county_id } => e.county_id == county_id,
            Role::Enterprise { enterprise_id } => e.id == enterprise_id,
        }
    }
}

/// Enterprise `id` if `scope` may see it.
pub async fn enterprise_in_scope(
    conn: &mut Conn<'_>,
    scope: Scope,
    id: i64,
) -> Result<Option<Enterprise>> {
    let sql = format!("SELECT e.* FROM enterprises e WHERE {ENTERPRISE_VISIBLE} AND e.id = $3");
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, Enterprise>(&sql)
        .bind(scope.county())
        .bind(scope.enterprise())
        .bind(id)
        .fetch_optional(c)
        .await)?)
}

/// The enterprise with credit code `code` if `scope` may see it.
pub async fn enterprise_by_code_in_scope(
    conn: &mut Conn<'_>,
    scope: Scope,
    code: &CreditCode,
) -> Result<Option<Enterprise>> {
    let sql =
        format!("SELECT e.* FROM enterprises e WHERE {ENTERPRISE_VISIBLE} AND e.credit_code = $3");
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, Enterprise>(&sql)
        .bind(scope.county())
        .bind(scope.enterprise())
        .bind(code.as_str())
        .fetch_optional(c)
        .await)?)
}

/// Enterprise `id` as `p` may see it; 404 otherwise.
pub async fn visible_enterprise(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<Enterprise> {
    enterprise_in_scope(conn, p.scope(), id)
        .await?
        .ok_or(Error::NotFound("企业"))
}

/// Project `id` as `p` may see it; 404 otherwise.
pub async fn visible_project(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<Project> {
    let scope = p.scope();
    let sql = format!("SELECT p.* FROM projects p WHERE {PROJECT_VISIBLE} AND p.id = $3");
    on_conn!(conn, |c| sqlx::query_as::<_, Project>(&sql)
        .bind(scope.county())
        .bind(scope.enterprise())
        .bind(id)
        .fetch_optional(c)
        .await)?
    .ok_or(Error::NotFound("项目"))
}

/// The enterprise a link (`field`) names, if `p` may see it; else 422 on `field`.
pub async fn linked_enterprise(
    conn: &mut Conn<'_>,
    p: &Principal,
    id: i64,
    field: &str,
    what: &str,
) -> Result<Enterprise> {
    enterprise_in_scope(conn, p.scope(), id)
        .await?
        .ok_or_else(|| unknown_link(field, what))
}

/// The project a link (`field`) names, if `p` may see it; else 422 on `field`.
pub async fn linked_project(
    conn: &mut Conn<'_>,
    p: &Principal,
    id: i64,
    field: &str,
) -> Result<Project> {
    match visible_project(conn, p, id).await {
        Err(Error::NotFound(_)) => Err(unknown_link(field, "项目")),
        other => other,
    }
}

/// Registry rows of `county_id` are changed by that county's officers and the city.
fn require_county(p: &Principal, county_id: i64) -> Result<()> {
    if p.covers_county(county_id) {
        Ok(())
    } else {
        Err(Error::Forbidden("只能管理本县区的登记信息"))
    }
}

pub async fn create_enterprise(
    conn: &mut Conn<'_>,
    p: &Principal,
    input: &EnterpriseInput,
) -> Result<Enterprise> {
    p.require_officer()?;
    let f = input.validate(conn).await?;
    require_county(p, f.county_id)?;
    if let Some(parent) = f.parent_id {
        linked_enterprise(conn, p, parent, "parent_credit_code", "母公司").await?;
    }
    enterprise::insert(conn, &p.actor(), &f).await
}

/// Replaces enterprise `id`. Moving it to another county needs authority over both.
pub async fn update_enterprise(
    conn: &mut Conn<'_>,
    p: &Principal,
    id: i64,
    input: &EnterpriseInput,
) -> Result<Saved> {
    p.require_officer()?;
    let before = visible_enterprise(conn, p, id).await?;
    require_county(p, before.county_id)?;
    let f = input.validate(conn).await?;
    require_county(p, f.county_id)?;
    // A parent the city set across counties may stay; a new one must be visible.
    if let Some(parent) = f.parent_id.filter(|pid| Some(*pid) != before.parent_id) {
        linked_enterprise(conn, p, parent, "parent_credit_code", "母公司").await?;
    }
    enterprise::update(conn, &p.actor(), id, &f).await
}

pub async fn create_project(
    conn: &mut Conn<'_>,
    p: &Principal,
    input: &ProjectInput,
) -> Result<Project> {
    p.require_officer()?;
    let f = input.validate(conn).await?;
    require_county(p, f.county_id)?;
    linked_enterprise(conn, p, f.enterprise_id, "enterprise_id", "开发企业").await?;
    project::insert(conn, &p.actor(), &f).await
}

/// Replaces project `id`: its location and its developer, before and after, must be the
/// officer's.
pub async fn update_project(
    conn: &mut Conn<'_>,
    p: &Principal,
    id: i64,
    input: &ProjectInput,
) -> Result<Saved> {
    p.require_officer()?;
    let before = visible_project(conn, p, id).await?;
    require_county(p, before.county_id)?;
    if enterprise_in_scope(conn, p.scope(), before.enterprise_id)
        .await?
        .is_none()
    {
        return Err(Error::Forbidden("项目的开发企业不在本县区登记，由市局维护"));
    }
    let f = input.validate(conn).await?;
    require_county(p, f.county_id)?;
    linked_enterprise(conn, p, f.enterprise_id, "enterprise_id", "开发企业").await?;
    project::update(conn, &p.actor(), id, &f).await
}
