//! The annual credit evaluation (Art. 21–23), as data: rules in the rule-set files name
//! metrics from a fixed catalogue ([`metrics`]) and compare them with the set's dated
//! parameters ([`lang`]); the engine evaluates them with a trace for every comparison
//! ([`engine`]); golden files pin what a rule set must give ([`golden`]).
//!
//! This release has the language, its checks, the engine and the golden tests. Computing
//! the metrics from the database, evaluation runs, publicity and objections come next.

pub mod cli;
pub mod engine;
pub mod golden;
pub mod lang;
pub mod metrics;

use chrono::NaiveDate;

use crate::rules::RuleSet;
use lang::{Problem, RuleBook};

/// A rule-set file read whole: its parameters and its rules.
pub struct Loaded {
    pub params: RuleSet,
    pub book: RuleBook,
}

/// Reads and checks a rule-set file for an evaluation on `date`; every problem is reported,
/// each with its line.
pub fn load(text: &str, date: NaiveDate) -> Result<Loaded, Vec<Problem>> {
    let params = RuleSet::parse(text).map_err(|e| {
        vec![Problem {
            line: None,
            message: e.to_string(),
        }]
    })?;
    let mut problems = dates(text, &params);
    match lang::parse(text, &params, date) {
        Ok(book) if problems.is_empty() => Ok(Loaded { params, book }),
        Ok(_) => Err(problems),
        Err(more) => {
            problems.extend(more);
            Err(problems)
        }
    }
}

/// Date ranges: the validity window in order, each parameter's dated values strictly after
/// one another (two values from the same day, or listed out of order, would make "the value
/// in force" depend on the order of lines).
fn dates(text: &str, params: &RuleSet) -> Vec<Problem> {
    let mut out = Vec::new();
    if params.effective_from > params.effective_to {
        out.push(Problem {
            line: text
                .lines()
                .position(|l| l.starts_with("effective_to"))
                .map(|i| i + 1),
            message: format!(
                "有效期倒置：effective_from {} 晚于 effective_to {}",
                params.effective_from, params.effective_to
            ),
        });
    }
    for (name, p) in &params.parameters {
        if p.values.windows(2).any(|w| w[0].from >= w[1].from) {
            out.push(Problem {
                line: text
                    .lines()
                    .position(|l| l.trim() == format!("[parameters.{name}]"))
                    .map(|i| i + 1),
                message: format!(
                    "参数“{name}”的取值日期重叠或倒置：应按 from 由早到晚，且各不相同"
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
