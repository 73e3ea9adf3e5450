//! Filing endpoints: drafting and submitting (enterprises), reviewing (officers), files, the
//! org's computed state and the officers' worklist.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;

use crate::web::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::auth::Principal;
use crate::blobs::Limits;
use crate::filings::state::{self, OrgView};
use crate::filings::store::{self, FileRef, Filing, FilingDetail, ListItem};
use crate::filings::worklist::{self, Worklist};
use crate::filings::Payload;
use crate::registry::Page;
use crate::web::error::{ErrorBody, HttpError};
use crate::web::extract::{ApiJson, ApiQuery};
use crate::web::AppState;

type ApiResult<T> = Result<T, HttpError>;

#[utoipa::path(get, path = "/api/v1/filings", tag = "filings", params(store::Filter),
    responses((status = 200, body = Page<ListItem>), (status = 401, body = ErrorBody)))]
pub async fn list_filings(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(f): ApiQuery<store::Filter>,
) -> ApiResult<Json<Page<ListItem>>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(store::list(&mut c.conn(), p.scope(), &f).await?))
}

/// Starts a draft. Only the enterprise itself files.
#[utoipa::path(post, path = "/api/v1/enterprises/{id}/filings", tag = "filings", request_body = Payload,
    responses((status = 201, body = Filing), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_filing(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiJson(payload): ApiJson<Payload>,
) -> ApiResult<(StatusCode, Json<Filing>)> {
    let mut tx = s.db.begin().await?;
    let f = store::create(&mut tx.conn(), &p, &s.rules, id, &payload).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(f)))
}

#[utoipa::path(get, path = "/api/v1/filings/{id}", tag = "filings",
    responses((status = 200, body = FilingDetail), (status = 404, body = ErrorBody)))]
pub async fn get_filing(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<FilingDetail>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(store::detail(&mut c.conn(), &p, id).await?))
}

#[utoipa::path(put, path = "/api/v1/filings/{id}", tag = "filings", request_body = Payload,
    responses((status = 200, body = Filing), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_filing(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiJson(payload): ApiJson<Payload>,
) -> ApiResult<Json<Filing>> {
    let mut tx = s.db.begin().await?;
    let f = store::update(&mut tx.conn(), &p, &s.rules, id, &payload).await?;
    tx.commit().await?;
    Ok(Json(f))
}

#[utoipa::path(post, path = "/api/v1/filings/{id}/submit", tag = "filings",
    responses((status = 200, body = Filing), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn submit_filing(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Filing>> {
    let mut tx = s.db.begin().await?;
    let f = store::submit(&mut tx.conn(), &p, &s.rules, id).await?;
    tx.commit().await?;
    Ok(Json(f))
}

#[utoipa::path(post, path = "/api/v1/filings/{id}/withdraw", tag = "filings",
    responses((status = 200, body = Filing), (status = 409, body = ErrorBody)))]
pub async fn withdraw_filing(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Filing>> {
    let mut tx = s.db.begin().await?;
    let f = store::withdraw(&mut tx.conn(), &p, id).await?;
    tx.commit().await?;
    Ok(Json(f))
}

#[utoipa::path(post, path = "/api/v1/filings/{id}/approve", tag = "filings",
    responses((status = 200, body = Filing), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve_filing(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Filing>> {
    let mut tx = s.db.begin().await?;
    let f = store::approve(&mut tx.conn(), &p, &s.rules, id).await?;
    tx.commit().await?;
    Ok(Json(f))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RejectInput {
    /// Reason per field name of the filing's kind (or `general`, or a file slot).
    pub reasons: BTreeMap<String, String>,
}

#[utoipa::path(post, path = "/api/v1/filings/{id}/reject", tag = "filings", request_body = RejectInput,
    responses((status = 200, body = Filing), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reject_filing(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<RejectInput>,
) -> ApiResult<Json<Filing>> {
    let mut tx = s.db.begin().await?;
    let f = store::reject(&mut tx.conn(), &p, id, &input.reasons).await?;
    tx.commit().await?;
    Ok(Json(f))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// `photo` (notice board), `functions` / `duties` / `commitment` / `workflow` (documents), `agreement` (delegation).
    pub slot: String,
    pub file_name: Option<String>,
}

/// Upload the file as the raw body: JPEG, PNG or PDF, checked from its bytes.
#[utoipa::path(post, path = "/api/v1/filings/{id}/files", tag = "filings", params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileRef), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_file(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<UploadParams>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<FileRef>)> {
    let mut tx = s.db.begin().await?;
    let name = q.file_name.unwrap_or_default();
    let f = store::attach(
        &mut tx.conn(),
        s.blobs.as_ref(),
        Limits::from_config(&s.config),
        &p,
        id,
        &q.slot,
        &name,
        body.to_vec(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(f)))
}

#[utoipa::path(get, path = "/api/v1/filings/{id}/files/{file_id}", tag = "filings",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn download_file(
    State(s): State<AppState>,
    p: Principal,
    Path((id, file_id)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    let mut c = s.db.acquire().await?;
    let file = store::file_for(&mut c.conn(), &p, id, file_id).await?;
    super::stored_file(
        &s,
        &file.sha256,
        &file.content_type,
        &format!("file-{file_id}"),
    )
}

#[utoipa::path(delete, path = "/api/v1/filings/{id}/files/{file_id}", tag = "filings",
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_file(
    State(s): State<AppState>,
    p: Principal,
    Path((id, file_id)): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let mut tx = s.db.begin().await?;
    store::detach(&mut tx.conn(), &p, id, file_id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOf {
    /// The date to compute for (Beijing date); today by default.
    pub as_of: Option<NaiveDate>,
}

/// The org's current state, the requirements it misses, notice-board coverage and the
/// Art. 7 hand-over, all computed from approved filings.
#[utoipa::path(get, path = "/api/v1/enterprises/{id}/org", tag = "filings", params(AsOf),
    responses((status = 200, body = OrgView), (status = 404, body = ErrorBody)))]
pub async fn org(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<AsOf>,
) -> ApiResult<Json<OrgView>> {
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let e = crate::registry::visible_enterprise(&mut conn, &p, id).await?;
    let as_of = q.as_of.unwrap_or_else(crate::time::today);
    Ok(Json(state::view(&mut conn, &e, &s.rules, as_of).await?))
}

/// The officer's worklist, each of its three lists paged (`pending_page`, `without_org_page`,
/// `coverage_page`, with one `per_page`).
#[utoipa::path(get, path = "/api/v1/worklist", tag = "filings", params(worklist::Params),
    responses((status = 200, body = Worklist), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_worklist(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<worklist::Params>,
) -> ApiResult<Json<Worklist>> {
    p.require_officer()?;
    let as_of = q.as_of.unwrap_or_else(crate::time::today);
    Ok(Json(
        worklist::build(&s.db, &s.worklists, p.scope(), &s.rules, as_of, &q).await?,
    ))
}
