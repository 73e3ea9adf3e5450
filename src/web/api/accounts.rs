//! The caller, user administration, API tokens and the audit log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Entry};
use crate::auth::{token, user, Principal, Role};
use crate::error::Error;
use crate::registry::{enterprise, jurisdiction, Page, Paging};
use crate::web::error::{ErrorBody, HttpError};
use crate::web::extract::{ApiJson, ApiQuery};
use crate::web::AppState;

type ApiResult<T> = Result<T, HttpError>;

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = Principal), (status = 401, body = ErrorBody)))]
pub async fn me(p: Principal) -> Json<Principal> {
    Json(p)
}

#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, body = Vec<user::User>), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<Json<Vec<user::User>>> {
    p.require_admin()?;
    let mut c = s.db.acquire().await?;
    Ok(Json(user::list(&mut c.conn()).await?))
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

#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = UserInput,
    responses((status = 201, body = user::User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<UserInput>,
) -> ApiResult<(StatusCode, Json<user::User>)> {
    p.require_admin()?;
    let mut tx = s.db.begin().await?;
    let mut conn = tx.conn();
    let role = Role::from_columns(&input.role, input.county_id, input.enterprise_id).ok_or_else(|| {
        Error::invalid("role", "角色应为 city_admin、county_officer（须给 county_id）或 enterprise（须给 enterprise_id）")
    })?;
    match role {
        Role::CountyOfficer { county_id } => {
            let j = jurisdiction::get(&mut conn, county_id)
                .await
                .map_err(|_| Error::invalid("county_id", "县区不存在"))?;
            if j.kind != "county" {
                return Err(Error::invalid("county_id", "县区用户须绑定到县区，而非市").into());
            }
        }
        Role::Enterprise { enterprise_id } => {
            enterprise::get(&mut conn, enterprise_id)
                .await
                .map_err(|_| Error::invalid("enterprise_id", "企业不存在"))?;
        }
        Role::CityAdmin => {}
    }
    let created = user::create(
        &mut conn,
        &p.actor(),
        user::NewUser {
            username: input.username,
            display_name: input.display_name,
            password: input.password,
            role,
            email: input.email,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenInput {
    pub name: String,
    /// Whose token; defaults to the caller. Only the city administrator may name another user.
    pub user_id: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: token::TokenInfo,
    /// The secret: shown once, store it now.
    pub token: String,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = TokenInput,
    responses((status = 201, body = CreatedToken), (status = 403, body = ErrorBody)))]
pub async fn create_token(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<TokenInput>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let owner = input.user_id.unwrap_or(p.user_id);
    if owner != p.user_id {
        p.require_admin()?;
    }
    let mut tx = s.db.begin().await?;
    let mut conn = tx.conn();
    user::get(&mut conn, owner).await?;
    let (info, secret) = token::create(&mut conn, &p.actor(), owner, &input.name).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            info,
            token: secret,
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    pub actor: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "accounts", params(AuditQuery),
    responses((status = 200, body = Page<Entry>), (status = 403, body = ErrorBody)))]
pub async fn list_audit(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<Entry>>> {
    p.require_admin()?;
    let paging = Paging::new(q.page, q.per_page)?;
    let filter = audit::Filter {
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        actor: q.actor,
    };
    let mut c = s.db.acquire().await?;
    let (items, total) =
        audit::list(&mut c.conn(), &filter, paging.per_page, paging.offset()).await?;
    Ok(Json(paging.wrap(items, total)))
}
