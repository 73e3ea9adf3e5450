//! Which event may follow which state, and the state it leads to. Pure: the store calls it
//! with the case as it is and writes what it answers, so the whole workflow can be read (and
//! tested) here.
//!
//! ```text
//! opened ──interview──▶ interviewed ──interview──▶ interviewed
//!   │                      │
//!   └──────order───────────┴──▶ ordered ──submission──▶ submitted ──verification passed──▶ rectified ──close──▶ closed
//!                                 │  ▲                     │
//!                       deadline  │  └─failed, new or      │ failed, deadline passed
//!                       passed    ▼    running deadline────┘ and no new one
//!                               overdue ◀───────────────────┘
//!                                 └──submission──▶ submitted
//! opened / interviewed ──close──▶ closed (nothing to rectify)
//! ```
//!
//! A submission made in time and verified after the deadline is judged on what was submitted:
//! the scheduler does not mark a case overdue while a submission awaits verification, and a
//! failed verification then counts the overdue from the original deadline.

use chrono::NaiveDate;

use super::State;

/// What a user asks to record, reduced to what decides the next state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Interview,
    Order,
    Submission,
    /// `extended`: the officer set a new deadline.
    Verification {
        passed: bool,
        extended: bool,
    },
    Close,
    /// The scheduler, at the Beijing midnight after the deadline.
    Overdue,
}

impl Step {
    fn label(self) -> &'static str {
        match self {
            Step::Interview => "记录约谈",
            Step::Order => "下达责令限期整改通知",
            Step::Submission => "提交整改材料",
            Step::Verification { .. } => "核查整改情况",
            Step::Close => "结案",
            Step::Overdue => "记为逾期",
        }
    }
}

/// What may come next in `state`, in words for the refusal message and the page.
pub fn expected(state: State) -> &'static str {
    match state {
        State::Opened => "约谈企业，或下达责令限期整改通知；不需整改的可结案",
        State::Interviewed => "下达责令限期整改通知，或再次约谈；不需整改的可结案",
        State::Ordered => "企业在整改期限内提交整改材料",
        State::Submitted => "主管部门核查整改情况",
        State::Overdue => "企业提交整改材料（逾期记录保留）",
        State::Rectified => "结案",
        State::Closed => "无：案件已结案",
    }
}

/// The state after `step`, or the refusal naming what is expected instead. `deadline` is the
/// running deadline and `today` the Beijing date, for a failed verification.
pub fn next(
    state: State,
    step: Step,
    deadline: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<State, String> {
    use State::*;
    let to = match (state, step) {
        (Opened | Interviewed, Step::Interview) => Interviewed,
        (Opened | Interviewed, Step::Order) => Ordered,
        (Ordered | Overdue, Step::Submission) => Submitted,
        (Submitted, Step::Verification { passed: true, .. }) => Rectified,
        (
            Submitted,
            Step::Verification {
                passed: false,
                extended: true,
            },
        ) => Ordered,
        (
            Submitted,
            Step::Verification {
                passed: false,
                extended: false,
            },
        ) => match deadline {
            Some(d) if today > d => Overdue,
            _ => Ordered,
        },
        (Opened | Interviewed | Rectified, Step::Close) => Closed,
        (Ordered, Step::Overdue) => Overdue,
        _ => {
            return Err(format!(
                "案件当前为“{}”，不能{}；下一步应为：{}",
                state.label(),
                step.label(),
                expected(state)
            ))
        }
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Every (state, step) pair, against the table the module comment draws.
    #[test]
    fn the_whole_table() {
        let today = d("2025-06-10");
        let running = Some(d("2025-06-30"));
        let passed = Some(d("2025-06-01"));
        let steps = [
            Step::Interview,
            Step::Order,
            Step::Submission,
            Step::Verification {
                passed: true,
                extended: false,
            },
            Step::Verification {
                passed: false,
                extended: true,
            },
            Step::Verification {
                passed: false,
                extended: false,
            },
            Step::Close,
            Step::Overdue,
        ];
        let mut allowed = Vec::new();
        for s in State::ALL {
            for step in steps {
                if let Ok(to) = next(s, step, running, today) {
                    allowed.push((s, step, to));
                }
            }
        }
        use State::*;
        let fail_ext = Step::Verification {
            passed: false,
            extended: true,
        };
        let fail = Step::Verification {
            passed: false,
            extended: false,
        };
        let pass = Step::Verification {
            passed: true,
            extended: false,
        };
        assert_eq!(
            allowed,
            vec![
                (Opened, Step::Interview, Interviewed),
                (Opened, Step::Order, Ordered),
                (Opened, Step::Close, Closed),
                (Interviewed, Step::Interview, Interviewed),
                (Interviewed, Step::Order, Ordered),
                (Interviewed, Step::Close, Closed),
                (Ordered, Step::Submission, Submitted),
                (Ordered, Step::Overdue, Overdue),
                (Submitted, pass, Rectified),
                (Submitted, fail_ext, Ordered),
                (Submitted, fail, Ordered),
                (Overdue, Step::Submission, Submitted),
                (Rectified, Step::Close, Closed),
            ]
        );
        // A failed verification after the deadline, with no new one, is overdue.
        assert_eq!(next(Submitted, fail, passed, today), Ok(Overdue));
        // On the deadline itself it is not.
        assert_eq!(next(Submitted, fail, Some(today), today), Ok(Ordered));
    }

    #[test]
    fn refusals_say_what_comes_next() {
        let err = next(
            State::Ordered,
            Step::Verification {
                passed: true,
                extended: false,
            },
            None,
            d("2025-01-01"),
        )
        .unwrap_err();
        assert!(
            err.contains("限期整改中") && err.contains("提交整改材料"),
            "{err}"
        );
        let err = next(State::Closed, Step::Interview, None, d("2025-01-01")).unwrap_err();
        assert!(err.contains("已结案"), "{err}");
    }
}
