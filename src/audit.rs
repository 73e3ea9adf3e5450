//! The audit log: every state change, who made it, when, and the record before and after.
//! The table is append-only (triggers refuse UPDATE and DELETE on both backends); only the
//! city administrator reads it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;

use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

/// Who made a change: a signed-in user, or the system/CLI with a label.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub label: String,
}

impl Actor {
    pub fn user(user_id: i64, username: &str) -> Self {
        Actor {
            user_id: Some(user_id),
            label: username.to_string(),
        }
    }

    /// A change made outside a user session: the CLI, an import job, the demo builder.
    pub fn system(label: &str) -> Self {
        Actor {
            user_id: None,
            label: label.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<i64>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

impl Entry {
    pub fn at_local(&self) -> String {
        crate::time::local(&self.at)
    }
}

/// Appends one entry. Call it inside the transaction that makes the change, so the change and
/// its record commit together or not at all.
pub async fn record<B: Serialize, A: Serialize>(
    conn: &mut Conn<'_>,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    entity_id: Option<i64>,
    before: Option<&B>,
    after: Option<&A>,
) -> Result<()> {
    let before = before
        .map(serde_json::to_string)
        .transpose()
        .map_err(internal)?;
    let after = after
        .map(serde_json::to_string)
        .transpose()
        .map_err(internal)?;
    on_conn!(conn, |c| {
        sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, actor, action, entity_type, entity_id, before_json, after_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(Utc::now())
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(action)
    .bind(entity_type)
    .bind(entity_id)
    .bind(before)
    .bind(after)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

fn internal(e: serde_json::Error) -> crate::error::Error {
    crate::error::Error::Internal(format!("审计记录序列化失败：{e}"))
}

#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
pub struct Filter {
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    pub actor: Option<String>,
}

/// Newest first.
pub async fn list(
    conn: &mut Conn<'_>,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Entry>, i64)> {
    const WHERE: &str = "WHERE ($1 IS NULL OR entity_type = $1) AND ($2 IS NULL OR entity_id = $2)
        AND ($3 IS NULL OR actor = $3)";
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM audit_log {WHERE}"
    ))
    .bind(&filter.entity_type)
    .bind(filter.entity_id)
    .bind(&filter.actor)
    .fetch_one(c)
    .await)?;
    let items = on_conn!(conn, |c| sqlx::query_as::<_, Entry>(&format!(
        "SELECT * FROM audit_log {WHERE} ORDER BY id DESC LIMIT $4 OFFSET $5"
    ))
    .bind(&filter.entity_type)
    .bind(filter.entity_id)
    .bind(&filter.actor)
    .bind(limit)
    .bind(offset)
    .fetch_all(c)
    .await)?;
    Ok((items, total))
}
