//! Enforcement endpoints: cases and their events and files, the suggested cases, and the
//! follow-up of group petitions. Access is decided in `enforcement`; these only translate.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::{Datelike, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::blobs::Limits;
use crate::calendar::Calendar;
use crate::enforcement::petitions::{self, FollowUpInput, Petition};
use crate::enforcement::suggest::{self, DismissInput, Suggestion};
use crate::enforcement::{self, Case, CaseDetail, CaseFile, CaseListItem, EventInput, OpenInput};
use crate::registry::Page;
use crate::web::error::HttpError;
use crate::web::extract::{ApiJson, ApiQuery, Path};
use crate::web::AppState;

type ApiResult<T> = Result<T, HttpError>;

#[utoipa::path(get, path = "/api/v1/cases", tag = "enforcement", params(enforcement::Filter),
    responses((status = 200, body = Page<CaseListItem>)))]
pub async fn list_cases(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(f): ApiQuery<enforcement::Filter>,
) -> ApiResult<Json<Page<CaseListItem>>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(enforcement::list(&mut c.conn(), p.scope(), &f).await?))
}

/// Opens a case (Art. 22) against an enterprise of the officer's county.
#[utoipa::path(post, path = "/api/v1/cases", tag = "enforcement", request_body = OpenInput,
    responses((status = 201, body = Case)))]
pub async fn open_case(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<OpenInput>,
) -> ApiResult<(StatusCode, Json<Case>)> {
    let mut tx = s.db.begin().await?;
    let case = enforcement::open(&mut tx.conn(), &p, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(case)))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "enforcement",
    responses((status = 200, body = CaseDetail)))]
pub async fn get_case(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<CaseDetail>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(enforcement::detail(&mut c.conn(), &p, id).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Recorded {
    pub case: Case,
    /// Files attach to this event.
    pub event_id: i64,
}

/// Records the next event. An event that does not fit the case's state is refused (409) with
/// what is expected next.
#[utoipa::path(post, path = "/api/v1/cases/{id}/events", tag = "enforcement", request_body = EventInput,
    responses((status = 201, body = Recorded)))]
pub async fn record_event(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<EventInput>,
) -> ApiResult<(StatusCode, Json<Recorded>)> {
    let mut tx = s.db.begin().await?;
    let (case, event_id) = enforcement::record(
        &mut tx.conn(),
        &p,
        Calendar::official(),
        id,
        &input,
        crate::time::today(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(Recorded { case, event_id })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileName {
    pub file_name: Option<String>,
}

/// Attaches a file (JPEG, PNG or PDF, checked from its bytes) to the latest event, by the
/// user who recorded it.
#[utoipa::path(post, path = "/api/v1/cases/{id}/events/{event_id}/files", tag = "enforcement", params(FileName),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = CaseFile)))]
pub async fn upload_case_file(
    State(s): State<AppState>,
    p: Principal,
    Path((id, event_id)): Path<(i64, i64)>,
    ApiQuery(q): ApiQuery<FileName>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<CaseFile>)> {
    let mut tx = s.db.begin().await?;
    let f = enforcement::attach(
        &mut tx.conn(),
        s.blobs.as_ref(),
        Limits::from_config(&s.config),
        &p,
        id,
        event_id,
        &q.file_name.unwrap_or_default(),
        body.to_vec(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(f)))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}/files/{file_id}", tag = "enforcement",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>)))]
pub async fn download_case_file(
    State(s): State<AppState>,
    p: Principal,
    Path((id, file_id)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    let mut c = s.db.acquire().await?;
    let file = enforcement::file_for(&mut c.conn(), &p, id, file_id).await?;
    super::stored_file(
        &s,
        &file.sha256,
        &file.content_type,
        &format!("case-file-{file_id}"),
    )
}

/// Cases the worklist proposes for the officer's scope (officers only).
#[utoipa::path(get, path = "/api/v1/cases/suggestions", tag = "enforcement", params(suggest::Params),
    responses((status = 200, body = Page<Suggestion>)))]
pub async fn list_suggestions(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<suggest::Params>,
) -> ApiResult<Json<Page<Suggestion>>> {
    p.require_officer()?;
    Ok(Json(
        suggest::list(
            &s.db,
            &s.worklists,
            &s.analytics,
            &s.rules,
            p.scope(),
            crate::time::today(),
            &q,
        )
        .await?,
    ))
}

/// Dismisses a suggestion for the rest of the year, with the reason.
#[utoipa::path(post, path = "/api/v1/cases/suggestions/dismiss", tag = "enforcement", request_body = DismissInput,
    responses((status = 204)))]
pub async fn dismiss_suggestion(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<DismissInput>,
) -> ApiResult<StatusCode> {
    let mut tx = s.db.begin().await?;
    suggest::dismiss(&mut tx.conn(), &p, &input, crate::time::today().year()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/petitions", tag = "enforcement", params(petitions::Filter),
    responses((status = 200, body = Page<Petition>)))]
pub async fn list_petitions(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(f): ApiQuery<petitions::Filter>,
) -> ApiResult<Json<Page<Petition>>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(
        petitions::list(&mut c.conn(), p.scope(), &f, Utc::now().timestamp()).await?,
    ))
}

/// Records the follow-up of a group petition (Art. 16): the manager on site, the
/// face-to-face report. Officers of the enterprise's county.
#[utoipa::path(put, path = "/api/v1/petitions/{ticket_id}", tag = "enforcement", request_body = FollowUpInput,
    responses((status = 200, body = Petition)))]
pub async fn record_petition(
    State(s): State<AppState>,
    p: Principal,
    Path(ticket_id): Path<i64>,
    ApiJson(input): ApiJson<FollowUpInput>,
) -> ApiResult<Json<Petition>> {
    let mut tx = s.db.begin().await?;
    let out = petitions::record(&mut tx.conn(), &p, ticket_id, &input).await?;
    tx.commit().await?;
    Ok(Json(out))
}
