//! API bearer tokens for integrations (the hotline platform, an enterprise's CRM). A token
//! acts as the user it belongs to, with that user's role and scope. Shown once at creation;
//! stored as a digest. A token may expire; it can be revoked by its owner or the city
//! administrator, and disabling its user revokes it.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::FromRow;

use super::Principal;
use crate::audit::{self, Actor};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::secret;

pub const PREFIX: &str = "act_";
/// The longest lifetime a token may be given (about ten years).
pub const MAX_DAYS: i64 = 3650;

#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Never, when absent.
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, user_id, name, created_at, last_used_at, expires_at, revoked_at";

impl TokenInfo {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }

    /// For the pages: 有效 / 已过期 / 已撤销.
    pub fn state_label(&self) -> &'static str {
        if self.revoked_at.is_some() {
            "已撤销"
        } else if self.is_live(Utc::now()) {
            "有效"
        } else {
            "已过期"
        }
    }

    pub fn created_local(&self) -> String {
        crate::time::local(&self.created_at)
    }

    pub fn last_used_local(&self) -> String {
        self.last_used_at
            .as_ref()
            .map(crate::time::local)
            .unwrap_or_else(|| "从未使用".into())
    }

    pub fn expires_local(&self) -> String {
        self.expires_at
            .as_ref()
            .map(crate::time::local)
            .unwrap_or_else(|| "永不过期".into())
    }
}

/// When a new token expires, from either a lifetime in days or an instant (not both); `None`
/// for a token that never expires. Bounded to [`MAX_DAYS`].
pub fn expiry(
    expires_in_days: Option<i64>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    match (expires_in_days, expires_at) {
        (Some(_), Some(_)) => Err(Error::invalid(
            "expires_at",
            "expires_in_days 与 expires_at 只能给出其一",
        )),
        (Some(days), None) => {
            if !(1..=MAX_DAYS).contains(&days) {
                return Err(Error::invalid(
                    "expires_in_days",
                    format!("有效天数应为 1–{MAX_DAYS}"),
                ));
            }
            Ok(Some(now + Duration::days(days)))
        }
        (None, Some(at)) => {
            if at <= now || at > now + Duration::days(MAX_DAYS) {
                return Err(Error::invalid(
                    "expires_at",
                    format!("过期时间应在现在之后、{MAX_DAYS}天之内"),
                ));
            }
            Ok(Some(at))
        }
        (None, None) => Ok(None),
    }
}

/// Creates a token for `owner` and returns its secret, which is not stored and cannot be
/// shown again. Anyone may create their own; only the city administrator one for another
/// user (`owner` must exist).
pub async fn create_for(
    conn: &mut Conn<'_>,
    p: &Principal,
    owner: i64,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(TokenInfo, String)> {
    if owner != p.user_id {
        p.require_admin()?;
        super::user::get(conn, owner).await?;
    }
    create(conn, &p.actor(), owner, name, expires_at).await
}

/// Creates a token without an access check: for the CLI, which acts as the operator.
pub async fn create(
    conn: &mut Conn<'_>,
    actor: &Actor,
    user_id: i64,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(TokenInfo, String)> {
    let name = crate::text::clean(name);
    if name.is_empty() {
        return Err(Error::invalid("name", "令牌名称不能为空"));
    }
    if name.chars().count() > 100 {
        return Err(Error::invalid("name", "令牌名称不超过100个字符"));
    }
    let secret = format!("{PREFIX}{}", secret::random_hex(24));
    let id: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(user_id)
    .bind(&name)
    .bind(secret::sha256_hex(secret.as_bytes()))
    .bind(Utc::now())
    .bind(expires_at)
    .fetch_one(c)
    .await
    })?;
    let info = get(conn, id).await?;
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

async fn get(conn: &mut Conn<'_>, id: i64) -> Result<TokenInfo> {
    on_conn!(conn, |c| sqlx::query_as::<_, TokenInfo>(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("令牌"))
}

/// The tokens of `owner`, newest first (revoked and expired ones included, so the owner sees
/// what existed). A user sees their own; the city administrator anyone's.
pub async fn list_for(conn: &mut Conn<'_>, p: &Principal, owner: i64) -> Result<Vec<TokenInfo>> {
    if owner != p.user_id {
        p.require_admin()?;
        super::user::get(conn, owner).await?;
    }
    list(conn, owner).await
}

/// Without an access check: for the CLI.
pub async fn list(conn: &mut Conn<'_>, owner: i64) -> Result<Vec<TokenInfo>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, TokenInfo>(
        &format!("SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC")
    )
    .bind(owner)
    .fetch_all(c)
    .await)?)
}

/// Revokes a token. Another user's token is "not found" unless the caller is the city
/// administrator, so token ids cannot be probed. Revoking a revoked token changes nothing.
/// Returns the token as it is now.
pub async fn revoke_for(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<TokenInfo> {
    let before = get(conn, id).await?;
    if before.user_id != p.user_id && !p.is_admin() {
        return Err(Error::NotFound("令牌"));
    }
    revoke(conn, &p.actor(), before).await
}

/// Revokes `before` (already fetched), without an access check: for the CLI.
pub async fn revoke(conn: &mut Conn<'_>, actor: &Actor, before: TokenInfo) -> Result<TokenInfo> {
    if before.revoked_at.is_some() {
        return Ok(before);
    }
    on_conn!(conn, |c| sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
    )
    .bind(Utc::now())
    .bind(before.id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let after = get(conn, before.id).await?;
    audit::record(
        conn,
        actor,
        "revoke",
        "api_token",
        Some(before.id),
        Some(&before),
        Some(&after),
    )
    .await?;
    Ok(after)
}

/// The token by id, for the CLI's revoke.
pub async fn find(conn: &mut Conn<'_>, id: i64) -> Result<TokenInfo> {
    get(conn, id).await
}

/// Revokes every live token of a user (when the user is disabled); returns how many.
pub async fn revoke_all(conn: &mut Conn<'_>, user_id: i64) -> Result<u64> {
    Ok(on_conn!(conn, |c| sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"
    )
    .bind(Utc::now())
    .bind(user_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?)
}

#[derive(FromRow)]
struct Row {
    token_id: i64,
    token_last_used_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    user: super::user::UserRow,
}

/// A live token and who it acts for.
pub struct Authenticated {
    pub principal: Principal,
    pub token_id: i64,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// How stale a token's recorded last use may get: recording every use would make every API
/// read a write.
pub fn use_due(last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_used_at.is_none_or(|at| now - at >= Duration::minutes(1))
}

/// The principal a bearer token acts for, if the token is live (not revoked, not expired)
/// and its user active. Only reads: a read request must not wait for SQLite's write lock
/// (which an import holds for its whole transaction), so the caller records the use
/// ([`use_due`], [`record_use`]) off the request's path.
pub async fn authenticate(conn: &mut Conn<'_>, secret_text: &str) -> Result<Option<Authenticated>> {
    if !secret_text.starts_with(PREFIX) {
        return Ok(None);
    }
    let now = Utc::now();
    let row = on_conn!(conn, |c| sqlx::query_as::<_, Row>(&format!(
        "SELECT t.id AS token_id, t.last_used_at AS token_last_used_at, {}
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL
           AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.active = TRUE",
        super::user::COLUMNS
    ))
    .bind(secret::sha256_hex(secret_text.as_bytes()))
    .bind(now)
    .fetch_optional(c)
    .await)?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Authenticated {
        principal: row.user.principal()?,
        token_id: row.token_id,
        last_used_at: row.token_last_used_at,
    }))
}

/// Notes that a token was used at `at`.
pub async fn record_use(conn: &mut Conn<'_>, token_id: i64, at: DateTime<Utc>) -> Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2"
    )
    .bind(at)
    .bind(token_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_one_of_two_forms_and_bounded() {
        let now = Utc::now();
        assert_eq!(expiry(None, None, now).unwrap(), None);
        assert_eq!(
            expiry(Some(30), None, now).unwrap(),
            Some(now + Duration::days(30))
        );
        let field = |r: Result<Option<DateTime<Utc>>>| match r {
            Err(Error::Invalid(i)) => i.field,
            other => panic!("expected invalid, got {other:?}"),
        };
        assert_eq!(field(expiry(Some(0), None, now)), "expires_in_days");
        assert_eq!(field(expiry(Some(3651), None, now)), "expires_in_days");
        assert_eq!(field(expiry(Some(-1), None, now)), "expires_in_days");
        assert_eq!(
            field(expiry(None, Some(now - Duration::seconds(1)), now)),
            "expires_at"
        );
        assert_eq!(
            field(expiry(None, Some(now + Duration::days(3651)), now)),
            "expires_at"
        );
        assert_eq!(field(expiry(Some(5), Some(now), now)), "expires_at");
        let at = now + Duration::days(7);
        assert_eq!(expiry(None, Some(at), now).unwrap(), Some(at));
    }
}
