//! What the approved filings add up to, computed rather than typed in: the org's current
//! state, which Art. 5 and Art. 11 requirements it misses, notice-board coverage of the
//! places Art. 12 names, and the Art. 7 hand-over to a parent.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::Serialize;

use super::store::{self, FileRef, Filing};
use super::{Kind, Payload, Place, StaffMember, DOCUMENT_SLOTS};
use crate::db::Conn;
use crate::error::Result;
use crate::registry::enterprise::{self, Enterprise};
use crate::registry::project::Project;
use crate::registry::{Grade, Status};
use crate::rules::{Resolved, RuleSet};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentRef {
    pub slot: String,
    pub label: String,
    pub filing_id: i64,
    pub file: FileRef,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DelegateRef {
    pub enterprise_id: i64,
    pub name: String,
    pub credit_code: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub filing_id: i64,
}

/// The organization as its approved filings describe it.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct OrgState {
    pub established: bool,
    pub established_on: Option<NaiveDate>,
    pub manager_name: Option<String>,
    pub manager_mobile: Option<String>,
    pub office_address: Option<String>,
    pub hotline: Option<String>,
    /// When the hotline answers, as last filed.
    pub service_hours: Option<crate::phone::ServiceHours>,
    pub staff: Vec<StaffMember>,
    pub fund_fen: i64,
    pub documents: Vec<DocumentRef>,
    pub delegate: Option<DelegateRef>,
    /// Approved Art. 6 changes that were filed late.
    pub late_changes: Vec<i64>,
    /// Every approved filing, in the order it took effect: the history.
    pub history: Vec<HistoryItem>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryItem {
    pub filing_id: i64,
    pub kind: Kind,
    pub effective_on: Option<NaiveDate>,
    pub decided_at: Option<DateTime<Utc>>,
    pub late: bool,
}

/// Folds approved filings, in the order they took effect, into the current state.
pub fn fold(
    approved: &[(Filing, Vec<FileRef>)],
    delegates: &BTreeMap<String, Enterprise>,
    on: NaiveDate,
) -> OrgState {
    let mut s = OrgState::default();
    for (f, files) in approved {
        if f.payload.effective_on().is_some_and(|d| d > on) {
            continue;
        }
        s.history.push(HistoryItem {
            filing_id: f.id,
            kind: f.kind,
            effective_on: f.payload.effective_on(),
            decided_at: f.decided_at,
            late: f.late,
        });
        if f.late {
            s.late_changes.push(f.id);
        }
        match &f.payload {
            Payload::Establishment(e) => {
                s.established = true;
                s.established_on = Some(e.established_on);
                s.manager_name = Some(e.manager_name.clone());
                s.manager_mobile = Some(e.manager_mobile.to_string());
                s.office_address = Some(e.office_address.clone());
                s.hotline = Some(e.hotline.to_string());
                s.service_hours = e.service_hours;
                s.staff = e.staff.clone();
                s.fund_fen = e.fund_fen;
            }
            Payload::ManagerChange(c) => {
                s.manager_name = Some(c.manager_name.clone());
                s.manager_mobile = Some(c.manager_mobile.to_string());
            }
            Payload::OfficeChange(c) => s.office_address = Some(c.office_address.clone()),
            Payload::HotlineChange(c) => {
                s.hotline = Some(c.hotline.to_string());
                // A change that does not mention the hours keeps those filed before.
                s.service_hours = c.service_hours.or(s.service_hours);
            }
            Payload::StaffChange(c) => s.staff = c.staff.clone(),
            Payload::Documents(_) => {
                for file in files {
                    if let Some((slot, label)) =
                        DOCUMENT_SLOTS.iter().find(|(slot, _)| *slot == file.slot)
                    {
                        s.documents.retain(|d| d.slot != *slot);
                        s.documents.push(DocumentRef {
                            slot: slot.to_string(),
                            label: label.to_string(),
                            filing_id: f.id,
                            file: file.clone(),
                        });
                    }
                }
            }
            Payload::NoticeBoard(_) => {}
            Payload::Delegation(d) => {
                if d.valid_to.is_none_or(|to| to >= on) {
                    if let Some(e) = delegates.get(d.delegate_credit_code.as_str()) {
                        s.delegate = Some(DelegateRef {
                            enterprise_id: e.id,
                            name: e.name.clone(),
                            credit_code: e.credit_code.to_string(),
                            valid_from: d.valid_from,
                            valid_to: d.valid_to,
                            filing_id: f.id,
                        });
                    }
                }
            }
        }
    }
    s.documents
        .sort_by_key(|d| DOCUMENT_SLOTS.iter().position(|(slot, _)| *slot == d.slot));
    s
}

/// The org state of an enterprise on a date.
pub async fn org_state(conn: &mut Conn<'_>, enterprise_id: i64, on: NaiveDate) -> Result<OrgState> {
    let approved = store::approved(conn, enterprise_id).await?;
    let mut delegates = BTreeMap::new();
    for (f, _) in &approved {
        if let Payload::Delegation(d) = &f.payload {
            if let Some(e) = enterprise::find_by_code(conn, &d.delegate_credit_code).await? {
                delegates.insert(d.delegate_credit_code.to_string(), e);
            }
        }
    }
    Ok(fold(&approved, &delegates, on))
}

/// A requirement the org does not meet, with the article it comes from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Gap {
    pub code: String,
    pub article: String,
    pub message: String,
}

fn gap(code: &str, article: &str, message: String) -> Gap {
    Gap {
        code: code.into(),
        article: article.into(),
        message,
    }
}

/// Which of Art. 4, 5 and 11 the state misses under the rule set, for an enterprise of
/// `grade`. The staff minimum comes from the rule set (2 in Jining; 3 or 1 by grade in
/// Qingdao).
pub fn gaps(
    state: &OrgState,
    grade: Grade,
    rules: &RuleSet,
    on: NaiveDate,
) -> (Vec<Gap>, Resolved) {
    let min_staff = rules.value("min_staff", on, Some(grade));
    let mut out = Vec::new();
    if !state.established {
        out.push(gap(
            "no_org",
            "第四条",
            "未设立售后服务机构（无已通过的设立备案）".into(),
        ));
        return (out, min_staff);
    }
    if state
        .manager_name
        .as_deref()
        .is_none_or(|m| m.trim().is_empty())
    {
        out.push(gap("no_manager", "第五条", "未明确机构经理".into()));
    }
    let have = state.staff.len() as i64;
    if have < min_staff.value {
        out.push(gap(
            "staff_below_minimum",
            &min_staff.article,
            format!("专职工作人员{have}人，少于规定的{}人", min_staff.value),
        ));
    }
    if state.fund_fen <= 0 {
        out.push(gap("no_fund", "第五条", "未设立售后服务专项资金".into()));
    }
    let missing: Vec<&str> = DOCUMENT_SLOTS
        .iter()
        .filter(|(slot, _)| !state.documents.iter().any(|d| d.slot == *slot))
        .map(|(_, l)| *l)
        .collect();
    if !missing.is_empty() {
        out.push(gap(
            "documents_missing",
            "第十一条",
            format!("未公开：{}", missing.join("、")),
        ));
    }
    (out, min_staff)
}

/// Art. 7: a revoked or cancelled subsidiary's org duties pass to its parent from that date.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Handover {
    pub parent_id: i64,
    pub parent_name: String,
    pub since: NaiveDate,
}

pub async fn handover(conn: &mut Conn<'_>, e: &Enterprise) -> Result<Option<Handover>> {
    match (e.status, e.status_date, e.parent_id) {
        (Status::Revoked | Status::Cancelled, Some(since), Some(parent_id)) => {
            let parent = enterprise::get(conn, parent_id).await?;
            Ok(Some(Handover {
                parent_id,
                parent_name: parent.name,
                since,
            }))
        }
        _ => Ok(None),
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequiredPlace {
    pub place: Place,
    pub label: String,
    /// Why the board is required here.
    pub reason: String,
    /// The approved notice-board filing that covers it.
    pub evidence_filing_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Coverage {
    pub as_of: NaiveDate,
    pub places: Vec<RequiredPlace>,
    pub required: usize,
    pub covered: usize,
    /// 0–100, rounded down.
    pub percent: u32,
    pub lookback: Resolved,
}

impl Coverage {
    pub fn complete(&self) -> bool {
        self.covered == self.required
    }

    pub fn uncovered(&self) -> impl Iterator<Item = &RequiredPlace> {
        self.places
            .iter()
            .filter(|p| p.evidence_filing_id.is_none())
    }
}

/// What coverage needs of a project: the worklist loads only these columns for a whole city.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BoardProject {
    pub id: i64,
    pub enterprise_id: i64,
    pub name: String,
    pub sales_site_open: bool,
    pub delivery_date: Option<NaiveDate>,
}

impl From<Project> for BoardProject {
    fn from(p: Project) -> BoardProject {
        BoardProject {
            id: p.id,
            enterprise_id: p.enterprise_id,
            name: p.name,
            sales_site_open: p.sales_site_open,
            delivery_date: p.delivery_date,
        }
    }
}

/// Approved notice boards per filing enterprise, as (filing id, place) in the order they were
/// decided: the first board at a place is its evidence.
pub type BoardsByOwner = HashMap<i64, Vec<(i64, Place)>>;

/// The places Art. 12 requires a board at on `as_of` — the org office, every open sales site,
/// every community delivered in the last N years (N from the rule set; delivered exactly N
/// years before still counts) — against approved evidence. Handed-over projects of revoked
/// subsidiaries count for the parent, and so does their evidence.
pub async fn coverage(
    conn: &mut Conn<'_>,
    e: &Enterprise,
    rules: &RuleSet,
    as_of: NaiveDate,
) -> Result<Coverage> {
    let projects: Vec<BoardProject> = store::answerable_projects(conn, e.id, as_of)
        .await?
        .into_iter()
        .map(BoardProject::from)
        .collect();
    let mut boards = BoardsByOwner::new();
    for owner in owners(e.id, &projects) {
        let mut own = Vec::new();
        for (f, _) in store::approved(conn, owner).await? {
            if let Payload::NoticeBoard(b) = &f.payload {
                own.push((f.id, b.place));
            }
        }
        boards.insert(owner, own);
    }
    Ok(coverage_of(e.id, &projects, &boards, rules, as_of))
}

/// The enterprise itself and the owners of the projects it answers for, in id order.
fn owners(enterprise_id: i64, projects: &[BoardProject]) -> Vec<i64> {
    let mut owners: Vec<i64> = vec![enterprise_id];
    owners.extend(projects.iter().map(|p| p.enterprise_id));
    owners.sort_unstable();
    owners.dedup();
    owners
}

/// [`coverage`] computed from rows already loaded: the projects the enterprise answers for
/// (in the order they are listed) and the approved boards of every enterprise involved. The
/// worklist loads these for a whole county at once and calls this per enterprise.
pub fn coverage_of(
    enterprise_id: i64,
    projects: &[BoardProject],
    boards: &BoardsByOwner,
    rules: &RuleSet,
    as_of: NaiveDate,
) -> Coverage {
    let lookback = rules.value("board_lookback_years", as_of, None);
    let since = u32::try_from(lookback.value)
        .ok()
        .and_then(|years| years.checked_mul(12))
        .and_then(|months| as_of.checked_sub_months(Months::new(months)))
        .unwrap_or(NaiveDate::MIN);
    // The first approved board at each place is its evidence; a map keeps the lookups per
    // project constant-time however many boards and projects there are.
    let mut evidence: HashMap<Place, i64> = HashMap::new();
    for owner in owners(enterprise_id, projects) {
        for (filing_id, place) in boards.get(&owner).map(Vec::as_slice).unwrap_or_default() {
            // The org office board is the filing enterprise's own; project boards are the project's.
            if owner == enterprise_id || place.project_id().is_some() {
                evidence.entry(*place).or_insert(*filing_id);
            }
        }
    }
    let find = |place: Place| evidence.get(&place).copied();
    let mut places = vec![RequiredPlace {
        place: Place::OrgOffice,
        label: "售后服务机构办公场所".into(),
        reason: "第十二条：机构办公场所".into(),
        evidence_filing_id: find(Place::OrgOffice),
    }];
    for p in projects {
        if p.sales_site_open {
            let place = Place::SalesSite { project_id: p.id };
            places.push(RequiredPlace {
                place,
                label: format!("{} 销售场所", p.name),
                reason: "售楼处开放中".into(),
                evidence_filing_id: find(place),
            });
        }
        if let Some(d) = p.delivery_date.filter(|d| *d >= since && *d <= as_of) {
            let place = Place::Community { project_id: p.id };
            places.push(RequiredPlace {
                place,
                label: format!("{} 小区", p.name),
                reason: format!("{d} 交付，在近{}年内", lookback.value),
                evidence_filing_id: find(place),
            });
        }
    }
    let required = places.len();
    let covered = places
        .iter()
        .filter(|p| p.evidence_filing_id.is_some())
        .count();
    let percent = (covered * 100).checked_div(required).unwrap_or(100) as u32;
    Coverage {
        as_of,
        places,
        required,
        covered,
        percent,
        lookback,
    }
}

/// Everything the org page shows for one enterprise.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrgView {
    pub enterprise_id: i64,
    pub as_of: NaiveDate,
    pub state: OrgState,
    pub gaps: Vec<Gap>,
    pub min_staff: Resolved,
    /// Set when the enterprise is revoked or cancelled and its parent answers for it.
    pub handover: Option<Handover>,
    /// Set when an out-of-town enterprise delegated its duties: the delegate's state and gaps.
    pub delegate_gaps: Option<Vec<Gap>>,
    pub coverage: Coverage,
}

pub async fn view(
    conn: &mut Conn<'_>,
    e: &Enterprise,
    rules: &RuleSet,
    as_of: NaiveDate,
) -> Result<OrgView> {
    let state = org_state(conn, e.id, as_of).await?;
    let (mut gaps_found, min_staff) = gaps(&state, e.grade, rules, as_of);
    let mut delegate_gaps = None;
    if let Some(d) = &state.delegate {
        // A delegated org meets Art. 4 through the delegate; the delegate's gaps are shown instead.
        gaps_found.retain(|g| g.code != "no_org");
        let delegate = enterprise::get(conn, d.enterprise_id).await?;
        let dstate = org_state(conn, delegate.id, as_of).await?;
        delegate_gaps = Some(gaps(&dstate, delegate.grade, rules, as_of).0);
    }
    let handover = handover(conn, e).await?;
    let coverage = coverage(conn, e, rules, as_of).await?;
    Ok(OrgView {
        enterprise_id: e.id,
        as_of,
        state,
        gaps: gaps_found,
        min_staff,
        handover,
        delegate_gaps,
        coverage,
    })
}
