//! The filing forms: which fields each kind shows, form values to a payload (errors name the
//! field) and a payload back to form values for editing.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::filings::{
    format_yuan, parse_yuan, BoardCm, BoardContents, Delegation, Documents, Establishment,
    HotlineChange, Kind, ManagerChange, NoticeBoard, OfficeChange, Payload, Place, StaffChange,
    StaffMember, MAX_STAFF,
};
use crate::phone::{Hotline, Mobile, ServiceHours};
use crate::registry::project::Project;
use crate::registry::CreditCode;

pub type Values = HashMap<String, String>;

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
    pub fn checked(&self) -> bool {
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

pub fn fields_for(kind: Kind, values: &Values, projects: &[Project]) -> Vec<FormField> {
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
            hours_days(values),
            hours_per_day(values),
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
            hours_days(values),
            hours_per_day(values),
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
        // Stop reading a list that is already too long; the domain check words the refusal.
        if out.len() == MAX_STAFF {
            return Err(Error::invalid(
                "staff",
                format!("专职工作人员最多{MAX_STAFF}名"),
            ));
        }
        let [name, role, mobile] = parts[..] else {
            return Err(Error::invalid(
                "staff",
                format!("第{}行应为：姓名 岗位 手机号", i + 1),
            ));
        };
        let mobile = Mobile::parse(mobile)
            .map_err(|m| Error::invalid("staff", format!("第{}行：{m}", i + 1)))?;
        out.push(StaffMember {
            name: name.into(),
            role: role.into(),
            mobile,
        });
    }
    Ok(out)
}

fn board_cm(v: &Values, k: &str, label: &str) -> Result<i64> {
    BoardCm::parse(get(v, k))
        .map(BoardCm::get)
        .map_err(|m| Error::invalid(k, format!("{label}：{m}")))
}

const HOURS_HELP: &str = "可不填；如 7 天、每天 10 小时";

/// The two optional service-hours fields of the establishment and the hotline change.
fn hours_days(values: &Values) -> FormField {
    field(
        "service_days",
        "电话服务天数（每周）",
        "text",
        values,
        HOURS_HELP,
    )
}

fn hours_per_day(values: &Values) -> FormField {
    field(
        "service_hours",
        "电话服务时长（每天小时数）",
        "text",
        values,
        "",
    )
}

/// The two service-hours fields: both empty, or both whole numbers in range.
fn service_hours(v: &Values) -> Result<Option<ServiceHours>> {
    let (days, hours) = (get(v, "service_days"), get(v, "service_hours"));
    if days.is_empty() && hours.is_empty() {
        return Ok(None);
    }
    let number = |k: &str, s: &str| {
        crate::text::halfwidth(s)
            .trim()
            .trim_end_matches(['天', '时', '小'])
            .trim()
            .parse::<i64>()
            .map_err(|_| Error::invalid(k, format!("“{s}”应为整数")))
    };
    let days = number("service_days", days)?;
    let hours = number("service_hours", hours)?;
    ServiceHours::new(days, hours)
        .map(Some)
        .map_err(|m| Error::invalid("service_days", m))
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
            service_hours: service_hours(v)?,
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
            service_hours: service_hours(v)?,
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
                width_cm: board_cm(v, "width_cm", "宽")?,
                height_cm: board_cm(v, "height_cm", "高")?,
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

pub(super) fn staff_text(staff: &[StaffMember]) -> String {
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

fn set_hours(set: &mut impl FnMut(&str, String), h: Option<ServiceHours>) {
    if let Some(h) = h {
        set("service_days", h.days_per_week().to_string());
        set("service_hours", h.hours_per_day().to_string());
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
            set_hours(&mut set, e.service_hours);
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
            set_hours(&mut set, c.service_hours);
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
