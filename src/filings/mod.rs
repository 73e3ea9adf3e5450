//! Filings (备案) of the after-sales service organization: its establishment (Art. 4–5),
//! changes of manager, office, hotline or staff (Art. 6), its published documents (Art. 11),
//! notice-board evidence (Art. 12) and, where the rule set allows it (Qingdao), delegation
//! to a local developer's organization. An enterprise drafts and submits; an officer of its
//! county approves or rejects with reasons per field. Approved filings make up the org's
//! current state ([`state`]); nothing is overwritten, so the history stays visible.

mod board;
mod check;
pub mod served;
pub mod state;
pub mod store;
pub mod worklist;

pub use board::{BoardCm, BoardContents, NoticeBoard, Place};
pub use check::{Context, MAX_STAFF};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::phone::{Hotline, Mobile, ServiceHours};
use crate::registry::CreditCode;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Establishment,
    ManagerChange,
    OfficeChange,
    HotlineChange,
    StaffChange,
    Documents,
    NoticeBoard,
    Delegation,
}

/// The four documents Art. 11 requires the org to publish.
pub const DOCUMENT_SLOTS: [(&str, &str); 4] = [
    ("functions", "机构职能"),
    ("duties", "岗位职责"),
    ("commitment", "服务承诺制度"),
    ("workflow", "售后服务工作流程"),
];

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Establishment,
        Kind::ManagerChange,
        Kind::OfficeChange,
        Kind::HotlineChange,
        Kind::StaffChange,
        Kind::Documents,
        Kind::NoticeBoard,
        Kind::Delegation,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Kind::Establishment => "establishment",
            Kind::ManagerChange => "manager_change",
            Kind::OfficeChange => "office_change",
            Kind::HotlineChange => "hotline_change",
            Kind::StaffChange => "staff_change",
            Kind::Documents => "documents",
            Kind::NoticeBoard => "notice_board",
            Kind::Delegation => "delegation",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Establishment => "售后服务机构设立备案",
            Kind::ManagerChange => "机构经理变更",
            Kind::OfficeChange => "办公场所变更",
            Kind::HotlineChange => "投诉电话变更",
            Kind::StaffChange => "工作人员变更",
            Kind::Documents => "制度文件公开",
            Kind::NoticeBoard => "公示牌设置",
            Kind::Delegation => "委托售后服务机构",
        }
    }

    pub fn article(self) -> &'static str {
        match self {
            Kind::Establishment => "第四条、第五条",
            Kind::ManagerChange | Kind::OfficeChange | Kind::HotlineChange | Kind::StaffChange => {
                "第六条"
            }
            Kind::Documents => "第十一条",
            Kind::NoticeBoard => "第十二条",
            Kind::Delegation => "青岛标准·委托",
        }
    }

    /// Art. 6 changes: filed after the fact, late past the rule set's deadline.
    pub fn is_change(self) -> bool {
        matches!(
            self,
            Kind::ManagerChange | Kind::OfficeChange | Kind::HotlineChange | Kind::StaffChange
        )
    }

    /// File slots a filing of this kind may carry, with their labels.
    pub fn file_slots(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Documents => &DOCUMENT_SLOTS,
            Kind::NoticeBoard => &[("photo", "公示牌照片")],
            Kind::Delegation => &[("agreement", "委托协议")],
            _ => &[],
        }
    }

    /// The fields an officer can give a rejection reason for, with their labels.
    pub fn fields(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Establishment => &[
                ("manager_name", "机构经理"),
                ("manager_mobile", "经理手机"),
                ("office_address", "办公场所"),
                ("hotline", "售后服务电话"),
                ("service_hours", "电话服务时间"),
                ("staff", "专职工作人员"),
                ("fund_fen", "专项资金"),
                ("established_on", "设立日期"),
                ("independent_department", "独立部门"),
            ],
            Kind::ManagerChange => &[
                ("manager_name", "新任经理"),
                ("manager_mobile", "经理手机"),
                ("effective_on", "变更生效日期"),
            ],
            Kind::OfficeChange => &[
                ("office_address", "新办公场所"),
                ("effective_on", "变更生效日期"),
            ],
            Kind::HotlineChange => &[
                ("hotline", "新售后服务电话"),
                ("service_hours", "电话服务时间"),
                ("effective_on", "变更生效日期"),
            ],
            Kind::StaffChange => &[
                ("staff", "变更后的专职工作人员"),
                ("effective_on", "变更生效日期"),
            ],
            Kind::Documents => &[("note", "说明")],
            Kind::NoticeBoard => &[
                ("place", "设置地点"),
                ("size", "公示牌尺寸"),
                ("contents", "公示内容"),
            ],
            Kind::Delegation => &[
                ("delegate_credit_code", "受托企业"),
                ("valid_from", "委托起始日期"),
                ("valid_to", "委托截止日期"),
            ],
        }
    }

    /// Label of a field or file slot of this kind; `general` for the filing as a whole.
    pub fn field_label(self, field: &str) -> Option<&'static str> {
        if field == "general" {
            return Some("总体意见");
        }
        self.fields()
            .iter()
            .chain(self.file_slots())
            .find(|(f, _)| *f == field)
            .map(|(_, l)| *l)
    }
}

crate::text_column!(Kind, Kind::parse);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
// Named apart from the registry's `Status` in the OpenAPI document.
#[schema(as = FilingStatus)]
pub enum Status {
    Draft,
    Submitted,
    Approved,
    Rejected,
    Withdrawn,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Draft,
            Status::Submitted,
            Status::Approved,
            Status::Rejected,
            Status::Withdrawn,
        ]
        .into_iter()
        .find(|k| k.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "草稿",
            Status::Submitted => "待审核",
            Status::Approved => "已通过",
            Status::Rejected => "已退回",
            Status::Withdrawn => "已撤回",
        }
    }

    /// The enterprise may still change the filing.
    pub fn editable(self) -> bool {
        matches!(self, Status::Draft | Status::Rejected)
    }
}

crate::text_column!(Status, Status::parse);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StaffMember {
    pub name: String,
    /// 岗位, e.g. 客服专员.
    pub role: String,
    pub mobile: Mobile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Establishment {
    pub manager_name: String,
    pub manager_mobile: Mobile,
    pub office_address: String,
    pub hotline: Hotline,
    /// Full-time staff (专职工作人员), the manager not included.
    pub staff: Vec<StaffMember>,
    /// Dedicated fund (专项资金) in fen.
    pub fund_fen: i64,
    pub established_on: NaiveDate,
    /// The org is a department independent of the enterprise's others (Art. 4).
    pub independent_department: bool,
    /// When the hotline answers, if filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_hours: Option<ServiceHours>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ManagerChange {
    pub manager_name: String,
    pub manager_mobile: Mobile,
    pub effective_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OfficeChange {
    pub office_address: String,
    pub effective_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HotlineChange {
    pub hotline: Hotline,
    /// When the hotline answers after the change, if filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_hours: Option<ServiceHours>,
    pub effective_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StaffChange {
    /// The whole staff list after the change.
    pub staff: Vec<StaffMember>,
    pub effective_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Documents {
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delegation {
    /// The local developer whose org takes the duties over.
    #[schema(value_type = String)]
    pub delegate_credit_code: CreditCode,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

/// What a filing says, by kind. Files are attached separately, by slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payload {
    Establishment(Establishment),
    ManagerChange(ManagerChange),
    OfficeChange(OfficeChange),
    HotlineChange(HotlineChange),
    StaffChange(StaffChange),
    Documents(Documents),
    NoticeBoard(NoticeBoard),
    Delegation(Delegation),
}

impl Payload {
    pub fn kind(&self) -> Kind {
        match self {
            Payload::Establishment(_) => Kind::Establishment,
            Payload::ManagerChange(_) => Kind::ManagerChange,
            Payload::OfficeChange(_) => Kind::OfficeChange,
            Payload::HotlineChange(_) => Kind::HotlineChange,
            Payload::StaffChange(_) => Kind::StaffChange,
            Payload::Documents(_) => Kind::Documents,
            Payload::NoticeBoard(_) => Kind::NoticeBoard,
            Payload::Delegation(_) => Kind::Delegation,
        }
    }

    /// The date the filed fact took effect, where it has one.
    pub fn effective_on(&self) -> Option<NaiveDate> {
        match self {
            Payload::Establishment(e) => Some(e.established_on),
            Payload::ManagerChange(c) => Some(c.effective_on),
            Payload::OfficeChange(c) => Some(c.effective_on),
            Payload::HotlineChange(c) => Some(c.effective_on),
            Payload::StaffChange(c) => Some(c.effective_on),
            Payload::Delegation(d) => Some(d.valid_from),
            Payload::Documents(_) | Payload::NoticeBoard(_) => None,
        }
    }

    pub fn place(&self) -> Option<Place> {
        match self {
            Payload::NoticeBoard(b) => Some(b.place),
            _ => None,
        }
    }
}

/// Parses a yuan amount as typed in a form (`50000`, `5万`, `50,000.50`) into fen.
pub fn parse_yuan(s: &str) -> Option<i64> {
    let s = crate::text::clean(s).replace([',', '，', '元', ' '], "");
    let (s, scale) = match s.strip_suffix('万') {
        Some(rest) => (rest.to_string(), 10_000i64),
        None => (s, 1),
    };
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if frac.len() > 6 {
        return None;
    }
    let int: i64 = int.parse().ok()?;
    // The fraction in millionths, then in fen at the given scale (5.5万 = 55000元).
    let millionths: i64 = frac
        .chars()
        .chain(std::iter::repeat('0'))
        .take(6)
        .collect::<String>()
        .parse()
        .ok()?;
    int.checked_mul(scale * 100)?
        .checked_add(millionths * scale / 10_000)
}

pub fn format_yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan() {
        assert_eq!(parse_yuan("50000"), Some(5_000_000));
        assert_eq!(parse_yuan("50,000.5元"), Some(5_000_050));
        assert_eq!(parse_yuan("5万"), Some(5_000_000));
        assert_eq!(parse_yuan("5.5万"), Some(5_500_000));
        assert_eq!(parse_yuan("abc"), None);
        assert_eq!(parse_yuan("-5"), None);
        assert_eq!(format_yuan(5_000_050), "50000.50");
    }
}
