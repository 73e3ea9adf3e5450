//! The annual credit evaluation: runs, their results and traces, publicity, objections,
//! exports and what-if. Access is decided in `scoring::access`; these only translate.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;

use crate::auth::Principal;
use crate::registry::{Page, Paging};
use crate::rules::RuleSet;
use crate::scoring::objection::{self, Decision, Objection, ObjectionInput};
use crate::scoring::objection_files::{self, ObjectionFile};
use crate::scoring::results::{self, Filter, ResultDetail, ResultRow};
use crate::scoring::run::{self, Run};
use crate::scoring::whatif::{self, WhatIf};
use crate::scoring::{access, export};
use crate::web::error::{ErrorBody, HttpError};
use crate::web::extract::{ApiJson, ApiQuery, Path};
use crate::web::AppState;

type ApiResult<T> = Result<T, HttpError>;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/evaluations", tag = "evaluation", params(RunsQuery),
    responses((status = 200, body = Page<Run>)))]
pub async fn list_runs(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<RunsQuery>,
) -> ApiResult<Json<Page<Run>>> {
    let paging = Paging::new(q.page, q.per_page)?;
    let mut c = s.db.acquire().await?;
    Ok(Json(results::runs(&mut c.conn(), &p, paging).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RunInput {
    pub year: i32,
    /// A shipped rule set's id; the configured one by default.
    pub rule_set: Option<String>,
    /// Evaluate a year outside the rule set's validity window (recorded on the run).
    #[serde(default)]
    pub force: bool,
}

/// Runs the evaluation of a year (city staff): every enterprise in the city, stored as a draft.
#[utoipa::path(post, path = "/api/v1/evaluations", tag = "evaluation", request_body = RunInput,
    responses((status = 201, body = Run), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody, description = "Outside the rule set's validity window, or a bad rule set")))]
pub async fn create_run(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<RunInput>,
) -> ApiResult<(StatusCode, Json<Run>)> {
    access::require_city(&p)?;
    let id = input.rule_set.as_deref().unwrap_or(&s.config.rule_set);
    let text = RuleSet::shipped_text(id).ok_or_else(|| {
        crate::error::Error::invalid(
            "rule_set",
            format!(
                "未知的规则集“{id}”，可用：{}",
                RuleSet::shipped_ids().join("、")
            ),
        )
    })?;
    let run = crate::scoring::evaluate_year(
        &s.db,
        &s.analytics.facts,
        &p.actor(),
        text,
        input.year,
        crate::time::today(),
        input.force,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(run)))
}

#[utoipa::path(get, path = "/api/v1/evaluations/{id}", tag = "evaluation",
    responses((status = 200, body = Run), (status = 404, body = ErrorBody)))]
pub async fn get_run(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Run>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(results::visible_run(&mut c.conn(), &p, id).await?))
}

/// Publicizes a draft (公示): enterprises are e-mailed their totals and may object until the
/// window closes.
#[utoipa::path(post, path = "/api/v1/evaluations/{id}/publicize", tag = "evaluation",
    responses((status = 200, body = Run), (status = 409, body = ErrorBody)))]
pub async fn publicize(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Run>> {
    Ok(Json(objection::publicize(&s.db, &p, id, Utc::now()).await?))
}

/// Finalizes a publicized run; refused while the window is open or an objection is open.
#[utoipa::path(post, path = "/api/v1/evaluations/{id}/finalize", tag = "evaluation",
    responses((status = 200, body = Run), (status = 409, body = ErrorBody)))]
pub async fn finalize(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Run>> {
    Ok(Json(objection::finalize(&s.db, &p, id, Utc::now()).await?))
}

#[utoipa::path(get, path = "/api/v1/evaluations/{id}/results", tag = "evaluation", params(Filter),
    responses((status = 200, body = Page<ResultRow>)))]
pub async fn list_results(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiQuery(f): ApiQuery<Filter>,
) -> ApiResult<Json<Page<ResultRow>>> {
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let run = results::visible_run(&mut conn, &p, id).await?;
    Ok(Json(results::table(&mut conn, &p, &run, &f).await?))
}

/// One enterprise's items with the full trace, its objections and the overrides.
#[utoipa::path(get, path = "/api/v1/evaluations/{id}/results/{enterprise_id}", tag = "evaluation",
    responses((status = 200, body = ResultDetail), (status = 404, body = ErrorBody)))]
pub async fn get_result(
    State(s): State<AppState>,
    p: Principal,
    Path((id, enterprise_id)): Path<(i64, i64)>,
) -> ApiResult<Json<ResultDetail>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(
        results::detail(&mut c.conn(), &p, id, enterprise_id, crate::time::today()).await?,
    ))
}

/// The enterprise objects to one of its items during the publicity window.
#[utoipa::path(post, path = "/api/v1/evaluations/{id}/results/{enterprise_id}/objections", tag = "evaluation",
    request_body = ObjectionInput,
    responses((status = 201, body = Objection), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "Outside the publicity window")))]
pub async fn file_objection(
    State(s): State<AppState>,
    p: Principal,
    Path((id, enterprise_id)): Path<(i64, i64)>,
    ApiJson(input): ApiJson<ObjectionInput>,
) -> ApiResult<(StatusCode, Json<Objection>)> {
    let mut tx = s.db.begin().await?;
    let o = objection::file(&mut tx.conn(), &p, id, enterprise_id, &input, Utc::now()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(o)))
}

/// An officer of the enterprise's county upholds (the item is overridden) or rejects it.
#[utoipa::path(post, path = "/api/v1/objections/{id}/decision", tag = "evaluation",
    request_body = Decision,
    responses((status = 200, body = Objection), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decide_objection(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiJson(d): ApiJson<Decision>,
) -> ApiResult<Json<Objection>> {
    let mut tx = s.db.begin().await?;
    let o = objection::decide(&mut tx.conn(), &p, id, &d, Utc::now()).await?;
    tx.commit().await?;
    Ok(Json(o))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// The results within the caller's scope as CSV (UTF-8 with BOM) or XLSX, for the bureau's
/// credit system.
#[utoipa::path(get, path = "/api/v1/evaluations/{id}/export", tag = "evaluation", params(ExportQuery),
    responses((status = 200, description = "CSV (UTF-8 with BOM) or XLSX", content(
        (Vec<u8> = "text/csv"),
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export_results(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    if !p.is_officer() {
        return Err(crate::error::Error::Forbidden("导出供主管部门使用").into());
    }
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let run = results::visible_run(&mut conn, &p, id).await?;
    let rows = export::rows(&mut conn, &p, &run).await?;
    let (bytes, ctype, ext) = match q.format.as_deref().unwrap_or("csv") {
        "csv" => (export::csv(&run, &rows)?, "text/csv; charset=utf-8", "csv"),
        "xlsx" => (
            export::xlsx(&run, &rows)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        other => {
            return Err(crate::error::Error::invalid(
                "format",
                format!("不支持的格式“{other}”，应为 csv 或 xlsx"),
            )
            .into())
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"evaluation-{}-{id}.{ext}\"",
                    run.year
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct WhatIfInput {
    /// Parameters to change, by name, from the run's evaluation date on.
    #[serde(default)]
    pub parameters: BTreeMap<String, i64>,
    /// A whole draft rule-set file instead (TOML text).
    pub rules_text: Option<String>,
}

/// What a draft rule set would change on the run's frozen inputs; nothing is stored.
#[utoipa::path(post, path = "/api/v1/evaluations/{id}/what-if", tag = "evaluation", request_body = WhatIfInput,
    responses((status = 200, body = WhatIf), (status = 422, body = ErrorBody)))]
pub async fn what_if(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<WhatIfInput>,
) -> ApiResult<Json<WhatIf>> {
    access::require_city(&p)?;
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let run = results::visible_run(&mut conn, &p, id).await?;
    Ok(Json(compute_what_if(&mut conn, &run, &input).await?))
}

/// Shared by the API and the page.
pub async fn compute_what_if(
    conn: &mut crate::db::Conn<'_>,
    run: &Run,
    input: &WhatIfInput,
) -> crate::error::Result<WhatIf> {
    const MAX_RULES: usize = 256 * 1024;
    if input.parameters.len() > 100 {
        return Err(crate::error::Error::invalid(
            "parameters",
            "一次最多修改100个参数",
        ));
    }
    let draft = match &input.rules_text {
        Some(text) if text.len() > MAX_RULES => {
            return Err(crate::error::Error::invalid(
                "rules_text",
                "规则集文件不能超过256 KiB",
            ))
        }
        Some(text) => run::prepare(text, run.year, run.as_of, true)?.loaded,
        None => {
            let text = run::rules_text(conn, run.id).await?;
            let base = run::prepare(&text, run.year, run.as_of, true)?.loaded;
            let changes: Vec<(String, i64)> = input
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            whatif::with_parameters(&base, &changes, run)?
        }
    };
    whatif::compare(conn, run, &draft).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileName {
    pub file_name: Option<String>,
}

/// Attaches evidence (JPEG, PNG or PDF, checked from its bytes) to an open objection, by the
/// enterprise that filed it.
#[utoipa::path(post, path = "/api/v1/objections/{id}/files", tag = "evaluation", params(FileName),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = ObjectionFile), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn upload_objection_file(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<FileName>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<ObjectionFile>)> {
    let mut tx = s.db.begin().await?;
    let f = objection_files::attach(
        &mut tx.conn(),
        s.blobs.as_ref(),
        crate::blobs::Limits::from_config(&s.config),
        &p,
        id,
        &q.file_name.unwrap_or_default(),
        body.to_vec(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(f)))
}

#[utoipa::path(get, path = "/api/v1/objections/{id}/files/{file_id}", tag = "evaluation",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn download_objection_file(
    State(s): State<AppState>,
    p: Principal,
    Path((id, file_id)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    let mut c = s.db.acquire().await?;
    let f = objection_files::file_for(&mut c.conn(), &p, id, file_id).await?;
    super::stored_file(
        &s,
        &f.sha256,
        &f.content_type,
        &format!("objection-file-{file_id}"),
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicQuery {
    /// Part of an enterprise's name or credit code.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The public transparency data (no sign-in), when the bureau has turned `public_page` on:
/// the latest final evaluation and each enterprise's complaints per 100 units. 404 when off,
/// and when no evaluation is final yet.
#[utoipa::path(get, path = "/api/v1/public/evaluation", tag = "evaluation", params(PublicQuery),
    security(()),
    responses((status = 200, body = crate::scoring::public::PublicEvaluation), (status = 404, body = ErrorBody)))]
pub async fn public_evaluation(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PublicQuery>,
) -> ApiResult<Json<crate::scoring::public::PublicEvaluation>> {
    if !s.config.public_page {
        return Err(crate::error::Error::NotFound("公开页面").into());
    }
    let paging = Paging::new(q.page, q.per_page)?;
    let mut c = s.db.acquire().await?;
    crate::scoring::public::evaluation(&mut c.conn(), q.q.as_deref(), paging)
        .await?
        .map(Json)
        .ok_or_else(|| crate::error::Error::NotFound("已定稿的评价").into())
}
