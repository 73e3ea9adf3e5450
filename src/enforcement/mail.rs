//! The messages a case sends the enterprise, queued in the outbox in the transaction of the
//! change they report. The wording is in `notify/templates/`; this fills in the facts.

use chrono::NaiveDate;

use super::{Case, Event};
use crate::db::Conn;
use crate::error::Result;
use crate::notify::templates::{
    DeadlineReminder, GroupPetitionFollowUp, OverdueNotice, RectificationOrder, VerificationResult,
};
use crate::notify::{self, Mail};
use crate::registry::enterprise::Enterprise;
use crate::registry::jurisdiction;

/// The county bureau that acts on the enterprise's cases.
async fn bureau(conn: &mut Conn<'_>, e: &Enterprise) -> Result<String> {
    let county = jurisdiction::get(conn, e.county_id).await?;
    Ok(format!("{}住房和城乡建设局", county.name))
}

/// A text as the lines a template lists.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

async fn send(conn: &mut Conn<'_>, e: &Enterprise, mail: &impl Mail) -> Result<()> {
    notify::enqueue(conn, &e.email, mail).await.map(|_| ())
}

pub(super) async fn order_issued(
    conn: &mut Conn<'_>,
    e: &Enterprise,
    case: &Case,
    event: &Event,
) -> Result<()> {
    let Event::Order {
        document_no,
        requirements,
        deadline,
        deadline_rule,
        ..
    } = event
    else {
        return Ok(());
    };
    let mail = RectificationOrder {
        enterprise: e.name.clone(),
        case_no: case.number(),
        document_no: document_no.clone(),
        requirements: lines(requirements),
        deadline: *deadline,
        deadline_basis: deadline_rule.clone(),
        bureau: bureau(conn, e).await?,
    };
    send(conn, e, &mail).await
}

pub(super) async fn verification_result(
    conn: &mut Conn<'_>,
    e: &Enterprise,
    case: &Case,
    event: &Event,
) -> Result<()> {
    let Event::Verification {
        passed,
        reasons,
        new_deadline,
        ..
    } = event
    else {
        return Ok(());
    };
    let mail = VerificationResult {
        enterprise: e.name.clone(),
        case_no: case.number(),
        document_no: case.document_no.clone().unwrap_or_default(),
        passed: *passed,
        reasons: lines(reasons),
        new_deadline: *new_deadline,
    };
    send(conn, e, &mail).await
}

pub(super) async fn overdue_notice(conn: &mut Conn<'_>, e: &Enterprise, case: &Case) -> Result<()> {
    let (Some(deadline), Some(year)) = (case.deadline, case.overdue_year) else {
        return Ok(());
    };
    let mail = OverdueNotice {
        enterprise: e.name.clone(),
        case_no: case.number(),
        document_no: case.document_no.clone().unwrap_or_default(),
        deadline,
        evaluation_year: year,
    };
    send(conn, e, &mail).await
}

pub(super) async fn deadline_reminder(
    conn: &mut Conn<'_>,
    e: &Enterprise,
    case: &Case,
    days_left: i64,
) -> Result<()> {
    let Some(deadline) = case.deadline else {
        return Ok(());
    };
    let mail = DeadlineReminder {
        enterprise: e.name.clone(),
        case_no: case.number(),
        document_no: case.document_no.clone().unwrap_or_default(),
        deadline,
        days_left,
    };
    send(conn, e, &mail).await
}

pub(super) async fn petition_due(
    conn: &mut Conn<'_>,
    e: &Enterprise,
    ticket_no: &str,
    petition_date: NaiveDate,
    due: NaiveDate,
) -> Result<()> {
    let mail = GroupPetitionFollowUp {
        enterprise: e.name.clone(),
        ticket_no: ticket_no.to_string(),
        petition_date,
        report_due: due,
        bureau: bureau(conn, e).await?,
    };
    send(conn, e, &mail).await
}
