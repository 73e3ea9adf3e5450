//! Credit-evaluation pages: the runs (city staff run, publicize and finalize a year), a run's
//! table of results with filters, sort, the previous year and exports, one enterprise's
//! result with its trace in plain Chinese and its objections, the what-if page, and the
//! enterprise's own standing.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Datelike, Utc};
use serde::Deserialize;

use super::{render, Nav, Pager};
use crate::auth::Role;
use crate::blobs::Limits;
use crate::registry::{Page, Paging};
use crate::rules::{Parameter, RuleSet};
use crate::scoring::engine::Outcome;
use crate::scoring::objection::{self, Decision, Objection, ObjectionInput};
use crate::scoring::objection_files;
use crate::scoring::results::{self, Filter, HistoryRow, ResultDetail, ResultRow};
use crate::scoring::run::{self, Run, RunStatus};
use crate::scoring::whatif::WhatIf;
use crate::web::api::evaluations::{compute_what_if, WhatIfInput};
use crate::web::error::PageError;
use crate::web::extract::PageUser;
use crate::web::AppState;

#[derive(Template)]
#[template(path = "evaluations.html")]
struct RunsTemplate {
    nav: Nav,
    runs: Page<Run>,
    pager: Pager,
    rule_sets: Vec<&'static str>,
    configured: String,
    this_year: i32,
    history: Vec<HistoryRow>,
}

#[derive(Deserialize, Default)]
pub struct PageParams {
    #[serde(default)]
    page: String,
}

/// Officers: the runs; enterprises: their own results, newest first.
pub async fn runs_page(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<PageParams>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&s, &user).await?;
    let p = &user.principal;
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let runs = results::runs(&mut conn, p, Paging::new(q.page.parse().ok(), Some(20))?).await?;
    let history = match p.role {
        Role::Enterprise { enterprise_id } => results::history(&mut conn, enterprise_id).await?,
        _ => Vec::new(),
    };
    let pager = Pager::new("/evaluations", &[], runs.page, runs.per_page, runs.total);
    Ok(render(&RunsTemplate {
        nav,
        runs,
        pager,
        rule_sets: RuleSet::shipped_ids(),
        configured: s.config.rule_set.clone(),
        this_year: crate::time::today().year(),
        history,
    })?)
}

#[derive(Deserialize)]
pub struct RunForm {
    year: i32,
    rule_set: String,
    #[serde(default)]
    force: Option<String>,
}

pub async fn create(
    State(s): State<AppState>,
    user: PageUser,
    Form(f): Form<RunForm>,
) -> Result<Response, PageError> {
    crate::scoring::access::require_city(&user.principal)?;
    let text = RuleSet::shipped_text(&f.rule_set)
        .ok_or_else(|| crate::error::Error::invalid("rule_set", "请选择规则集"))?;
    let run = crate::scoring::evaluate_year(
        &s.db,
        &s.analytics.facts,
        &user.principal.actor(),
        text,
        f.year,
        crate::time::today(),
        f.force.is_some(),
    )
    .await?;
    Ok(Redirect::to(&format!("/evaluations/{}", run.id)).into_response())
}

#[derive(Template)]
#[template(path = "evaluation.html")]
struct RunTemplate {
    nav: Nav,
    run: Run,
    rows: Page<ResultRow>,
    pager: Pager,
    q: RunParams,
    counties: Vec<crate::registry::jurisdiction::Jurisdiction>,
    objections: Vec<(Objection, String)>,
    window_open: bool,
}

#[derive(Deserialize, Default, Clone, serde::Serialize)]
pub struct RunParams {
    #[serde(default)]
    county_id: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    no_2a: String,
    #[serde(default)]
    changed: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
}

impl RunParams {
    fn filter(&self) -> Filter {
        Filter {
            county_id: self.county_id.parse().ok(),
            q: Some(self.q.clone()),
            no_2a: self.no_2a.parse().ok(),
            changed: self.changed.parse().ok(),
            sort: serde_json::from_value(serde_json::Value::String(self.sort.clone())).ok(),
            page: self.page.parse().ok(),
            per_page: Some(50),
        }
    }
    fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("county_id", self.county_id.clone()),
            ("q", self.q.clone()),
            ("no_2a", self.no_2a.clone()),
            ("changed", self.changed.clone()),
            ("sort", self.sort.clone()),
        ]
    }
}

pub async fn run_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<RunParams>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&s, &user).await?;
    let p = &user.principal;
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let run = results::visible_run(&mut conn, p, id).await?;
    if let Role::Enterprise { enterprise_id } = p.role {
        return Ok(
            Redirect::to(&format!("/evaluations/{id}/enterprises/{enterprise_id}")).into_response(),
        );
    }
    let rows = results::table(&mut conn, p, &run, &q.filter()).await?;
    let base = format!("/evaluations/{id}");
    let pager = Pager::new(&base, &q.pairs(), rows.page, rows.per_page, rows.total);
    let counties = match p.scope().county() {
        Some(_) => Vec::new(),
        None => super::registry::visible_counties(&s, p.scope()).await?,
    };
    let objections = objection::of_run(&mut conn, p, id).await?;
    Ok(render(&RunTemplate {
        nav,
        window_open: objection::window_open(&run, crate::time::today()),
        run,
        rows,
        pager,
        q,
        counties,
        objections,
    })?)
}

pub async fn publicize(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    objection::publicize(&s.db, &user.principal, id, Utc::now()).await?;
    Ok(Redirect::to(&format!("/evaluations/{id}")).into_response())
}

pub async fn finalize(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    objection::finalize(&s.db, &user.principal, id, Utc::now()).await?;
    Ok(Redirect::to(&format!("/evaluations/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "evaluation_result.html")]
struct ResultTemplate {
    nav: Nav,
    d: ResultDetail,
    owner: bool,
    decider: bool,
}

impl ResultTemplate {
    /// How an item's condition reads: for a deduction, a condition that holds is the bad news.
    fn outcome_label(&self, rule_points: &i64, o: &Outcome) -> &'static str {
        match (*rule_points < 0, o) {
            (_, Outcome::Unknown) => "条件无法判断",
            (false, Outcome::Pass) => "条件满足",
            (false, Outcome::Fail) => "条件不满足",
            (true, Outcome::Pass) => "扣分条件成立",
            (true, Outcome::Fail) => "未触发扣分",
        }
    }
    /// Green for what is good for the enterprise, red for what costs it points.
    fn outcome_class(&self, rule_points: &i64, o: &Outcome) -> &'static str {
        match (*rule_points < 0, o) {
            (_, Outcome::Unknown) => "muted",
            (false, Outcome::Pass) | (true, Outcome::Fail) => "good",
            (false, Outcome::Fail) | (true, Outcome::Pass) => "bad",
        }
    }
    fn files_of(&self, objection_id: &i64) -> Vec<&objection_files::ObjectionFile> {
        self.d
            .files
            .iter()
            .filter(|f| f.objection_id == *objection_id)
            .collect()
    }
    fn objected(&self, rule: &str) -> bool {
        self.d.objections.iter().any(|o| o.rule == rule)
    }
    fn description_of(&self, rule: &str) -> String {
        self.d
            .items
            .iter()
            .find(|i| i.item.rule == rule)
            .map_or(rule.to_string(), |i| i.item.description.clone())
    }
}

pub async fn result_page(
    State(s): State<AppState>,
    user: PageUser,
    Path((id, enterprise_id)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&s, &user).await?;
    let p = &user.principal;
    let mut c = s.db.acquire().await?;
    let d = results::detail(&mut c.conn(), p, id, enterprise_id, crate::time::today()).await?;
    let owner = crate::scoring::access::require_objector(p, enterprise_id).is_ok();
    let decider = crate::scoring::access::require_decider(p, d.row.county_id).is_ok();
    Ok(render(&ResultTemplate {
        nav,
        d,
        owner,
        decider,
    })?)
}

/// The objection form: the item, the reasons and optionally a first file of evidence, in one
/// transaction (a refused file files no objection).
pub async fn file_objection(
    State(s): State<AppState>,
    user: PageUser,
    Path((id, enterprise_id)): Path<(i64, i64)>,
    form: Multipart,
) -> Result<Response, PageError> {
    let upload = super::read_upload(form).await?;
    let field = |k: &str| upload.fields.get(k).cloned().unwrap_or_default();
    let input = ObjectionInput {
        rule: field("rule"),
        text: field("text"),
    };
    let mut tx = s.db.begin().await?;
    let o = objection::file(
        &mut tx.conn(),
        &user.principal,
        id,
        enterprise_id,
        &input,
        Utc::now(),
    )
    .await?;
    if let Some((name, bytes)) = upload.file {
        attach(&s, &mut tx.conn(), &user, o.id, name, bytes).await?;
    }
    tx.commit().await?;
    Ok(to_result(id, enterprise_id))
}

/// A result's page, where every objection step returns to.
fn to_result(run_id: i64, enterprise_id: i64) -> Response {
    Redirect::to(&format!(
        "/evaluations/{run_id}/enterprises/{enterprise_id}"
    ))
    .into_response()
}

/// Attaches an uploaded file to an objection, with the server's limits.
async fn attach(
    s: &AppState,
    conn: &mut crate::db::Conn<'_>,
    user: &PageUser,
    objection_id: i64,
    name: String,
    bytes: Vec<u8>,
) -> crate::error::Result<objection_files::ObjectionFile> {
    objection_files::attach(
        conn,
        s.blobs.as_ref(),
        Limits::from_config(&s.config),
        &user.principal,
        objection_id,
        &name,
        bytes,
    )
    .await
}

/// More evidence on an open objection.
pub async fn add_file(
    State(s): State<AppState>,
    user: PageUser,
    Path(objection_id): Path<i64>,
    form: Multipart,
) -> Result<Response, PageError> {
    let upload = super::read_upload(form).await?;
    let (name, bytes) = upload
        .file
        .ok_or_else(|| crate::error::Error::invalid("file", "请选择要上传的文件"))?;
    let mut tx = s.db.begin().await?;
    let f = attach(&s, &mut tx.conn(), &user, objection_id, name, bytes).await?;
    let o = crate::scoring::objection::of_id(&mut tx.conn(), f.objection_id).await?;
    tx.commit().await?;
    Ok(to_result(o.run_id, o.enterprise_id))
}

#[derive(Deserialize)]
pub struct DecisionForm {
    uphold: String,
    reason: String,
}

pub async fn decide(
    State(s): State<AppState>,
    user: PageUser,
    Path(objection_id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, PageError> {
    let d = Decision {
        uphold: f.uphold == "1",
        reason: f.reason,
    };
    let mut tx = s.db.begin().await?;
    let o = objection::decide(
        &mut tx.conn(),
        &user.principal,
        objection_id,
        &d,
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    Ok(to_result(o.run_id, o.enterprise_id))
}

#[derive(Template)]
#[template(path = "evaluation_whatif.html")]
struct WhatIfTemplate {
    nav: Nav,
    run: Run,
    parameters: Vec<(String, Parameter, i64, i64)>,
    result: Option<WhatIf>,
}

/// The run's rule set's parameters, each with its value on the run's date and the value asked.
async fn parameters(
    conn: &mut crate::db::Conn<'_>,
    run: &Run,
    asked: &BTreeMap<String, i64>,
) -> Result<Vec<(String, Parameter, i64, i64)>, PageError> {
    let text = run::rules_text(conn, run.id).await?;
    let loaded = run::prepare(&text, run.year, run.as_of, true)?.loaded;
    let used = loaded.book.parameters_used();
    Ok(loaded
        .params
        .parameters
        .iter()
        .filter(|(name, _)| used.contains(*name))
        .map(|(name, p)| {
            let now = loaded.params.value(name, run.as_of, None).value;
            let want = asked.get(name).copied().unwrap_or(now);
            (name.clone(), p.clone(), now, want)
        })
        .collect())
}

pub async fn what_if_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    crate::scoring::access::require_city(&user.principal)?;
    let nav = Nav::new(&s, &user).await?;
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let run = results::visible_run(&mut conn, &user.principal, id).await?;
    let parameters = parameters(&mut conn, &run, &BTreeMap::new()).await?;
    Ok(render(&WhatIfTemplate {
        nav,
        run,
        parameters,
        result: None,
    })?)
}

pub async fn what_if_submit(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    crate::scoring::access::require_city(&user.principal)?;
    let nav = Nav::new(&s, &user).await?;
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let run = results::visible_run(&mut conn, &user.principal, id).await?;
    let mut asked = BTreeMap::new();
    for (k, v) in form
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("p_")?, v)))
    {
        let n = v.trim().parse::<i64>().map_err(|_| {
            crate::error::Error::invalid(k.to_string(), format!("参数“{k}”应为整数"))
        })?;
        asked.insert(k.to_string(), n);
    }
    let parameters = parameters(&mut conn, &run, &asked).await?;
    let changed: BTreeMap<String, i64> = parameters
        .iter()
        .filter(|(_, _, now, want)| now != want)
        .map(|(name, _, _, want)| (name.clone(), *want))
        .collect();
    let input = WhatIfInput {
        parameters: changed,
        rules_text: None,
    };
    let result = compute_what_if(&mut conn, &run, &input).await?;
    Ok(render(&WhatIfTemplate {
        nav,
        run,
        parameters,
        result: Some(result),
    })?)
}

#[derive(Template)]
#[template(path = "public.html")]
struct PublicTemplate {
    data: Option<crate::scoring::public::PublicEvaluation>,
    circulars: Page<crate::circulars::store::PublicCircular>,
    q: String,
    pager: Pager,
}

#[derive(Deserialize, Default)]
pub struct PublicParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
}

/// The public transparency page: no sign-in; 404 unless the bureau turned it on.
pub async fn public_page(
    State(s): State<AppState>,
    Query(q): Query<PublicParams>,
) -> Result<Response, PageError> {
    if !s.config.public_page {
        return Err(crate::error::Error::NotFound("公开页面").into());
    }
    let paging = Paging::new(q.page.parse().ok(), Some(50))?;
    let mut c = s.db.acquire().await?;
    let data = crate::scoring::public::evaluation(&mut c.conn(), Some(&q.q), paging).await?;
    let circulars =
        crate::circulars::store::issued(&mut c.conn(), Paging::new(None, Some(20))?).await?;
    let (page, per_page, total) = data.as_ref().map_or((1, 50, 0), |d| {
        (
            d.enterprises.page,
            d.enterprises.per_page,
            d.enterprises.total,
        )
    });
    let pager = Pager::new("/public", &[("q", q.q.clone())], page, per_page, total);
    Ok(render(&PublicTemplate {
        data,
        circulars,
        q: q.q,
        pager,
    })?)
}
