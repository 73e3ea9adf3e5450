//! The outbox for the city administrator: messages paged and filtered by status, and the
//! retry of a failed one. Anyone else gets 404, as for the page.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use crate::auth::Principal;
use crate::notify::outbox::{self, Message, Status};
use crate::registry::{Page, Paging};
use crate::web::error::{ErrorBody, HttpError};
use crate::web::extract::{ApiQuery, Path};
use crate::web::AppState;

type ApiResult<T> = Result<T, HttpError>;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// `queued`, `sending`, `sent` or `failed`; all when absent.
    pub status: Option<Status>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/admin/outbox", tag = "mail", params(OutboxQuery),
    responses((status = 200, body = Page<Message>), (status = 404, body = ErrorBody, description = "Not the city administrator")))]
pub async fn list_outbox(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> ApiResult<Json<Page<Message>>> {
    let paging = Paging::new(q.page, q.per_page)?;
    let mut c = s.db.acquire().await?;
    Ok(Json(
        outbox::list(&mut c.conn(), Some(&p), q.status, paging).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/admin/outbox/{id}/retry", tag = "mail",
    responses((status = 200, body = Message, description = "Queued for an immediate attempt"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Not a failed message")))]
pub async fn retry_outbox(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Message>> {
    let mut tx = s.db.begin().await?;
    let m = outbox::retry(&mut tx.conn(), &p.actor(), Some(&p), id).await?;
    tx.commit().await?;
    Ok(Json(m))
}
