//! The annual credit evaluation (Art. 21–23), as data: rules in the rule-set files name
//! metrics from a fixed catalogue ([`metrics`]) and compare them with the set's dated
//! parameters ([`lang`]); the engine evaluates them with a trace for every comparison
//! ([`engine`]); golden files pin what a rule set must give ([`golden`]).
//!
//! A year's evaluation gathers every enterprise's metrics in bulk ([`gather`]), evaluates
//! them and stores the run with its hashes ([`run`]); the run is then publicized, objected
//! to and finalized ([`objection`]) and read by officers and enterprises ([`results`]).
//! [`whatif`] re-evaluates a run's frozen inputs under a draft rule set.

pub mod access;
pub mod cli;
pub mod engine;
pub mod export;
pub mod gather;
pub mod golden;
pub mod lang;
pub mod metrics;
pub mod objection;
pub mod objection_files;
pub mod public;
pub mod results;
pub mod run;
pub mod whatif;

use chrono::{Datelike, NaiveDate};

use crate::rules::RuleSet;
use lang::{Problem, RuleBook};

/// A rule-set file read whole: its parameters and its rules.
pub struct Loaded {
    pub params: RuleSet,
    pub book: RuleBook,
}

/// The first year an evaluation can be run for.
pub const FIRST_YEAR: i32 = 2000;

/// Gathers the year's inputs as of `today` (31 December for a past year), evaluates every
/// enterprise under the rule-set text and stores the run as a draft.
pub async fn evaluate_year(
    db: &crate::db::Db,
    facts: &crate::hotline::facts::FactStore,
    actor: &crate::audit::Actor,
    rules_text: &str,
    year: i32,
    today: NaiveDate,
    force: bool,
) -> crate::error::Result<run::Run> {
    // Years before the platform's data (and after today) have nothing to evaluate; the bound
    // also keeps dates printable in every format the run is shown in.
    if !(FIRST_YEAR..=today.year()).contains(&year) {
        return Err(crate::error::Error::invalid(
            "year",
            format!(
                "评价年度应在{FIRST_YEAR}–{}之间，填写的是{year}",
                today.year()
            ),
        ));
    }
    let as_of = gather::as_of(year, today)
        .ok_or_else(|| crate::error::Error::invalid("year", "年份无效"))?;
    let prepared = run::prepare(rules_text, year, as_of, force)?;
    let snapshot = {
        let mut pooled = db.acquire().await?;
        let mut conn = pooled.conn();
        let table = facts.current(&mut conn).await?;
        gather::gather(&mut conn, table, &prepared.loaded.params, year, as_of).await?
    };
    let results = prepared.evaluate(&snapshot);
    run::store(db, actor, &prepared, &snapshot, &results).await
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
