//! Filing pages: the enterprise portal (org state, coverage, filing forms, uploads) and the
//! officers' review page (proposed next to the current state, photos inline) and worklist.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use serde::Deserialize;

use super::{render, Nav};
use crate::auth::{Principal, Role};
use crate::error::{Error, Result};
use crate::filings::state::{self, OrgState, OrgView};
use crate::filings::store::{self, FileRef, FilingDetail, ListItem};
use crate::filings::worklist::{self, Worklist};
use crate::filings::{
    format_yuan, parse_yuan, BoardContents, Delegation, Documents, Establishment, HotlineChange,
    Kind, ManagerChange, NoticeBoard, OfficeChange, Payload, Place, StaffChange, StaffMember,
};
use crate::phone::{Hotline, Mobile};
use crate::registry::enterprise::{self, Enterprise};
use crate::registry::project::Project;
use crate::registry::CreditCode;
use crate::web::error::{HttpError, PageError};
use crate::web::extract::PageUser;
use crate::web::AppState;

type Values = HashMap<String, String>;

// --- forms ------------------------------------------------------------------------------

pub struct FormField {
    pub name: &'static str,
    pub label: &'static str,
    /// text, date, number, textarea, checkbox, select
    pub input: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub help: &'static str,
}

impl FormField {
    fn checked(&self) -> bool {
        !self.value.is_empty()
    }
}

fn field(
    name: &'static str,
    label: &'static str,
    input: &'static str,
    values: &Values,
    help: &'static str,
) -> FormField {
    FormField {
        name,
        label,
        input,
        value: values.get(name).cloned().unwrap_or_default(),
        options: Vec::new(),
        help,
    }
}

fn effective_on(values: &Values) -> FormField {
    field(
        "effective_on",
        "变更生效日期",
        "date",
        values,
        "变更后应及时报备（第六条）",
    )
}

const STAFF_HELP: &str = "每行一人：姓名 岗位 手机号（用空格或逗号分隔），不含经理本人";

fn place_options(projects: &[Project]) -> Vec<(String, String)> {
    let mut out = vec![("org_office".to_string(), "售后服务机构办公场所".to_string())];
    for p in projects {
        out.push((
            format!("sales_site:{}", p.id),
            format!(
                "{} 销售场所{}",
                p.name,
                if p.sales_site_open {
                    ""
                } else {
                    "（已关闭）"
                }
            ),
        ));
        if p.delivery_date.is_some() {
            out.push((format!("community:{}", p.id), format!("{} 小区", p.name)));
        }
    }
    out
}

fn fields_for(kind: Kind, values: &Values, projects: &[Project]) -> Vec<FormField> {
    match kind {
        Kind::Establishment => vec![
            field(
                "manager_name",
                "机构经理",
                "text",
                values,
                "售后服务机构实行经理负责制（第五条）",
            ),
            field("manager_mobile", "经理手机", "text", values, ""),
            field("office_address", "办公场所地址", "text", values, ""),
            field(
                "hotline",
                "售后服务电话",
                "text",
                values,
                "向社会公示的投诉电话，如 0537-2345678",
            ),
            field("staff", "专职工作人员", "textarea", values, STAFF_HELP),
            field(
                "fund_yuan",
                "专项资金（元）",
                "text",
                values,
                "如 50000 或 5万",
            ),
            field("established_on", "机构设立日期", "date", values, ""),
            field(
                "independent_department",
                "售后服务机构是独立于企业其他部门的职能部门（第四条）",
                "checkbox",
                values,
                "",
            ),
        ],
        Kind::ManagerChange => vec![
            field("manager_name", "新任经理", "text", values, ""),
            field("manager_mobile", "经理手机", "text", values, ""),
            effective_on(values),
        ],
        Kind::OfficeChange => vec![
            field("office_address", "新办公场所地址", "text", values, ""),
            effective_on(values),
        ],
        Kind::HotlineChange => vec![
            field("hotline", "新售后服务电话", "text", values, ""),
            effective_on(values),
        ],
        Kind::StaffChange => vec![
            field(
                "staff",
                "变更后的全部专职工作人员",
                "textarea",
                values,
                STAFF_HELP,
            ),
            effective_on(values),
        ],
        Kind::Documents => vec![field(
            "note",
            "说明",
            "textarea",
            values,
            "保存后在下一页上传机构职能、岗位职责、服务承诺制度、工作流程（PDF 或图片）",
        )],
        Kind::NoticeBoard => {
            let mut place = field("place", "设置地点", "select", values, "");
            place.options = place_options(projects);
            vec![
                place,
                field(
                    "width_cm",
                    "公示牌宽（厘米）",
                    "number",
                    values,
                    "规格 1.2米 × 0.9米（第十二条）",
                ),
                field("height_cm", "公示牌高（厘米）", "number", values, ""),
                field(
                    "c_service_content",
                    "公示内容：售后服务内容",
                    "checkbox",
                    values,
                    "",
                ),
                field(
                    "c_responsible_person",
                    "公示内容：负责人姓名",
                    "checkbox",
                    values,
                    "",
                ),
                field(
                    "c_office_address",
                    "公示内容：办公地址",
                    "checkbox",
                    values,
                    "",
                ),
                field(
                    "c_service_phone",
                    "公示内容：售后服务电话",
                    "checkbox",
                    values,
                    "",
                ),
                field(
                    "c_guidance_phone",
                    "公示内容：主管部门指导电话",
                    "checkbox",
                    values,
                    "保存后在下一页上传公示牌照片",
                ),
            ]
        }
        Kind::Delegation => vec![
            field(
                "delegate_credit_code",
                "受托本地企业的统一社会信用代码",
                "text",
                values,
                "外地开发企业可委托本地开发企业的售后服务机构",
            ),
            field("valid_from", "委托起始日期", "date", values, ""),
            field(
                "valid_to",
                "委托截止日期（可空）",
                "date",
                values,
                "保存后在下一页上传委托协议",
            ),
        ],
    }
}

fn get<'a>(v: &'a Values, k: &str) -> &'a str {
    v.get(k).map(String::as_str).unwrap_or("").trim()
}

fn date(v: &Values, k: &str) -> Result<NaiveDate> {
    let s = get(v, k);
    if s.is_empty() {
        return Err(Error::invalid(k, "请填写日期"));
    }
    crate::text::parse_date(s).ok_or_else(|| Error::invalid(k, format!("“{s}”不是有效日期")))
}

fn mobile(v: &Values, k: &str) -> Result<Mobile> {
    Mobile::parse(get(v, k)).map_err(|m| Error::invalid(k, m))
}

fn staff(v: &Values) -> Result<Vec<StaffMember>> {
    let mut out = Vec::new();
    for (i, line) in get(v, "staff").lines().enumerate() {
        let parts: Vec<&str> = line
            .split([' ', ',', '，', '\t', '　'])
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            continue;
        }
        if parts.len() != 3 {
            return Err(Error::invalid(
                "staff",
                format!("第{}行应为：姓名 岗位 手机号", i + 1),
            ));
        }
        let mobile = Mobile::parse(parts[2])
            .map_err(|m| Error::invalid("staff", format!("第{}行：{m}", i + 1)))?;
        out.push(StaffMember {
            name: parts[0].into(),
            role: parts[1].into(),
            mobile,
        });
    }
    Ok(out)
}

fn number(v: &Values, k: &str, label: &str) -> Result<i64> {
    crate::text::clean(get(v, k))
        .parse()
        .map_err(|_| Error::invalid(k, format!("{label}应为整数")))
}

/// A form's values as a payload; the error names the field.
pub fn payload_from_form(kind: Kind, v: &Values) -> Result<Payload> {
    let checked = |k: &str| !get(v, k).is_empty();
    Ok(match kind {
        Kind::Establishment => Payload::Establishment(Establishment {
            manager_name: get(v, "manager_name").into(),
            manager_mobile: mobile(v, "manager_mobile")?,
            office_address: get(v, "office_address").into(),
            hotline: Hotline::parse(get(v, "hotline")).map_err(|m| Error::invalid("hotline", m))?,
            staff: staff(v)?,
            fund_fen: parse_yuan(get(v, "fund_yuan"))
                .ok_or_else(|| Error::invalid("fund_yuan", "专项资金应为金额，如 50000 或 5万"))?,
            established_on: date(v, "established_on")?,
            independent_department: checked("independent_department"),
        }),
        Kind::ManagerChange => Payload::ManagerChange(ManagerChange {
            manager_name: get(v, "manager_name").into(),
            manager_mobile: mobile(v, "manager_mobile")?,
            effective_on: date(v, "effective_on")?,
        }),
        Kind::OfficeChange => Payload::OfficeChange(OfficeChange {
            office_address: get(v, "office_address").into(),
            effective_on: date(v, "effective_on")?,
        }),
        Kind::HotlineChange => Payload::HotlineChange(HotlineChange {
            hotline: Hotline::parse(get(v, "hotline")).map_err(|m| Error::invalid("hotline", m))?,
            effective_on: date(v, "effective_on")?,
        }),
        Kind::StaffChange => Payload::StaffChange(StaffChange {
            staff: staff(v)?,
            effective_on: date(v, "effective_on")?,
        }),
        Kind::Documents => Payload::Documents(Documents {
            note: get(v, "note").into(),
        }),
        Kind::NoticeBoard => {
            let place_text = get(v, "place");
            let place = match place_text.split_once(':') {
                None if place_text == "org_office" => Place::OrgOffice,
                Some(("sales_site", id)) => Place::SalesSite {
                    project_id: id
                        .parse()
                        .map_err(|_| Error::invalid("place", "请选择设置地点"))?,
                },
                Some(("community", id)) => Place::Community {
                    project_id: id
                        .parse()
                        .map_err(|_| Error::invalid("place", "请选择设置地点"))?,
                },
                _ => return Err(Error::invalid("place", "请选择设置地点")),
            };
            Payload::NoticeBoard(NoticeBoard {
                place,
                width_cm: number(v, "width_cm", "宽")?,
                height_cm: number(v, "height_cm", "高")?,
                contents: BoardContents {
                    service_content: checked("c_service_content"),
                    responsible_person: checked("c_responsible_person"),
                    office_address: checked("c_office_address"),
                    service_phone: checked("c_service_phone"),
                    guidance_phone: checked("c_guidance_phone"),
                },
            })
        }
        Kind::Delegation => Payload::Delegation(Delegation {
            delegate_credit_code: CreditCode::parse(get(v, "delegate_credit_code"))
                .map_err(|e| Error::invalid("delegate_credit_code", e.to_string()))?,
            valid_from: date(v, "valid_from")?,
            valid_to: if get(v, "valid_to").is_empty() {
                None
            } else {
                Some(date(v, "valid_to")?)
            },
        }),
    })
}

fn staff_text(staff: &[StaffMember]) -> String {
    staff
        .iter()
        .map(|m| format!("{} {} {}", m.name, m.role, m.mobile))
        .collect::<Vec<_>>()
        .join("\n")
}

fn yes(b: bool) -> String {
    if b {
        "on".into()
    } else {
        String::new()
    }
}

/// A payload back into form values, for editing.
pub fn form_values(payload: &Payload) -> Values {
    let mut v = Values::new();
    let mut set = |k: &str, s: String| {
        v.insert(k.to_string(), s);
    };
    match payload {
        Payload::Establishment(e) => {
            set("manager_name", e.manager_name.clone());
            set("manager_mobile", e.manager_mobile.to_string());
            set("office_address", e.office_address.clone());
            set("hotline", e.hotline.to_string());
            set("staff", staff_text(&e.staff));
            set("fund_yuan", format_yuan(e.fund_fen));
            set("established_on", e.established_on.to_string());
            set("independent_department", yes(e.independent_department));
        }
        Payload::ManagerChange(c) => {
            set("manager_name", c.manager_name.clone());
            set("manager_mobile", c.manager_mobile.to_string());
            set("effective_on", c.effective_on.to_string());
        }
        Payload::OfficeChange(c) => {
            set("office_address", c.office_address.clone());
            set("effective_on", c.effective_on.to_string());
        }
        Payload::HotlineChange(c) => {
            set("hotline", c.hotline.to_string());
            set("effective_on", c.effective_on.to_string());
        }
        Payload::StaffChange(c) => {
            set("staff", staff_text(&c.staff));
            set("effective_on", c.effective_on.to_string());
        }
        Payload::Documents(d) => set("note", d.note.clone()),
        Payload::NoticeBoard(b) => {
            set(
                "place",
                match b.place {
                    Place::OrgOffice => "org_office".into(),
                    Place::SalesSite { project_id } => format!("sales_site:{project_id}"),
                    Place::Community { project_id } => format!("community:{project_id}"),
                },
            );
            set("width_cm", b.width_cm.to_string());
            set("height_cm", b.height_cm.to_string());
            set("c_service_content", yes(b.contents.service_content));
            set("c_responsible_person", yes(b.contents.responsible_person));
            set("c_office_address", yes(b.contents.office_address));
            set("c_service_phone", yes(b.contents.service_phone));
            set("c_guidance_phone", yes(b.contents.guidance_phone));
        }
        Payload::Delegation(d) => {
            set("delegate_credit_code", d.delegate_credit_code.to_string());
            set("valid_from", d.valid_from.to_string());
            set(
                "valid_to",
                d.valid_to.map(|d| d.to_string()).unwrap_or_default(),
            );
        }
    }
    v
}

// --- showing a payload next to the current state ------------------------------------------

pub struct CompareRow {
    pub label: &'static str,
    pub current: String,
    pub proposed: String,
    pub changed: bool,
    /// The reviewer's reason for this field, from the latest rejection.
    pub reason: String,
    pub field: &'static str,
}

fn place_label(place: Place, projects: &[Project]) -> String {
    let name = |id: i64| {
        projects
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| format!("项目#{id}"))
    };
    match place {
        Place::OrgOffice => "售后服务机构办公场所".into(),
        Place::SalesSite { project_id } => format!("{} 销售场所", name(project_id)),
        Place::Community { project_id } => format!("{} 小区", name(project_id)),
    }
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "—".into())
}

fn compare(
    payload: &Payload,
    current: &OrgState,
    projects: &[Project],
    reasons: &BTreeMap<String, String>,
) -> Vec<CompareRow> {
    let staff_list = |s: &[StaffMember]| {
        if s.is_empty() {
            "—".into()
        } else {
            staff_text(s).replace('\n', "；")
        }
    };
    let rows: Vec<(&'static str, String, String)> = match payload {
        Payload::Establishment(e) => vec![
            (
                "manager_name",
                opt(&current.manager_name),
                e.manager_name.clone(),
            ),
            (
                "manager_mobile",
                opt(&current.manager_mobile),
                e.manager_mobile.to_string(),
            ),
            (
                "office_address",
                opt(&current.office_address),
                e.office_address.clone(),
            ),
            ("hotline", opt(&current.hotline), e.hotline.to_string()),
            (
                "staff",
                staff_list(&current.staff),
                format!("{}（{}人）", staff_list(&e.staff), e.staff.len()),
            ),
            (
                "fund_fen",
                if current.established {
                    format!("{} 元", format_yuan(current.fund_fen))
                } else {
                    "—".into()
                },
                format!("{} 元", format_yuan(e.fund_fen)),
            ),
            (
                "established_on",
                current
                    .established_on
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "—".into()),
                e.established_on.to_string(),
            ),
            (
                "independent_department",
                "—".into(),
                if e.independent_department {
                    "是".into()
                } else {
                    "否".into()
                },
            ),
        ],
        Payload::ManagerChange(c) => vec![
            (
                "manager_name",
                opt(&current.manager_name),
                c.manager_name.clone(),
            ),
            (
                "manager_mobile",
                opt(&current.manager_mobile),
                c.manager_mobile.to_string(),
            ),
            ("effective_on", "—".into(), c.effective_on.to_string()),
        ],
        Payload::OfficeChange(c) => {
            vec![
                (
                    "office_address",
                    opt(&current.office_address),
                    c.office_address.clone(),
                ),
                ("effective_on", "—".into(), c.effective_on.to_string()),
            ]
        }
        Payload::HotlineChange(c) => {
            vec![
                ("hotline", opt(&current.hotline), c.hotline.to_string()),
                ("effective_on", "—".into(), c.effective_on.to_string()),
            ]
        }
        Payload::StaffChange(c) => vec![
            (
                "staff",
                format!(
                    "{}（{}人）",
                    staff_list(&current.staff),
                    current.staff.len()
                ),
                format!("{}（{}人）", staff_list(&c.staff), c.staff.len()),
            ),
            ("effective_on", "—".into(), c.effective_on.to_string()),
        ],
        Payload::Documents(d) => {
            let now: Vec<String> = current.documents.iter().map(|d| d.label.clone()).collect();
            vec![(
                "note",
                if now.is_empty() {
                    "尚未公开任何文件".into()
                } else {
                    format!("已公开：{}", now.join("、"))
                },
                d.note.clone(),
            )]
        }
        Payload::NoticeBoard(b) => vec![
            ("place", "—".into(), place_label(b.place, projects)),
            (
                "size",
                "—".into(),
                format!("{}cm × {}cm", b.width_cm, b.height_cm),
            ),
            (
                "contents",
                "—".into(),
                BoardContents::LABELS
                    .iter()
                    .zip(b.contents.flags())
                    .map(|(l, f)| format!("{}{l}", if f { "✔" } else { "✘" }))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        ],
        Payload::Delegation(d) => vec![
            (
                "delegate_credit_code",
                current
                    .delegate
                    .as_ref()
                    .map(|x| x.name.clone())
                    .unwrap_or_else(|| "—".into()),
                d.delegate_credit_code.to_string(),
            ),
            ("valid_from", "—".into(), d.valid_from.to_string()),
            (
                "valid_to",
                "—".into(),
                d.valid_to
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "长期".into()),
            ),
        ],
    };
    let kind = payload.kind();
    rows.into_iter()
        .map(|(field, current, proposed)| CompareRow {
            label: kind.field_label(field).unwrap_or(field),
            changed: current != "—" && current != proposed,
            current,
            proposed,
            reason: reasons.get(field).cloned().unwrap_or_default(),
            field,
        })
        .collect()
}

// --- handlers -----------------------------------------------------------------------------

async fn load_enterprise(state: &AppState, p: &Principal, id: i64) -> Result<Enterprise> {
    let mut c = state.db.acquire().await?;
    let e = enterprise::get(&mut c.conn(), id).await?;
    if !p.can_view_enterprise(&e) {
        return Err(Error::NotFound("企业"));
    }
    Ok(e)
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
        s.config.max_file_bytes,
        &user.principal,
        id,
        &slot,
        &name,
        &bytes,
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
}

pub async fn worklist_page(
    State(s): State<AppState>,
    user: PageUser,
) -> Result<Response, PageError> {
    user.principal.require_officer()?;
    let nav = Nav::new(&s, &user).await?;
    let mut c = s.db.acquire().await?;
    let w = worklist::build(
        &mut c.conn(),
        user.principal.scope(),
        &s.rules,
        crate::time::today(),
    )
    .await?;
    Ok(render(&WorklistTemplate { nav, w })?)
}
