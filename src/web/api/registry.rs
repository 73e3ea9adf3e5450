//! Registry endpoints: jurisdictions, enterprises, projects and their bulk import.

use axum::body::Bytes;
use axum::extract::State;

use crate::web::extract::Path;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::auth::Principal;
use crate::registry::enterprise::{self, EnterpriseDetail, EnterpriseInput, EnterpriseListItem};
use crate::registry::import::{self, Report};
use crate::registry::jurisdiction::{self, Jurisdiction, JurisdictionInput};
use crate::registry::project::{self, ProjectDetail, ProjectInput, ProjectListItem};
use crate::registry::{self, access, Page};
use crate::web::error::{ErrorBody, HttpError};
use crate::web::extract::{ApiJson, ApiQuery};
use crate::web::AppState;

type ApiResult<T> = Result<T, HttpError>;

#[utoipa::path(get, path = "/api/v1/jurisdictions", tag = "registry",
    responses((status = 200, body = Vec<Jurisdiction>), (status = 401, body = ErrorBody)))]
pub async fn list_jurisdictions(
    State(s): State<AppState>,
    _p: Principal,
) -> ApiResult<Json<Vec<Jurisdiction>>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(jurisdiction::list(&mut c.conn()).await?))
}

#[utoipa::path(get, path = "/api/v1/jurisdictions/{id}", tag = "registry",
    responses((status = 200, body = Jurisdiction), (status = 404, body = ErrorBody)))]
pub async fn get_jurisdiction(
    State(s): State<AppState>,
    _p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Jurisdiction>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(jurisdiction::get(&mut c.conn(), id).await?))
}

#[utoipa::path(post, path = "/api/v1/jurisdictions", tag = "registry", request_body = JurisdictionInput,
    responses((status = 201, body = Jurisdiction), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_jurisdiction(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<JurisdictionInput>,
) -> ApiResult<(StatusCode, Json<Jurisdiction>)> {
    p.require_admin()?;
    let mut tx = s.db.begin().await?;
    let created = jurisdiction::create(&mut tx.conn(), &p.actor(), &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(put, path = "/api/v1/jurisdictions/{id}", tag = "registry", request_body = JurisdictionInput,
    responses((status = 200, body = Jurisdiction), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_jurisdiction(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<JurisdictionInput>,
) -> ApiResult<Json<Jurisdiction>> {
    p.require_admin()?;
    let mut tx = s.db.begin().await?;
    let updated = jurisdiction::update(&mut tx.conn(), &p.actor(), id, &input).await?;
    tx.commit().await?;
    Ok(Json(updated))
}

#[utoipa::path(get, path = "/api/v1/enterprises", tag = "registry", params(enterprise::Filter),
    responses((status = 200, body = Page<EnterpriseListItem>), (status = 401, body = ErrorBody)))]
pub async fn list_enterprises(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(filter): ApiQuery<enterprise::Filter>,
) -> ApiResult<Json<Page<EnterpriseListItem>>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(
        enterprise::list(&mut c.conn(), &s.counts, p.scope(), &filter).await?,
    ))
}

/// An enterprise outside the caller's scope answers 404, exactly like one that does not exist.
#[utoipa::path(get, path = "/api/v1/enterprises/{id}", tag = "registry",
    responses((status = 200, body = EnterpriseDetail), (status = 404, body = ErrorBody)))]
pub async fn get_enterprise(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<EnterpriseDetail>> {
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let e = registry::visible_enterprise(&mut conn, &p, id).await?;
    Ok(Json(enterprise::detail(&mut conn, e.id).await?))
}

#[utoipa::path(post, path = "/api/v1/enterprises", tag = "registry", request_body = EnterpriseInput,
    responses((status = 201, body = EnterpriseDetail), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_enterprise(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<EnterpriseInput>,
) -> ApiResult<(StatusCode, Json<EnterpriseDetail>)> {
    let mut tx = s.db.begin().await?;
    let mut conn = tx.conn();
    let created = access::create_enterprise(&mut conn, &p, &input).await?;
    let detail = enterprise::detail(&mut conn, created.id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

#[utoipa::path(put, path = "/api/v1/enterprises/{id}", tag = "registry", request_body = EnterpriseInput,
    responses((status = 200, body = EnterpriseDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_enterprise(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<EnterpriseInput>,
) -> ApiResult<Json<EnterpriseDetail>> {
    let mut tx = s.db.begin().await?;
    let mut conn = tx.conn();
    access::update_enterprise(&mut conn, &p, id, &input).await?;
    let detail = enterprise::detail(&mut conn, id).await?;
    tx.commit().await?;
    Ok(Json(detail))
}

#[utoipa::path(get, path = "/api/v1/projects", tag = "registry", params(project::Filter),
    responses((status = 200, body = Page<ProjectListItem>), (status = 401, body = ErrorBody)))]
pub async fn list_projects(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(filter): ApiQuery<project::Filter>,
) -> ApiResult<Json<Page<ProjectListItem>>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(
        project::list(&mut c.conn(), &s.counts, p.scope(), &filter).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "registry",
    responses((status = 200, body = ProjectDetail), (status = 404, body = ErrorBody)))]
pub async fn get_project(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<ProjectDetail>> {
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let project = registry::visible_project(&mut conn, &p, id).await?;
    Ok(Json(project::detail(&mut conn, project.id).await?))
}

#[utoipa::path(post, path = "/api/v1/projects", tag = "registry", request_body = ProjectInput,
    responses((status = 201, body = ProjectDetail), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_project(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<ProjectInput>,
) -> ApiResult<(StatusCode, Json<ProjectDetail>)> {
    let mut tx = s.db.begin().await?;
    let mut conn = tx.conn();
    let created = access::create_project(&mut conn, &p, &input).await?;
    let detail = project::detail(&mut conn, created.id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

#[utoipa::path(put, path = "/api/v1/projects/{id}", tag = "registry", request_body = ProjectInput,
    responses((status = 200, body = ProjectDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_project(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ProjectInput>,
) -> ApiResult<Json<ProjectDetail>> {
    let mut tx = s.db.begin().await?;
    let mut conn = tx.conn();
    access::update_project(&mut conn, &p, id, &input).await?;
    let detail = project::detail(&mut conn, id).await?;
    tx.commit().await?;
    Ok(Json(detail))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The original file name, shown in the report.
    pub file_name: Option<String>,
    /// Import the good rows and report the bad ones instead of rejecting the whole file.
    #[serde(default)]
    pub skip_bad_rows: bool,
}

/// The options of an upload: reports are kept in the database (served by id, never by path),
/// the county limit is the principal's scope, the size limits are the configured ones.
pub fn import_options(s: &AppState, p: &Principal, skip_bad_rows: bool) -> import::Options {
    import::Options {
        skip_bad_rows,
        report_dir: None,
        // A county officer's scope is their county; the city's is every county.
        only_county: p.scope().county(),
        limits: s.config.import_limits(),
    }
}

/// Upload the file as the raw request body (CSV in UTF-8 or GBK, or XLSX). County officers
/// may import only their county's rows.
#[utoipa::path(post, path = "/api/v1/imports/enterprises", tag = "imports", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Report), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_enterprises(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(params): ApiQuery<ImportParams>,
    body: Bytes,
) -> ApiResult<Json<Report>> {
    p.require_officer()?;
    let name = params.file_name.clone().unwrap_or_else(|| "upload".into());
    let opts = import_options(&s, &p, params.skip_bad_rows);
    Ok(Json(
        import::import_enterprises(&s.db, &p.actor(), &body, &name, &opts).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/imports/projects", tag = "imports", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Report), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_projects(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(params): ApiQuery<ImportParams>,
    body: Bytes,
) -> ApiResult<Json<Report>> {
    p.require_officer()?;
    let name = params.file_name.clone().unwrap_or_else(|| "upload".into());
    let opts = import_options(&s, &p, params.skip_bad_rows);
    Ok(Json(
        import::import_projects(&s.db, &p.actor(), &body, &name, &opts).await?,
    ))
}

/// A rejected-row report (UTF-8 CSV with BOM), for the user who imported, the city
/// administrator and officers of the importing officer's county; anyone else gets 404.
#[utoipa::path(get, path = "/api/v1/imports/reports/{id}", tag = "imports",
    responses((status = 200, content_type = "text/csv"), (status = 404, body = ErrorBody)))]
pub async fn import_report(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<axum::response::Response> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let mut c = s.db.acquire().await?;
    let report = crate::import::reports::get(&mut c.conn(), &p, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", report.download_name()),
            ),
            (header::CACHE_CONTROL, "private, no-store".into()),
        ],
        report.content,
    )
        .into_response())
}
