//! The evaluation circular: a final run's results (Art. 21–22), each enterprise's items with
//! upheld objections applied, its total and its 2A ceiling, with a summary by county. Only a
//! final run is circulated: a draft or one still in publicity may change.

use std::collections::BTreeMap;

use super::compose::Compose;
use super::content::{count_pct, Column, CountyRef, RunRef, Table};
use super::period::Period;
use super::wording::Wording;
use super::Draft;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::scoring::engine::{Evaluation, Outcome};
use crate::scoring::results::apply;
use crate::scoring::run::{self, RunStatus};

#[derive(sqlx::FromRow)]
struct Row {
    enterprise_id: i64,
    name: String,
    credit_code: String,
    county: String,
    county_code: String,
    final_total: i64,
    final_no_2a: bool,
    evaluation: String,
}

fn ordinal(n: usize) -> &'static str {
    ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]
        .get(n)
        .copied()
        .unwrap_or("…")
}

fn points(p: i64) -> String {
    match p {
        p if p > 0 => format!("+{p}"),
        0 => "0".into(),
        p => format!("−{}", p.unsigned_abs()),
    }
}

pub(crate) async fn build(
    conn: &mut Conn<'_>,
    wording_dir: Option<&std::path::Path>,
    period: Period,
    county: Option<&CountyRef>,
    base: &[(&'static str, String)],
) -> Result<Draft> {
    let Period::Year(year) = period else {
        return Err(Error::invalid(
            "period",
            "信用评价结果按年度通报，期间应为年份",
        ));
    };
    let w = Wording::load(wording_dir, "evaluation")?;
    let id: Option<i64> = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT id FROM evaluation_runs WHERE year = $1 AND status = 'final'"
    )
    .bind(year)
    .fetch_optional(c)
    .await)?;
    let id = id.ok_or_else(|| {
        Error::Conflict(format!(
            "{year}年度尚无定稿的信用评价，公示期满并定稿后方可通报"
        ))
    })?;
    let run = run::get(conn, id).await?;
    debug_assert_eq!(run.status, RunStatus::Final);
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, Row>(
        "SELECT r.enterprise_id, r.name, r.credit_code, j.name AS county, j.code AS county_code,
                r.final_total, r.final_no_2a, r.evaluation
         FROM evaluation_results r JOIN jurisdictions j ON j.id = r.county_id
         WHERE r.run_id = $1 AND ($2 IS NULL OR r.county_id = $2)
         ORDER BY j.code, r.final_total DESC, r.name, r.enterprise_id"
    )
    .bind(id)
    .bind(county.map(|c| c.id))
    .fetch_all(c)
    .await
    })?;
    let upheld = crate::scoring::objection::upheld_in_run(conn, id).await?;

    // The items' columns, in the rule set's order, from the first result.
    let mut rules: Vec<(String, String)> = Vec::new();
    let mut legend: Vec<String> = Vec::new();
    let mut table: Option<Table> = None;
    let mut by_county: BTreeMap<(String, String), [i64; 4]> = BTreeMap::new();
    let mut totals = [0_i64; 4];
    let mut named = Vec::with_capacity(rows.len());
    let bad = |e: serde_json::Error| Error::Internal(format!("评价结果无法读取：{e}"));
    for r in &rows {
        let e: Evaluation = serde_json::from_str(&r.evaluation).map_err(bad)?;
        let objections = upheld
            .get(&r.enterprise_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let (items, _, _) = apply(&e, objections);
        let t = table.get_or_insert_with(|| {
            // Short headers (项目一（+5）…), spelt out in a legend above the table.
            rules = items
                .iter()
                .enumerate()
                .map(|(n, i)| {
                    let head = match i.item.rule_points {
                        0 => format!("项目{}", ordinal(n)),
                        p => format!("项目{}（{}）", ordinal(n), points(p)),
                    };
                    legend.push(format!(
                        "项目{}：{}（{}）",
                        ordinal(n),
                        i.item.description,
                        i.item.article
                    ));
                    (i.item.rule.clone(), head)
                })
                .collect();
            let mut cols = vec![
                Column::number("序号", 2),
                Column::text("企业名称", 8),
                Column::text("统一社会信用代码", 7),
                Column::text("县（市、区）", 4),
            ];
            cols.extend(rules.iter().map(|(_, h)| Column::number(h, 3)));
            cols.push(Column::number("合计", 2));
            cols.push(Column::text("2A级限制", 3));
            Table::new(String::new(), cols)
        });
        let mut cells = vec![
            (t.rows.len() + t.omitted + 1).to_string(),
            r.name.clone(),
            r.credit_code.clone(),
            r.county.clone(),
        ];
        for (rule, _) in &rules {
            let cell = match items.iter().find(|i| &i.item.rule == rule) {
                Some(i) if i.item.rule_points == 0 && i.item.points == 0 => match i.item.outcome {
                    Outcome::Pass => "符合",
                    Outcome::Fail => "不符合",
                    Outcome::Unknown => "无法判断",
                }
                .to_string(),
                Some(i) if i.overridden.is_some() => {
                    format!("{}（异议改判）", points(i.item.points))
                }
                Some(i) => points(i.item.points),
                None => "—".into(),
            };
            cells.push(cell);
        }
        cells.push(points(r.final_total));
        cells.push(
            if r.final_no_2a {
                "不得评2A级以上"
            } else {
                ""
            }
            .into(),
        );
        t.push(cells);
        named.push(r.enterprise_id);
        let plus = items.iter().filter(|i| i.item.points > 0).count() as i64;
        let c = by_county
            .entry((r.county_code.clone(), r.county.clone()))
            .or_default();
        for c in [c, &mut totals] {
            c[0] += 1;
            c[1] += i64::from(plus > 0);
            c[2] += i64::from(r.final_total < 0);
            c[3] += i64::from(r.final_no_2a);
        }
    }

    let mut summary = Table::new(
        w.text("summary_caption", &[])?,
        vec![
            Column::text("县（市、区）", 5),
            Column::number("参评企业", 3),
            Column::number("获得加分（占比）", 5),
            Column::number("被扣分（占比）", 5),
            Column::number("不得评2A级以上", 4),
        ],
    );
    let srow = |name: &str, c: &[i64; 4]| {
        vec![
            name.to_string(),
            c[0].to_string(),
            count_pct(c[1], c[0]),
            count_pct(c[2], c[0]),
            c[3].to_string(),
        ]
    };
    for ((_, name), c) in &by_county {
        summary.push(srow(name, c));
    }
    if by_county.len() > 1 {
        summary.push(srow("合计", &totals));
    }
    let objections: (i64, i64) = on_conn!(conn, |c| sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'upheld' THEN 1 ELSE 0 END), 0)
         FROM objections WHERE run_id = $1"
    )
    .bind(id)
    .fetch_one(c)
    .await)?;
    let vars: Vec<(&str, String)> = base
        .iter()
        .cloned()
        .chain([
            ("year", year.to_string()),
            ("run", run.number()),
            ("rule_set", run.rule_set_title.clone()),
            ("as_of", crate::notify::templates::cn_date(run.as_of)),
            (
                "publicized",
                run.publicized_at
                    .map(|t| crate::time::local(&t))
                    .unwrap_or_default(),
            ),
            (
                "publicity_ends",
                run.publicity_ends
                    .map(crate::notify::templates::cn_date)
                    .unwrap_or_default(),
            ),
            ("enterprises", totals[0].to_string()),
            ("plus", count_pct(totals[1], totals[0])),
            ("minus", count_pct(totals[2], totals[0])),
            ("no_2a", totals[3].to_string()),
            ("objections", objections.0.to_string()),
            ("upheld", objections.1.to_string()),
        ])
        .collect();
    let mut results = table.unwrap_or_else(|| Table::new(String::new(), Vec::new()));
    results.caption = w.text("results_caption", &vars)?;
    let mut doc = Compose::new(&w, &vars);
    doc.para("opening")?
        .heading("h_summary")?
        .para("summary")?
        .table(summary)
        .heading("h_results")?;
    if !legend.is_empty() {
        doc.text(format!("表中{}。", legend.join("；")));
    }
    doc.list(results, "results")?
        .heading("h_requirements")?
        .para("requirements")?;
    let blocks = doc.blocks;
    Ok(Draft {
        title_vars: vec![("year", year.to_string())],
        wording: w,
        blocks,
        named,
        run: Some(RunRef {
            id: run.id,
            year: run.year,
            rules_hash: run.rules_hash.clone(),
            inputs_hash: run.inputs_hash.clone(),
            results_hash: run.results_hash.clone(),
        }),
        tickets_generation: None,
        rule_set: Some(run.rule_set_id.clone()),
    })
}
