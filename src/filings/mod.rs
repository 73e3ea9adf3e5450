//! Filings (备案) of the after-sales service organization: its establishment (Art. 4–5),
//! changes of manager, office, hotline or staff (Art. 6), its published documents (Art. 11),
//! notice-board evidence (Art. 12) and, where the rule set allows it (Qingdao), delegation
//! to a local developer's organization. An enterprise drafts and submits; an officer of its
//! county approves or rejects with reasons per field. Approved filings make up the org's
//! current state ([`state`]); nothing is overwritten, so the history stays visible.

pub mod state;
pub mod store;
pub mod worklist;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::phone::{Hotline, Mobile};
use crate::registry::enterprise::Enterprise;
use crate::registry::project::Project;
use crate::registry::CreditCode;
use crate::rules::RuleSet;

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

/// Where a notice board stands (Art. 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Place {
    OrgOffice,
    SalesSite { project_id: i64 },
    Community { project_id: i64 },
}

impl Place {
    pub fn kind_code(self) -> &'static str {
        match self {
            Place::OrgOffice => "org_office",
            Place::SalesSite { .. } => "sales_site",
            Place::Community { .. } => "community",
        }
    }

    pub fn project_id(self) -> Option<i64> {
        match self {
            Place::OrgOffice => None,
            Place::SalesSite { project_id } | Place::Community { project_id } => Some(project_id),
        }
    }

    pub fn from_columns(kind: Option<&str>, project_id: Option<i64>) -> Option<Place> {
        match (kind?, project_id) {
            ("org_office", _) => Some(Place::OrgOffice),
            ("sales_site", Some(project_id)) => Some(Place::SalesSite { project_id }),
            ("community", Some(project_id)) => Some(Place::Community { project_id }),
            _ => None,
        }
    }
}

/// The five contents Art. 12 requires on a board.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BoardContents {
    pub service_content: bool,
    pub responsible_person: bool,
    pub office_address: bool,
    pub service_phone: bool,
    pub guidance_phone: bool,
}

impl BoardContents {
    pub const LABELS: [&'static str; 5] = [
        "售后服务内容",
        "负责人姓名",
        "办公地址",
        "售后服务电话",
        "主管部门指导电话",
    ];

    pub fn flags(&self) -> [bool; 5] {
        [
            self.service_content,
            self.responsible_person,
            self.office_address,
            self.service_phone,
            self.guidance_phone,
        ]
    }

    pub fn missing(&self) -> Vec<&'static str> {
        self.flags()
            .iter()
            .zip(Self::LABELS)
            .filter(|(f, _)| !**f)
            .map(|(_, l)| l)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeBoard {
    pub place: Place,
    /// As filed; checked into a [`BoardCm`] before anything is computed from it.
    #[serde(deserialize_with = "width_cm")]
    pub width_cm: i64,
    #[serde(deserialize_with = "height_cm")]
    pub height_cm: i64,
    pub contents: BoardContents,
}

impl NoticeBoard {
    /// Width and height as bounded lengths; the error names the side that is out of range.
    pub fn size(&self) -> Result<(BoardCm, BoardCm)> {
        let side = |field: &str, cm: i64| {
            BoardCm::new(cm).ok_or_else(|| Error::invalid(field, BoardCm::range_message(cm)))
        };
        Ok((
            side("width_cm", self.width_cm)?,
            side("height_cm", self.height_cm)?,
        ))
    }
}

// A side too large even for an i64 fails in the JSON itself; the payload is a tagged enum,
// so serde cannot say where. These name the field in the message.
fn width_cm<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    side_cm(d, "width_cm")
}

fn height_cm<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    side_cm(d, "height_cm")
}

fn side_cm<'de, D: serde::Deserializer<'de>>(
    d: D,
    field: &str,
) -> std::result::Result<i64, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    v.as_i64().ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{field}: 应为 1–{} 之间的整数厘米，填写的是 {v}",
            BoardCm::MAX
        ))
    })
}

/// One side of a notice board in whole centimetres, 1 cm to 100 m: anything a person could
/// have measured, so arithmetic on it cannot overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BoardCm(u16);

impl BoardCm {
    pub const MAX: u16 = 10_000;

    pub fn new(cm: i64) -> Option<BoardCm> {
        u16::try_from(cm)
            .ok()
            .filter(|cm| (1..=Self::MAX).contains(cm))
            .map(BoardCm)
    }

    /// A length as typed in a form: whole centimetres, full-width digits allowed.
    pub fn parse(s: &str) -> std::result::Result<BoardCm, String> {
        let s = crate::text::clean(s);
        if s.is_empty() {
            return Err("请填写尺寸（厘米）".into());
        }
        if !s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return Err(format!("“{s}”不是整数厘米"));
        }
        match s.parse::<i64>() {
            Ok(cm) => BoardCm::new(cm).ok_or_else(|| Self::range_message(cm)),
            Err(_) => Err(format!("“{s}”超出 1–{} 厘米的范围", Self::MAX)),
        }
    }

    fn range_message(cm: i64) -> String {
        format!("尺寸应在 1–{} 厘米之间，填写的是 {cm}", Self::MAX)
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

impl std::fmt::Display for BoardCm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
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

/// What validating a payload needs to know.
pub struct Context<'a> {
    pub enterprise: &'a Enterprise,
    /// Projects whose boards this enterprise answers for (its own and handed-over ones).
    pub projects: &'a [Project],
    pub rules: &'a RuleSet,
    pub today: NaiveDate,
    /// The delegate named by a delegation, when it is registered.
    pub delegate: Option<&'a Enterprise>,
}

fn required(field: &str, value: &str, label: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::invalid(field, format!("{label}不能为空")))
    } else {
        Ok(())
    }
}

fn not_future(field: &str, date: NaiveDate, today: NaiveDate) -> Result<()> {
    if date > today {
        Err(Error::invalid(
            field,
            format!("日期 {date} 晚于今天，请填写实际生效日期"),
        ))
    } else {
        Ok(())
    }
}

/// Most full-time staff one org may list; far above any real org, low enough that checking a
/// list stays cheap.
pub const MAX_STAFF: usize = 500;

fn check_staff(staff: &[StaffMember]) -> Result<()> {
    if staff.len() > MAX_STAFF {
        return Err(Error::invalid(
            "staff",
            format!("专职工作人员最多{MAX_STAFF}名，填写了{}名", staff.len()),
        ));
    }
    let mut mobiles = std::collections::HashSet::with_capacity(staff.len());
    for (i, m) in staff.iter().enumerate() {
        if m.name.trim().is_empty() {
            return Err(Error::invalid(
                "staff",
                format!("第{}名工作人员的姓名为空", i + 1),
            ));
        }
        if !mobiles.insert(m.mobile.as_str()) {
            return Err(Error::invalid(
                "staff",
                format!("工作人员手机号 {} 重复", m.mobile),
            ));
        }
    }
    Ok(())
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

    /// Checks what the form cannot: dates, required text, board size and contents against
    /// the rule set, the project a board stands at, the delegate.
    pub fn check(&self, ctx: &Context<'_>) -> Result<()> {
        match self {
            Payload::Establishment(e) => {
                required("manager_name", &e.manager_name, "机构经理姓名")?;
                required("office_address", &e.office_address, "办公场所地址")?;
                check_staff(&e.staff)?;
                if e.fund_fen < 0 {
                    return Err(Error::invalid("fund_fen", "专项资金不能为负数"));
                }
                not_future("established_on", e.established_on, ctx.today)?;
                if !e.independent_department {
                    return Err(Error::invalid(
                        "independent_department",
                        "售后服务机构须为独立于企业其他部门的职能部门（第四条），请确认",
                    ));
                }
            }
            Payload::ManagerChange(c) => {
                required("manager_name", &c.manager_name, "新任经理姓名")?;
                not_future("effective_on", c.effective_on, ctx.today)?;
            }
            Payload::OfficeChange(c) => {
                required("office_address", &c.office_address, "新办公场所地址")?;
                not_future("effective_on", c.effective_on, ctx.today)?;
            }
            Payload::HotlineChange(c) => not_future("effective_on", c.effective_on, ctx.today)?,
            Payload::StaffChange(c) => {
                check_staff(&c.staff)?;
                not_future("effective_on", c.effective_on, ctx.today)?;
            }
            Payload::Documents(_) => {}
            Payload::NoticeBoard(b) => {
                if let Some(pid) = b.place.project_id() {
                    if !ctx.projects.iter().any(|p| p.id == pid) {
                        return Err(Error::invalid("place", "所选项目不属于本企业"));
                    }
                }
                let (w, h) = b.size()?;
                let width = ctx.rules.value("board_width_cm", ctx.today, None).value;
                let height = ctx.rules.value("board_height_cm", ctx.today, None).value;
                // Boards are measured by hand: a few centimetres either way is the same board.
                // The rule set's values are data too, hence the checked difference.
                const TOLERANCE_CM: i64 = 5;
                let off = |filed: BoardCm, rule: i64| {
                    filed
                        .get()
                        .checked_sub(rule)
                        .is_none_or(|d| d.abs() > TOLERANCE_CM)
                };
                if off(w, width) || off(h, height) {
                    return Err(Error::invalid(
                        "size",
                        format!("公示牌规格应为 {width}cm × {height}cm（第十二条），填写的是 {}cm × {}cm", b.width_cm, b.height_cm),
                    ));
                }
                let missing = b.contents.missing();
                if !missing.is_empty() {
                    return Err(Error::invalid(
                        "contents",
                        format!("公示牌缺少第十二条要求的内容：{}", missing.join("、")),
                    ));
                }
            }
            Payload::Delegation(d) => {
                if ctx.rules.value("delegation_allowed", ctx.today, None).value == 0 {
                    return Err(Error::invalid(
                        "delegate_credit_code",
                        format!(
                            "现行规则（{}）不允许委托其他企业的售后服务机构",
                            ctx.rules.title
                        ),
                    ));
                }
                if ctx.enterprise.is_local {
                    return Err(Error::invalid(
                        "delegate_credit_code",
                        "只有外地开发企业可以委托本地企业的售后服务机构",
                    ));
                }
                let delegate = ctx.delegate.ok_or_else(|| {
                    Error::invalid(
                        "delegate_credit_code",
                        format!("受托企业 {} 未登记", d.delegate_credit_code),
                    )
                })?;
                if delegate.id == ctx.enterprise.id
                    || !delegate.is_local
                    || delegate.status != crate::registry::Status::Active
                {
                    return Err(Error::invalid(
                        "delegate_credit_code",
                        "受托企业须为状态正常的本地开发企业",
                    ));
                }
                if d.valid_to.is_some_and(|to| to <= d.valid_from) {
                    return Err(Error::invalid("valid_to", "委托截止日期须晚于起始日期"));
                }
            }
        }
        Ok(())
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

    #[test]
    fn board_sizes_are_bounded() {
        assert_eq!(BoardCm::parse("120").map(BoardCm::get), Ok(120));
        assert_eq!(BoardCm::parse("１２０").map(BoardCm::get), Ok(120));
        for bad in [
            "",
            "0",
            "-120",
            "10001",
            "-9223372036854775688",
            "1e3",
            "12.5",
            "abc",
        ] {
            assert!(BoardCm::parse(bad).is_err(), "{bad}");
        }
        assert!(BoardCm::new(i64::MIN).is_none() && BoardCm::new(i64::MAX).is_none());
        let board = NoticeBoard {
            place: Place::OrgOffice,
            width_cm: -9_223_372_036_854_775_688,
            height_cm: 90,
            contents: BoardContents::default(),
        };
        match board.size() {
            Err(Error::Invalid(inv)) => assert_eq!(inv.field, "width_cm"),
            other => panic!("{other:?}"),
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn board_size_parse_never_panics(s in any::<String>()) {
                let _ = BoardCm::parse(&s);
            }

            #[test]
            fn any_integer_is_bounded_or_refused(cm in any::<i64>()) {
                match BoardCm::new(cm) {
                    Some(b) => prop_assert!((1..=i64::from(BoardCm::MAX)).contains(&b.get()) && b.get() == cm),
                    None => prop_assert!(!(1..=i64::from(BoardCm::MAX)).contains(&cm)),
                }
                prop_assert_eq!(BoardCm::parse(&cm.to_string()).ok(), BoardCm::new(cm));
            }

            #[test]
            fn valid_sizes_round_trip(cm in 1i64..=10_000) {
                let b = BoardCm::parse(&cm.to_string()).unwrap();
                prop_assert_eq!(b.get(), cm);
                prop_assert_eq!(BoardCm::parse(&b.to_string()), Ok(b));
            }
        }
    }
}
