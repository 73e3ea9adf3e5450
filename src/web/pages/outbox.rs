//! The outbox page, for the city administrator only (anyone else gets 404): every message
//! with its status, attempts, the server's last answer and the next attempt, paged and
//! filtered on the server; a failed message can be retried.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{render, Nav, Pager};
use crate::notify::outbox::{self, Message, Status};
use crate::registry::{Page, Paging};
use crate::web::error::PageError;
use crate::web::extract::{PageUser, Path};
use crate::web::AppState;

#[derive(Deserialize, Default)]
pub struct Params {
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxTemplate {
    nav: Nav,
    page: Page<Message>,
    pager: Pager,
    status: String,
    statuses: Vec<StatusOption>,
}

struct StatusOption {
    code: &'static str,
    label: &'static str,
    count: i64,
    selected: bool,
}

pub async fn list(
    State(state): State<AppState>,
    user: PageUser,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let paging = Paging::new(p.page.parse().ok(), Some(50))?;
    let status = Status::parse(&p.status);
    let (page, counts) = {
        let mut c = state.db.acquire().await?;
        let page = outbox::list(&mut c.conn(), Some(&user.principal), status, paging).await?;
        (page, outbox::counts(&mut c.conn()).await?)
    };
    let nav = Nav::new(&state, &user).await?;
    let status = status.map(|s| s.code().to_string()).unwrap_or_default();
    let pager = Pager::new(
        "/admin/outbox",
        &[("status", status.clone())],
        page.page,
        page.per_page,
        page.total,
    );
    Ok(render(&OutboxTemplate {
        nav,
        page,
        pager,
        statuses: counts
            .into_iter()
            .map(|(s, count)| StatusOption {
                code: s.code(),
                label: s.label(),
                count,
                selected: s.code() == status,
            })
            .collect(),
        status,
    })?)
}

pub async fn retry(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let p = &user.principal;
    let mut tx = state.db.begin().await?;
    outbox::retry(&mut tx.conn(), &p.actor(), Some(p), id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/outbox?status=queued").into_response())
}
