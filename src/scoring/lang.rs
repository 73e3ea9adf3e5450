//! The rule language: rules live in the rule set's TOML file, beside its parameters.
//!
//! ```toml
//! hit_policy = "sum"            # every rule that holds adds its points; flags are collected
//!
//! [[rules]]
//! id = "hotline"
//! article = "第二十一条"
//! description = "市政务服务热线年度投诉数量较少或满意率较高：加5分"
//! points = 5
//! [rules.when]
//! any = [
//!   { metric = "complaint_rate_quartile", op = "==", value = 1, unknown = "fail" },
//!   { all = [ { metric = "satisfaction_pct", op = ">=", param = "satisfaction_min_pct", unknown = "fail" }, { metric = "rated_tickets", op = ">=", param = "satisfaction_min_rated", unknown = "fail" } ] },
//! ]
//! ```
//!
//! A condition is `all` / `any` / `not` over conditions, or a comparison of a metric from the
//! catalogue ([`super::metrics`]) with a parameter of the rule set or a literal. A metric that
//! can be unknown must say what an unknown value does (`unknown = "pass"` or `"fail"`), so
//! nothing turns into a zero by accident. Checking a file collects every problem, each with
//! its line.

use std::collections::HashSet;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::metrics::{self, Kind};
use crate::rules::RuleSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Op {
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Ge => a >= b,
            Op::Gt => a > b,
            Op::Le => a <= b,
            Op::Lt => a < b,
            Op::Eq => (a - b).abs() < 1e-9,
            Op::Ne => (a - b).abs() >= 1e-9,
        }
    }

    /// How a failed comparison reads: "回访率 64.3%，低于 70%".
    pub fn failed_words(self) -> &'static str {
        match self {
            Op::Ge => "低于",
            Op::Gt => "未超过",
            Op::Le => "高于",
            Op::Lt => "未低于",
            Op::Eq => "不等于",
            Op::Ne => "等于",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Ge => "≥",
            Op::Gt => ">",
            Op::Le => "≤",
            Op::Lt => "<",
            Op::Eq => "=",
            Op::Ne => "≠",
        })
    }
}

/// What an unknown metric value makes of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnUnknown {
    Pass,
    Fail,
    /// Stays unknown: the item is reported as undecided (for compliance checks, where neither
    /// answer would be true).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Literal {
    Bool(bool),
    Number(f64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compare {
    pub metric: String,
    pub op: Op,
    #[serde(default)]
    pub param: Option<String>,
    #[serde(default)]
    pub value: Option<Literal>,
    #[serde(default)]
    pub unknown: Option<OnUnknown>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Condition {
    All { all: Vec<Condition> },
    Any { any: Vec<Condition> },
    Not { not: Box<Condition> },
    Compare(Compare),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub article: String,
    pub description: String,
    /// Points when the condition holds (negative for a deduction).
    #[serde(default)]
    pub points: i64,
    /// A flag set when the condition holds, e.g. `no_2a` (不得参评2A级以上).
    #[serde(default)]
    pub flag: Option<String>,
    pub when: Condition,
}

/// How the rules of a set combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HitPolicy {
    /// Every rule that holds applies: points add up, flags are collected.
    Sum,
    /// Compliance checks: each rule is met or not (or undecided); rules carry no points or
    /// flags, and the total counts the checks met.
    Checks,
}

/// The rules part of a rule-set file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleBook {
    pub hit_policy: HitPolicy,
    pub rules: Vec<Rule>,
}

impl RuleBook {
    /// The parameters the rules compare with: the only ones a what-if can change, since the
    /// metrics (board coverage, late changes…) are frozen with the run.
    pub fn parameters_used(&self) -> std::collections::BTreeSet<String> {
        fn walk(c: &Condition, out: &mut std::collections::BTreeSet<String>) {
            match c {
                Condition::All { all: cs } | Condition::Any { any: cs } => {
                    cs.iter().for_each(|c| walk(c, out))
                }
                Condition::Not { not } => walk(not, out),
                Condition::Compare(cmp) => {
                    if let Some(p) = &cmp.param {
                        out.insert(p.clone());
                    }
                }
            }
        }
        let mut out = std::collections::BTreeSet::new();
        for r in &self.rules {
            walk(&r.when, &mut out);
        }
        out
    }
}

/// The flags a rule may set, with what they mean.
pub const FLAGS: &[(&str, &str)] = &[("no_2a", "不得参加评选2A级以上信用企业（第二十二条）")];

/// One thing wrong with a rule file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "第{l}行：{}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The line of the `n`-th (0-based) line of `text` containing `needle`.
fn line_of(text: &str, needle: &str, nth: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .map(|(i, _)| i + 1)
}

#[derive(Deserialize)]
struct File {
    hit_policy: Option<HitPolicy>,
    #[serde(default)]
    rules: Vec<Rule>,
}

/// Parses the rules of a rule-set file and checks them against its parameters on `date`.
pub fn parse(text: &str, params: &RuleSet, date: NaiveDate) -> Result<RuleBook, Vec<Problem>> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        vec![Problem {
            line,
            message: e.message().to_string(),
        }]
    })?;
    let Some(hit_policy) = file.hit_policy else {
        return Err(vec![Problem {
            line: None,
            message: "缺少 hit_policy（规则如何合并，如 \"sum\"）".into(),
        }]);
    };
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (i, rule) in file.rules.iter().enumerate() {
        let needle = format!("\"{}\"", rule.id);
        let nth = file.rules[..i].iter().filter(|r| r.id == rule.id).count();
        let line = line_of(text, &needle, nth);
        let mut say = |message: String| problems.push(Problem { line, message });
        if !seen.insert(rule.id.as_str()) {
            say(format!("规则 id “{}” 重复", rule.id));
        }
        match hit_policy {
            HitPolicy::Sum if rule.points == 0 && rule.flag.is_none() => say(format!(
                "规则“{}”既无分值（points）也无标记（flag），hit_policy = \"sum\" 无法合并",
                rule.id
            )),
            HitPolicy::Checks if rule.points != 0 || rule.flag.is_some() => say(format!(
                "规则“{}”有分值或标记，而 hit_policy = \"checks\" 只判断是否达标，不合并分值或标记",
                rule.id
            )),
            _ => {}
        }
        if let Some(flag) = &rule.flag {
            if !FLAGS.iter().any(|(f, _)| f == flag) {
                say(format!("规则“{}”的标记“{flag}”未定义", rule.id));
            }
        }
        check(&rule.when, &rule.id, params, date, &mut say);
    }
    if file.rules.is_empty() {
        problems.push(Problem {
            line: None,
            message: "规则集没有规则（[[rules]]）".into(),
        });
    }
    if problems.is_empty() {
        Ok(RuleBook {
            hit_policy,
            rules: file.rules,
        })
    } else {
        Err(problems)
    }
}

fn check(
    c: &Condition,
    rule: &str,
    params: &RuleSet,
    date: NaiveDate,
    say: &mut impl FnMut(String),
) {
    match c {
        Condition::All { all: cs } | Condition::Any { any: cs } => {
            if cs.is_empty() {
                say(format!("规则“{rule}”有空的 all/any"));
            }
            for c in cs {
                check(c, rule, params, date, say);
            }
        }
        Condition::Not { not } => check(not, rule, params, date, say),
        Condition::Compare(cmp) => {
            let Some(def) = metrics::find(&cmp.metric) else {
                say(format!("规则“{rule}”引用了未知指标“{}”", cmp.metric));
                return;
            };
            match (&cmp.param, &cmp.value) {
                (Some(_), Some(_)) | (None, None) => say(format!(
                    "规则“{rule}”对“{}”的比较应给出 param 或 value 之一",
                    cmp.metric
                )),
                (Some(p), None) => match params.parameters.get(p) {
                    None => say(format!("规则“{rule}”引用了未定义的参数“{p}”")),
                    Some(par) if !par.values.iter().any(|v| v.from <= date) => say(format!(
                        "参数“{p}”在评价日 {date} 没有取值（最早自 {}）",
                        par.values
                            .iter()
                            .map(|v| v.from)
                            .min()
                            .map_or("—".into(), |d| d.to_string())
                    )),
                    Some(_) if def.kind == Kind::Bool => say(format!(
                        "规则“{rule}”：指标“{}”是“是/否”，不能与数值参数比较",
                        cmp.metric
                    )),
                    Some(_) => {}
                },
                (None, Some(lit)) => {
                    let fits = matches!(
                        (def.kind, lit),
                        (Kind::Bool, Literal::Bool(_))
                            | (
                                Kind::Count | Kind::Percent | Kind::Number,
                                Literal::Number(_)
                            )
                    );
                    if !fits {
                        say(format!(
                            "规则“{rule}”：指标“{}”为{}，与给出的值类型不符",
                            cmp.metric,
                            def.kind.label()
                        ));
                    }
                }
            }
            if def.kind == Kind::Bool && !matches!(cmp.op, Op::Eq | Op::Ne) {
                say(format!(
                    "规则“{rule}”：是/否指标“{}”只能用 == 或 !=",
                    cmp.metric
                ));
            }
            if def.may_be_unknown && cmp.unknown.is_none() {
                say(format!(
                    "规则“{rule}”：指标“{}”可能无数据，须写明 unknown = \"pass\"、\"fail\" 或 \"unknown\"",
                    cmp.metric
                ));
            }
        }
    }
}
