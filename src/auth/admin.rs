//! Account management as the pages and the API do it, for a [`Principal`]: the city
//! administrator lists, creates, disables, enables users and resets their passwords; every
//! user changes their own password. The operator's CLI uses the unchecked functions of
//! [`super::user`] directly. Counties and enterprises are read by their tables here, not
//! through `registry` (which depends on `auth`), so the modules stay free of a cycle.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::{password, user, Principal, Role};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;

/// A user in the administrators' list: with the name of the county or enterprise the account
/// is bound to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserListItem {
    #[serde(flatten)]
    pub user: user::User,
    /// The county's or enterprise's name; empty for the city administrator.
    pub scope_name: String,
}

impl UserListItem {
    pub fn last_login_local(&self) -> String {
        self.user
            .last_login_at
            .as_ref()
            .map(crate::time::local)
            .unwrap_or_else(|| "从未登录".into())
    }
}

#[derive(FromRow)]
struct ListRow {
    #[sqlx(flatten)]
    user: user::UserRow,
    county_name: Option<String>,
    enterprise_name: Option<String>,
}

pub async fn list_users(conn: &mut Conn<'_>, p: &Principal) -> Result<Vec<UserListItem>> {
    p.require_admin()?;
    let rows = on_conn!(conn, |c| sqlx::query_as::<_, ListRow>(&format!(
        "SELECT {}, j.name AS county_name, e.name AS enterprise_name
         FROM users u
         LEFT JOIN jurisdictions j ON j.id = u.county_id
         LEFT JOIN enterprises e ON e.id = u.enterprise_id
         ORDER BY u.username",
        user::COLUMNS
    ))
    .fetch_all(c)
    .await)?;
    rows.into_iter()
        .map(|r| {
            Ok(UserListItem {
                user: r.user.public()?,
                scope_name: r.county_name.or(r.enterprise_name).unwrap_or_default(),
            })
        })
        .collect()
}

/// One user, for the administrator's user page.
pub async fn get_user(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<UserListItem> {
    p.require_admin()?;
    let row = user::get(conn, id).await?;
    let scope_name = match (row.county_id, row.enterprise_id) {
        (Some(c), _) => county(conn, c).await?.map(|(name, _)| name),
        (_, Some(e)) => enterprise_name(conn, e).await?,
        _ => None,
    };
    Ok(UserListItem {
        user: row.public()?,
        scope_name: scope_name.unwrap_or_default(),
    })
}

/// A jurisdiction's name and kind (`city` or `county`).
async fn county(conn: &mut Conn<'_>, id: i64) -> Result<Option<(String, String)>> {
    Ok(on_conn!(conn, |c| sqlx::query_as(
        "SELECT name, kind FROM jurisdictions WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?)
}

async fn enterprise_name(conn: &mut Conn<'_>, id: i64) -> Result<Option<String>> {
    Ok(on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT name FROM enterprises WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UserInput {
    pub username: String,
    pub display_name: String,
    pub password: String,
    /// `city_admin`, `county_officer` (with `county_id`) or `enterprise` (with `enterprise_id`).
    pub role: String,
    pub county_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    #[serde(default)]
    pub email: String,
}

/// Creates a user. The role must come with exactly the link it needs: a county officer a
/// county (not the city), an enterprise user a registered enterprise.
pub async fn create_user(
    conn: &mut Conn<'_>,
    p: &Principal,
    input: UserInput,
) -> Result<user::User> {
    p.require_admin()?;
    let role = Role::from_columns(&input.role, input.county_id, input.enterprise_id)
        .ok_or_else(|| role_error(&input))?;
    match role {
        Role::CountyOfficer { county_id } => match county(conn, county_id).await? {
            None => return Err(Error::invalid("county_id", "县区不存在")),
            Some((_, kind)) if kind != "county" => {
                return Err(Error::invalid("county_id", "县区用户须绑定到县区，而非市"))
            }
            Some(_) => {}
        },
        Role::Enterprise { enterprise_id } => {
            if enterprise_name(conn, enterprise_id).await?.is_none() {
                return Err(Error::invalid("enterprise_id", "企业不存在"));
            }
        }
        Role::CityAdmin => {}
    }
    if input.display_name.trim().is_empty() {
        return Err(Error::invalid("display_name", "姓名不能为空"));
    }
    user::create(
        conn,
        &p.actor(),
        user::NewUser {
            username: input.username,
            display_name: input.display_name,
            password: input.password,
            role,
            email: input.email,
        },
    )
    .await
}

/// Names the field that is missing or superfluous for the chosen role.
fn role_error(input: &UserInput) -> Error {
    match input.role.as_str() {
        "county_officer" if input.county_id.is_none() => {
            Error::invalid("county_id", "县区用户须选择所属县区")
        }
        "enterprise" if input.enterprise_id.is_none() => {
            Error::invalid("enterprise_id", "企业用户须指定所属企业")
        }
        "city_admin" | "county_officer" | "enterprise" => Error::invalid(
            "role",
            "市局管理员不绑定县区或企业；县区用户只绑定县区；企业用户只绑定企业",
        ),
        _ => Error::invalid(
            "role",
            "角色应为 city_admin、county_officer（须给 county_id）或 enterprise（须给 enterprise_id）",
        ),
    }
}

/// Disables (ending sessions and revoking tokens) or re-enables a user. An administrator
/// cannot disable their own account, so the city is never left locked out by a slip.
pub async fn set_active(conn: &mut Conn<'_>, p: &Principal, id: i64, active: bool) -> Result<()> {
    p.require_admin()?;
    if !active && id == p.user_id {
        return Err(Error::invalid("id", "不能停用自己的账号"));
    }
    user::get(conn, id).await?;
    user::set_active(conn, &p.actor(), id, active).await
}

/// The administrator sets a new password for a user (the policy applies); the user's
/// sessions end.
pub async fn reset_password(
    conn: &mut Conn<'_>,
    p: &Principal,
    id: i64,
    new_password: String,
) -> Result<()> {
    p.require_admin()?;
    user::get(conn, id).await?;
    user::store_password(conn, &p.actor(), id, new_password, None).await
}

/// A user changes their own password: the current one must be right, the new one must meet
/// the policy and differ. Other sessions end; `session` (the one making the change) stays.
pub async fn change_own_password(
    conn: &mut Conn<'_>,
    p: &Principal,
    current: String,
    new_password: String,
    session: Option<i64>,
) -> Result<()> {
    let row = user::get(conn, p.user_id).await?;
    let stored = row.password_hash.clone();
    let current_for_check = current.clone();
    let right = tokio::task::spawn_blocking(move || password::verify(&current_for_check, &stored))
        .await
        .unwrap_or(false);
    if !right {
        return Err(Error::invalid("current_password", "当前密码不正确"));
    }
    if current == new_password {
        return Err(Error::invalid("new_password", "新密码不能与当前密码相同"));
    }
    password::check_policy(&new_password).map_err(|e| match e {
        Error::Invalid(i) => Error::invalid("new_password", i.message),
        other => other,
    })?;
    user::store_password(conn, &p.actor(), p.user_id, new_password, session).await
}
