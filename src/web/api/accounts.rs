//! The caller, user administration, API tokens (create, list, revoke) and the audit log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Entry};
use crate::auth::{admin, token, user, Principal};
use crate::registry::{Page, Paging};
use crate::web::error::{ErrorBody, HttpError};
use crate::web::extract::{ApiJson, ApiQuery, Auth, Path};
use crate::web::AppState;

type ApiResult<T> = Result<T, HttpError>;

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = Principal), (status = 401, body = ErrorBody)))]
pub async fn me(p: Principal) -> Json<Principal> {
    Json(p)
}

#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, body = Vec<admin::UserListItem>), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<Json<Vec<admin::UserListItem>>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(admin::list_users(&mut c.conn(), &p).await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = admin::UserInput,
    responses((status = 201, body = user::User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<admin::UserInput>,
) -> ApiResult<(StatusCode, Json<user::User>)> {
    let mut tx = s.db.begin().await?;
    let created = admin::create_user(&mut tx.conn(), &p, input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "accounts",
    responses((status = 204, description = "Disabled; the user's sessions ended and tokens revoked"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn disable_user(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let mut tx = s.db.begin().await?;
    admin::set_active(&mut tx.conn(), &p, id, false).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/users/{id}/enable", tag = "accounts",
    responses((status = 204, description = "Enabled"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn enable_user(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let mut tx = s.db.begin().await?;
    admin::set_active(&mut tx.conn(), &p, id, true).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordReset {
    /// The new password: at least 10 characters of three kinds.
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "accounts", request_body = PasswordReset,
    responses((status = 204, description = "Password set; the user's sessions ended"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reset_password(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<PasswordReset>,
) -> ApiResult<StatusCode> {
    let mut tx = s.db.begin().await?;
    admin::reset_password(&mut tx.conn(), &p, id, input.password).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/v1/me/password", tag = "accounts", request_body = PasswordChange,
    responses((status = 204, description = "Password changed; other sessions ended"), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    State(s): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    let session = auth.session_id();
    let mut tx = s.db.begin().await?;
    admin::change_own_password(
        &mut tx.conn(),
        auth.principal(),
        input.current_password,
        input.new_password,
        session,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenInput {
    pub name: String,
    /// Whose token; defaults to the caller. Only the city administrator may name another user.
    pub user_id: Option<i64>,
    /// Lifetime in days (1–3650). Give this or `expires_at`, or neither for no expiry.
    pub expires_in_days: Option<i64>,
    /// Expiry instant (RFC 3339), within 3650 days.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: token::TokenInfo,
    /// The secret: shown once, store it now.
    pub token: String,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = TokenInput,
    responses((status = 201, body = CreatedToken), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<TokenInput>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let expires_at = token::expiry(input.expires_in_days, input.expires_at, Utc::now())?;
    let owner = input.user_id.unwrap_or(p.user_id);
    let mut tx = s.db.begin().await?;
    let (info, secret) =
        token::create_for(&mut tx.conn(), &p, owner, &input.name, expires_at).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            info,
            token: secret,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts",
    responses((status = 200, body = Vec<token::TokenInfo>, description = "The caller's tokens, newest first, revoked and expired ones included"), (status = 401, body = ErrorBody)))]
pub async fn list_tokens(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<Json<Vec<token::TokenInfo>>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(token::list_for(&mut c.conn(), &p, p.user_id).await?))
}

#[utoipa::path(get, path = "/api/v1/users/{id}/tokens", tag = "accounts",
    responses((status = 200, body = Vec<token::TokenInfo>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_user_tokens(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<token::TokenInfo>>> {
    // Listing another user's tokens is the administrator's capability: others get 403 here,
    // not just for ids other than their own.
    p.require_admin()?;
    let mut c = s.db.acquire().await?;
    Ok(Json(token::list_for(&mut c.conn(), &p, id).await?))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts",
    responses((status = 204, description = "Revoked (or already was)"), (status = 404, body = ErrorBody, description = "No such token among those the caller may manage")))]
pub async fn revoke_token(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let mut tx = s.db.begin().await?;
    token::revoke_for(&mut tx.conn(), &p, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
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
