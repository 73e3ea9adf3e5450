//! User accounts. Users are deactivated, never deleted, so the audit log keeps its actors.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;

use super::{password, Principal, Role};
use crate::audit::{self, Actor};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub county_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    pub email: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

/// The columns of [`UserRow`], prefixed with `u.`: named rather than `u.*`, because SQLite
/// expands `*` from a connection's cached schema and re-prepares on first use after a
/// migration added a column, handing sqlx a row wider than the statement it prepared.
pub const COLUMNS: &str = "u.id, u.username, u.display_name, u.password_hash, u.role, \
    u.county_id, u.enterprise_id, u.email, u.active, u.created_at, u.updated_at, u.last_login_at";

/// A user as shown to administrators: never the hash.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[serde(flatten)]
    pub role: Role,
    pub email: String,
    pub active: bool,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl UserRow {
    pub fn role(&self) -> Result<Role> {
        Role::from_columns(&self.role, self.county_id, self.enterprise_id)
            .ok_or_else(|| Error::Internal(format!("用户 {} 的角色数据不一致", self.id)))
    }

    pub fn principal(&self) -> Result<Principal> {
        Ok(Principal {
            user_id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role()?,
        })
    }

    pub fn public(&self) -> Result<User> {
        Ok(User {
            id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role()?,
            email: self.email.clone(),
            active: self.active,
            last_login_at: self.last_login_at,
        })
    }
}

pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub email: String,
}

fn check_username(u: &str) -> Result<()> {
    let ok = (3..=64).contains(&u.len())
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "username",
            "用户名应为3–64位字母、数字或 _ - . @",
        ))
    }
}

pub async fn create(conn: &mut Conn<'_>, actor: &Actor, new: NewUser) -> Result<User> {
    let username = new.username.trim().to_lowercase();
    check_username(&username)?;
    password::check_policy(&new.password)?;
    let password = new.password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    let (county_id, enterprise_id) = match new.role {
        Role::CityAdmin => (None, None),
        Role::CountyOfficer { county_id } => (Some(county_id), None),
        Role::Enterprise { enterprise_id } => (None, Some(enterprise_id)),
    };
    let now = Utc::now();
    let id: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "INSERT INTO users (username, display_name, password_hash, role, county_id, enterprise_id, email, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $8) RETURNING id"
    )
    .bind(&username)
    .bind(new.display_name.trim())
    .bind(&hash)
    .bind(new.role.code())
    .bind(county_id)
    .bind(enterprise_id)
    .bind(new.email.trim())
    .bind(now)
    .fetch_one(c)
    .await)
    .map_err(|e| Error::on_unique(e, format!("用户名 {username} 已存在")))?;
    let user = get(conn, id).await?.public()?;
    audit::record(
        conn,
        actor,
        "create",
        "user",
        Some(id),
        None::<&()>,
        Some(&user),
    )
    .await?;
    Ok(user)
}

pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<UserRow> {
    on_conn!(conn, |c| sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {COLUMNS} FROM users u WHERE u.id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("用户"))
}

pub async fn find(conn: &mut Conn<'_>, username: &str) -> Result<Option<UserRow>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {COLUMNS} FROM users u WHERE u.username = $1"
    ))
    .bind(username.trim().to_lowercase())
    .fetch_optional(c)
    .await)?)
}

pub async fn list(conn: &mut Conn<'_>) -> Result<Vec<User>> {
    let rows = on_conn!(conn, |c| sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {COLUMNS} FROM users u ORDER BY u.username"
    ))
    .fetch_all(c)
    .await)?;
    rows.iter().map(UserRow::public).collect()
}

/// Sets a new password (the policy applies) and ends the user's sessions, except `keep` (the
/// session of a user changing their own password stays signed in).
pub async fn set_password(
    conn: &mut Conn<'_>,
    actor: &Actor,
    id: i64,
    new_password: String,
) -> Result<()> {
    store_password(conn, actor, id, new_password, None).await
}

pub(super) async fn store_password(
    conn: &mut Conn<'_>,
    actor: &Actor,
    id: i64,
    new_password: String,
    keep: Option<i64>,
) -> Result<()> {
    password::check_policy(&new_password)?;
    let hash = tokio::task::spawn_blocking(move || password::hash(&new_password))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    let n = on_conn!(conn, |c| sqlx::query(
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(&hash)
    .bind(Utc::now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(Error::NotFound("用户"));
    }
    // A new password ends every session opened with the old one.
    on_conn!(conn, |c| sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND id <> $2"
    )
    .bind(id)
    .bind(keep.unwrap_or(0))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(
        conn,
        actor,
        "set_password",
        "user",
        Some(id),
        None::<&()>,
        None::<&()>,
    )
    .await?;
    Ok(())
}

/// Enables or disables a user. Disabling ends every session and revokes every API token of
/// the user: re-enabling restores the account, not its old credentials.
pub async fn set_active(conn: &mut Conn<'_>, actor: &Actor, id: i64, active: bool) -> Result<()> {
    let before = get(conn, id).await?.public()?;
    on_conn!(conn, |c| sqlx::query(
        "UPDATE users SET active = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(active)
    .bind(Utc::now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let mut revoked = 0;
    if !active {
        on_conn!(conn, |c| sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1"
        )
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        revoked = super::token::revoke_all(conn, id).await?;
    }
    let after = get(conn, id).await?.public()?;
    audit::record(
        conn,
        actor,
        if active { "activate" } else { "deactivate" },
        "user",
        Some(id),
        Some(&before),
        Some(&serde_json::json!({"user": after, "tokens_revoked": revoked})),
    )
    .await?;
    Ok(())
}

/// Notes a successful login, for the administrators' user list.
pub async fn record_login(conn: &mut Conn<'_>, id: i64) -> Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "UPDATE users SET last_login_at = $1 WHERE id = $2"
    )
    .bind(Utc::now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
