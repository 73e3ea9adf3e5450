//! The messages a case sends the enterprise, queued in the outbox in the transaction of the
//! change they report.

use chrono::NaiveDate;

use super::{Case, Event};
use crate::db::Conn;
use crate::error::Result;
use crate::notify::{self, Message};
use crate::registry::enterprise::Enterprise;

fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y年%m月%d日").to_string())
        .unwrap_or_else(|| "—".into())
}

async fn send(
    conn: &mut Conn<'_>,
    e: &Enterprise,
    kind: &'static str,
    subject: String,
    body: String,
) -> Result<()> {
    notify::enqueue(
        conn,
        Message {
            recipient: &e.email,
            subject,
            body,
            kind,
        },
    )
    .await
    .map(|_| ())
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
    let subject = format!("【责令限期整改】{document_no}");
    let body = format!(
        "{}：\n\n因贵单位{}，依据《济宁市房地产开发企业售后服务机构规范化管理办法》第二十二条，责令限期整改（{}，{}）。\n\n整改要求：\n{}\n\n整改期限：{}（{}）。请在期限内通过系统提交整改材料；逾期不改正的，在年度企业信用评价考核中扣20分，且不得参加评选2A级以上信用企业。\n",
        e.name,
        case.ground.label(),
        case.number(),
        document_no,
        requirements,
        date(Some(*deadline)),
        deadline_rule,
    );
    send(conn, e, "case_order", subject, body).await
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
        new_deadline_rule,
    } = event
    else {
        return Ok(());
    };
    let (outcome, detail) = if *passed {
        ("通过", "经核查，贵单位的整改已通过。".to_string())
    } else {
        let next = match (new_deadline, new_deadline_rule) {
            (Some(d), Some(rule)) => format!("新的整改期限：{}（{rule}）。", date(Some(*d))),
            _ => format!("请在原整改期限（{}）内重新提交。", date(case.deadline)),
        };
        (
            "未通过",
            format!("经核查，贵单位的整改未通过。\n\n核查意见：\n{reasons}\n\n{next}"),
        )
    };
    let subject = format!("【整改核查{outcome}】{}", case.number());
    let body = format!("{}：\n\n{detail}\n", e.name);
    send(conn, e, "case_verification", subject, body).await
}

pub(super) async fn overdue_notice(conn: &mut Conn<'_>, e: &Enterprise, case: &Case) -> Result<()> {
    let year = case
        .overdue_year
        .map(|y| y.to_string())
        .unwrap_or_else(|| "—".into());
    let subject = format!("【逾期未改正】{}", case.number());
    let body = format!(
        "{}：\n\n贵单位未在整改期限（{}）前完成整改并通过核查（{}，{}）。依据第二十二条，此次逾期计入{year}年度企业信用评价：扣20分，且不得参加评选2A级以上信用企业。\n\n请尽快提交整改材料。\n",
        e.name,
        date(case.deadline),
        case.number(),
        case.document_no.as_deref().unwrap_or("—"),
    );
    send(conn, e, "case_overdue", subject, body).await
}

pub(super) async fn deadline_reminder(
    conn: &mut Conn<'_>,
    e: &Enterprise,
    case: &Case,
    days_left: i64,
) -> Result<()> {
    let subject = format!("【整改期限提醒】还有{days_left}天：{}", case.number());
    let body = format!(
        "{}：\n\n责令限期整改通知（{}）的整改期限为{}，距今还有{days_left}天。请在期限内通过系统提交整改材料。\n",
        e.name,
        case.document_no.as_deref().unwrap_or("—"),
        date(case.deadline),
    );
    send(conn, e, "case_reminder", subject, body).await
}

pub(super) async fn petition_due(
    conn: &mut Conn<'_>,
    e: &Enterprise,
    ticket_no: &str,
    due: NaiveDate,
) -> Result<()> {
    let subject = format!("【群体上访面复提醒】工单{ticket_no}");
    let body = format!(
        "{}：\n\n工单{ticket_no}为群体上访。依据第十六条，售后服务机构主要负责人应第一时间到场接访，并在3日内（{}前）到房地产开发管理主管部门面复处理情况。\n",
        e.name,
        date(Some(due)),
    );
    send(conn, e, "petition_due", subject, body).await
}
