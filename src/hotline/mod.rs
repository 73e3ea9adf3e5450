//! 12345 hotline tickets (Art. 13–17): imported from the hotline platform's exports,
//! attributed to the enterprise they are about, classified by the complaint taxonomy of
//! seeds/004, and measured per enterprise and period with polars (Art. 15 three-day
//! response, Art. 17 seven-day revisit, satisfaction, complaints per 100 units).
//!
//! Ticket times are stored as UTC epoch seconds (BIGINT) on both backends: the metrics load
//! millions of them, and integers cost nothing to decode or compare.

pub mod attribute;
pub mod bench;
pub mod classify;
pub mod facts;
mod facts_store;
pub mod import;
pub mod metrics;
pub mod petition;
mod produce;
pub mod profile;
pub mod queue;
pub mod row;
pub mod served;
mod tally;
pub mod tickets;
pub mod view;
mod write;

use serde::{Deserialize, Serialize};

/// Maps an import consults for every row (ticket numbers, names): a fast seeded hash, since
/// SipHash was 5 % of the time of a million-row import.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The caller's verdict when the ticket was revisited (回访满意度).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    Basically,
    Dissatisfied,
    Unrated,
}

impl Satisfaction {
    pub fn code(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::Basically => "basically",
            Satisfaction::Dissatisfied => "dissatisfied",
            Satisfaction::Unrated => "unrated",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "满意",
            Satisfaction::Basically => "基本满意",
            Satisfaction::Dissatisfied => "不满意",
            Satisfaction::Unrated => "未评价",
        }
    }

    pub fn from_code(s: &str) -> Option<Satisfaction> {
        [
            Satisfaction::Satisfied,
            Satisfaction::Basically,
            Satisfaction::Dissatisfied,
            Satisfaction::Unrated,
        ]
        .into_iter()
        .find(|x| x.code() == s)
    }

    /// Reads what exports write: 满意 / 非常满意 / 比较满意 / 基本满意 / 一般 / 不满意 /
    /// 很不满意 / 未评价 / 未回访 / empty, and the codes.
    pub fn parse(s: &str) -> Option<Satisfaction> {
        let s = crate::text::clean_cow(s);
        if s.is_empty() {
            return Some(Satisfaction::Unrated);
        }
        if let Some(x) = Satisfaction::from_code(&s) {
            return Some(x);
        }
        Some(match s.as_ref() {
            "满意" | "非常满意" | "很满意" | "十分满意" => Satisfaction::Satisfied,
            "基本满意" | "比较满意" | "较满意" | "一般" => Satisfaction::Basically,
            "不满意" | "很不满意" | "非常不满意" | "不太满意" => {
                Satisfaction::Dissatisfied
            }
            "未评价" | "未回访" | "无评价" | "拒绝评价" | "未接通" | "无" | "-" | "/" => {
                Satisfaction::Unrated
            }
            _ => return None,
        })
    }

    /// Counted in the satisfaction rate's denominator.
    pub fn rated(self) -> bool {
        self != Satisfaction::Unrated
    }
}

crate::text_column!(Satisfaction, Satisfaction::from_code);

/// How a ticket was tied to an enterprise, in the order the attributor tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    CreditCode,
    EnterpriseName,
    EnterpriseAlias,
    ProjectName,
    ProjectAlias,
    Fuzzy,
    Manual,
    Unmatched,
}

impl Attribution {
    pub const ALL: [Attribution; 8] = [
        Attribution::CreditCode,
        Attribution::EnterpriseName,
        Attribution::EnterpriseAlias,
        Attribution::ProjectName,
        Attribution::ProjectAlias,
        Attribution::Fuzzy,
        Attribution::Manual,
        Attribution::Unmatched,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Attribution::CreditCode => "credit_code",
            Attribution::EnterpriseName => "enterprise_name",
            Attribution::EnterpriseAlias => "enterprise_alias",
            Attribution::ProjectName => "project_name",
            Attribution::ProjectAlias => "project_alias",
            Attribution::Fuzzy => "fuzzy",
            Attribution::Manual => "manual",
            Attribution::Unmatched => "unmatched",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Attribution::CreditCode => "信用代码",
            Attribution::EnterpriseName => "企业名称",
            Attribution::EnterpriseAlias => "企业别名",
            Attribution::ProjectName => "项目名称",
            Attribution::ProjectAlias => "项目别名",
            Attribution::Fuzzy => "模糊匹配",
            Attribution::Manual => "人工指定",
            Attribution::Unmatched => "未匹配",
        }
    }

    pub fn parse(s: &str) -> Option<Attribution> {
        Attribution::ALL.into_iter().find(|a| a.code() == s)
    }
}

crate::text_column!(Attribution, Attribution::parse);

/// Severity tiers of seeds/004.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    General,
    Important,
    Special,
}

impl Severity {
    pub fn code(self) -> &'static str {
        match self {
            Severity::General => "general",
            Severity::Important => "important",
            Severity::Special => "special",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::General => "一般",
            Severity::Important => "重要",
            Severity::Special => "特殊",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::General, Severity::Important, Severity::Special]
            .into_iter()
            .find(|x| x.code() == s)
    }
}

crate::text_column!(Severity, Severity::parse);

/// Seconds in a day, for the deadlines the measures set in days.
pub const DAY: i64 = 86_400;
