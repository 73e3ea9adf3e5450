//! Server-rendered Chinese pages. No JavaScript build step: plain HTML forms, each carrying
//! the session's CSRF token.

mod accounts;
mod audit;
mod cases;
mod circulars;
mod evaluations;
mod filings;
mod hotline;
mod login;
mod outbox;
mod registry;

use askama::Template;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use super::error::HttpError;
use super::extract::PageUser;
use super::AppState;
use crate::auth::Role;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/enterprises", get(registry::enterprises))
        .route("/enterprises/{id}", get(registry::enterprise))
        .route("/projects", get(registry::projects))
        .route("/audit", get(audit::audit))
        .route("/hotline", get(hotline::list))
        .route("/hotline/unmatched", get(hotline::unmatched))
        .route("/hotline/tickets/{id}/assign", post(hotline::assign))
        .route(
            "/hotline/import",
            get(hotline::import_form).post(hotline::import_upload),
        )
        .route("/hotline/rankings", get(hotline::rankings))
        .route(
            "/enterprises/{id}/hotline",
            get(hotline::enterprise_summary),
        )
        .route("/org", get(filings::my_org))
        .route("/enterprises/{id}/org", get(filings::org_page))
        .route("/worklist", get(filings::worklist_page))
        .route("/filings/new", get(filings::new_form).post(filings::create))
        .route("/filings/{id}", get(filings::detail))
        .route(
            "/filings/{id}/edit",
            get(filings::edit_form).post(filings::edit),
        )
        .route("/filings/{id}/submit", post(filings::submit))
        .route("/filings/{id}/withdraw", post(filings::withdraw))
        .route("/filings/{id}/approve", post(filings::approve))
        .route("/filings/{id}/reject", post(filings::reject))
        .route("/filings/{id}/upload", post(filings::upload))
        .route(
            "/filings/{id}/files/{file_id}/delete",
            post(filings::delete_file),
        )
        .route("/cases", get(cases::cases_page).post(cases::create))
        .route("/cases/new", get(cases::new_form))
        .route("/cases/suggestions/dismiss", post(cases::dismiss))
        .route("/cases/{id}", get(cases::case_page))
        .route("/cases/{id}/events", post(cases::record_event))
        .route(
            "/evaluations",
            get(evaluations::runs_page).post(evaluations::create),
        )
        .route("/evaluations/{id}", get(evaluations::run_page))
        .route("/evaluations/{id}/publicize", post(evaluations::publicize))
        .route("/evaluations/{id}/finalize", post(evaluations::finalize))
        .route(
            "/evaluations/{id}/what-if",
            get(evaluations::what_if_page).post(evaluations::what_if_submit),
        )
        .route(
            "/evaluations/{id}/enterprises/{enterprise_id}",
            get(evaluations::result_page),
        )
        .route(
            "/evaluations/{id}/enterprises/{enterprise_id}/objections",
            post(evaluations::file_objection),
        )
        .route("/objections/{id}/decision", post(evaluations::decide))
        .route("/public", get(evaluations::public_page))
        .route(
            "/circulars",
            get(circulars::list_page).post(circulars::create),
        )
        .route("/circulars/{id}", get(circulars::circular_page))
        .route("/circulars/{id}/issue", post(circulars::issue))
        .route("/objections/{id}/files", post(evaluations::add_file))
        .route("/petitions", get(cases::petitions_page))
        .route("/petitions/{ticket_id}", post(cases::record_petition))
        .route("/users", get(accounts::users).post(accounts::create_user))
        .route("/users/{id}", get(accounts::user_detail))
        .route("/users/{id}/disable", post(accounts::disable_user))
        .route("/users/{id}/enable", post(accounts::enable_user))
        .route("/users/{id}/password", post(accounts::reset_password))
        .route("/account", get(accounts::account))
        .route("/account/password", post(accounts::change_password))
        .route("/account/tokens", post(accounts::create_token))
        .route("/tokens/{id}/revoke", post(accounts::revoke_token))
        .route("/admin/outbox", get(outbox::list))
        .route("/admin/outbox/{id}/retry", post(outbox::retry))
        .route("/assets/style.css", get(style))
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        // The circulars' layout rides along: pages may not carry inline styles (CSP).
        concat!(
            include_str!("../../../assets/style.css"),
            include_str!("../../../assets/circular.css")
        ),
    )
        .into_response()
}

/// Officers land on the enterprise list; an enterprise user on its own page.
async fn home(user: PageUser) -> Redirect {
    match user.principal.role {
        Role::Enterprise { enterprise_id } => {
            Redirect::to(&format!("/enterprises/{enterprise_id}"))
        }
        _ => Redirect::to("/enterprises"),
    }
}

/// What the page header needs to know about the user.
pub struct Nav {
    pub display_name: String,
    pub role_label: &'static str,
    pub scope_label: String,
    pub csrf: String,
    pub is_admin: bool,
    pub is_officer: bool,
    pub enterprise_id: i64,
}

impl Nav {
    pub async fn new(state: &AppState, user: &PageUser) -> Result<Nav, HttpError> {
        let p = &user.principal;
        let mut c = state.db.acquire().await?;
        let scope_label = match p.role {
            Role::CityAdmin => String::new(),
            Role::CountyOfficer { county_id } => {
                crate::registry::jurisdiction::get(&mut c.conn(), county_id)
                    .await?
                    .name
            }
            Role::Enterprise { enterprise_id } => {
                crate::registry::enterprise::get(&mut c.conn(), enterprise_id)
                    .await?
                    .name
            }
        };
        Ok(Nav {
            display_name: p.display_name.clone(),
            role_label: p.role.label(),
            scope_label,
            csrf: user.csrf.clone(),
            is_admin: p.is_admin(),
            is_officer: p.is_officer(),
            enterprise_id: match p.role {
                Role::Enterprise { enterprise_id } => enterprise_id,
                _ => 0,
            },
        })
    }
}

/// Previous/next links that keep the current filters.
pub struct Pager {
    /// The list's filters as a query string (no page): what its export link carries.
    pub query: String,
    pub page: i64,
    pub pages: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(
        base: &str,
        params: &[(&str, String)],
        page: i64,
        per_page: i64,
        total: i64,
    ) -> Pager {
        Pager::keyed(base, params, "page", page, per_page, total)
    }

    /// A pager whose page number travels in `key` (a page with several lists pages each).
    pub fn keyed(
        base: &str,
        params: &[(&str, String)],
        key: &str,
        page: i64,
        per_page: i64,
        total: i64,
    ) -> Pager {
        let pages = ((total + per_page - 1) / per_page).max(1);
        let url = |p: i64| {
            let mut pairs: Vec<(&str, String)> = params
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .cloned()
                .collect();
            pairs.push((key, p.to_string()));
            format!(
                "{base}?{}",
                serde_urlencoded::to_string(&pairs).unwrap_or_default()
            )
        };
        let query = serde_urlencoded::to_string(
            params
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default();
        Pager {
            query,
            page,
            pages,
            prev: (page > 1).then(|| url(page - 1)),
            next: (page < pages).then(|| url(page + 1)),
        }
    }
}

/// A multipart form as the upload pages send it: its text fields and its one file.
pub struct Upload {
    pub fields: std::collections::HashMap<String, String>,
    /// (file name as sent, bytes); `None` when no file (or an empty one) was chosen.
    pub file: Option<(String, Vec<u8>)>,
}

/// Reads a whole multipart form (the CSRF middleware has already checked its `_csrf`).
pub async fn read_upload(mut form: axum::extract::Multipart) -> Result<Upload, HttpError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        HttpError::bad_request(format!("上传内容有误：{e}"))
    };
    let mut upload = Upload {
        fields: Default::default(),
        file: None,
    };
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("upload").to_string();
            let bytes = field.bytes().await.map_err(bad)?;
            upload.file = Some((file_name, bytes.to_vec())).filter(|(_, b)| !b.is_empty());
        } else {
            let text = field.text().await.map_err(bad)?;
            upload.fields.insert(name, text);
        }
    }
    Ok(upload)
}

/// Renders a template into a response; a rendering failure is logged and answered with 500.
pub fn render<T: Template>(t: &T) -> Result<Response, HttpError> {
    match t.render() {
        Ok(html) => Ok(axum::response::Html(html).into_response()),
        Err(e) => Err(crate::error::Error::Internal(format!("模板渲染失败：{e}")).into()),
    }
}
