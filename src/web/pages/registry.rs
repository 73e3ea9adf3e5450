//! Registry pages: enterprise list and detail, project list.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{render, Nav, Pager};
use crate::auth::Scope;
use crate::registry::enterprise::{self, EnterpriseDetail, EnterpriseListItem};
use crate::registry::jurisdiction::{self, Jurisdiction};
use crate::registry::project::{self, ProjectDetail, ProjectListItem};
use crate::registry::{self, Page, Status};
use crate::web::error::PageError;
use crate::web::extract::PageUser;
use crate::web::AppState;

/// Query strings from a browser form send empty strings for "all"; read them as absent.
#[derive(Deserialize, Default)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    county_id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
}

impl ListParams {
    fn county(&self) -> Option<i64> {
        self.county_id.parse().ok()
    }
    fn page(&self) -> Option<i64> {
        self.page.parse().ok()
    }
}

pub(super) async fn visible_counties(
    state: &AppState,
    scope: Scope,
) -> Result<Vec<Jurisdiction>, PageError> {
    let mut c = state.db.acquire().await?;
    let all = jurisdiction::list(&mut c.conn()).await?;
    Ok(all
        .into_iter()
        .filter(|j| j.kind == "county" && scope.county().is_none_or(|own| own == j.id))
        .collect())
}

#[derive(Template)]
#[template(path = "enterprises.html")]
struct EnterprisesTemplate {
    nav: Nav,
    page: Page<EnterpriseListItem>,
    pager: Pager,
    counties: Vec<Jurisdiction>,
    statuses: [Status; 3],
    q: String,
    /// 0 when no county is chosen.
    county_id: i64,
    status: String,
}

pub async fn enterprises(
    State(state): State<AppState>,
    user: PageUser,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&state, &user).await?;
    let scope = user.principal.scope();
    let filter = enterprise::Filter {
        q: Some(params.q.clone()),
        county_id: params.county(),
        status: Status::parse(&params.status).filter(|_| !params.status.is_empty()),
        page: params.page(),
        per_page: Some(50),
    };
    let page = {
        let mut c = state.db.acquire().await?;
        enterprise::list(&mut c.conn(), &state.counts, scope, &filter).await?
    };
    let pager = Pager::new(
        "/enterprises",
        &[
            ("q", params.q.clone()),
            ("county_id", params.county_id.clone()),
            ("status", params.status.clone()),
        ],
        page.page,
        page.per_page,
        page.total,
    );
    let counties = visible_counties(&state, scope).await?;
    Ok(render(&EnterprisesTemplate {
        nav,
        page,
        pager,
        counties,
        statuses: Status::ALL,
        county_id: params.county().unwrap_or(0),
        q: params.q,
        status: params.status,
    })?)
}

#[derive(Template)]
#[template(path = "enterprise.html")]
struct EnterpriseTemplate {
    nav: Nav,
    d: EnterpriseDetail,
    projects: Vec<ProjectDetail>,
    /// Links to parent/subsidiaries only for officers; an enterprise user sees their names.
    link_related: bool,
}

pub async fn enterprise(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&state, &user).await?;
    let mut c = state.db.acquire().await?;
    let mut conn = c.conn();
    let e = registry::visible_enterprise(&mut conn, &user.principal, id).await?;
    let d = enterprise::detail(&mut conn, e.id).await?;
    // The same rule as the project list and `GET /api/v1/projects/{id}`: every project shown
    // here opens for this user.
    let list = project::list(
        &mut conn,
        &state.counts,
        user.principal.scope(),
        &project::Filter {
            enterprise_id: Some(id),
            per_page: Some(500),
            ..Default::default()
        },
    )
    .await?;
    let mut projects = Vec::with_capacity(list.items.len());
    for item in list.items {
        projects.push(project::detail(&mut conn, item.project.id).await?);
    }
    Ok(render(&EnterpriseTemplate {
        nav,
        d,
        projects,
        link_related: user.principal.is_officer(),
    })?)
}

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsTemplate {
    nav: Nav,
    page: Page<ProjectListItem>,
    pager: Pager,
    counties: Vec<Jurisdiction>,
    q: String,
    /// 0 when no county is chosen.
    county_id: i64,
    link_enterprises: bool,
}

pub async fn projects(
    State(state): State<AppState>,
    user: PageUser,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&state, &user).await?;
    let scope = user.principal.scope();
    let filter = project::Filter {
        q: Some(params.q.clone()),
        county_id: params.county(),
        enterprise_id: None,
        page: params.page(),
        per_page: Some(50),
    };
    let page = {
        let mut c = state.db.acquire().await?;
        project::list(&mut c.conn(), &state.counts, scope, &filter).await?
    };
    let pager = Pager::new(
        "/projects",
        &[
            ("q", params.q.clone()),
            ("county_id", params.county_id.clone()),
        ],
        page.page,
        page.per_page,
        page.total,
    );
    let counties = visible_counties(&state, scope).await?;
    Ok(render(&ProjectsTemplate {
        nav,
        page,
        pager,
        counties,
        county_id: params.county().unwrap_or(0),
        q: params.q,
        link_enterprises: user.principal.is_officer(),
    })?)
}
