//! The unmatched queue: tickets no enterprise could be found for. An officer assigns each to
//! an enterprise (and project); the text the caller used becomes an alias, so the next import
//! matches it, and other waiting tickets with the same text follow at once.

use serde::{Deserialize, Serialize};

use super::attribute;
use super::tickets::{self, Ticket};
use super::Attribution;
use crate::audit;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::{enterprise, project};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Assignment {
    pub enterprise_id: i64,
    pub project_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Assigned {
    pub ticket: Ticket,
    /// The alias learnt from the caller's text, if it was new.
    pub alias_added: Option<String>,
    /// Other waiting tickets with the same text, assigned along with this one.
    pub also_assigned: u64,
}

pub async fn assign(
    conn: &mut Conn<'_>,
    p: &Principal,
    ticket_id: i64,
    a: &Assignment,
) -> Result<Assigned> {
    p.require_officer()?;
    let before = tickets::get(conn, p, ticket_id).await?;
    let e = enterprise::get(conn, a.enterprise_id)
        .await
        .map_err(|_| Error::invalid("enterprise_id", "企业不存在"))?;
    if !p.covers_county(e.county_id) {
        return Err(Error::Forbidden("只能把工单归属到本县区的企业"));
    }
    if let Some(pid) = a.project_id {
        let proj = project::get(conn, pid)
            .await
            .map_err(|_| Error::invalid("project_id", "项目不存在"))?;
        if proj.enterprise_id != e.id {
            return Err(Error::invalid("project_id", "项目不属于所选企业"));
        }
    }
    let alias_added = attribute::learn_alias(
        conn,
        e.id,
        a.project_id,
        &before.enterprise_text,
        &before.community_text,
    )
    .await?;
    let now = chrono::Utc::now().timestamp();
    on_conn!(conn, |c| {
        sqlx::query(
        "UPDATE tickets SET enterprise_id = $1, project_id = $2, county_id = $3, attribution = 'manual',
             attribution_score = 1000, updated_at = $4 WHERE id = $5"
    )
    .bind(e.id)
    .bind(a.project_id)
    .bind(e.county_id)
    .bind(now)
    .bind(ticket_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    // The learnt alias would match these on the next import; match them now.
    let (how, text_column, text) = if alias_added.is_some() && a.project_id.is_some() {
        (
            Attribution::ProjectAlias,
            "community_text",
            before.community_text.clone(),
        )
    } else {
        (
            Attribution::EnterpriseAlias,
            "enterprise_text",
            before.enterprise_text.clone(),
        )
    };
    let also_assigned = if text.is_empty() {
        0
    } else {
        on_conn!(conn, |c| {
            sqlx::query(&format!(
            "UPDATE tickets SET enterprise_id = $1, project_id = $2, county_id = $3, attribution = $4,
                 attribution_score = 1000, updated_at = $5
             WHERE attribution = 'unmatched' AND {text_column} = $6 AND id <> $7"
        ))
        .bind(e.id)
        .bind(a.project_id)
        .bind(e.county_id)
        .bind(how.code())
        .bind(now)
        .bind(&text)
        .bind(ticket_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?
    };
    let ticket = tickets::get(conn, p, ticket_id).await?;
    audit::record(
        conn,
        &p.actor(),
        "assign",
        "ticket",
        Some(ticket_id),
        Some(&before),
        Some(&serde_json::json!({"enterprise_id": e.id, "project_id": a.project_id, "alias_added": alias_added, "also_assigned": also_assigned})),
    )
    .await?;
    Ok(Assigned {
        ticket,
        alias_added,
        also_assigned,
    })
}
