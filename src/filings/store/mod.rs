//! Storing filings and moving them through their lifecycle:
//! draft → submitted → approved | rejected (→ corrected and resubmitted), or withdrawn.
//! Every step checks who is asking, is audited, and keeps what was submitted at each revision
//! and every review, so the history stays visible after the state moves on.
//!
//! This file holds the types; [`access`] decides who may do what, [`read`] the queries,
//! [`lifecycle`] drafting and submitting, [`review`] the officers' decisions, [`files`] the
//! attachments and [`mail`] the wording of the messages to the enterprise.

mod access;
mod files;
mod lifecycle;
mod mail;
mod read;
mod review;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;

use super::{Kind, Payload, Status};
use crate::error::{Error, Result};

pub use files::{attach, detach, file_for};
pub use lifecycle::{create, submit, update, withdraw};
pub use read::{
    answerable_by_enterprise, answerable_projects, answerable_projects_in, approved, approved_all,
    approved_boards_in, detail, files, get, list,
};
pub use review::{approve, filing_delay_days, reject};

#[derive(Debug, Clone, FromRow)]
struct Row {
    id: i64,
    enterprise_id: i64,
    kind: Kind,
    status: Status,
    payload: String,
    revision: i64,
    late: bool,
    created_by: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    first_submitted_at: Option<DateTime<Utc>>,
    submitted_at: Option<DateTime<Utc>>,
    decided_at: Option<DateTime<Utc>>,
    decided_by: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Filing {
    pub id: i64,
    pub enterprise_id: i64,
    pub kind: Kind,
    pub status: Status,
    pub payload: Payload,
    /// How many times it has been submitted.
    pub revision: i64,
    /// An Art. 6 change first filed more than the rule set's deadline after it took effect.
    pub late: bool,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub first_submitted_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<i64>,
}

impl TryFrom<Row> for Filing {
    type Error = Error;
    fn try_from(r: Row) -> Result<Filing> {
        let payload = serde_json::from_str(&r.payload)
            .map_err(|e| Error::Internal(format!("备案 {} 的内容无法读取：{e}", r.id)))?;
        Ok(Filing {
            id: r.id,
            enterprise_id: r.enterprise_id,
            kind: r.kind,
            status: r.status,
            payload,
            revision: r.revision,
            late: r.late,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            first_submitted_at: r.first_submitted_at,
            submitted_at: r.submitted_at,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
        })
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, FromRow, utoipa::ToSchema)]
pub struct FileRef {
    pub id: i64,
    pub filing_id: i64,
    pub slot: String,
    pub sha256: String,
    pub original_name: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: DateTime<Utc>,
}

fn local(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref()
        .map(crate::time::local)
        .unwrap_or_else(|| "—".into())
}

impl Filing {
    pub fn submitted_local(&self) -> String {
        local(&self.submitted_at)
    }
    pub fn decided_local(&self) -> String {
        local(&self.decided_at)
    }
}

impl ListItem {
    pub fn submitted_local(&self) -> String {
        local(&self.submitted_at)
    }
    pub fn updated_local(&self) -> String {
        crate::time::local(&self.updated_at)
    }
}

impl Review {
    pub fn at_local(&self) -> String {
        crate::time::local(&self.at)
    }
}

impl Revision {
    pub fn submitted_local(&self) -> String {
        crate::time::local(&self.submitted_at)
    }
}

impl FileRef {
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Review {
    pub revision: i64,
    pub reviewer: String,
    pub decision: String,
    /// Reason per field (or `general`).
    pub reasons: BTreeMap<String, String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Revision {
    pub revision: i64,
    pub payload: Payload,
    pub files: Vec<FileRef>,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FilingDetail {
    #[serde(flatten)]
    pub filing: Filing,
    pub enterprise_name: String,
    pub county_id: i64,
    pub files: Vec<FileRef>,
    pub reviews: Vec<Review>,
    pub revisions: Vec<Revision>,
}

#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct ListItem {
    pub id: i64,
    pub enterprise_id: i64,
    pub enterprise_name: String,
    pub county_id: i64,
    pub county_name: String,
    pub kind: Kind,
    pub status: Status,
    pub revision: i64,
    pub late: bool,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    pub enterprise_id: Option<i64>,
    pub status: Option<Status>,
    pub kind: Option<Kind>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}
