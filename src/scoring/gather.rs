//! The metric catalogue ([`super::metrics`]) computed for every enterprise of the city for an
//! evaluation year, in bulk: a fixed handful of statements and one pass over the tickets'
//! facts copy, whatever the number of enterprises. What comes out is the run's input
//! snapshot, hashed so that a re-run on the same data can be shown to be the same.
//!
//! Sources: the approved filings folded as of the evaluation date (org state, Art. 4–6, 11),
//! notice-board coverage (Art. 12), the hotline metrics of the year (Art. 15, 17, 21, with
//! the Art. 7 roll-up of revoked subsidiaries' tickets and units to the parent), group-petition
//! reports (Art. 16) and missed rectification deadlines (Art. 22).

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::metrics::{Inputs, Value};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::filings::state;
use crate::filings::{store as filings, Payload};
use crate::hotline::facts::Table;
use crate::hotline::metrics::{self as hotline, EnterpriseMetrics};
use crate::hotline::tickets::day_start;
use crate::on_conn;
use crate::registry::{enterprise, Grade};
use crate::rules::RuleSet;

/// One enterprise as evaluated: who it is and its metrics.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subject {
    pub enterprise_id: i64,
    pub name: String,
    pub credit_code: String,
    pub county_id: i64,
    pub county_name: String,
    pub grade: Grade,
    pub inputs: Inputs,
}

/// Every enterprise in scope for a year, in id order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub year: i32,
    pub as_of: NaiveDate,
    pub subjects: Vec<Subject>,
}

impl Snapshot {
    /// SHA-256 of the snapshot's canonical JSON (maps are ordered, numbers print the same on
    /// every machine): equal inputs, equal hash.
    pub fn hash(&self) -> Result<String> {
        let bytes = serde_json::to_vec(self).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(hex(&Sha256::digest(bytes)))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    credit_code: String,
    county_id: i64,
    county_name: String,
    grade: Grade,
}

/// The evaluation date of a year: 31 December, or `today` while the year runs.
pub fn as_of(year: i32, today: NaiveDate) -> Option<NaiveDate> {
    let end = NaiveDate::from_ymd_opt(year, 12, 31)?;
    Some(end.min(today))
}

/// The metrics of every enterprise active in the city during `year` (active now, or revoked
/// or cancelled during or after it), as of `as_of`.
pub async fn gather(
    conn: &mut Conn<'_>,
    facts: std::sync::Arc<Table>,
    rules: &RuleSet,
    year: i32,
    as_of: NaiveDate,
) -> Result<Snapshot> {
    let start = NaiveDate::from_ymd_opt(year, 1, 1).ok_or(Error::invalid("year", "年份无效"))?;
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, Row>(
            "SELECT e.id, e.name, e.credit_code, e.county_id, j.name AS county_name, e.grade
             FROM enterprises e JOIN jurisdictions j ON j.id = e.county_id
             WHERE e.status = 'active' OR e.status_date >= $1
             ORDER BY e.id",
        )
        .bind(start)
        .fetch_all(c)
        .await
    })?;
    // As of the evaluation date: a filing approved later (even one taking effect earlier)
    // did not count then, and must not change a re-run of a past year.
    let cutoff = as_of_end_utc(as_of)?;
    let mut approved = filings::approved_all(conn).await?;
    for list in approved.values_mut() {
        list.retain(|(f, _)| f.decided_at.is_some_and(|d| d < cutoff));
    }
    let mut codes: Vec<crate::registry::CreditCode> = approved
        .values()
        .flatten()
        .filter_map(|(f, _)| match &f.payload {
            Payload::Delegation(d) => Some(d.delegate_credit_code.clone()),
            _ => None,
        })
        .collect();
    codes.sort_by_key(|c| c.to_string());
    codes.dedup_by_key(|c| c.to_string());
    let mut delegates = BTreeMap::new();
    for code in codes {
        if let Some(e) = enterprise::find_by_code(conn, &code).await? {
            delegates.insert(code.to_string(), e);
        }
    }
    let answerable = filings::answerable_by_enterprise(conn, None, as_of).await?;
    // Boards from the same filings, in the order they were decided (the first at a place is
    // its evidence), so a board approved after the evaluation date does not count either.
    let mut boards = state::BoardsByOwner::new();
    for (owner, list) in &approved {
        let mut own: Vec<_> = list
            .iter()
            .filter_map(|(f, _)| Some((f.decided_at, f.id, f.payload.place()?)))
            .collect();
        own.sort_by_key(|(at, id, _)| (*at, *id));
        boards.insert(*owner, own.into_iter().map(|(_, id, p)| (id, p)).collect());
    }

    let as_of_end = as_of
        .succ_opt()
        .map(day_start)
        .ok_or(Error::invalid("year", "年份无效"))?;
    let tickets = hotline::compute_from(conn, facts, year, None, as_of_end).await?;
    let any_tickets = tickets.enterprises.iter().any(|m| m.tickets > 0);
    let by_enterprise: HashMap<i64, &EnterpriseMetrics> = tickets
        .enterprises
        .iter()
        .map(|m| (m.enterprise_id, m))
        .collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let late =
        crate::hotline::petition::late_counts(conn, &ids, tickets.start, tickets.end, as_of_end)
            .await?;
    let mut overdue: HashMap<i64, i64> = HashMap::new();
    for (e, _case) in crate::enforcement::overdue_for_year(conn, year).await? {
        *overdue.entry(e).or_insert(0) += 1;
    }

    let no_filings = Vec::new();
    let subjects = rows
        .into_iter()
        .map(|r| {
            let mut inputs = Inputs::new();
            let org = state::fold(
                approved.get(&r.id).unwrap_or(&no_filings),
                &delegates,
                as_of,
            );
            org_metrics(&mut inputs, &org, year);
            let projects = answerable.get(&r.id).map(Vec::as_slice).unwrap_or_default();
            let cov = state::coverage_of(r.id, projects, &boards, rules, as_of);
            inputs.insert(
                "board_coverage_pct".into(),
                Value::Number(f64::from(cov.percent)),
            );
            let m = by_enterprise.get(&r.id).copied();
            hotline_metrics(&mut inputs, m, any_tickets, year);
            let petitions = inputs.get("group_petitions").cloned();
            inputs.insert(
                "petition_reports_late".into(),
                match petitions {
                    Some(Value::Unknown { unknown }) => Value::Unknown { unknown },
                    _ => Value::Number(late.get(&r.id).map_or(0, |(_, l)| *l) as f64),
                },
            );
            inputs.insert(
                "overdue_orders".into(),
                Value::Number(overdue.get(&r.id).copied().unwrap_or(0) as f64),
            );
            inputs.insert(
                "owner_revisit_pct".into(),
                Value::unknown("本系统尚无业主回访台账（青岛标准第五章）"),
            );
            Subject {
                enterprise_id: r.id,
                name: r.name,
                credit_code: r.credit_code,
                county_id: r.county_id,
                county_name: r.county_name,
                grade: r.grade,
                inputs,
            }
        })
        .collect();
    Ok(Snapshot {
        year,
        as_of,
        subjects,
    })
}

fn as_of_end_utc(as_of: NaiveDate) -> Result<chrono::DateTime<chrono::Utc>> {
    as_of
        .succ_opt()
        .map(day_start)
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .ok_or(Error::invalid("year", "年份无效"))
}

fn org_metrics(inputs: &mut Inputs, org: &state::OrgState, year: i32) {
    let n = |v: usize| Value::Number(v as f64);
    inputs.insert(
        "org_established".into(),
        Value::Bool(org.established || org.delegate.is_some()),
    );
    inputs.insert("full_time_staff".into(), n(org.staff.len()));
    inputs.insert(
        "manager_named".into(),
        Value::Bool(org.manager_name.as_deref().is_some_and(|m| !m.is_empty())),
    );
    // Fen to yuan; a fund is an integer number of fen, so this is exact below 2^53 fen.
    inputs.insert(
        "fund_yuan".into(),
        Value::Number(org.fund_fen as f64 / 100.0),
    );
    inputs.insert("documents_approved".into(), n(org.documents.len()));
    let late = org
        .history
        .iter()
        .filter(|h| h.late && h.effective_on.is_some_and(|d| d.year() == year))
        .count();
    inputs.insert("late_changes".into(), n(late));
}

/// A share as a percentage, with the figures it comes from kept exact: 9/10 is 90.0, not
/// 89.99999.
fn pct(rate: f64) -> Value {
    Value::Number((rate * 100.0 * 1e6).round() / 1e6)
}

fn hotline_metrics(inputs: &mut Inputs, m: Option<&EnterpriseMetrics>, any: bool, year: i32) {
    if !any {
        let why = format!("{year}年度尚未导入12345工单");
        for name in [
            "tickets",
            "complaint_rate_quartile",
            "complaints_per_100_units",
            "rated_tickets",
            "satisfaction_pct",
            "answered_3d_pct",
            "revisited_7d_pct",
            "group_petitions",
            "handled_pct",
            "answered_3wd_pct",
        ] {
            inputs.insert(name.into(), Value::unknown(why.clone()));
        }
        return;
    }
    let empty = EnterpriseMetrics::default();
    let m = m.unwrap_or(&empty);
    let reason = |metric: &str| {
        m.unknown
            .iter()
            .find_map(|l| l.strip_prefix(metric)?.strip_prefix(": "))
            .map(str::to_string)
    };
    let rate = |metric: &str, r: Option<f64>, none: &str| match (r, reason(metric)) {
        (Some(r), _) => pct(r),
        (None, Some(why)) => Value::unknown(why),
        (None, None) => Value::unknown(none),
    };
    inputs.insert("tickets".into(), Value::Number(m.tickets as f64));
    let (quartile, per_100) = match (m.rate_rank, m.per_100_units) {
        (Some(rank), Some(per)) if m.ranked > 0 => (
            Value::Number((rank * 4 / m.ranked + 1) as f64),
            Value::Number((per * 1e6).round() / 1e6),
        ),
        _ => (
            Value::unknown("近5年无交付套数，无法计算每百套投诉数"),
            Value::unknown("近5年无交付套数"),
        ),
    };
    inputs.insert("complaint_rate_quartile".into(), quartile);
    inputs.insert("complaints_per_100_units".into(), per_100);
    inputs.insert(
        "rated_tickets".into(),
        match reason("satisfaction_rate") {
            Some(why) => Value::unknown(why),
            None => Value::Number(m.rated as f64),
        },
    );
    inputs.insert(
        "satisfaction_pct".into(),
        rate("satisfaction_rate", m.satisfaction_rate, "无已评价工单"),
    );
    inputs.insert(
        "answered_3d_pct".into(),
        rate("answer_rate", m.answer_rate, "无到期的转办件"),
    );
    inputs.insert(
        "revisited_7d_pct".into(),
        rate("revisit_rate", m.revisit_rate, "无到期的办结件"),
    );
    inputs.insert(
        "handled_pct".into(),
        rate("handled_rate", m.handled_rate, "无工单"),
    );
    inputs.insert(
        "answered_3wd_pct".into(),
        rate(
            "answer_rate_working",
            m.answer_rate_working,
            "无到期的转办件",
        ),
    );
    inputs.insert(
        "group_petitions".into(),
        match (m.group_petitions, reason("group_petitions")) {
            (Some(n), _) => Value::Number(n as f64),
            (None, why) => Value::unknown(why.unwrap_or_else(|| "无数据".into())),
        },
    );
}
