//! Recording an event on a case: who may, whether it fits the state ([`super::machine`]), what
//! it changes on the case row, the audit entry and the mail — in the caller's transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::access::require_step;
use super::deadline::{self, DeadlineInput};
use super::machine::{self, Step};
use super::store::{get, insert_event, text, visible, MAX_TEXT};
use super::{mail, Case, Event, State};
use crate::audit;
use crate::auth::Principal;
use crate::calendar::Calendar;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::enterprise::Enterprise;

/// An event as a user asks to record it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventInput {
    /// 约谈: date, place, attendees and the minutes (a summary here; the signed minutes as a
    /// file on the event).
    Interview {
        held_on: NaiveDate,
        place: String,
        attendees: String,
        #[serde(default)]
        minutes: String,
    },
    /// 责令限期整改: document number, requirements and the deadline. `issued_on` defaults to today.
    Order {
        document_no: String,
        requirements: String,
        issued_on: Option<NaiveDate>,
        deadline: DeadlineInput,
    },
    /// The enterprise's rectification (files attach to the event).
    Submission { text: String },
    /// The officer's check. A failed one gives reasons and may set a new deadline.
    Verification {
        passed: bool,
        #[serde(default)]
        reasons: String,
        new_deadline: Option<DeadlineInput>,
    },
    Close {
        #[serde(default)]
        note: String,
    },
}

impl EventInput {
    fn step(&self) -> Step {
        match self {
            EventInput::Interview { .. } => Step::Interview,
            EventInput::Order { .. } => Step::Order,
            EventInput::Submission { .. } => Step::Submission,
            EventInput::Verification {
                passed,
                new_deadline,
                ..
            } => Step::Verification {
                passed: *passed,
                extended: !passed && new_deadline.is_some(),
            },
            EventInput::Close { .. } => Step::Close,
        }
    }

    /// Checks the input and turns it into the event to store.
    fn to_event(&self, today: NaiveDate, cal: &Calendar) -> Result<Event> {
        Ok(match self {
            EventInput::Interview {
                held_on,
                place,
                attendees,
                minutes,
            } => {
                if *held_on > today {
                    return Err(Error::invalid("held_on", "约谈日期不能晚于今天"));
                }
                Event::Interview {
                    held_on: *held_on,
                    place: text("place", "约谈地点", place, 200, true)?,
                    attendees: text("attendees", "参加人员", attendees, 1000, true)?,
                    minutes: text("minutes", "约谈纪要", minutes, MAX_TEXT, false)?,
                }
            }
            EventInput::Order {
                document_no,
                requirements,
                issued_on,
                deadline,
            } => {
                let issued_on = issued_on.unwrap_or(today);
                if issued_on > today {
                    return Err(Error::invalid("issued_on", "下达日期不能晚于今天"));
                }
                let due = deadline.resolve("deadline", issued_on, cal)?;
                if due.date < today {
                    return Err(Error::invalid(
                        "deadline",
                        format!("整改截止日期{}已过，请重新确定期限", due.date),
                    ));
                }
                Event::Order {
                    document_no: text("document_no", "整改通知文号", document_no, 100, true)?,
                    requirements: text("requirements", "整改要求", requirements, MAX_TEXT, true)?,
                    issued_on,
                    deadline: due.date,
                    deadline_rule: due.rule,
                }
            }
            EventInput::Submission { text: t } => Event::Submission {
                text: text("text", "整改情况说明", t, MAX_TEXT, true)?,
            },
            EventInput::Verification {
                passed,
                reasons,
                new_deadline,
            } => {
                if *passed && new_deadline.is_some() {
                    return Err(Error::invalid(
                        "new_deadline",
                        "核查通过时无需设定新的整改期限",
                    ));
                }
                let reasons = text("reasons", "核查意见", reasons, MAX_TEXT, !passed)?;
                let due = new_deadline
                    .as_ref()
                    .map(|d| d.resolve("new_deadline", today, cal))
                    .transpose()?;
                Event::Verification {
                    passed: *passed,
                    reasons,
                    new_deadline: due.as_ref().map(|d| d.date),
                    new_deadline_rule: due.map(|d| d.rule),
                }
            }
            EventInput::Close { note } => Event::Closed {
                note: text("note", "结案说明", note, 2000, false)?,
            },
        })
    }
}

/// Records `input` on case `id` as `p`, on `today` (Beijing date). Answers the case after it
/// and the id of the event (files attach to it).
pub async fn record(
    conn: &mut Conn<'_>,
    p: &Principal,
    cal: &Calendar,
    id: i64,
    input: &EventInput,
    today: NaiveDate,
) -> Result<(Case, i64)> {
    let (before, e) = visible(conn, p, id).await?;
    let step = input.step();
    require_step(p, &e, step)?;
    let to = machine::next(before.state, step, before.deadline, today).map_err(Error::Conflict)?;
    let event = input.to_event(today, cal)?;
    let now = Utc::now();
    // What the event sets on the case row; `None` keeps the column as it is.
    let (document_no, deadline, deadline_rule) = match &event {
        Event::Order {
            document_no,
            deadline,
            deadline_rule,
            ..
        } => (Some(document_no), Some(*deadline), Some(deadline_rule)),
        Event::Verification {
            new_deadline: Some(d),
            new_deadline_rule,
            ..
        } => (None, Some(*d), new_deadline_rule.as_ref()),
        _ => (None, None, None),
    };
    let rectified_on = (to == State::Rectified).then_some(today);
    // The state the case had when read: a concurrent event makes this update miss, and the
    // caller's transaction is refused instead of applying two steps to one state.
    let changed = on_conn!(conn, |c| sqlx::query(
        "UPDATE cases SET state = $1, document_no = COALESCE($2, document_no),
             deadline = COALESCE($3, deadline), deadline_rule = COALESCE($4, deadline_rule),
             rectified_on = COALESCE($5, rectified_on), updated_at = $6
         WHERE id = $7 AND state = $8"
    )
    .bind(to.code())
    .bind(document_no)
    .bind(deadline)
    .bind(deadline_rule)
    .bind(rectified_on)
    .bind(now)
    .bind(id)
    .bind(before.state.code())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if changed != 1 {
        return Err(Error::Conflict("案件刚被他人更新，请刷新后重试".into()));
    }
    let event_id = insert_event(conn, id, &event, Some(p.user_id), &p.display_name, now).await?;
    // A failed verification after the deadline makes the miss a fact, dated from the deadline.
    if to == State::Overdue {
        if let Some(d) = before.deadline {
            note_overdue(conn, id, d, now, None).await?;
        }
    }
    let after = get(conn, id).await?;
    audit::record(
        conn,
        &p.actor(),
        event.code(),
        "case",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    notify(conn, &e, &after, &event).await?;
    Ok((after, event_id))
}

async fn notify(conn: &mut Conn<'_>, e: &Enterprise, case: &Case, event: &Event) -> Result<()> {
    match event {
        Event::Order { .. } => mail::order_issued(conn, e, case, event).await,
        Event::Verification { .. } => mail::verification_result(conn, e, case, event).await,
        _ => Ok(()),
    }
}

/// Records that `deadline` of case `id` was missed: once per deadline (the key holds it across
/// several schedulers), with an `overdue` event on the timeline and the facts on the case.
/// `system`: the scheduler's label when it is the one noticing (it also moves the state).
pub(super) async fn note_overdue(
    conn: &mut Conn<'_>,
    id: i64,
    deadline: NaiveDate,
    now: DateTime<Utc>,
    system: Option<&str>,
) -> Result<bool> {
    let at = deadline::overdue_at(deadline)
        .ok_or_else(|| Error::Internal(format!("deadline {deadline} out of range")))?;
    let year = deadline::evaluation_year(deadline);
    let inserted = on_conn!(conn, |c| {
        sqlx::query(
        "INSERT INTO case_overdues (case_id, deadline, year, overdue_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (case_id, deadline) DO NOTHING"
    )
    .bind(id)
    .bind(deadline)
    .bind(year)
    .bind(at)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    if inserted == 0 {
        return Ok(false);
    }
    on_conn!(conn, |c| sqlx::query(
        "UPDATE cases SET overdue_at = $1, overdue_year = $2, updated_at = $3 WHERE id = $4"
    )
    .bind(at)
    .bind(year)
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let event = Event::Overdue {
        deadline,
        evaluation_year: year,
    };
    insert_event(conn, id, &event, None, system.unwrap_or("系统"), now).await?;
    Ok(true)
}
