//! Filing pages: the enterprise portal (org state, coverage, filing forms, uploads) and the
//! officers' review page (proposed next to the current state, photos inline) and worklist.
//! The forms live in [`form`], the side-by-side comparison in [`compare`].

mod compare;
mod form;

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use self::compare::{compare, CompareRow};
use self::form::{fields_for, form_values, payload_from_form, FormField, Values};
use super::{render, Nav, Pager};
use crate::auth::{Principal, Role};
use crate::blobs::Limits;
use crate::error::{Error, Result};
use crate::filings::format_yuan;
use crate::filings::state::{self, OrgView};
use crate::filings::store::{self, FileRef, FilingDetail, ListItem};
use crate::filings::worklist::{self, Worklist};
use crate::filings::Kind;
use crate::registry::enterprise::{self, Enterprise};
use crate::web::error::{HttpError, PageError};
use crate::web::extract::PageUser;
use crate::web::AppState;

async fn load_enterprise(state: &AppState, p: &Principal, id: i64) -> Result<Enterprise> {
    let mut c = state.db.acquire().await?;
    crate::registry::visible_enterprise(&mut c.conn(), p, id).await
}

fn is_owner(p: &Principal, enterprise_id: i64) -> bool {
    p.role == Role::Enterprise { enterprise_id }
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgTemplate {
    nav: Nav,
    e: Enterprise,
    v: OrgView,
    filings: Vec<ListItem>,
    kinds: Vec<Kind>,
    can_file: bool,
    fund: String,
}

#[derive(Deserialize, Default)]
pub struct AsOfParam {
    #[serde(default)]
    as_of: String,
}

pub async fn org_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<AsOfParam>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&s, &user).await?;
    let e = load_enterprise(&s, &user.principal, id).await?;
    let as_of = crate::text::parse_date(&q.as_of).unwrap_or_else(crate::time::today);
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let v = state::view(&mut conn, &e, &s.rules, as_of).await?;
    let filings = store::list(
        &mut conn,
        user.principal.scope(),
        &store::Filter {
            enterprise_id: Some(id),
            per_page: Some(200),
            ..Default::default()
        },
    )
    .await?
    .items;
    let can_file = is_owner(&user.principal, id) && e.status == crate::registry::Status::Active;
    let fund = format_yuan(v.state.fund_fen);
    Ok(render(&OrgTemplate {
        nav,
        e,
        v,
        filings,
        kinds: Kind::ALL.to_vec(),
        can_file,
        fund,
    })?)
}

/// `/org`: an enterprise user's own org page; officers go to their worklist.
pub async fn my_org(user: PageUser) -> Redirect {
    match user.principal.role {
        Role::Enterprise { enterprise_id } => {
            Redirect::to(&format!("/enterprises/{enterprise_id}/org"))
        }
        _ => Redirect::to("/worklist"),
    }
}

#[derive(Template)]
#[template(path = "filing_form.html")]
struct FormTemplate {
    nav: Nav,
    kind: Kind,
    action: String,
    fields: Vec<FormField>,
    error: String,
    error_field: String,
    enterprise_name: String,
}

#[derive(Deserialize)]
pub struct NewParams {
    kind: String,
}

fn own_enterprise(p: &Principal) -> Result<i64> {
    match p.role {
        Role::Enterprise { enterprise_id } => Ok(enterprise_id),
        _ => Err(Error::Forbidden("备案由企业本身填报")),
    }
}

fn kind_param(s: &str) -> Result<Kind> {
    Kind::parse(s).ok_or_else(|| Error::invalid("kind", format!("未知的备案类型“{s}”")))
}

async fn form_page(
    s: &AppState,
    user: &PageUser,
    kind: Kind,
    action: String,
    values: &Values,
    error: Option<Error>,
) -> Result<Response, PageError> {
    let nav = Nav::new(s, user).await?;
    let eid = own_enterprise(&user.principal)?;
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let e = enterprise::get(&mut conn, eid).await?;
    let projects = store::answerable_projects(&mut conn, eid, crate::time::today()).await?;
    let (error, error_field) = match error {
        Some(Error::Invalid(inv)) => (inv.message.clone(), inv.field.clone()),
        Some(other) => (HttpError::from(other).message, String::new()),
        None => (String::new(), String::new()),
    };
    let mut resp = render(&FormTemplate {
        nav,
        kind,
        action,
        fields: fields_for(kind, values, &projects),
        error: error.clone(),
        error_field,
        enterprise_name: e.name,
    })?;
    if !error.is_empty() {
        *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

pub async fn new_form(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<NewParams>,
) -> Result<Response, PageError> {
    let kind = kind_param(&q.kind)?;
    let mut values = Values::new();
    if kind == Kind::NoticeBoard {
        values.insert("width_cm".into(), "120".into());
        values.insert("height_cm".into(), "90".into());
    }
    form_page(
        &s,
        &user,
        kind,
        format!("/filings/new?kind={}", kind.code()),
        &values,
        None,
    )
    .await
}

pub async fn create(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<NewParams>,
    Form(values): Form<Values>,
) -> Result<Response, PageError> {
    let kind = kind_param(&q.kind)?;
    let eid = own_enterprise(&user.principal)?;
    let result = async {
        let payload = payload_from_form(kind, &values)?;
        let mut tx = s.db.begin().await?;
        let f = store::create(&mut tx.conn(), &user.principal, &s.rules, eid, &payload).await?;
        tx.commit().await?;
        Ok::<_, Error>(f)
    }
    .await;
    match result {
        Ok(f) => Ok(Redirect::to(&format!("/filings/{}", f.id)).into_response()),
        Err(e @ Error::Invalid(_)) => {
            form_page(
                &s,
                &user,
                kind,
                format!("/filings/new?kind={}", kind.code()),
                &values,
                Some(e),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn edit_form(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let f = {
        let mut c = s.db.acquire().await?;
        store::detail(&mut c.conn(), &user.principal, id).await?
    };
    form_page(
        &s,
        &user,
        f.filing.kind,
        format!("/filings/{id}/edit"),
        &form_values(&f.filing.payload),
        None,
    )
    .await
}

pub async fn edit(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(values): Form<Values>,
) -> Result<Response, PageError> {
    let kind = {
        let mut c = s.db.acquire().await?;
        store::detail(&mut c.conn(), &user.principal, id)
            .await?
            .filing
            .kind
    };
    let result = async {
        let payload = payload_from_form(kind, &values)?;
        let mut tx = s.db.begin().await?;
        store::update(&mut tx.conn(), &user.principal, &s.rules, id, &payload).await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/filings/{id}")).into_response()),
        Err(e @ Error::Invalid(_)) => {
            form_page(
                &s,
                &user,
                kind,
                format!("/filings/{id}/edit"),
                &values,
                Some(e),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "filing.html")]
struct FilingTemplate {
    nav: Nav,
    d: FilingDetail,
    rows: Vec<CompareRow>,
    slots: Vec<SlotView>,
    owner: bool,
    reviewer: bool,
    message: String,
    last_reasons: Vec<(String, String)>,
}

pub struct SlotView {
    pub slot: &'static str,
    pub label: &'static str,
    pub files: Vec<FileRef>,
}

#[derive(Deserialize, Default)]
pub struct MessageParam {
    #[serde(default)]
    msg: String,
}

pub async fn detail(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<MessageParam>,
) -> Result<Response, PageError> {
    let nav = Nav::new(&s, &user).await?;
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let d = store::detail(&mut conn, &user.principal, id).await?;
    let e = enterprise::get(&mut conn, d.filing.enterprise_id).await?;
    let current = state::org_state(&mut conn, e.id, crate::time::today()).await?;
    let projects = store::answerable_projects(&mut conn, e.id, crate::time::today()).await?;
    let last_rejection = d
        .reviews
        .iter()
        .rev()
        .find(|r| r.decision == "rejected")
        .map(|r| r.reasons.clone())
        .unwrap_or_default();
    let rows = compare(&d.filing.payload, &current, &projects, &last_rejection);
    let slots = d
        .filing
        .kind
        .file_slots()
        .iter()
        .map(|(slot, label)| SlotView {
            slot,
            label,
            files: d
                .files
                .iter()
                .filter(|f| f.slot == *slot)
                .cloned()
                .collect(),
        })
        .collect();
    let owner = is_owner(&user.principal, e.id);
    let reviewer = user.principal.is_officer() && user.principal.covers_county(e.county_id);
    let kind = d.filing.kind;
    let last_reasons = last_rejection
        .iter()
        .map(|(k, v)| (kind.field_label(k).unwrap_or("其他").to_string(), v.clone()))
        .collect();
    let message = match q.msg.as_str() {
        "submitted" => "已提交，等待主管部门审核。",
        "approved" => "已审核通过。",
        "rejected" => "已退回企业修改。",
        "withdrawn" => "已撤回。",
        "uploaded" => "文件已上传。",
        _ => "",
    }
    .to_string();
    Ok(render(&FilingTemplate {
        nav,
        d,
        rows,
        slots,
        owner,
        reviewer,
        message,
        last_reasons,
    })?)
}

fn back(id: i64, msg: &str) -> Response {
    Redirect::to(&format!("/filings/{id}?msg={msg}")).into_response()
}

pub async fn submit(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let mut tx = s.db.begin().await?;
    store::submit(&mut tx.conn(), &user.principal, &s.rules, id).await?;
    tx.commit().await?;
    Ok(back(id, "submitted"))
}

pub async fn withdraw(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let mut tx = s.db.begin().await?;
    store::withdraw(&mut tx.conn(), &user.principal, id).await?;
    tx.commit().await?;
    Ok(back(id, "withdrawn"))
}

pub async fn approve(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let mut tx = s.db.begin().await?;
    store::approve(&mut tx.conn(), &user.principal, &s.rules, id).await?;
    tx.commit().await?;
    Ok(back(id, "approved"))
}

/// The reject form sends `reason_<field>` for each field the officer objects to.
pub async fn reject(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(values): Form<Values>,
) -> Result<Response, PageError> {
    let reasons: BTreeMap<String, String> = values
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix("reason_").map(|f| (f.to_string(), v)))
        .collect();
    let mut tx = s.db.begin().await?;
    store::reject(&mut tx.conn(), &user.principal, id, &reasons).await?;
    tx.commit().await?;
    Ok(back(id, "rejected"))
}

/// Multipart upload from the filing page: `_csrf` (checked by the middleware), `slot`, `file`.
pub async fn upload(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    form: Multipart,
) -> Result<Response, PageError> {
    let upload = super::read_upload(form).await?;
    let slot = upload.fields.get("slot").cloned().unwrap_or_default();
    let (name, bytes) = upload
        .file
        .ok_or_else(|| Error::invalid("file", "请选择要上传的文件"))?;
    let mut tx = s.db.begin().await?;
    store::attach(
        &mut tx.conn(),
        s.blobs.as_ref(),
        Limits::from_config(&s.config),
        &user.principal,
        id,
        &slot,
        &name,
        bytes,
    )
    .await?;
    tx.commit().await?;
    Ok(back(id, "uploaded"))
}

pub async fn delete_file(
    State(s): State<AppState>,
    user: PageUser,
    Path((id, file_id)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    let mut tx = s.db.begin().await?;
    store::detach(&mut tx.conn(), &user.principal, id, file_id).await?;
    tx.commit().await?;
    Ok(back(id, ""))
}

#[derive(Template)]
#[template(path = "worklist.html")]
struct WorklistTemplate {
    nav: Nav,
    w: Worklist,
    pending_pager: Pager,
    without_org_pager: Pager,
    coverage_pager: Pager,
}

/// Page numbers of the worklist's three lists; a browser sends empty strings for none.
#[derive(Deserialize, Default)]
pub struct WorklistParams {
    #[serde(default)]
    pending_page: String,
    #[serde(default)]
    without_org_page: String,
    #[serde(default)]
    coverage_page: String,
}

pub async fn worklist_page(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<WorklistParams>,
) -> Result<Response, PageError> {
    user.principal.require_officer()?;
    let nav = Nav::new(&s, &user).await?;
    let params = worklist::Params {
        as_of: None,
        pending_page: q.pending_page.parse().ok(),
        without_org_page: q.without_org_page.parse().ok(),
        coverage_page: q.coverage_page.parse().ok(),
        per_page: Some(50),
    };
    let w = worklist::build(
        &s.db,
        &s.worklists,
        user.principal.scope(),
        &s.rules,
        crate::time::today(),
        &params,
    )
    .await?;
    // Each list's pager keeps the other two lists on their pages.
    let pages = [
        (
            "pending_page",
            w.pending.page,
            w.pending.per_page,
            w.pending.total,
        ),
        (
            "without_org_page",
            w.without_org.page,
            w.without_org.per_page,
            w.without_org.total,
        ),
        (
            "coverage_page",
            w.incomplete_coverage.page,
            w.incomplete_coverage.per_page,
            w.incomplete_coverage.total,
        ),
    ];
    let pager = |key: &str| {
        let others: Vec<(&str, String)> = pages
            .iter()
            .filter(|(k, ..)| *k != key)
            .map(|(k, page, ..)| (*k, page.to_string()))
            .collect();
        let (_, page, per_page, total) = pages
            .iter()
            .find(|(k, ..)| *k == key)
            .copied()
            .unwrap_or((key, 1, 50, 0));
        Pager::keyed("/worklist", &others, key, page, per_page, total)
    };
    let (pending_pager, without_org_pager, coverage_pager) = (
        pager("pending_page"),
        pager("without_org_page"),
        pager("coverage_page"),
    );
    Ok(render(&WorklistTemplate {
        nav,
        w,
        pending_pager,
        without_org_pager,
        coverage_pager,
    })?)
}
