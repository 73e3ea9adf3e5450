//! Circulars (通报): build a draft from the data, issue it, read it, download it as DOCX, PDF
//! or HTML; and the issued ones on the public page. Access is decided in
//! `circulars::access`; these only translate.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::circulars::store::{self, Circular, PublicCircular};
use crate::circulars::{self, Content, Context, Kind, Period, Request, Stamp};
use crate::error::Error;
use crate::registry::{Page, Paging};
use crate::web::error::{ErrorBody, HttpError};
use crate::web::extract::{ApiJson, ApiQuery, Path};
use crate::web::AppState;

type ApiResult<T> = Result<T, HttpError>;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `org`, `hotline` or `evaluation`.
    pub kind: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The circulars the caller may see, newest first: an enterprise sees the issued ones that
/// name it; a county officer its county's and the city's issued ones.
#[utoipa::path(get, path = "/api/v1/circulars", tag = "circular", params(ListQuery),
    responses((status = 200, body = Page<Circular>), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<Circular>>> {
    let kind = q.kind.as_deref().map(Kind::parse).transpose()?;
    let paging = Paging::new(q.page, q.per_page)?;
    let mut c = s.db.acquire().await?;
    Ok(Json(store::list(&mut c.conn(), &p, kind, paging).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CircularInput {
    /// `org`, `hotline` or `evaluation`.
    pub kind: String,
    /// `2025` or `2025-03`.
    pub period: String,
    /// A county's circular; the city's when absent (a county officer's own county).
    pub county_id: Option<i64>,
}

/// What the services need to build a circular now.
pub async fn context(s: &AppState) -> crate::error::Result<Context> {
    let mut c = s.db.acquire().await?;
    Ok(Context {
        facts: s.analytics.facts.current(&mut c.conn()).await?,
        rules: s.rules.clone(),
        wording_dir: Some(s.config.reports_dir.clone()),
        now: chrono::Utc::now(),
    })
}

/// Builds a circular from the data as it stands and keeps it as a draft.
#[utoipa::path(post, path = "/api/v1/circulars", tag = "circular", request_body = CircularInput,
    responses((status = 201, body = Circular), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "No final evaluation for the year"),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<CircularInput>,
) -> ApiResult<(StatusCode, Json<Circular>)> {
    let req = Request {
        kind: Kind::parse(&input.kind)?,
        period: input.period.parse::<Period>()?,
        county_id: input.county_id,
    };
    // Refused before the data is read.
    circulars::access::creation_scope(p.role, req.county_id)?;
    let ctx = context(&s).await?;
    let made = store::create(&s.db, p.role, &p.actor(), &ctx, req).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CircularDetail {
    pub circular: Circular,
    /// The stored content: text, tables, charts' data, and what it was built from.
    #[schema(value_type = Object)]
    pub content: Content,
}

#[utoipa::path(get, path = "/api/v1/circulars/{id}", tag = "circular",
    responses((status = 200, body = CircularDetail), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<CircularDetail>> {
    let mut c = s.db.acquire().await?;
    let (circular, content) = store::get(&mut c.conn(), &p, id).await?;
    Ok(Json(CircularDetail { circular, content }))
}

/// Issues a draft now, as `p`, with the configured wording's document-number prefix.
pub async fn issue_now(s: &AppState, p: &Principal, id: i64) -> crate::error::Result<Circular> {
    store::issue(
        &s.db,
        p.role,
        &p.actor(),
        id,
        Some(&s.config.reports_dir),
        chrono::Utc::now(),
    )
    .await
}

/// Issues a draft: its document number and date, and a mail to each enterprise it names.
#[utoipa::path(post, path = "/api/v1/circulars/{id}/issue", tag = "circular",
    responses((status = 200, body = Circular), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Already issued")))]
pub async fn issue(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Circular>> {
    Ok(Json(issue_now(&s, &p, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileQuery {
    /// `docx` (default), `pdf` or `html`.
    pub format: Option<String>,
}

/// The circular as a file: every format drawn from the same stored content.
pub fn file(
    circular: &Circular,
    content: &Content,
    stamp: &Stamp,
    format: Option<&str>,
) -> crate::error::Result<Response> {
    let (bytes, ctype, ext) = match format.unwrap_or("docx") {
        "docx" => (
            circulars::docx::render(content, stamp)?,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
        ),
        "pdf" => (
            circulars::pdf::render(content, stamp)?,
            "application/pdf",
            "pdf",
        ),
        "html" => (
            circulars::html::document(content, stamp)?.into_bytes(),
            "text/html; charset=utf-8",
            "html",
        ),
        other => {
            return Err(Error::invalid(
                "format",
                format!("不支持的格式“{other}”，应为 docx、pdf 或 html"),
            ))
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"circular-{}-{}.{ext}\"",
                    circular.id, circular.period
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/circulars/{id}/file", tag = "circular", params(FileQuery),
    responses((status = 200, description = "DOCX, PDF or HTML", content(
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (Vec<u8> = "application/pdf"),
        (String = "text/html")
    )), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn download(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<FileQuery>,
) -> ApiResult<Response> {
    let mut c = s.db.acquire().await?;
    let (circular, content) = store::get(&mut c.conn(), &p, id).await?;
    drop(c);
    let stamp = circular.stamp(crate::time::today());
    Ok(file(&circular, &content, &stamp, q.format.as_deref())?)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicListQuery {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Issued circulars, with the bureau's public page switched on (no sign-in).
#[utoipa::path(get, path = "/api/v1/public/circulars", tag = "circular", params(PublicListQuery),
    responses((status = 200, body = Page<PublicCircular>), (status = 404, body = ErrorBody)))]
pub async fn public_list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PublicListQuery>,
) -> ApiResult<Json<Page<PublicCircular>>> {
    if !s.config.public_page {
        return Err(Error::NotFound("公开页面").into());
    }
    let paging = Paging::new(q.page, q.per_page)?;
    let mut c = s.db.acquire().await?;
    Ok(Json(store::issued(&mut c.conn(), paging).await?))
}

/// An issued circular as a file, with the public page switched on; a draft does not exist.
#[utoipa::path(get, path = "/api/v1/public/circulars/{id}/file", tag = "circular", params(FileQuery),
    responses((status = 200, description = "DOCX, PDF or HTML", content(
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (Vec<u8> = "application/pdf"),
        (String = "text/html")
    )), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn public_download(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<FileQuery>,
) -> ApiResult<Response> {
    if !s.config.public_page {
        return Err(Error::NotFound("公开页面").into());
    }
    let mut c = s.db.acquire().await?;
    let (circular, content) = store::issued_content(&mut c.conn(), id).await?;
    drop(c);
    let stamp = circular.stamp(crate::time::today());
    Ok(file(&circular, &content, &stamp, q.format.as_deref())?)
}
