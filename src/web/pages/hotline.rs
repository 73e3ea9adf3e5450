//! Hotline pages: the ticket list, the unmatched queue with assignment, the upload page,
//! the rankings, and an enterprise's ticket summary.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::{render, Nav, Pager};
use crate::auth::Role;
use crate::error::Error;
use crate::hotline::classify::Classifier;
use crate::hotline::import::Summary;
use crate::hotline::queue::{self, Assignment};
use crate::hotline::tickets::{self, Ticket};
use crate::hotline::view::{self, Named, Sort};
use crate::hotline::Attribution;
use crate::registry::enterprise::Enterprise;
use crate::registry::visibility::unknown_link;
use crate::registry::{access, project, CreditCode, Page, Paging};
use crate::web::api::hotline::{check_period, import_off_workers, import_options, refresh};
use crate::web::error::PageError;
use crate::web::extract::PageUser;
use crate::web::AppState;

fn default_year() -> i32 {
    use chrono::Datelike;
    crate::time::today().year()
}

/// A `year` query parameter: empty means none; anything else must be a year hotline figures
/// can be asked for, or the page answers 422 naming the field.
fn year_param(s: &str) -> Result<Option<i32>, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let year = s
        .parse()
        .map_err(|_| Error::invalid("year", format!("“{s}”不是年份")))?;
    check_period(Some(year), None)?;
    Ok(Some(year))
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    attribution: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "hotline_list.html")]
struct ListTemplate {
    nav: Nav,
    page: Page<Ticket>,
    pager: Pager,
    q: String,
    year: String,
    category: String,
    attribution: String,
    categories: Vec<(String, String)>,
    attributions: Vec<Attribution>,
    classifier: &'static Classifier,
}

pub async fn list(
    State(s): State<AppState>,
    user: PageUser,
    Query(p): Query<ListParams>,
) -> Result<Response, PageError> {
    if let Role::Enterprise { enterprise_id } = user.principal.role {
        return Ok(Redirect::to(&format!("/enterprises/{enterprise_id}/hotline")).into_response());
    }
    let nav = Nav::new(&s, &user).await?;
    let filter = tickets::Filter {
        q: Some(p.q.clone()),
        year: year_param(&p.year)?,
        category: Some(p.category.clone()).filter(|c| !c.is_empty()),
        attribution: Attribution::parse(&p.attribution),
        page: p.page.parse().ok(),
        per_page: Some(50),
        ..Default::default()
    };
    let page = {
        let mut c = s.db.acquire().await?;
        tickets::list(&mut c.conn(), &s.counts, user.principal.scope(), &filter).await?
    };
    let pager = Pager::new(
        "/hotline",
        &[
            ("q", p.q.clone()),
            ("year", p.year.clone()),
            ("category", p.category.clone()),
            ("attribution", p.attribution.clone()),
        ],
        page.page,
        page.per_page,
        page.total,
    );
    let classifier = Classifier::shared()?;
    Ok(render(&ListTemplate {
        nav,
        page,
        pager,
        categories: classifier.categories(),
        attributions: Attribution::ALL.to_vec(),
        classifier,
        q: p.q,
        year: p.year,
        category: p.category,
        attribution: p.attribution,
    })?)
}

#[derive(Template)]
#[template(path = "hotline_unmatched.html")]
struct UnmatchedTemplate {
    nav: Nav,
    page: Page<Ticket>,
    pager: Pager,
    message: String,
}

#[derive(Deserialize, Default)]
pub struct QueueParams {
    #[serde(default)]
    page: String,
    #[serde(default)]
    msg: String,
}

pub async fn unmatched(
    State(s): State<AppState>,
    user: PageUser,
    Query(p): Query<QueueParams>,
) -> Result<Response, PageError> {
    user.principal.require_officer()?;
    let nav = Nav::new(&s, &user).await?;
    let filter = tickets::Filter {
        attribution: Some(Attribution::Unmatched),
        page: p.page.parse().ok(),
        per_page: Some(50),
        ..Default::default()
    };
    let page = {
        let mut c = s.db.acquire().await?;
        tickets::list(&mut c.conn(), &s.counts, user.principal.scope(), &filter).await?
    };
    let pager = Pager::new(
        "/hotline/unmatched",
        &[],
        page.page,
        page.per_page,
        page.total,
    );
    Ok(render(&UnmatchedTemplate {
        nav,
        page,
        pager,
        message: p.msg,
    })?)
}

#[derive(Deserialize)]
pub struct AssignForm {
    credit_code: String,
    #[serde(default)]
    project_name: String,
}

/// The queue's form names the enterprise by credit code and the project by name.
pub async fn assign(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<AssignForm>,
) -> Result<Response, PageError> {
    user.principal.require_officer()?;
    let _writing = s.analytics.facts.writing();
    let mut tx = s.db.begin().await?;
    let mut conn = tx.conn();
    let code = CreditCode::parse(&f.credit_code)
        .map_err(|e| Error::invalid("credit_code", e.to_string()))?;
    let e = access::enterprise_by_code_in_scope(&mut conn, user.principal.scope(), &code)
        .await?
        .ok_or_else(|| unknown_link("credit_code", "企业"))?;
    let project_id = match crate::text::tidy(&f.project_name) {
        name if name.is_empty() => None,
        name => Some(
            project::find(&mut conn, e.id, &name)
                .await?
                .ok_or_else(|| {
                    Error::invalid("project_name", format!("该企业没有名为“{name}”的项目"))
                })?
                .id,
        ),
    };
    let out = queue::assign(
        &mut conn,
        &user.principal,
        id,
        &Assignment {
            enterprise_id: e.id,
            project_id,
        },
    )
    .await?;
    tx.commit().await?;
    s.analytics.assigned(&out.change).await;
    refresh(&s.db, &s.analytics).await;
    let msg = format!(
        "工单 {} 已归属 {}{}{}",
        out.ticket.ticket_no,
        e.name,
        out.alias_added
            .map(|a| format!("，已记住别名“{a}”"))
            .unwrap_or_default(),
        if out.also_assigned > 0 {
            format!("，同名的另 {} 张工单一并归属", out.also_assigned)
        } else {
            String::new()
        }
    );
    let query = serde_urlencoded::to_string([("msg", msg)]).unwrap_or_default();
    Ok(Redirect::to(&format!("/hotline/unmatched?{query}")).into_response())
}

#[derive(Template)]
#[template(path = "hotline_import.html")]
struct ImportTemplate {
    nav: Nav,
    summary: Option<Summary>,
}

pub async fn import_form(State(s): State<AppState>, user: PageUser) -> Result<Response, PageError> {
    user.principal.require_officer()?;
    let nav = Nav::new(&s, &user).await?;
    Ok(render(&ImportTemplate { nav, summary: None })?)
}

/// Multipart: `_csrf` (checked by the middleware), `file`, `skip_bad_rows`.
pub async fn import_upload(
    State(s): State<AppState>,
    user: PageUser,
    form: Multipart,
) -> Result<Response, PageError> {
    user.principal.require_officer()?;
    let upload = super::read_upload(form).await?;
    let skip = upload.fields.contains_key("skip_bad_rows");
    let (name, bytes) = upload
        .file
        .ok_or_else(|| Error::invalid("file", "请选择要导入的文件"))?;
    let opts = import_options(&s, &user.principal, skip);
    let summary = import_off_workers(&s, user.principal.actor(), bytes, name, opts).await?;
    let nav = Nav::new(&s, &user).await?;
    Ok(render(&ImportTemplate {
        nav,
        summary: Some(summary),
    })?)
}

#[derive(Deserialize, Default)]
pub struct YearParam {
    #[serde(default)]
    year: String,
}

#[derive(Deserialize, Default)]
pub struct RankingsParams {
    #[serde(default)]
    year: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "hotline_rankings.html")]
struct RankingsTemplate {
    nav: Nav,
    year: i32,
    sort: Sort,
    sorts: Vec<Sort>,
    rows: Vec<Named>,
    total: i64,
    pager: Pager,
}

/// The rankings, 50 enterprises a page (the city has ten thousand).
pub async fn rankings(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<RankingsParams>,
) -> Result<Response, PageError> {
    user.principal.require_officer()?;
    let nav = Nav::new(&s, &user).await?;
    let year = year_param(&q.year)?.unwrap_or_else(default_year);
    let sort = Sort::parse(&q.sort).unwrap_or_default();
    let paging = Paging::new(q.page.parse().ok(), Some(50))?;
    let m = view::page(
        &s.db,
        &s.analytics,
        user.principal.scope(),
        year,
        None,
        sort,
        paging,
    )
    .await?;
    let pager = Pager::new(
        "/hotline/rankings",
        &[
            ("year", year.to_string()),
            ("sort", sort.code().to_string()),
        ],
        m.page,
        m.per_page,
        m.total,
    );
    Ok(render(&RankingsTemplate {
        nav,
        year,
        sort,
        sorts: Sort::ALL.to_vec(),
        rows: m.enterprises,
        total: m.total,
        pager,
    })?)
}

#[derive(Template)]
#[template(path = "hotline_enterprise.html")]
struct EnterpriseTemplate {
    nav: Nav,
    e: Enterprise,
    year: i32,
    m: Option<Named>,
    categories: Vec<(String, String, i64)>,
    /// The monthly chart, SVG.
    months: String,
    recent: Vec<Ticket>,
    classifier: &'static Classifier,
}

pub async fn enterprise_summary(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<YearParam>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&s, &user).await?;
    let year = year_param(&q.year)?.unwrap_or_else(default_year);
    // One pooled connection at a time: the metrics may wait for a computation, and a request
    // holding one connection while waiting for another can starve the pool.
    let (e, recent) = {
        let mut c = s.db.acquire().await?;
        let mut conn = c.conn();
        let e = crate::registry::visible_enterprise(&mut conn, &user.principal, id).await?;
        let filter = tickets::Filter {
            year: Some(year),
            per_page: Some(30),
            ..Default::default()
        };
        let scope = crate::auth::Scope::Enterprise(id);
        let recent = tickets::list(&mut conn, &s.counts, scope, &filter).await?;
        (e, recent.items)
    };
    let m = view::of_enterprise(&s.db, &s.analytics, id, year, None).await?;
    let classifier = Classifier::shared()?;
    let categories = m
        .as_ref()
        .map(|m| {
            classifier
                .categories()
                .into_iter()
                .map(|(code, label)| {
                    (
                        label,
                        code.clone(),
                        m.metrics.by_category.get(&code).copied().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    // The same bar chart as the circulars, drawn as SVG (text stays text for the browser).
    let months = match &m {
        Some(m) => crate::circulars::chart::svg(
            &crate::circulars::chart::Chart::Bars(crate::circulars::chart::Bars {
                title: format!("{year}年各月工单数"),
                labels: (1..=m.metrics.by_month.len())
                    .map(|i| format!("{i}月"))
                    .collect(),
                values: m.metrics.by_month.iter().map(|n| *n as f64).collect(),
                unit: String::new(),
            }),
            800,
            300,
        )?,
        None => String::new(),
    };
    Ok(render(&EnterpriseTemplate {
        nav,
        e,
        year,
        m,
        categories,
        months,
        recent,
        classifier,
    })?)
}

impl Named {
    /// A rate, or 无数据 when it is unknown (a missing column, nothing to count): never 0 %.
    pub fn pct(v: &Option<f64>) -> String {
        v.map(|x| format!("{:.1}%", x * 100.0))
            .unwrap_or_else(|| "无数据".into())
    }
    /// Why figures are unknown, in the page's words: `3日内答复率：导入文件缺少…`.
    pub fn unknown_reasons(&self) -> Vec<String> {
        self.metrics
            .unknown
            .iter()
            .map(|u| {
                let (code, reason) = u.split_once(": ").unwrap_or(("", u));
                let label = match code {
                    "answer_rate" => "3日内答复率",
                    "revisit_rate" => "7日内回访率",
                    "satisfaction_rate" => "满意率",
                    "group_petitions" => "群体诉求",
                    _ => code,
                };
                format!("{label}：{reason}")
            })
            .collect()
    }
    pub fn count(v: &Option<i64>) -> String {
        v.map(|n| n.to_string()).unwrap_or_else(|| "无数据".into())
    }
    pub fn rate(&self) -> String {
        self.metrics
            .per_100_units
            .map(|x| format!("{x:.2}"))
            .unwrap_or_else(|| "—".into())
    }
    /// Rank by complaint rate, lowest first: `3/120`.
    pub fn rank(&self) -> String {
        self.metrics
            .rate_rank
            .map(|r| format!("{}/{}", r + 1, self.metrics.ranked))
            .unwrap_or_else(|| "—".into())
    }
}
