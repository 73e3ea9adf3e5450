//! Golden files: metric inputs and the items, flags and total a rule set must give for them.
//! `scoring-rules/tests/*.toml` run with `cargo test`; `aftercare rules test FILE…` runs any
//! file, so a bureau can keep its own cases next to its rules.
//!
//! ```toml
//! rule_set = "jining-2021"          # a shipped id, or a path to a rule-set file
//! date = "2025-12-31"               # the evaluation date
//!
//! [base]                            # metrics every case starts from
//! org_established = true
//! answered_3d_pct = 95
//!
//! [[cases]]
//! name = "回访率恰为70%"
//! metrics = { revisited_7d_pct = 70 }
//! expect = { total = 10, flags = [], items = { org_complete = 5, hotline = 5 } }
//! ```
//!
//! A metric is a number, `true`/`false`, or `{ unknown = "why" }`. `grade` (e.g. `"fourth"`)
//! sets the qualification grade for parameters that depend on it. `items` lists the points of
//! the rules named, `outcomes` their results (`"pass"`, `"fail"`, `"unknown"`, what a `checks`
//! rule set is judged by); rules not named are not checked.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use super::engine::evaluate;
use super::metrics::{Inputs, Value};
use super::{load, Loaded};
use crate::registry::Grade;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    rule_set: String,
    date: NaiveDate,
    #[serde(default)]
    base: BTreeMap<String, Value>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    grade: Option<String>,
    #[serde(default)]
    metrics: BTreeMap<String, Value>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    total: i64,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    items: BTreeMap<String, i64>,
    /// Each named rule's outcome (`pass`, `fail`, `unknown`): what a `checks` rule set gives.
    #[serde(default)]
    outcomes: BTreeMap<String, super::engine::Outcome>,
}

/// What a golden file gave: each case's name and, when it failed, why.
#[derive(Debug)]
pub struct Report {
    pub file: String,
    pub cases: Vec<(String, Option<String>)>,
}

impl Report {
    pub fn failures(&self) -> usize {
        self.cases.iter().filter(|(_, f)| f.is_some()).count()
    }
}

/// Runs one golden file; `dir` resolves a rule set given as a relative path.
pub fn run(file_name: &str, text: &str, dir: &Path) -> Result<Report, String> {
    let f: File = toml::from_str(text).map_err(|e| format!("{file_name}：{}", e.message()))?;
    let Loaded { params, book } = if f.rule_set.ends_with(".toml") {
        let path = dir.join(&f.rule_set);
        let rules = std::fs::read_to_string(&path)
            .map_err(|e| format!("{file_name}：读取 {} 失败：{e}", path.display()))?;
        load(&rules, f.date)
    } else {
        let rules = crate::rules::RuleSet::shipped_text(&f.rule_set)
            .ok_or_else(|| format!("{file_name}：未知的规则集“{}”", f.rule_set))?;
        load(rules, f.date)
    }
    .map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        format!("{file_name}：规则集有误：\n{}", lines.join("\n"))
    })?;
    let mut cases = Vec::new();
    for c in f.cases {
        let grade = match c.grade.as_deref() {
            None => None,
            Some(g) => Some(
                Grade::parse(g)
                    .ok_or_else(|| format!("{file_name}：{}：未知的资质等级“{g}”", c.name))?,
            ),
        };
        let mut inputs: Inputs = f.base.clone();
        inputs.extend(c.metrics);
        let ev = evaluate(&book, &params, f.date, grade, &inputs);
        let mut wrong = Vec::new();
        for (rule, points) in &c.expect.items {
            match ev.items.iter().find(|i| &i.rule == rule) {
                None => wrong.push(format!("没有规则“{rule}”")),
                Some(i) if i.points != *points => {
                    let why: Vec<&str> = i.checks.iter().map(|c| c.explanation.as_str()).collect();
                    wrong.push(format!(
                        "{rule}：得 {} 分，应为 {points} 分（{}）",
                        i.points,
                        why.join("；")
                    ))
                }
                Some(_) => {}
            }
        }
        for (rule, outcome) in &c.expect.outcomes {
            match ev.items.iter().find(|i| &i.rule == rule) {
                None => wrong.push(format!("没有规则“{rule}”")),
                Some(i) if i.outcome != *outcome => {
                    let why: Vec<&str> = i.checks.iter().map(|c| c.explanation.as_str()).collect();
                    wrong.push(format!(
                        "{rule}：结果 {:?}，应为 {outcome:?}（{}）",
                        i.outcome,
                        why.join("；")
                    ))
                }
                Some(_) => {}
            }
        }
        if ev.total != c.expect.total {
            wrong.push(format!("合计 {}，应为 {}", ev.total, c.expect.total));
        }
        let mut want = c.expect.flags.clone();
        want.sort();
        if ev.flags != want {
            wrong.push(format!("标记 {:?}，应为 {:?}", ev.flags, want));
        }
        cases.push((c.name, (!wrong.is_empty()).then(|| wrong.join("\n    "))));
    }
    Ok(Report {
        file: file_name.to_string(),
        cases,
    })
}
