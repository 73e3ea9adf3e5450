//! The org circular (Art. 21): enterprises in scope, with an approved org, meeting the
//! staffing and board-coverage rules, by county; named lists of those with no org, those
//! under an open or missed rectification order, and those commended.
//!
//! Everything is as of the period's last day (today while it runs), read in bulk through the
//! evaluation's gather, so the figures are those an evaluation on that day would use.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;

use super::chart::{Bars, Chart};
use super::compose::Compose;
use super::content::{count_pct, Column, CountyRef, Table};
use super::period::Period;
use super::wording::Wording;
use super::{Context, Draft};
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;
use crate::rules::RuleSet;
use crate::scoring::gather::{self, Subject};
use crate::scoring::metrics::Value;

/// A parameter of the rule set on a date, if the rule set has it.
pub(crate) fn param(
    rules: &RuleSet,
    name: &str,
    date: NaiveDate,
    grade: Option<crate::registry::Grade>,
) -> Option<i64> {
    rules
        .parameters
        .contains_key(name)
        .then(|| rules.value(name, date, grade).value)
}

fn number(s: &Subject, metric: &str) -> Option<f64> {
    match s.inputs.get(metric) {
        Some(Value::Number(n)) => Some(*n),
        Some(Value::Bool(b)) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn yes(s: &Subject, metric: &str) -> bool {
    matches!(s.inputs.get(metric), Some(Value::Bool(true)))
}

/// How one enterprise stands against the org rules.
struct Standing {
    org: bool,
    staffed: bool,
    boards: bool,
    complete: bool,
}

fn standing(s: &Subject, rules: &RuleSet, as_of: NaiveDate) -> Standing {
    let org = yes(s, "org_established");
    let min_staff = param(rules, "min_staff", as_of, Some(s.grade)).unwrap_or(1);
    let staffed = org && number(s, "full_time_staff").is_some_and(|n| n >= min_staff as f64);
    let min_cov = param(rules, "board_coverage_min_pct", as_of, None).unwrap_or(100);
    // No project that needs a board: nothing is missing.
    let boards = number(s, "board_coverage_pct").is_none_or(|p| p >= min_cov as f64);
    let docs = param(rules, "documents_required", as_of, None).unwrap_or(0);
    let late_max = param(rules, "late_changes_max", as_of, None).unwrap_or(0);
    let complete = staffed
        && boards
        && yes(s, "manager_named")
        && number(s, "documents_approved").is_some_and(|n| n >= docs as f64)
        && number(s, "late_changes").is_some_and(|n| n <= late_max as f64);
    Standing {
        org,
        staffed,
        boards,
        complete,
    }
}

/// A rectification order still open, or missed, with what the list prints.
#[derive(sqlx::FromRow)]
struct OrderRow {
    enterprise_id: i64,
    name: String,
    county: String,
    document_no: Option<String>,
    deadline: Option<NaiveDate>,
    state: String,
}

async fn open_orders(conn: &mut Conn<'_>, county: Option<i64>) -> Result<Vec<OrderRow>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, OrderRow>(
        "SELECT c.enterprise_id, e.name, j.name AS county, c.document_no, c.deadline, c.state
         FROM cases c JOIN enterprises e ON e.id = c.enterprise_id
         JOIN jurisdictions j ON j.id = e.county_id
         WHERE c.state IN ('ordered', 'submitted', 'overdue') AND ($1 IS NULL OR e.county_id = $1)
         ORDER BY j.code, e.name, c.id"
    )
    .bind(county)
    .fetch_all(c)
    .await)?)
}

#[derive(Default)]
struct Tally {
    enterprises: i64,
    org: i64,
    staffed: i64,
    boards: i64,
    complete: i64,
}

pub(crate) async fn build(
    conn: &mut Conn<'_>,
    ctx: &Context,
    period: Period,
    county: Option<&CountyRef>,
    base: &[(&'static str, String)],
) -> Result<Draft> {
    let w = Wording::load(ctx.wording_dir.as_deref(), "org")?;
    let as_of = period.last_day().min(ctx.today());
    let snapshot =
        gather::gather(conn, ctx.facts.clone(), &ctx.rules, period.year(), as_of).await?;
    let subjects: Vec<&Subject> = snapshot
        .subjects
        .iter()
        .filter(|s| county.is_none_or(|c| c.id == s.county_id))
        .collect();
    let orders = open_orders(conn, county.map(|c| c.id)).await?;
    let ordered: HashSet<i64> = orders.iter().map(|o| o.enterprise_id).collect();

    let codes: std::collections::HashMap<i64, String> =
        on_conn!(conn, |c| sqlx::query_as::<_, (i64, String)>(
            "SELECT id, code FROM jurisdictions"
        )
        .fetch_all(c)
        .await)?
        .into_iter()
        .collect();
    // Counties in the order of their division codes, as the bureau lists them.
    let mut by_county: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut total = Tally::default();
    let mut no_org = Table::new(
        w.text("no_org_caption", &[])?,
        vec![
            Column::number("序号", 2),
            Column::text("企业名称", 10),
            Column::text("统一社会信用代码", 7),
            Column::text("县（市、区）", 4),
        ],
    );
    let mut commended = Table::new(
        w.text("commended_caption", &[])?,
        vec![
            Column::number("序号", 2),
            Column::text("企业名称", 10),
            Column::text("县（市、区）", 4),
            Column::number("专职人员", 3),
        ],
    );
    let mut named = Vec::new();
    for s in &subjects {
        let st = standing(s, &ctx.rules, as_of);
        let code = codes.get(&s.county_id).cloned().unwrap_or_default();
        let t = by_county.entry((code, s.county_name.clone())).or_default();
        for t in [t, &mut total] {
            t.enterprises += 1;
            t.org += i64::from(st.org);
            t.staffed += i64::from(st.staffed);
            t.boards += i64::from(st.boards);
            t.complete += i64::from(st.complete);
        }
        if !st.org {
            let n = no_org.rows.len() + no_org.omitted + 1;
            no_org.push(vec![
                n.to_string(),
                s.name.clone(),
                s.credit_code.clone(),
                s.county_name.clone(),
            ]);
            named.push(s.enterprise_id);
        } else if st.complete && !ordered.contains(&s.enterprise_id) {
            let n = commended.rows.len() + commended.omitted + 1;
            commended.push(vec![
                n.to_string(),
                s.name.clone(),
                s.county_name.clone(),
                number(s, "full_time_staff").map_or_else(String::new, |v| format!("{v:.0}")),
            ]);
            named.push(s.enterprise_id);
        }
    }

    let mut counties = Table::new(
        w.text("counties_caption", &[])?,
        vec![
            Column::text("县（市、区）", 5),
            Column::number("企业数", 3),
            Column::number("已设立机构（占比）", 5),
            Column::number("人员达标（占比）", 5),
            Column::number("公示牌达标（占比）", 5),
            Column::number("机构建设完备（占比）", 5),
        ],
    );
    let row = |name: &str, t: &Tally| {
        vec![
            name.to_string(),
            t.enterprises.to_string(),
            count_pct(t.org, t.enterprises),
            count_pct(t.staffed, t.enterprises),
            count_pct(t.boards, t.enterprises),
            count_pct(t.complete, t.enterprises),
        ]
    };
    for ((_, name), t) in &by_county {
        counties.push(row(name, t));
    }
    if by_county.len() > 1 {
        counties.push(row("合计", &total));
    }
    let chart = Chart::Bars(Bars {
        title: w.text("chart_title", &[])?,
        labels: by_county.keys().map(|(_, n)| n.clone()).collect(),
        values: by_county
            .values()
            .map(|t| {
                if t.enterprises > 0 {
                    (t.org as f64 * 1000.0 / t.enterprises as f64).round() / 10.0
                } else {
                    0.0
                }
            })
            .collect(),
        unit: "%".into(),
    });

    let mut order_table = Table::new(
        w.text("orders_caption", &[])?,
        vec![
            Column::number("序号", 2),
            Column::text("企业名称", 9),
            Column::text("县（市、区）", 4),
            Column::text("整改通知文号", 6),
            Column::text("整改期限", 4),
            Column::text("状态", 4),
        ],
    );
    for (i, o) in orders.iter().enumerate() {
        order_table.push(vec![
            (i + 1).to_string(),
            o.name.clone(),
            o.county.clone(),
            o.document_no.clone().unwrap_or_default(),
            o.deadline.map(|d| d.to_string()).unwrap_or_default(),
            match o.state.as_str() {
                "overdue" => "逾期未整改",
                "submitted" => "已报整改待核查",
                _ => "整改中",
            }
            .into(),
        ]);
        named.push(o.enterprise_id);
    }

    let vars: Vec<(&str, String)> = base
        .iter()
        .cloned()
        .chain([
            ("as_of", crate::notify::templates::cn_date(as_of)),
            ("enterprises", total.enterprises.to_string()),
            ("with_org", count_pct(total.org, total.enterprises)),
            ("staffed", count_pct(total.staffed, total.enterprises)),
            ("boards", count_pct(total.boards, total.enterprises)),
            ("complete", count_pct(total.complete, total.enterprises)),
            ("no_org", (no_org.rows.len() + no_org.omitted).to_string()),
            ("orders", orders.len().to_string()),
            (
                "commended",
                (commended.rows.len() + commended.omitted).to_string(),
            ),
        ])
        .collect();
    let mut doc = Compose::new(&w, &vars);
    doc.para("opening")?
        .heading("h_overview")?
        .para("overview")?
        .table(counties)
        .chart(chart)
        .heading("h_no_org")?
        .list(no_org, "no_org")?
        .heading("h_orders")?
        .list(order_table, "orders")?
        .heading("h_commended")?
        .list(commended, "commended")?
        .heading("h_requirements")?
        .para("requirements")?;
    let blocks = doc.blocks;
    Ok(Draft {
        title_vars: Vec::new(),
        wording: w,
        blocks,
        named,
        run: None,
        tickets_generation: None,
        rule_set: Some(ctx.rules.id.clone()),
    })
}
