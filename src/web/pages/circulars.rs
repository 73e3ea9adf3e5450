//! Circular pages: the list with the form that builds a draft (officers), one circular as
//! it reads (the same HTML as its download) with its files and the issue button, and the
//! enterprise's list of issued circulars that name it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::{render, Nav, Pager};
use crate::auth::Role;
use crate::circulars::{self, store, Kind, Period, Request};
use crate::registry::jurisdiction::Jurisdiction;
use crate::registry::{Page, Paging};
use crate::web::api::circulars::{context, issue_now};
use crate::web::error::PageError;
use crate::web::extract::PageUser;
use crate::web::AppState;

#[derive(Template)]
#[template(path = "circulars.html")]
struct ListTemplate {
    nav: Nav,
    list: Page<store::Circular>,
    pager: Pager,
    kinds: [Kind; 3],
    counties: Vec<Jurisdiction>,
    /// A county officer's own county: the form is fixed to it.
    own_county: Option<i64>,
    last_month: String,
    last_year: String,
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    #[serde(default)]
    page: String,
}

pub async fn list_page(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<ListParams>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&s, &user).await?;
    let p = &user.principal;
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let list = store::list(
        &mut conn,
        p,
        None,
        Paging::new(q.page.parse().ok(), Some(20))?,
    )
    .await?;
    let counties = match p.role {
        Role::CityAdmin => crate::registry::jurisdiction::list(&mut conn)
            .await?
            .into_iter()
            .filter(|j| j.kind == "county")
            .collect(),
        _ => Vec::new(),
    };
    let own_county = match p.role {
        Role::CountyOfficer { county_id } => Some(county_id),
        _ => None,
    };
    let today = crate::time::today();
    let pager = Pager::new("/circulars", &[], list.page, list.per_page, list.total);
    Ok(render(&ListTemplate {
        nav,
        list,
        pager,
        kinds: Kind::ALL,
        counties,
        own_county,
        last_month: Period::last_full_month(today).to_string(),
        last_year: (chrono::Datelike::year(&today) - 1).to_string(),
    })?)
}

#[derive(Deserialize)]
pub struct CreateForm {
    kind: String,
    period: String,
    #[serde(default)]
    county_id: String,
}

pub async fn create(
    State(s): State<AppState>,
    user: PageUser,
    Form(f): Form<CreateForm>,
) -> Result<Response, PageError> {
    let p = &user.principal;
    let county_id = match f.county_id.trim() {
        "" => None,
        v => Some(
            v.parse::<i64>()
                .map_err(|_| crate::error::Error::invalid("county_id", "请选择县（市、区）"))?,
        ),
    };
    let req = Request {
        kind: Kind::parse(&f.kind)?,
        period: f.period.parse::<Period>()?,
        county_id,
    };
    circulars::access::creation_scope(p.role, req.county_id)?;
    let ctx = context(&s).await?;
    let made = store::create(&s.db, p.role, &p.actor(), &ctx, req).await?;
    Ok(Redirect::to(&format!("/circulars/{}", made.id)).into_response())
}

#[derive(Template)]
#[template(path = "circular.html")]
struct CircularTemplate {
    nav: Nav,
    c: store::Circular,
    body: String,
    named: usize,
    may_issue: bool,
}

pub async fn circular_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&s, &user).await?;
    let p = &user.principal;
    let mut c = s.db.acquire().await?;
    let (row, content) = store::get(&mut c.conn(), p, id).await?;
    drop(c);
    let stamp = row.stamp(crate::time::today());
    let body = circulars::html::body(&circulars::html::view(&content, &stamp)?)?;
    let may_issue =
        !row.issued() && circulars::access::require_issuer(p.role, row.county_id).is_ok();
    Ok(render(&CircularTemplate {
        nav,
        named: content.named.len(),
        c: row,
        body,
        may_issue,
    })?)
}

pub async fn issue(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    issue_now(&s, &user.principal, id).await?;
    Ok(Redirect::to(&format!("/circulars/{id}")).into_response())
}
