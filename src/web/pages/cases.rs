//! Enforcement pages: the officers' case list (overdue first) with the suggested cases, a
//! case's timeline with a form for each event that may come next, the enterprise's own cases
//! with the order's requirements and the days left, and the group-petition follow-ups.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Datelike, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;

use super::{render, Nav, Pager};
use crate::blobs::Limits;
use crate::calendar::Calendar;
use crate::enforcement::access::{is_officer_of, is_owner};
use crate::enforcement::deadline::DeadlineInput;
use crate::enforcement::petitions::{self, FollowUpInput, Petition};
use crate::enforcement::suggest::{self, DismissInput, Kind, Suggestion};
use crate::enforcement::{
    self, CaseDetail, CaseListItem, EventInput, Ground, OpenInput, State as CaseState,
};
use crate::error::{Error, Result};
use crate::registry::enterprise;
use crate::registry::Page;
use crate::web::error::PageError;
use crate::web::extract::PageUser;
use crate::web::AppState;

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesTemplate {
    nav: Nav,
    cases: Page<CaseListItem>,
    pager: Pager,
    state: String,
    enterprise_id: String,
    counties: Vec<crate::registry::jurisdiction::Jurisdiction>,
    county_id: i64,
    states: Vec<(&'static str, &'static str)>,
    suggestions: Option<Page<Suggestion>>,
    sug_pager: Pager,
    message: String,
    today: NaiveDate,
}

impl CasesTemplate {
    fn days_left(&self, c: &CaseListItem) -> Option<i64> {
        matches!(
            c.state,
            CaseState::Ordered | CaseState::Submitted | CaseState::Overdue
        )
        .then_some(c.deadline)
        .flatten()
        .map(|d| (d - self.today).num_days())
    }
}

/// A browser sends empty strings for unset fields.
#[derive(Deserialize, Default)]
pub struct CasesParams {
    #[serde(default)]
    state: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    sug_page: String,
    #[serde(default)]
    enterprise_id: String,
    #[serde(default)]
    county_id: String,
    #[serde(default)]
    msg: String,
}

pub async fn cases_page(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<CasesParams>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&s, &user).await?;
    let p = &user.principal;
    let filter = enforcement::Filter {
        state: Some(q.state.clone()),
        enterprise_id: q.enterprise_id.parse().ok(),
        county_id: q.county_id.parse().ok(),
        page: q.page.parse().ok(),
        per_page: Some(50),
    };
    let cases = {
        let mut c = s.db.acquire().await?;
        enforcement::list(&mut c.conn(), p.scope(), &filter).await?
    };
    let pager = Pager::new(
        "/cases",
        &[
            ("state", q.state.clone()),
            ("enterprise_id", q.enterprise_id.clone()),
            ("county_id", q.county_id.clone()),
        ],
        cases.page,
        cases.per_page,
        cases.total,
    );
    let (suggestions, sug_pager) = if p.is_officer() {
        let sug = suggest::list(
            &s.db,
            &s.worklists,
            &s.analytics,
            &s.rules,
            p.scope(),
            crate::time::today(),
            &suggest::Params {
                dismissed: Some(false),
                page: q.sug_page.parse().ok(),
                per_page: Some(20),
            },
        )
        .await?;
        let pager = Pager::keyed(
            "/cases",
            &[
                ("state", q.state.clone()),
                ("enterprise_id", q.enterprise_id.clone()),
                ("county_id", q.county_id.clone()),
                ("page", cases.page.to_string()),
            ],
            "sug_page",
            sug.page,
            sug.per_page,
            sug.total,
        );
        (Some(sug), pager)
    } else {
        (None, Pager::new("/cases", &[], 1, 20, 0))
    };
    let message = match q.msg.as_str() {
        "dismissed" => "已驳回该建议，理由已记录。",
        _ => "",
    }
    .to_string();
    let mut states = vec![("", "全部"), ("active", "未结案")];
    states.extend(CaseState::ALL.iter().map(|s| (s.code(), s.label())));
    Ok(render(&CasesTemplate {
        nav,
        cases,
        pager,
        state: q.state,
        counties: if p.is_admin() {
            super::registry::visible_counties(&s, p.scope()).await?
        } else {
            Vec::new()
        },
        county_id: q.county_id.parse().unwrap_or(0),
        enterprise_id: q.enterprise_id,
        states,
        suggestions,
        sug_pager,
        message,
        today: crate::time::today(),
    })?)
}

#[derive(Template)]
#[template(path = "case_new.html")]
struct NewCaseTemplate {
    nav: Nav,
    enterprise_id: i64,
    enterprise_name: String,
    ground: String,
    suggestion: String,
    grounds: Vec<(&'static str, &'static str)>,
}

#[derive(Deserialize, Default)]
pub struct NewParams {
    #[serde(default)]
    enterprise_id: String,
    #[serde(default)]
    ground: String,
    #[serde(default)]
    suggestion: String,
}

pub async fn new_form(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<NewParams>,
) -> Result<Response, PageError> {
    user.principal.require_officer()?;
    let nav = Nav::new(&s, &user).await?;
    let id: i64 = q
        .enterprise_id
        .parse()
        .map_err(|_| Error::invalid("enterprise_id", "请从企业页面或立案建议进入"))?;
    let mut c = s.db.acquire().await?;
    let e = crate::registry::visible_enterprise(&mut c.conn(), &user.principal, id).await?;
    Ok(render(&NewCaseTemplate {
        nav,
        enterprise_id: e.id,
        enterprise_name: e.name,
        ground: q.ground,
        suggestion: q.suggestion,
        grounds: Ground::ALL.iter().map(|g| (g.code(), g.label())).collect(),
    })?)
}

#[derive(Deserialize)]
pub struct OpenForm {
    enterprise_id: i64,
    ground: String,
    #[serde(default)]
    ground_text: String,
    #[serde(default)]
    suggestion: String,
}

pub async fn create(
    State(s): State<AppState>,
    user: PageUser,
    Form(f): Form<OpenForm>,
) -> Result<Response, PageError> {
    let ground =
        Ground::parse(&f.ground).ok_or_else(|| Error::invalid("ground", "请选择立案事由"))?;
    let input = OpenInput {
        enterprise_id: f.enterprise_id,
        ground,
        ground_text: f.ground_text,
        suggestion: Some(f.suggestion).filter(|s| !s.is_empty()),
    };
    let mut tx = s.db.begin().await?;
    let case = enforcement::open(&mut tx.conn(), &user.principal, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/cases/{}?msg=opened", case.id)).into_response())
}

#[derive(Template)]
#[template(path = "case.html")]
struct CaseTemplate {
    nav: Nav,
    d: CaseDetail,
    officer: bool,
    owner: bool,
    message: String,
    today: NaiveDate,
}

impl CaseTemplate {
    fn can(&self, step: &str) -> bool {
        use CaseState::*;
        let s = self.d.case.state;
        match step {
            "interview" | "order" => self.officer && matches!(s, Opened | Interviewed),
            "close" => self.officer && matches!(s, Opened | Interviewed | Rectified),
            "verification" => self.officer && s == Submitted,
            "submission" => self.owner && matches!(s, Ordered | Overdue),
            _ => false,
        }
    }
}

#[derive(Deserialize, Default)]
pub struct MessageParam {
    #[serde(default)]
    msg: String,
}

pub async fn case_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<MessageParam>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&s, &user).await?;
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let d = enforcement::detail(&mut conn, &user.principal, id).await?;
    let e = enterprise::get(&mut conn, d.case.enterprise_id).await?;
    let message = match q.msg.as_str() {
        "opened" => "已立案。",
        "recorded" => "已记录。",
        _ => "",
    }
    .to_string();
    Ok(render(&CaseTemplate {
        officer: is_officer_of(&user.principal, &e),
        owner: is_owner(&user.principal, &e),
        nav,
        d,
        message,
        today: crate::time::today(),
    })?)
}

fn date_field(fields: &HashMap<String, String>, name: &str) -> Result<Option<NaiveDate>> {
    match fields.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid(name, format!("“{s}”不是日期（YYYY-MM-DD）"))),
    }
}

fn required_date(fields: &HashMap<String, String>, name: &str, label: &str) -> Result<NaiveDate> {
    date_field(fields, name)?.ok_or_else(|| Error::invalid(name, format!("请填写{label}")))
}

/// The deadline fields of a form: a date, or a span with its unit.
fn deadline_field(fields: &HashMap<String, String>, prefix: &str) -> Result<Option<DeadlineInput>> {
    let on = date_field(fields, &format!("{prefix}_on"))?;
    let count = fields
        .get(&format!("{prefix}_count"))
        .map(|s| s.trim())
        .unwrap_or_default();
    let unit = fields
        .get(&format!("{prefix}_unit"))
        .map(String::as_str)
        .unwrap_or("working");
    let span = (!count.is_empty()).then(|| match unit {
        "days" => format!("{count}日"),
        _ => format!("{count}个工作日"),
    });
    Ok((on.is_some() || span.is_some()).then_some(DeadlineInput { on, span }))
}

fn event_from_form(f: &HashMap<String, String>) -> Result<EventInput> {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    Ok(match get("kind").as_str() {
        "interview" => EventInput::Interview {
            held_on: required_date(f, "held_on", "约谈日期")?,
            place: get("place"),
            attendees: get("attendees"),
            minutes: get("minutes"),
        },
        "order" => EventInput::Order {
            document_no: get("document_no"),
            requirements: get("requirements"),
            issued_on: date_field(f, "issued_on")?,
            deadline: deadline_field(f, "deadline")?.unwrap_or_default(),
        },
        "submission" => EventInput::Submission { text: get("text") },
        "verification" => EventInput::Verification {
            passed: get("passed") == "yes",
            reasons: get("reasons"),
            new_deadline: deadline_field(f, "new_deadline")?,
        },
        "close" => EventInput::Close { note: get("note") },
        other => return Err(Error::invalid("kind", format!("未知的记录类型“{other}”"))),
    })
}

/// One form per event kind, multipart so that a file (minutes, evidence) can come along; the
/// event and its file are recorded in one transaction.
pub async fn record_event(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    form: Multipart,
) -> Result<Response, PageError> {
    let upload = super::read_upload(form).await?;
    let input = event_from_form(&upload.fields)?;
    let mut tx = s.db.begin().await?;
    let (_, event_id) = enforcement::record(
        &mut tx.conn(),
        &user.principal,
        Calendar::official(),
        id,
        &input,
        crate::time::today(),
    )
    .await?;
    if let Some((name, bytes)) = upload.file {
        enforcement::attach(
            &mut tx.conn(),
            s.blobs.as_ref(),
            Limits::from_config(&s.config),
            &user.principal,
            id,
            event_id,
            &name,
            bytes,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/cases/{id}?msg=recorded")).into_response())
}

#[derive(Deserialize)]
pub struct DismissForm {
    enterprise_id: i64,
    kind: String,
    #[serde(default)]
    reason: String,
}

pub async fn dismiss(
    State(s): State<AppState>,
    user: PageUser,
    Form(f): Form<DismissForm>,
) -> Result<Response, PageError> {
    let kind = Kind::parse(&f.kind).ok_or_else(|| Error::invalid("kind", "未知的建议类型"))?;
    let mut tx = s.db.begin().await?;
    suggest::dismiss(
        &mut tx.conn(),
        &user.principal,
        &DismissInput {
            enterprise_id: f.enterprise_id,
            kind,
            reason: f.reason,
        },
        crate::time::today().year(),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/cases?msg=dismissed").into_response())
}

#[derive(Template)]
#[template(path = "petitions.html")]
struct PetitionsTemplate {
    nav: Nav,
    items: Page<Petition>,
    pager: Pager,
    status: String,
    now: i64,
    officer: bool,
    message: String,
}

#[derive(Deserialize, Default)]
pub struct PetitionParams {
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    msg: String,
}

pub async fn petitions_page(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<PetitionParams>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&s, &user).await?;
    let now = Utc::now().timestamp();
    let items = {
        let mut c = s.db.acquire().await?;
        petitions::list(
            &mut c.conn(),
            user.principal.scope(),
            &petitions::Filter {
                status: Some(q.status.clone()),
                page: q.page.parse().ok(),
                per_page: Some(50),
            },
            now,
        )
        .await?
    };
    let pager = Pager::new(
        "/petitions",
        &[("status", q.status.clone())],
        items.page,
        items.per_page,
        items.total,
    );
    let message = if q.msg == "recorded" {
        "已记录。"
    } else {
        ""
    }
    .to_string();
    Ok(render(&PetitionsTemplate {
        officer: user.principal.is_officer(),
        nav,
        items,
        pager,
        status: q.status,
        now,
        message,
    })?)
}

#[derive(Deserialize)]
pub struct FollowUpForm {
    #[serde(default)]
    manager_name: String,
    #[serde(default)]
    manager_on_site_at: String,
    #[serde(default)]
    reported_on: String,
    #[serde(default)]
    note: String,
}

pub async fn record_petition(
    State(s): State<AppState>,
    user: PageUser,
    Path(ticket_id): Path<i64>,
    Form(f): Form<FollowUpForm>,
) -> Result<Response, PageError> {
    let on_site = match f.manager_on_site_at.trim() {
        "" => None,
        t => Some(
            NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M")
                .map_err(|_| Error::invalid("manager_on_site_at", format!("“{t}”不是日期时间")))?,
        ),
    };
    let reported_on = match f.reported_on.trim() {
        "" => None,
        d => Some(
            d.parse()
                .map_err(|_| Error::invalid("reported_on", format!("“{d}”不是日期")))?,
        ),
    };
    let input = FollowUpInput {
        manager_name: f.manager_name,
        manager_on_site_at: on_site,
        reported_on,
        note: f.note,
    };
    let mut tx = s.db.begin().await?;
    petitions::record(&mut tx.conn(), &user.principal, ticket_id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to("/petitions?msg=recorded").into_response())
}
