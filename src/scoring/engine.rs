//! Evaluating a rule book for one enterprise: three-valued logic over its metrics (an unknown
//! value stays unknown unless the comparison says what it makes), and a trace entry for every
//! comparison — the metric's value, the parameter's value with its effective date and
//! article, pass / fail / unknown, in plain Chinese.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::lang::{Compare, Condition, HitPolicy, Literal, OnUnknown, RuleBook};
use super::metrics::{self, Inputs, Value};
use crate::registry::Grade;
use crate::rules::{Resolved, RuleSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    Unknown,
}

impl Outcome {
    fn not(self) -> Outcome {
        match self {
            Outcome::Pass => Outcome::Fail,
            Outcome::Fail => Outcome::Pass,
            Outcome::Unknown => Outcome::Unknown,
        }
    }
}

/// One comparison as evaluated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub metric: String,
    pub label: String,
    pub value: Value,
    pub op: String,
    /// The parameter compared with, with its value's date and article; `None` for a literal.
    pub parameter: Option<Resolved>,
    pub against: String,
    pub outcome: Outcome,
    /// "回访率 64.3%，低于 70%" / "无数据（…），按规则视为不满足".
    pub explanation: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    pub rule: String,
    pub article: String,
    pub description: String,
    pub outcome: Outcome,
    pub points: i64,
    pub flag: Option<String>,
    /// What the rule gives when it holds, whether it did or not (an upheld objection on an
    /// item that did not apply awards these).
    #[serde(default)]
    pub rule_points: i64,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    pub items: Vec<Item>,
    pub total: i64,
    pub flags: Vec<String>,
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Unknown { .. } => None,
    }
}

fn show(kind: metrics::Kind, n: f64) -> String {
    match kind {
        metrics::Kind::Percent => format!("{n:.1}%"),
        metrics::Kind::Bool => if n != 0.0 { "是" } else { "否" }.to_string(),
        _ if n.fract() == 0.0 => format!("{}", n as i64),
        _ => format!("{n:.2}"),
    }
}

struct Ctx<'a> {
    params: &'a RuleSet,
    date: NaiveDate,
    grade: Option<Grade>,
    inputs: &'a Inputs,
    checks: Vec<Check>,
}

impl Ctx<'_> {
    fn eval(&mut self, c: &Condition) -> Outcome {
        match c {
            Condition::All { all } => {
                let outs: Vec<Outcome> = all.iter().map(|c| self.eval(c)).collect();
                if outs.contains(&Outcome::Fail) {
                    Outcome::Fail
                } else if outs.contains(&Outcome::Unknown) {
                    Outcome::Unknown
                } else {
                    Outcome::Pass
                }
            }
            Condition::Any { any } => {
                let outs: Vec<Outcome> = any.iter().map(|c| self.eval(c)).collect();
                if outs.contains(&Outcome::Pass) {
                    Outcome::Pass
                } else if outs.contains(&Outcome::Unknown) {
                    Outcome::Unknown
                } else {
                    Outcome::Fail
                }
            }
            Condition::Not { not } => self.eval(not).not(),
            Condition::Compare(cmp) => self.compare(cmp),
        }
    }

    fn compare(&mut self, cmp: &Compare) -> Outcome {
        let def = metrics::find(&cmp.metric);
        let kind = def.map_or(metrics::Kind::Number, |d| d.kind);
        let label = def.map_or(cmp.metric.clone(), |d| d.label.to_string());
        let value = self
            .inputs
            .get(&cmp.metric)
            .cloned()
            .unwrap_or_else(|| Value::unknown("未提供该指标"));
        let (target, parameter) = match (&cmp.param, &cmp.value) {
            (Some(p), _) if self.params.parameters.contains_key(p) => {
                let r = self.params.value(p, self.date, self.grade);
                (r.value as f64, Some(r))
            }
            (_, Some(Literal::Number(n))) => (*n, None),
            (_, Some(Literal::Bool(b))) => (f64::from(u8::from(*b)), None),
            // `rules check` refuses these; an unchecked book compares with nothing.
            _ => (f64::NAN, None),
        };
        let against = show(kind, target);
        let (outcome, explanation) = match number(&value) {
            Some(v) if cmp.op.holds(v, target) => (
                Outcome::Pass,
                format!("{label} {}，满足 {} {against}", show(kind, v), cmp.op),
            ),
            Some(v) => (
                Outcome::Fail,
                format!(
                    "{label} {}，{} {against}",
                    show(kind, v),
                    cmp.op.failed_words()
                ),
            ),
            None => match cmp.unknown {
                Some(OnUnknown::Pass) => {
                    (Outcome::Pass, format!("{label} {value}，按规则视为满足"))
                }
                Some(OnUnknown::Fail) => {
                    (Outcome::Fail, format!("{label} {value}，按规则视为不满足"))
                }
                Some(OnUnknown::Unknown) | None => {
                    (Outcome::Unknown, format!("{label} {value}，无法判断"))
                }
            },
        };
        self.checks.push(Check {
            metric: cmp.metric.clone(),
            label,
            value,
            op: cmp.op.to_string(),
            parameter,
            against,
            outcome,
            explanation,
        });
        outcome
    }
}

/// Evaluates every rule for one enterprise. A rule applies only when its condition passes;
/// an unknown condition applies nothing and says so in the trace.
pub fn evaluate(
    book: &RuleBook,
    params: &RuleSet,
    date: NaiveDate,
    grade: Option<Grade>,
    inputs: &Inputs,
) -> Evaluation {
    let mut items = Vec::with_capacity(book.rules.len());
    for rule in &book.rules {
        let mut ctx = Ctx {
            params,
            date,
            grade,
            inputs,
            checks: Vec::new(),
        };
        let outcome = ctx.eval(&rule.when);
        let applies = outcome == Outcome::Pass;
        items.push(Item {
            rule: rule.id.clone(),
            article: rule.article.clone(),
            description: rule.description.clone(),
            outcome,
            points: if applies { rule.points } else { 0 },
            flag: rule.flag.clone().filter(|_| applies),
            rule_points: rule.points,
            checks: ctx.checks,
        });
    }
    let (total, flags) = match book.hit_policy {
        HitPolicy::Sum => {
            let total = items
                .iter()
                .fold(0_i64, |acc, i| acc.saturating_add(i.points));
            let mut flags: Vec<String> = items.iter().filter_map(|i| i.flag.clone()).collect();
            flags.sort();
            flags.dedup();
            (total, flags)
        }
        HitPolicy::Checks => {
            let met = items.iter().filter(|i| i.outcome == Outcome::Pass).count();
            (i64::try_from(met).unwrap_or(i64::MAX), Vec::new())
        }
    };
    Evaluation {
        items,
        total,
        flags,
    }
}
