//! The unmatched queue: tickets no enterprise could be found for. An officer assigns each to
//! an enterprise (and project); the text the caller used becomes an alias, so the next import
//! matches it, and other waiting tickets with the same text follow at once.

use serde::{Deserialize, Serialize};

use super::attribute;
use super::facts;
use super::tickets::{self, Ticket, COUNTY_SEES};
use super::Attribution;
use crate::audit;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::access;
use crate::registry::visibility::{ENTERPRISE_VISIBLE, PROJECT_VISIBLE};

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
    /// What the facts copy must learn once the assignment commits.
    #[serde(skip)]
    pub change: FactChange,
}

/// The tickets an assignment re-attributed, and the generation step it made.
#[derive(Debug, Clone, Default)]
pub struct FactChange {
    pub step: facts::Step,
    pub enterprise: i64,
    pub keys: Vec<(u64, u64)>,
}

pub async fn assign(
    conn: &mut Conn<'_>,
    p: &Principal,
    ticket_id: i64,
    a: &Assignment,
) -> Result<Assigned> {
    p.require_officer()?;
    let before = tickets::get(conn, p, ticket_id).await?;
    let e = access::linked_enterprise(conn, p, a.enterprise_id, "enterprise_id", "企业").await?;
    if let Some(pid) = a.project_id {
        let proj = access::linked_project(conn, p, pid, "project_id").await?;
        if proj.enterprise_id != e.id {
            return Err(Error::invalid("project_id", "项目不属于所选企业"));
        }
    }
    let alias_added = if claimed_elsewhere(conn, p, a.project_id.is_some(), &before).await? {
        None
    } else {
        attribute::learn_alias(
            conn,
            e.id,
            a.project_id,
            &before.enterprise_text,
            &before.community_text,
        )
        .await?
    };
    let now = chrono::Utc::now().timestamp();
    // Every write below carries the officer's ticket scope ($1), as the ticket list does.
    let county = p.scope().county();
    on_conn!(conn, |c| {
        sqlx::query(&format!(
            "UPDATE tickets AS t SET enterprise_id = $2, project_id = $3, county_id = $4,
                 attribution = 'manual', attribution_score = 1000, updated_at = $5
             WHERE {COUNTY_SEES} AND t.id = $6"
        ))
        .bind(county)
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
    let mut keys = vec![facts::key(&before.source, &before.ticket_no)];
    if !text.is_empty() {
        let followers: Vec<(String, String)> = on_conn!(conn, |c| {
            sqlx::query_as(&format!(
                "UPDATE tickets AS t SET enterprise_id = $2, project_id = $3, county_id = $4,
                 attribution = $5, attribution_score = 1000, updated_at = $6
             WHERE {COUNTY_SEES} AND t.attribution = 'unmatched' AND t.{text_column} = $7
               AND t.id <> $8
             RETURNING source, ticket_no"
            ))
            .bind(county)
            .bind(e.id)
            .bind(a.project_id)
            .bind(e.county_id)
            .bind(how.code())
            .bind(now)
            .bind(&text)
            .bind(ticket_id)
            .fetch_all(c)
            .await
        })?;
        keys.extend(followers.iter().map(|(src, no)| facts::key(src, no)));
    }
    let also_assigned = keys.len() as u64 - 1;
    let step = facts::bump(conn).await?;
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
        change: FactChange {
            step,
            enterprise: e.id,
            keys,
        },
    })
}

/// Whether the text an alias would be learnt from already names (by its comparison key) an
/// enterprise or project the officer cannot see. Aliases steer every county's imports, so a
/// county officer's choice may add a new name for their own enterprise or project, but never
/// blur or take over a name another county's rows already answer to.
async fn claimed_elsewhere(
    conn: &mut Conn<'_>,
    p: &Principal,
    with_project: bool,
    t: &Ticket,
) -> Result<bool> {
    let scope = p.scope();
    if scope.county().is_none() {
        return Ok(false);
    }
    let community = crate::text::tidy(&t.community_text);
    let (sql, key, text): (String, fn(&str) -> String, String) = if with_project
        && !community.is_empty()
    {
        (
            format!(
                "SELECT p.name FROM projects p WHERE NOT ({PROJECT_VISIBLE})
                     UNION ALL
                     SELECT a.alias FROM project_aliases a JOIN projects p ON p.id = a.project_id
                     WHERE NOT ({PROJECT_VISIBLE})"
            ),
            attribute::project_key,
            community,
        )
    } else {
        (
                format!(
                    "SELECT e.name FROM enterprises e WHERE NOT ({ENTERPRISE_VISIBLE})
                     UNION ALL
                     SELECT a.alias FROM enterprise_aliases a JOIN enterprises e ON e.id = a.enterprise_id
                     WHERE NOT ({ENTERPRISE_VISIBLE})"
                ),
                attribute::enterprise_key,
                crate::text::tidy(&t.enterprise_text),
            )
    };
    let wanted = key(&text);
    if wanted.is_empty() {
        return Ok(false);
    }
    let names: Vec<String> = on_conn!(conn, |c| sqlx::query_scalar(&sql)
        .bind(scope.county())
        .bind(scope.enterprise())
        .fetch_all(c)
        .await)?;
    Ok(names.iter().any(|n| key(n) == wanted))
}
