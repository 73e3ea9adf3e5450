//! What-if: a draft rule set (a file, or the run's own with parameters changed) evaluated on a
//! run's frozen inputs, compared item by item with what the run gave. Nothing is stored or
//! published; the inputs are the run's own, so only the rules differ.

use serde::Serialize;

use super::engine::{self, Evaluation, Outcome};
use super::metrics::Inputs;
use super::run::Run;
use super::Loaded;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::Grade;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemChange {
    pub rule: String,
    pub description: String,
    pub before: i64,
    pub after: i64,
    /// The draft's reading of the item: which comparisons decided it.
    pub why: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Change {
    pub enterprise_id: i64,
    pub name: String,
    pub county_name: String,
    pub before: i64,
    pub after: i64,
    pub before_no_2a: bool,
    pub after_no_2a: bool,
    pub items: Vec<ItemChange>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WhatIf {
    pub run_id: i64,
    pub year: i32,
    pub enterprises: usize,
    pub changed: Vec<Change>,
    /// Enterprises whose total goes up, down; and those gaining or losing the 2A ceiling.
    pub up: usize,
    pub down: usize,
    pub no_2a_before: usize,
    pub no_2a_after: usize,
}

#[derive(sqlx::FromRow)]
struct Row {
    enterprise_id: i64,
    name: String,
    county_name: String,
    grade: Grade,
    inputs: String,
    evaluation: String,
}

fn why(e: &Evaluation, rule: &str) -> String {
    e.items
        .iter()
        .find(|i| i.rule == rule)
        .map(|i| {
            i.checks
                .iter()
                .filter(|c| (i.outcome == Outcome::Pass) == (c.outcome == Outcome::Pass))
                .map(|c| c.explanation.clone())
                .collect::<Vec<_>>()
                .join("；")
        })
        .unwrap_or_else(|| "草案中无此项".into())
}

/// Evaluates `draft` on `run`'s stored inputs and lists every enterprise whose items change.
/// The comparison is with the run as computed (objections aside: they concern evidence, not
/// rules).
pub async fn compare(conn: &mut Conn<'_>, run: &Run, draft: &Loaded) -> Result<WhatIf> {
    let rows = on_conn!(conn, |c| sqlx::query_as::<_, Row>(
        "SELECT r.enterprise_id, r.name, j.name AS county_name, r.grade, r.inputs, r.evaluation
         FROM evaluation_results r JOIN jurisdictions j ON j.id = r.county_id
         WHERE r.run_id = $1 ORDER BY r.enterprise_id"
    )
    .bind(run.id)
    .fetch_all(c)
    .await)?;
    let bad = |e: serde_json::Error| Error::Internal(format!("评价结果无法读取：{e}"));
    let mut out = WhatIf {
        run_id: run.id,
        year: run.year,
        enterprises: rows.len(),
        changed: Vec::new(),
        up: 0,
        down: 0,
        no_2a_before: 0,
        no_2a_after: 0,
    };
    for r in rows {
        let inputs: Inputs = serde_json::from_str(&r.inputs).map_err(bad)?;
        let before: Evaluation = serde_json::from_str(&r.evaluation).map_err(bad)?;
        let after = engine::evaluate(
            &draft.book,
            &draft.params,
            run.as_of,
            Some(r.grade),
            &inputs,
        );
        let no_2a = |e: &Evaluation| e.flags.iter().any(|f| f == "no_2a");
        out.no_2a_before += usize::from(no_2a(&before));
        out.no_2a_after += usize::from(no_2a(&after));
        let mut rules: Vec<&str> = before.items.iter().map(|i| i.rule.as_str()).collect();
        for i in &after.items {
            if !rules.contains(&i.rule.as_str()) {
                rules.push(&i.rule);
            }
        }
        let points = |e: &Evaluation, rule: &str| {
            e.items
                .iter()
                .find(|i| i.rule == rule)
                .map(|i| (i.points, i.flag.clone(), i.description.clone()))
        };
        let mut items = Vec::new();
        for rule in rules {
            let (b, a) = (points(&before, rule), points(&after, rule));
            let (bp, bf) = b.as_ref().map_or((0, None), |(p, f, _)| (*p, f.clone()));
            let (ap, af) = a.as_ref().map_or((0, None), |(p, f, _)| (*p, f.clone()));
            if bp != ap || bf != af {
                items.push(ItemChange {
                    rule: rule.to_string(),
                    description: a.or(b).map(|(_, _, d)| d).unwrap_or_default(),
                    before: bp,
                    after: ap,
                    why: why(&after, rule),
                });
            }
        }
        if items.is_empty() {
            continue;
        }
        if after.total > before.total {
            out.up += 1;
        } else if after.total < before.total {
            out.down += 1;
        }
        out.changed.push(Change {
            enterprise_id: r.enterprise_id,
            name: r.name,
            county_name: r.county_name,
            before: before.total,
            after: after.total,
            before_no_2a: no_2a(&before),
            after_no_2a: no_2a(&after),
            items,
        });
    }
    Ok(out)
}

/// The run's rule set with some parameters set to other values from the run's evaluation
/// date on (the page's "change a threshold and see").
pub fn with_parameters(base: &Loaded, changes: &[(String, i64)], run: &Run) -> Result<Loaded> {
    let mut params = base.params.clone();
    let used = base.book.parameters_used();
    for (name, value) in changes {
        if params.parameters.contains_key(name) && !used.contains(name) {
            return Err(Error::invalid(
                name.clone(),
                "该参数不参与评分规则；冻结的输入（如公示牌覆盖率）不会随之重算",
            ));
        }
        let p = params
            .parameters
            .get_mut(name)
            .ok_or_else(|| Error::invalid(name.clone(), "规则集中没有该参数"))?;
        p.values.retain(|v| v.from < run.as_of);
        p.values.push(crate::rules::DatedValue {
            from: run.as_of,
            value: *value,
            by_grade: Default::default(),
        });
    }
    Ok(Loaded {
        params,
        book: base.book.clone(),
    })
}

/// A what-if as lines of text (the CLI's `--what-if`).
pub fn render(w: &WhatIf) -> String {
    let mut s = format!(
        "{}年度（第{}次评价的冻结数据）：{}家企业中{}家结果变化，{}家升、{}家降；不得参评2A级：{} → {}家\n",
        w.year,
        w.run_id,
        w.enterprises,
        w.changed.len(),
        w.up,
        w.down,
        w.no_2a_before,
        w.no_2a_after
    );
    for c in &w.changed {
        s.push_str(&format!(
            "\n{}（{}）：{} → {}分{}\n",
            c.name,
            c.county_name,
            c.before,
            c.after,
            if c.before_no_2a != c.after_no_2a {
                if c.after_no_2a {
                    "，新增不得参评2A级"
                } else {
                    "，不再限制参评2A级"
                }
            } else {
                ""
            }
        ));
        for i in &c.items {
            s.push_str(&format!(
                "  {}：{} → {}分（{}）\n",
                i.description, i.before, i.after, i.why
            ));
        }
    }
    s
}
