//! The fixed catalogue of metrics a rule may name (DESIGN §3: "a rule names its metric, never
//! code"). Each has a kind, the article and data it comes from, and whether it can be unknown
//! — a figure whose source data is missing, which a rule must then handle explicitly.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Yes or no.
    Bool,
    /// A whole number of things.
    Count,
    /// A share, 0–100.
    Percent,
    /// Any other number.
    Number,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Bool => "是/否",
            Kind::Count => "计数",
            Kind::Percent => "百分比",
            Kind::Number => "数值",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: Kind,
    pub label: &'static str,
    pub article: &'static str,
    pub source: &'static str,
    /// Whether the value can be unknown (source data missing): rules must say what then.
    pub may_be_unknown: bool,
}

const fn m(
    name: &'static str,
    kind: Kind,
    label: &'static str,
    article: &'static str,
    source: &'static str,
    may_be_unknown: bool,
) -> MetricDef {
    MetricDef {
        name,
        kind,
        label,
        article,
        source,
        may_be_unknown,
    }
}

/// Every metric, per enterprise and evaluation date (as of 31 December of the year).
pub const CATALOGUE: &[MetricDef] = &[
    m(
        "org_established",
        Kind::Bool,
        "已备案设立售后服务机构",
        "第四条、第六条",
        "filings: an approved establishment filing in force",
        false,
    ),
    m(
        "full_time_staff",
        Kind::Count,
        "专职工作人员数",
        "第五条",
        "filings: the staff list in force",
        false,
    ),
    m(
        "manager_named",
        Kind::Bool,
        "已明确机构经理",
        "第五条",
        "filings: the manager in force",
        false,
    ),
    m(
        "fund_yuan",
        Kind::Number,
        "售后服务专项资金（元）",
        "第四条",
        "filings: the fund of the establishment filing",
        false,
    ),
    m(
        "documents_approved",
        Kind::Count,
        "已备案的制度文件数（共4项）",
        "第十一条",
        "filings: approved Art. 11 documents",
        false,
    ),
    m(
        "board_coverage_pct",
        Kind::Percent,
        "公示牌覆盖率",
        "第十二条",
        "filings: approved boards over required places",
        true,
    ),
    m(
        "late_changes",
        Kind::Count,
        "逾期报备的变更数",
        "第六条",
        "filings: changes filed later than the rule set allows",
        false,
    ),
    m(
        "tickets",
        Kind::Count,
        "12345工单数",
        "第二十一条",
        "hotline: tickets attributed in the year",
        false,
    ),
    m(
        "complaint_rate_quartile",
        Kind::Count,
        "每百套投诉数在全市的四分位（1为最少）",
        "第二十一条",
        "hotline: tickets per 100 units delivered in 5 years, city quartile",
        true,
    ),
    m(
        "rated_tickets",
        Kind::Count,
        "已评价工单数",
        "第二十一条",
        "hotline: tickets with a satisfaction rating",
        true,
    ),
    m(
        "satisfaction_pct",
        Kind::Percent,
        "满意率（满意+基本满意）",
        "第二十一条",
        "hotline: satisfied and basically satisfied over rated",
        true,
    ),
    m(
        "answered_3d_pct",
        Kind::Percent,
        "转办件3日内反馈率",
        "第十五条",
        "hotline: answered within the window over forwarded tickets due",
        true,
    ),
    m(
        "revisited_7d_pct",
        Kind::Percent,
        "办结后7日内回访率",
        "第十七条",
        "hotline: revisited within 7 days over closed tickets due",
        true,
    ),
    m(
        "group_petitions",
        Kind::Count,
        "群体上访件数",
        "第十六条",
        "hotline: tickets flagged as group petitions",
        true,
    ),
    m(
        "petition_reports_late",
        Kind::Count,
        "群体上访面复逾期件数",
        "第十六条",
        "enforcement: petition follow-ups reported late or not at all",
        true,
    ),
    m(
        "complaints_per_100_units",
        Kind::Number,
        "每百套（近5年交付）投诉数",
        "第二十一条",
        "hotline: tickets over units delivered in the last 5 years, ×100",
        true,
    ),
    m(
        "handled_pct",
        Kind::Percent,
        "投诉处理率（已办结/工单数）",
        "青岛标准第四章第四项",
        "hotline: tickets closed by the evaluation date over tickets",
        true,
    ),
    m(
        "answered_3wd_pct",
        Kind::Percent,
        "3个工作日内做出处理意见的比例",
        "青岛标准第四章第七项",
        "hotline + working-day calendar: answered within 3 working days over forwarded tickets due",
        true,
    ),
    m(
        "owner_revisit_pct",
        Kind::Percent,
        "回访户数占已售房屋的比例",
        "青岛标准第五章第一项",
        "none yet: the platform holds no owner-revisit ledger, so this is always unknown",
        true,
    ),
    m(
        "overdue_orders",
        Kind::Count,
        "逾期未改正的责令整改通知数",
        "第二十二条",
        "enforcement: missed rectification deadlines counted for the year",
        false,
    ),
];

pub fn find(name: &str) -> Option<&'static MetricDef> {
    CATALOGUE.iter().find(|d| d.name == name)
}

/// A metric's value for one enterprise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Number(f64),
    /// Unknown, with why (e.g. "导出文件缺少“企业答复时间”列").
    Unknown {
        unknown: String,
    },
}

impl Value {
    pub fn unknown(reason: impl Into<String>) -> Value {
        Value::Unknown {
            unknown: reason.into(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(true) => f.write_str("是"),
            Value::Bool(false) => f.write_str("否"),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => write!(f, "{}", *n as i64),
            Value::Number(n) => write!(f, "{n:.1}"),
            Value::Unknown { unknown } => write!(f, "无数据（{unknown}）"),
        }
    }
}

/// One enterprise's metrics, by name.
pub type Inputs = BTreeMap<String, Value>;
