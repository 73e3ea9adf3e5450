//! Hotline endpoints: import, tickets, the unmatched queue, metrics.

use axum::body::Bytes;
use axum::extract::State;

use crate::web::extract::Path;
use axum::Json;
use serde::Deserialize;

use crate::auth::Principal;
use crate::error::Error;
use crate::hotline::import::{self, Summary};
use crate::hotline::queue::{self, Assigned, Assignment};
use crate::hotline::tickets::{self, Ticket};
use crate::hotline::view::{self, ScopedMetrics, Sort};
use crate::hotline::Attribution;
use crate::registry::{Page, Paging};
use crate::web::error::{ErrorBody, HttpError};
use crate::web::extract::{ApiJson, ApiQuery};
use crate::web::AppState;

type ApiResult<T> = Result<T, HttpError>;

/// Years hotline figures can be asked for. Nothing was recorded outside them, and a year near
/// `i32::MAX` would overflow the period arithmetic.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Checks a period asked for in a query; the error names `year` or `month`.
pub fn check_period(year: Option<i32>, month: Option<u32>) -> Result<(), Error> {
    if let Some(y) = year {
        if !YEARS.contains(&y) {
            return Err(Error::invalid(
                "year",
                format!(
                    "年份应在{}–{}之间，填写的是 {y}",
                    YEARS.start(),
                    YEARS.end()
                ),
            ));
        }
    }
    if let Some(m) = month {
        if !(1..=12).contains(&m) {
            return Err(Error::invalid(
                "month",
                format!("月份应在1–12之间，填写的是 {m}"),
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    pub file_name: Option<String>,
    #[serde(default)]
    pub skip_bad_rows: bool,
}

pub fn import_options(s: &AppState, p: &Principal, skip_bad_rows: bool) -> import::Options {
    import::Options {
        base: crate::web::api::registry::import_options(s, p, skip_bad_rows),
        profile_file: None,
        profile_dir: Some(s.config.profile_dir()),
        facts: Some(s.analytics.facts.clone()),
    }
}

/// Upload a hotline export as the raw body (CSV in UTF-8/GBK, or XLSX). County officers'
/// imports keep only their county's tickets.
#[utoipa::path(post, path = "/api/v1/hotline/imports", tag = "hotline", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Summary), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_tickets(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ImportParams>,
    body: Bytes,
) -> ApiResult<Json<Summary>> {
    p.require_officer()?;
    let name = q.file_name.clone().unwrap_or_else(|| "upload".into());
    let opts = import_options(&s, &p, q.skip_bad_rows);
    let summary = import_off_workers(&s, p.actor(), body.to_vec(), name, opts).await?;
    Ok(Json(summary))
}

/// Runs an import off the request workers ([`crate::web::off_workers`]), announced to the
/// metrics, which are recomputed before it answers (see `hotline::served`).
pub async fn import_off_workers(
    s: &AppState,
    actor: crate::audit::Actor,
    bytes: Vec<u8>,
    name: String,
    opts: import::Options,
) -> Result<Summary, Error> {
    let (db, analytics) = (s.db.clone(), s.analytics.clone());
    let writing = analytics.facts.writing();
    crate::web::off_workers(async move {
        let summary = import::import(&db, &actor, bytes, &name, &opts).await?;
        refresh(&db, &analytics).await;
        drop(writing);
        Ok(summary)
    })
    .await?
}

/// Recomputes the metrics after a change of tickets made here; a failure only means the next
/// reader computes them.
pub async fn refresh(db: &crate::db::Db, analytics: &crate::hotline::served::Analytics) {
    if let Err(e) = analytics.refresh(db).await {
        tracing::warn!(error = ?e, "could not recompute the hotline metrics");
    }
}

#[utoipa::path(get, path = "/api/v1/hotline/tickets", tag = "hotline", params(tickets::Filter),
    responses((status = 200, body = Page<Ticket>), (status = 401, body = ErrorBody)))]
pub async fn list_tickets(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(f): ApiQuery<tickets::Filter>,
) -> ApiResult<Json<Page<Ticket>>> {
    check_period(f.year, f.month)?;
    let mut c = s.db.acquire().await?;
    Ok(Json(
        tickets::list(&mut c.conn(), &s.counts, p.scope(), &f).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/hotline/tickets/{id}", tag = "hotline",
    responses((status = 200, body = Ticket), (status = 404, body = ErrorBody)))]
pub async fn get_ticket(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Ticket>> {
    let mut c = s.db.acquire().await?;
    Ok(Json(tickets::get(&mut c.conn(), &p, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Tickets no enterprise could be found for, waiting for an officer.
#[utoipa::path(get, path = "/api/v1/hotline/unmatched", tag = "hotline", params(PageParams),
    responses((status = 200, body = Page<Ticket>), (status = 403, body = ErrorBody)))]
pub async fn unmatched(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Ticket>>> {
    p.require_officer()?;
    let f = tickets::Filter {
        attribution: Some(Attribution::Unmatched),
        page: q.page,
        per_page: q.per_page,
        ..Default::default()
    };
    let mut c = s.db.acquire().await?;
    Ok(Json(
        tickets::list(&mut c.conn(), &s.counts, p.scope(), &f).await?,
    ))
}

/// Assigns a ticket to an enterprise (and project); the caller's text becomes an alias.
#[utoipa::path(post, path = "/api/v1/hotline/tickets/{id}/assign", tag = "hotline", request_body = Assignment,
    responses((status = 200, body = Assigned), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    ApiJson(a): ApiJson<Assignment>,
) -> ApiResult<Json<Assigned>> {
    let _writing = s.analytics.facts.writing();
    let mut tx = s.db.begin().await?;
    let out = queue::assign(&mut tx.conn(), &p, id, &a).await?;
    tx.commit().await?;
    s.analytics.assigned(&out.change).await;
    refresh(&s.db, &s.analytics).await;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsParams {
    pub year: i32,
    pub month: Option<u32>,
    /// The list's order; `rate` (most complaints per 100 units first) by default.
    pub sort: Option<Sort>,
    pub page: Option<i64>,
    /// 1–500, default 50.
    pub per_page: Option<i64>,
}

/// Per-enterprise metrics of a year or month, one page at a time; ranks are city-wide, rows
/// are the caller's (`total` counts them over all pages).
#[utoipa::path(get, path = "/api/v1/hotline/metrics", tag = "hotline", params(MetricsParams),
    responses((status = 200, body = ScopedMetrics), (status = 422, body = ErrorBody)))]
pub async fn metrics(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<MetricsParams>,
) -> ApiResult<Json<ScopedMetrics>> {
    check_period(Some(q.year), q.month)?;
    let paging = Paging::new(q.page, q.per_page)?;
    Ok(Json(
        view::page(
            &s.db,
            &s.analytics,
            p.scope(),
            q.year,
            q.month,
            q.sort.unwrap_or_default(),
            paging,
        )
        .await?,
    ))
}
