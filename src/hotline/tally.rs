//! What one ticket counts towards in the metrics of a period: rated and satisfied, answered
//! within 3 days (Art. 15), revisited within 7 days of closing (Art. 17), handled. A window
//! counts once it has run out or been met by the period's end (`as_of`); a time the export
//! did not give counts towards nothing.

use super::{Satisfaction, DAY};

/// Art. 15: answer a forwarded ticket within 3 days; Art. 17: revisit within 7 days of closing.
pub const ANSWER_WITHIN: i64 = 3 * DAY;
pub const REVISIT_WITHIN: i64 = 7 * DAY;

/// The counts summed per enterprise, in the order [`flags`] decides them, then
/// whether the ticket's import lacked a column each of the metrics' `NEEDS` needs.
pub(super) const FLAGS: [&str; 18] = [
    "rated",
    "satisfied",
    "basically",
    "dissatisfied",
    "forwarded_due",
    "answered",
    "closed_due",
    "revisited",
    "group",
    "forwarded_due_working",
    "answered_working",
    "handled",
    "lacks0",
    "lacks1",
    "lacks2",
    "lacks3",
    "lacks4",
    "lacks5",
];

/// How many counts [`flags`] decides.
pub(super) const COUNTS: usize = 12;

/// One ticket's times and marks, as the facts copy holds them.
pub(super) struct Marks {
    pub(super) forwarded: Option<i64>,
    pub(super) responded: Option<i64>,
    pub(super) closed: Option<i64>,
    pub(super) revisited: bool,
    pub(super) revisited_at: Option<i64>,
    pub(super) sat: Satisfaction,
    pub(super) group: bool,
    /// When its 3-working-day answer window ends; `Some(None)` when the calendar lacks a day.
    pub(super) working_deadline: Option<Option<i64>>,
}

/// What one ticket counts towards, as of `as_of`, in the order of [`FLAGS`] (without the
/// `lacks` ones). A window counts once it has run out or been met; a missing time counts
/// towards nothing (as SQL's NULL would).
pub(super) fn flags(m: &Marks, as_of: i64) -> [bool; COUNTS] {
    let within = |from: Option<i64>, to: Option<i64>, window: i64| match (from, to) {
        (Some(from), Some(to)) => to.checked_sub(from).is_some_and(|d| d <= window),
        _ => false,
    };
    let by = |at: Option<i64>, when: i64| at.is_some_and(|at| at <= when);
    let deadline = m.working_deadline.flatten();
    [
        m.sat != Satisfaction::Unrated,
        m.sat == Satisfaction::Satisfied,
        m.sat == Satisfaction::Basically,
        m.sat == Satisfaction::Dissatisfied,
        m.forwarded.is_some()
            && (m.responded.is_some() || by(m.forwarded, as_of.saturating_sub(ANSWER_WITHIN))),
        within(m.forwarded, m.responded, ANSWER_WITHIN),
        m.closed.is_some() && (m.revisited || by(m.closed, as_of.saturating_sub(REVISIT_WITHIN))),
        m.closed.is_some()
            && m.revisited
            && (m.revisited_at.is_none() || within(m.closed, m.revisited_at, REVISIT_WITHIN)),
        m.group,
        m.forwarded.is_some() && (m.responded.is_some() || by(deadline, as_of)),
        matches!((m.responded, deadline), (Some(r), Some(d)) if r < d),
        by(m.closed, as_of),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_735_000_000;

    fn marks() -> Marks {
        Marks {
            forwarded: None,
            responded: None,
            closed: None,
            revisited: false,
            revisited_at: None,
            sat: Satisfaction::Unrated,
            group: false,
            working_deadline: None,
        }
    }

    /// The names of the flags set, for readable failures.
    fn set(m: &Marks, as_of: i64) -> Vec<&'static str> {
        FLAGS
            .iter()
            .zip(flags(m, as_of))
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect()
    }

    #[test]
    fn an_answer_counts_within_three_days_and_a_window_once_it_has_run_out() {
        let forwarded = Marks {
            forwarded: Some(T),
            ..marks()
        };
        // Still open at the period's end: neither due nor answered.
        assert!(set(&forwarded, T + ANSWER_WITHIN - 1).is_empty());
        // Run out without an answer: due, not answered.
        assert_eq!(set(&forwarded, T + ANSWER_WITHIN), ["forwarded_due"]);
        let on_time = Marks {
            responded: Some(T + ANSWER_WITHIN),
            ..forwarded
        };
        assert_eq!(
            set(&on_time, T + 1),
            ["forwarded_due", "answered", "forwarded_due_working"]
        );
        let late = Marks {
            forwarded: Some(T),
            responded: Some(T + ANSWER_WITHIN + 1),
            ..marks()
        };
        assert_eq!(
            set(&late, T + 30 * DAY),
            ["forwarded_due", "forwarded_due_working"]
        );
        // An answer without a forwarding time counts towards nothing.
        let unknown = Marks {
            responded: Some(T),
            ..marks()
        };
        assert!(set(&unknown, T + 30 * DAY).is_empty());
    }

    #[test]
    fn working_days_count_only_where_the_calendar_covers_them() {
        let answered = Marks {
            forwarded: Some(T),
            responded: Some(T + DAY),
            working_deadline: Some(Some(T + 2 * DAY)),
            ..marks()
        };
        assert!(set(&answered, T + DAY).contains(&"answered_working"));
        let uncovered = Marks {
            working_deadline: Some(None),
            ..answered
        };
        let got = set(&uncovered, T + DAY);
        assert!(got.contains(&"forwarded_due_working"), "answered, so due");
        assert!(!got.contains(&"answered_working"), "no deadline to meet");
        let waiting = Marks {
            forwarded: Some(T),
            working_deadline: Some(Some(T + 5 * DAY)),
            ..marks()
        };
        assert!(!set(&waiting, T + 5 * DAY - 1).contains(&"forwarded_due_working"));
        assert!(set(&waiting, T + 5 * DAY).contains(&"forwarded_due_working"));
    }

    #[test]
    fn a_revisit_counts_within_seven_days_of_closing() {
        let closed = Marks {
            closed: Some(T),
            ..marks()
        };
        assert_eq!(set(&closed, T + REVISIT_WITHIN - 1), ["handled"]);
        assert_eq!(set(&closed, T + REVISIT_WITHIN), ["closed_due", "handled"]);
        let revisited = Marks {
            revisited: true,
            revisited_at: Some(T + REVISIT_WITHIN),
            ..closed
        };
        assert_eq!(set(&revisited, T), ["closed_due", "revisited", "handled"]);
        let late = Marks {
            revisited: true,
            revisited_at: Some(T + REVISIT_WITHIN + 1),
            closed: Some(T),
            ..marks()
        };
        assert_eq!(set(&late, T), ["closed_due", "handled"]);
        // Revisited, with no time given: counted (the export says it was).
        let untimed = Marks {
            revisited: true,
            closed: Some(T),
            ..marks()
        };
        assert_eq!(set(&untimed, T), ["closed_due", "revisited", "handled"]);
        // Closed after the period's end: not handled by then.
        assert!(set(&closed, T - 1).is_empty());
    }

    #[test]
    fn satisfaction_and_group_petitions() {
        for (sat, names) in [
            (Satisfaction::Satisfied, vec!["rated", "satisfied"]),
            (Satisfaction::Basically, vec!["rated", "basically"]),
            (Satisfaction::Dissatisfied, vec!["rated", "dissatisfied"]),
            (Satisfaction::Unrated, vec![]),
        ] {
            assert_eq!(set(&Marks { sat, ..marks() }, T), names);
        }
        let group = Marks {
            group: true,
            ..marks()
        };
        assert_eq!(set(&group, T), ["group"]);
    }
}
