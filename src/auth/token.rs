//! API bearer tokens for integrations (the hotline platform, an enterprise's CRM). A token
//! acts as the user it belongs to, with that user's role and scope. Shown once at creation;
//! stored as a digest.

use chrono::Utc;
use serde::Serialize;
use sqlx::FromRow;

use super::Principal;
use crate::audit::{self, Actor};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::secret;

pub const PREFIX: &str = "act_";

#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: chrono::DateTime<Utc>,
    pub last_used_at: Option<chrono::DateTime<Utc>>,
    pub revoked_at: Option<chrono::DateTime<Utc>>,
}

/// Creates a token and returns its secret, which is not stored and cannot be shown again.
pub async fn create(
    conn: &mut Conn<'_>,
    actor: &Actor,
    user_id: i64,
    name: &str,
) -> Result<(TokenInfo, String)> {
    let name = crate::text::clean(name);
    if name.is_empty() {
        return Err(Error::invalid("name", "令牌名称不能为空"));
    }
    let secret = format!("{PREFIX}{}", secret::random_hex(24));
    let id: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id"
    )
    .bind(user_id)
    .bind(&name)
    .bind(secret::sha256_hex(secret.as_bytes()))
    .bind(Utc::now())
    .fetch_one(c)
    .await
    })?;
    let info = on_conn!(conn, |c| {
        sqlx::query_as::<_, TokenInfo>(
        "SELECT id, user_id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE id = $1"
    )
    .bind(id)
    .fetch_one(c)
    .await
    })?;
    audit::record(
        conn,
        actor,
        "create",
        "api_token",
        Some(id),
        None::<&()>,
        Some(&info),
    )
    .await?;
    Ok((info, secret))
}

pub async fn revoke(conn: &mut Conn<'_>, actor: &Actor, id: i64) -> Result<()> {
    let n = on_conn!(conn, |c| sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
    )
    .bind(Utc::now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(Error::NotFound("令牌"));
    }
    audit::record(
        conn,
        actor,
        "revoke",
        "api_token",
        Some(id),
        None::<&()>,
        None::<&()>,
    )
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct Row {
    token_id: i64,
    #[sqlx(flatten)]
    user: super::user::UserRow,
}

/// The principal a bearer token acts for, if the token is live and its user active.
pub async fn authenticate(conn: &mut Conn<'_>, secret_text: &str) -> Result<Option<Principal>> {
    if !secret_text.starts_with(PREFIX) {
        return Ok(None);
    }
    let row = on_conn!(conn, |c| sqlx::query_as::<_, Row>(
        "SELECT t.id AS token_id, u.* FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = TRUE"
    )
    .bind(secret::sha256_hex(secret_text.as_bytes()))
    .fetch_optional(c)
    .await)?;
    let Some(row) = row else { return Ok(None) };
    on_conn!(conn, |c| sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2"
    )
    .bind(Utc::now())
    .bind(row.token_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(Some(row.user.principal()?))
}
