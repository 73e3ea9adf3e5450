//! The audit log page, for the city administrator only.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{render, Nav, Pager};
use crate::audit::{self, Entry};
use crate::registry::{Page, Paging};
use crate::web::error::PageError;
use crate::web::extract::PageUser;
use crate::web::AppState;

#[derive(Deserialize, Default)]
pub struct Params {
    #[serde(default)]
    entity_type: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditTemplate {
    nav: Nav,
    page: Page<Entry>,
    pager: Pager,
    entity_type: String,
    actor: String,
}

pub async fn audit(
    State(state): State<AppState>,
    user: PageUser,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    user.principal.require_admin()?;
    let nav = Nav::new(&state, &user).await?;
    let paging = Paging::new(p.page.parse().ok(), Some(100))?;
    let filter = audit::Filter {
        entity_type: Some(p.entity_type.clone()).filter(|s| !s.is_empty()),
        entity_id: None,
        actor: Some(p.actor.clone()).filter(|s| !s.is_empty()),
    };
    let (items, total) = {
        let mut c = state.db.acquire().await?;
        audit::list(&mut c.conn(), &filter, paging.per_page, paging.offset()).await?
    };
    let page = paging.wrap(items, total);
    let pager = Pager::new(
        "/audit",
        &[
            ("entity_type", p.entity_type.clone()),
            ("actor", p.actor.clone()),
        ],
        page.page,
        page.per_page,
        total,
    );
    Ok(render(&AuditTemplate {
        nav,
        page,
        pager,
        entity_type: p.entity_type,
        actor: p.actor,
    })?)
}
