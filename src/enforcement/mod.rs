//! Enforcement (Art. 16, 22): cases against enterprises whose after-sales org was never set up
//! or does not work, their rectification deadlines on the working-day calendar, the overdue
//! facts the credit rules read, the cases the worklist suggests, and the follow-up of group
//! petitions.
//!
//! A case is a timeline of events (interview, rectification order, the enterprise's
//! submission, the officer's verification, closing); its state follows from them
//! ([`machine`]) and is kept on the case row so that lists filter without replaying events.

pub mod access;
pub mod deadline;
mod files;
pub mod machine;
mod mail;
pub mod petitions;
mod record;
mod store;
pub mod suggest;
pub mod tick;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

pub use files::{attach, file_for};
pub use record::{record, EventInput};
pub use store::{
    detail, get, list, open, overdue_for_year, CaseDetail, CaseFile, CaseListItem, Filter,
    OpenInput,
};

/// Why a case was opened (Art. 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ground {
    /// 未设立售后服务机构
    NoOrg,
    /// 售后服务机构未开展工作
    NotFunctioning,
    /// 其他 (described in text)
    Other,
}

impl Ground {
    pub const ALL: [Ground; 3] = [Ground::NoOrg, Ground::NotFunctioning, Ground::Other];

    pub fn code(self) -> &'static str {
        match self {
            Ground::NoOrg => "no_org",
            Ground::NotFunctioning => "not_functioning",
            Ground::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Ground> {
        Ground::ALL.into_iter().find(|g| g.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Ground::NoOrg => "未设立售后服务机构",
            Ground::NotFunctioning => "售后服务机构未开展工作",
            Ground::Other => "其他",
        }
    }
}

crate::text_column!(Ground, Ground::parse);

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CaseState)]
pub enum State {
    /// Opened; neither interviewed nor ordered yet.
    Opened,
    Interviewed,
    /// A rectification order is running towards its deadline.
    Ordered,
    /// The enterprise submitted its rectification; an officer verifies it.
    Submitted,
    /// The deadline passed without a passed verification (逾期未改正).
    Overdue,
    /// A verification passed.
    Rectified,
    Closed,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Opened,
        State::Interviewed,
        State::Ordered,
        State::Submitted,
        State::Overdue,
        State::Rectified,
        State::Closed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            State::Opened => "opened",
            State::Interviewed => "interviewed",
            State::Ordered => "ordered",
            State::Submitted => "submitted",
            State::Overdue => "overdue",
            State::Rectified => "rectified",
            State::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|g| g.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Opened => "已立案",
            State::Interviewed => "已约谈",
            State::Ordered => "限期整改中",
            State::Submitted => "整改待核查",
            State::Overdue => "逾期未改正",
            State::Rectified => "已整改",
            State::Closed => "已结案",
        }
    }
}

crate::text_column!(State, State::parse);

/// A case as stored.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Case {
    pub id: i64,
    pub enterprise_id: i64,
    pub ground: Ground,
    pub ground_text: String,
    pub state: State,
    /// The running order's document number (文号).
    pub document_no: Option<String>,
    /// The running deadline (Beijing date, inclusive).
    pub deadline: Option<NaiveDate>,
    /// How the deadline was set: `10个工作日`, `30日`, or a date.
    pub deadline_rule: Option<String>,
    /// The Beijing midnight after a missed deadline. Never cleared by a later rectification.
    pub overdue_at: Option<DateTime<Utc>>,
    /// The evaluation year the overdue counts for (Art. 22: −20, no 2A grade).
    pub overdue_year: Option<i32>,
    pub rectified_on: Option<NaiveDate>,
    /// The suggestion the case was opened from, if any.
    pub suggestion: Option<String>,
    pub opened_by: Option<i64>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Case {
    /// Whether the case still asks something of someone.
    pub fn is_active(&self) -> bool {
        !matches!(self.state, State::Rectified | State::Closed)
    }

    pub fn number(&self) -> String {
        case_number(self.id, self.opened_at)
    }
}

/// The number a case is known by in letters and mail: year of opening and id.
pub fn case_number(id: i64, opened_at: DateTime<Utc>) -> String {
    use chrono::Datelike;
    let year = opened_at.with_timezone(&crate::time::china()).year();
    format!("案〔{year}〕{id}号")
}

/// What happened on a case, as recorded in its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[schema(as = CaseEvent)]
pub enum Event {
    Opened {
        ground: Ground,
        ground_text: String,
    },
    /// 约谈
    Interview {
        held_on: NaiveDate,
        place: String,
        attendees: String,
        minutes: String,
    },
    /// 责令限期整改
    Order {
        document_no: String,
        requirements: String,
        issued_on: NaiveDate,
        deadline: NaiveDate,
        deadline_rule: String,
    },
    /// The enterprise's rectification.
    Submission {
        text: String,
    },
    /// The officer's check of a submission.
    Verification {
        passed: bool,
        reasons: String,
        new_deadline: Option<NaiveDate>,
        new_deadline_rule: Option<String>,
    },
    /// Recorded by the scheduler at the Beijing midnight after a missed deadline.
    Overdue {
        deadline: NaiveDate,
        evaluation_year: i32,
    },
    Closed {
        note: String,
    },
}

impl Event {
    pub fn code(&self) -> &'static str {
        match self {
            Event::Opened { .. } => "opened",
            Event::Interview { .. } => "interview",
            Event::Order { .. } => "order",
            Event::Submission { .. } => "submission",
            Event::Verification { .. } => "verification",
            Event::Overdue { .. } => "overdue",
            Event::Closed { .. } => "closed",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Event::Opened { .. } => "立案",
            Event::Interview { .. } => "约谈",
            Event::Order { .. } => "责令限期整改",
            Event::Submission { .. } => "企业提交整改材料",
            Event::Verification { passed: true, .. } => "核查通过",
            Event::Verification { passed: false, .. } => "核查未通过",
            Event::Overdue { .. } => "逾期未改正",
            Event::Closed { .. } => "结案",
        }
    }
}

/// One entry of a case's timeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub id: i64,
    pub event: Event,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub files: Vec<CaseFile>,
}

impl TimelineEntry {
    pub fn at_local(&self) -> String {
        crate::time::local(&self.at)
    }
}
