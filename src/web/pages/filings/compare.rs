//! A filing shown next to the org's current state, field by field, with the reviewer's
//! reasons from the latest rejection.

use std::collections::BTreeMap;

use super::form::staff_text;
use crate::filings::format_yuan;
use crate::filings::state::OrgState;
use crate::filings::{BoardContents, Payload, Place, StaffMember};
use crate::registry::project::Project;

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

pub fn compare(
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
                "service_hours",
                hours(current.service_hours),
                hours(e.service_hours),
            ),
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
                (
                    "service_hours",
                    hours(current.service_hours),
                    c.service_hours
                        .map_or_else(|| hours(current.service_hours), |h| h.to_string()),
                ),
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

fn hours(h: Option<crate::phone::ServiceHours>) -> String {
    h.map_or_else(|| "未填报".into(), |h| h.to_string())
}
