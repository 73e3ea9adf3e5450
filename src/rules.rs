//! Rule sets as data (DESIGN §3): a TOML file per jurisdiction and version under
//! `scoring-rules/`, with parameters whose values are dated and which each name their
//! article. The rule sets shipped in the repository are embedded in the binary; the bureau
//! picks one with the `rule_set` setting.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::registry::Grade;

const SHIPPED: &[(&str, &str)] = &[
    (
        "jining-2021",
        include_str!("../scoring-rules/jining-2021.toml"),
    ),
    (
        "qingdao-sample",
        include_str!("../scoring-rules/qingdao-sample.toml"),
    ),
];

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RuleSet {
    pub id: String,
    pub title: String,
    pub source: String,
    pub effective_from: NaiveDate,
    pub effective_to: NaiveDate,
    pub parameters: BTreeMap<String, Parameter>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Parameter {
    pub article: String,
    pub description: String,
    pub values: Vec<DatedValue>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DatedValue {
    pub from: NaiveDate,
    pub value: i64,
    /// Overrides of `value` for some qualification grades.
    #[serde(default)]
    pub by_grade: BTreeMap<String, i64>,
}

/// A parameter's value on a date, with where it came from (for traces and explanations).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Resolved {
    pub name: String,
    pub value: i64,
    pub from: NaiveDate,
    pub article: String,
}

impl RuleSet {
    pub fn shipped(id: &str) -> Result<RuleSet> {
        let (_, text) = SHIPPED
            .iter()
            .find(|(name, _)| *name == id)
            .ok_or_else(|| {
                Error::invalid(
                    "rule_set",
                    format!(
                        "未知的规则集“{id}”，可用：{}",
                        Self::shipped_ids().join("、")
                    ),
                )
            })?;
        Self::parse(text)
    }

    /// The text of a shipped rule-set file.
    pub fn shipped_text(id: &str) -> Option<&'static str> {
        SHIPPED
            .iter()
            .find(|(name, _)| *name == id)
            .map(|(_, text)| *text)
    }

    pub fn shipped_ids() -> Vec<&'static str> {
        SHIPPED.iter().map(|(id, _)| *id).collect()
    }

    pub fn parse(text: &str) -> Result<RuleSet> {
        let rs: RuleSet = toml::from_str(text)
            .map_err(|e| Error::invalid("rule_set", format!("规则集文件有误：{e}")))?;
        for required in [
            "min_staff",
            "change_filing_days",
            "board_lookback_years",
            "board_width_cm",
            "board_height_cm",
            "delegation_allowed",
            "suggest_unanswered_min_forwarded",
            "suggest_unanswered_max_answer_pct",
        ] {
            let p = rs.parameters.get(required).ok_or_else(|| {
                Error::invalid("rule_set", format!("规则集 {} 缺少参数 {required}", rs.id))
            })?;
            if p.values.is_empty() {
                return Err(Error::invalid(
                    "rule_set",
                    format!("规则集 {} 的参数 {required} 没有取值", rs.id),
                ));
            }
        }
        Ok(rs)
    }

    /// The value of `name` in force on `date` (for `grade`, where the value depends on it).
    /// Before the first dated value, the first one applies.
    pub fn value(&self, name: &str, date: NaiveDate, grade: Option<Grade>) -> Resolved {
        let p = &self.parameters[name];
        let v = p
            .values
            .iter()
            .rev()
            .find(|v| v.from <= date)
            .unwrap_or(&p.values[0]);
        let value = grade
            .and_then(|g| v.by_grade.get(g.code()).copied())
            .unwrap_or(v.value);
        Resolved {
            name: name.into(),
            value,
            from: v.from,
            article: p.article.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_rule_sets_load_and_resolve() {
        let d = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        let jn = RuleSet::shipped("jining-2021").unwrap();
        assert_eq!(jn.value("min_staff", d, Some(Grade::Fourth)).value, 2);
        assert_eq!(jn.value("change_filing_days", d, None).value, 10);
        assert_eq!(jn.value("min_staff", d, None).article, "第五条");
        let qd = RuleSet::shipped("qingdao-sample").unwrap();
        assert_eq!(qd.value("min_staff", d, Some(Grade::Second)).value, 3);
        assert_eq!(qd.value("min_staff", d, Some(Grade::Fourth)).value, 1);
        assert!(RuleSet::shipped("nowhere").is_err());
    }
}
