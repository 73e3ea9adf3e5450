//! Rectification deadlines: given as a date or as a span that says calendar or working days,
//! resolved on the official calendar, and the instant a missed one turns overdue.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::Deserialize;

use crate::calendar::{Calendar, Span};
use crate::error::{Error, Result};
use crate::time;

/// A deadline as an officer gives it: exactly one of a date (`on`) or a span (`span`, such as
/// `30日` or `10个工作日`) counted from the day the order (or the verification) is made.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DeadlineInput {
    pub on: Option<NaiveDate>,
    pub span: Option<String>,
}

/// A resolved deadline: the last day, inclusive, and how it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub date: NaiveDate,
    pub rule: String,
}

/// The longest a rectification may be given: two years.
const MAX_DAYS: i64 = 730;

impl DeadlineInput {
    pub fn resolve(&self, field: &str, from: NaiveDate, cal: &Calendar) -> Result<Resolved> {
        let span = self
            .span
            .as_deref()
            .map(crate::text::clean)
            .filter(|s| !s.is_empty());
        let resolved = match (self.on, span) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    field,
                    "整改期限请填写截止日期或期限天数之一，不要同时填写",
                ))
            }
            (None, None) => {
                return Err(Error::invalid(
                    field,
                    "请填写整改截止日期，或期限天数（如 30日、10个工作日）",
                ))
            }
            (Some(date), None) => Resolved {
                date,
                rule: format!("截至{}", date.format("%Y年%m月%d日")),
            },
            (None, Some(s)) => {
                let span: Span = s.parse().map_err(|e: String| Error::invalid(field, e))?;
                if span.count() == 0 {
                    return Err(Error::invalid(field, "整改期限至少1天"));
                }
                let date = cal
                    .due(from, span)
                    .map_err(|e| Error::invalid(field, e.to_string()))?;
                Resolved {
                    date,
                    rule: span.to_string(),
                }
            }
        };
        if resolved.date <= from {
            return Err(Error::invalid(
                field,
                format!(
                    "整改截止日期{}应晚于{}",
                    resolved.date,
                    from.format("%Y-%m-%d")
                ),
            ));
        }
        if (resolved.date - from).num_days() > MAX_DAYS {
            return Err(Error::invalid(field, "整改期限不应超过两年"));
        }
        Ok(resolved)
    }
}

/// The instant a deadline is missed: 00:00 Beijing time on the day after it.
pub fn overdue_at(deadline: NaiveDate) -> Option<DateTime<Utc>> {
    let next = deadline.succ_opt()?;
    time::china()
        .from_local_datetime(&next.and_time(NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// The evaluation year a missed deadline counts for: the year the deadline fell in (DESIGN §3:
/// "a rectification order whose deadline fell in the year without a passed verification").
pub fn evaluation_year(deadline: NaiveDate) -> i32 {
    deadline.year()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn spans_and_dates_resolve() {
        let cal = Calendar::shipped();
        let span = |s: &str| DeadlineInput {
            on: None,
            span: Some(s.into()),
        };
        // Ordered Tuesday 30 Sep 2025: ten working days skip 1–8 October and count Saturday 11th.
        let r = span("10个工作日")
            .resolve("deadline", d("2025-09-30"), &cal)
            .unwrap();
        assert_eq!(r.date, d("2025-10-21"));
        assert_eq!(r.rule, "10个工作日");
        let r = span("30日")
            .resolve("deadline", d("2025-09-30"), &cal)
            .unwrap();
        assert_eq!(r.date, d("2025-10-30"));
        let on = DeadlineInput {
            on: Some(d("2025-10-15")),
            span: None,
        };
        assert_eq!(
            on.resolve("deadline", d("2025-09-30"), &cal).unwrap().date,
            d("2025-10-15")
        );
        for bad in [
            DeadlineInput::default(),
            DeadlineInput {
                on: Some(d("2025-09-30")),
                span: None,
            },
            DeadlineInput {
                on: Some(d("2025-10-30")),
                span: Some("3日".into()),
            },
            span("0日"),
            span("3周"),
            span("800日"),
        ] {
            let err = bad.resolve("deadline", d("2025-09-30"), &cal).unwrap_err();
            assert!(err.to_string().starts_with("deadline"), "{err}");
        }
        let err = span("10个工作日")
            .resolve("deadline", d("2026-12-28"), &cal)
            .unwrap_err();
        assert!(err.to_string().contains("2027年"), "{err}");
    }

    #[test]
    fn overdue_begins_at_beijing_midnight() {
        let at = overdue_at(d("2025-12-31")).unwrap();
        assert_eq!(at.to_rfc3339(), "2025-12-31T16:00:00+00:00");
        assert_eq!(evaluation_year(d("2025-12-31")), 2025);
    }
}
