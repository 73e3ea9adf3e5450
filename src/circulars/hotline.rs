//! The hotline circular (Art. 15–17, 21; seed 003 Art. 38), monthly or yearly: tickets by
//! county and category against the previous period, the enterprises with the most and fewest
//! complaints per 100 units, the best and worst satisfaction, and the composite ranking by
//! on-time rate, efficiency and satisfaction. Figures come from the same metrics the hotline
//! pages and the evaluation read; a rate without data prints 无数据, never 0.

use std::collections::{BTreeMap, HashMap};

use super::chart::{Bars, Chart, Lines, Series};
use super::compose::Compose;
use super::content::{dec2, pct, Column, CountyRef, Table};
use super::org::param;
use super::period::Period;
use super::wording::Wording;
use super::{Context, Draft};
use crate::db::Conn;
use crate::error::Result;
use crate::hotline::metrics::{compute_from, EnterpriseMetrics, Metrics};
use crate::hotline::tickets::day_start;
use crate::on_conn;

/// How many enterprises each best/worst list names.
pub(crate) const TOP: usize = 10;

pub(crate) struct Who {
    pub name: String,
    pub county_id: i64,
    pub county: String,
    pub county_code: String,
}

pub(crate) async fn registry(conn: &mut Conn<'_>) -> Result<HashMap<i64, Who>> {
    let rows: Vec<(i64, String, i64, String, String)> = on_conn!(conn, |c| sqlx::query_as(
        "SELECT e.id, e.name, e.county_id, j.name, j.code
         FROM enterprises e JOIN jurisdictions j ON j.id = e.county_id"
    )
    .fetch_all(c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, county_id, county, county_code)| {
            (
                id,
                Who {
                    name,
                    county_id,
                    county,
                    county_code,
                },
            )
        })
        .collect())
}

/// The metrics of a period as of the earlier of its end and now.
async fn metrics(conn: &mut Conn<'_>, ctx: &Context, p: Period) -> Result<Metrics> {
    let until = p.last_day().min(ctx.today());
    let as_of = until.succ_opt().map_or(i64::MAX, day_start);
    compute_from(conn, ctx.facts.clone(), p.year(), p.month(), as_of).await
}

/// Sums over a set of enterprises.
#[derive(Default, Clone)]
struct Sums {
    tickets: i64,
    rated: i64,
    satisfied: i64,
    forwarded_due: i64,
    answered: i64,
    closed_due: i64,
    revisited: i64,
    handled: i64,
}

impl Sums {
    fn add(&mut self, m: &EnterpriseMetrics) {
        self.tickets += m.tickets;
        self.rated += m.rated;
        self.satisfied += m.satisfied + m.basically_satisfied;
        self.forwarded_due += m.forwarded_due;
        self.answered += m.answered_in_3_days;
        self.closed_due += m.closed_due;
        self.revisited += m.revisited_in_7_days;
        self.handled += m.handled;
    }
}

fn rate(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn change(now: i64, before: Option<i64>) -> String {
    match before {
        Some(b) if b > 0 => format!("{:+.1}%", (now - b) as f64 * 100.0 / b as f64),
        Some(_) if now > 0 => "新增".into(),
        Some(_) => "持平".into(),
        None => "无数据".into(),
    }
}

pub(crate) async fn build(
    conn: &mut Conn<'_>,
    ctx: &Context,
    period: Period,
    county: Option<&CountyRef>,
    base: &[(&'static str, String)],
) -> Result<Draft> {
    let w = Wording::load(ctx.wording_dir.as_deref(), "hotline")?;
    let top = [("top", TOP.to_string())];
    let who = registry(conn).await?;
    let in_scope = |id: &i64| {
        who.get(id)
            .is_some_and(|w| county.is_none_or(|c| c.id == w.county_id))
    };
    let now = metrics(conn, ctx, period).await?;
    // A period with no ticket imported anywhere in the city has no figures: 无数据, not 0.
    let known = imported(&now);
    let before = match period.previous() {
        Some(p) => Some(metrics(conn, ctx, p).await?).filter(imported),
        None => None,
    };
    let mine: Vec<&EnterpriseMetrics> = now
        .enterprises
        .iter()
        .filter(|m| in_scope(&m.enterprise_id))
        .collect();

    // By county, this period and the last.
    let mut counties: BTreeMap<(String, String), (Sums, i64)> = BTreeMap::new();
    let mut total = Sums::default();
    let mut categories: BTreeMap<String, i64> = BTreeMap::new();
    for m in &mine {
        let w = &who[&m.enterprise_id];
        counties
            .entry((w.county_code.clone(), w.county.clone()))
            .or_default()
            .0
            .add(m);
        total.add(m);
        for (c, n) in &m.by_category {
            *categories.entry(c.clone()).or_default() += n;
        }
    }
    let mut total_before = None;
    if let Some(b) = &before {
        let mut t = 0;
        for m in b.enterprises.iter().filter(|m| in_scope(&m.enterprise_id)) {
            let w = &who[&m.enterprise_id];
            counties
                .entry((w.county_code.clone(), w.county.clone()))
                .or_default()
                .1 += m.tickets;
            t += m.tickets;
        }
        total_before = Some(t);
    }
    let mut county_table = Table::new(
        w.text("counties_caption", &top)?,
        vec![
            Column::text("县（市、区）", 5),
            Column::number("工单数", 3),
            Column::number("上期", 3),
            Column::number("增减", 3),
            Column::number("满意率", 3),
            Column::number("3日内反馈率", 4),
            Column::number("7日内回访率", 4),
            Column::number("办结率", 3),
        ],
    );
    let count = |n: i64| {
        if known {
            n.to_string()
        } else {
            "无数据".to_string()
        }
    };
    let county_row = |name: &str, s: &Sums, prev: Option<i64>| {
        vec![
            name.to_string(),
            count(s.tickets),
            prev.map_or_else(|| "无数据".into(), |p| p.to_string()),
            if known {
                change(s.tickets, prev)
            } else {
                "无数据".into()
            },
            pct(rate(s.satisfied, s.rated)),
            pct(rate(s.answered, s.forwarded_due)),
            pct(rate(s.revisited, s.closed_due)),
            pct(rate(s.handled, s.tickets)),
        ]
    };
    for ((_, name), (s, prev)) in &counties {
        county_table.push(county_row(name, s, before.as_ref().map(|_| *prev)));
    }
    if counties.len() > 1 {
        county_table.push(county_row("合计", &total, total_before));
    }
    let by_county = Chart::Bars(Bars {
        title: w.text("chart_counties", &[("period", period.label())])?,
        labels: counties.keys().map(|(_, n)| n.clone()).collect(),
        values: counties.values().map(|(s, _)| s.tickets as f64).collect(),
        unit: "件".into(),
    });

    let mut category_table = Table::new(
        w.text("categories_caption", &top)?,
        vec![
            Column::text("投诉类别", 6),
            Column::number("工单数", 3),
            Column::number("占比", 3),
        ],
    );
    // Codes to the taxonomy's labels (质量投诉, …); the taxonomy groups are what officers read.
    let classifier = crate::hotline::classify::Classifier::shared()?;
    let mut by_label: BTreeMap<String, i64> = BTreeMap::new();
    for (code, n) in &categories {
        *by_label
            .entry(classifier.label(code).to_string())
            .or_default() += n;
    }
    let mut cats: Vec<(&String, &i64)> = by_label.iter().collect();
    cats.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let cat_total: i64 = cats.iter().map(|(_, n)| **n).sum();
    for (c, n) in &cats {
        category_table.push(vec![
            (*c).clone(),
            n.to_string(),
            count_share(**n, cat_total),
        ]);
    }
    let shares = Chart::Bars(Bars {
        title: w.text("chart_categories", &[])?,
        labels: cats.iter().take(12).map(|(c, _)| (*c).clone()).collect(),
        values: cats
            .iter()
            .take(12)
            .map(|(_, n)| (**n as f64 * 1000.0 / cat_total.max(1) as f64).round() / 10.0)
            .collect(),
        unit: "%".into(),
    });

    // The trend: months of the year so far against the year before.
    let trend = trend(conn, ctx, period, &in_scope, &now, before.as_ref()).await?;

    let mut named = Vec::new();
    let row = |m: &EnterpriseMetrics, extra: Vec<String>| {
        let w = &who[&m.enterprise_id];
        let mut r = vec![w.name.clone(), w.county.clone()];
        r.extend(extra);
        r
    };
    let rate_cols = || {
        vec![
            Column::number("序号", 2),
            Column::text("企业名称", 9),
            Column::text("县（市、区）", 4),
            Column::number("工单数", 3),
            Column::number("近五年交付套数", 4),
            Column::number("每百套投诉", 3),
        ]
    };
    let mut ranked: Vec<&&EnterpriseMetrics> =
        mine.iter().filter(|m| m.per_100_units.is_some()).collect();
    ranked.sort_by(|a, b| {
        b.per_100_units
            .partial_cmp(&a.per_100_units)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.tickets.cmp(&a.tickets))
            .then(a.enterprise_id.cmp(&b.enterprise_id))
    });
    let mut worst_rate = Table::new(w.text("worst_rate_caption", &top)?, rate_cols());
    let mut best_rate = Table::new(w.text("best_rate_caption", &top)?, rate_cols());
    let rate_row = |i: usize, m: &EnterpriseMetrics| {
        let mut r = vec![(i + 1).to_string()];
        r.extend(row(
            m,
            vec![
                m.tickets.to_string(),
                m.units_delivered.to_string(),
                dec2(m.per_100_units),
            ],
        ));
        r
    };
    let mut worst_chart = Bars {
        title: w.text("chart_worst_rate", &top)?,
        labels: Vec::new(),
        values: Vec::new(),
        unit: String::new(),
    };
    for (i, m) in ranked
        .iter()
        .filter(|m| m.tickets > 0)
        .take(TOP)
        .enumerate()
    {
        worst_rate.push(rate_row(i, m));
        named.push(m.enterprise_id);
        worst_chart.labels.push(who[&m.enterprise_id].name.clone());
        worst_chart
            .values
            .push(m.per_100_units.map_or(0.0, |r| (r * 100.0).round() / 100.0));
    }
    // The fewest complaints among those with the most homes to answer for: ties at 0 go to
    // the larger developer.
    let mut best: Vec<&&&EnterpriseMetrics> = ranked.iter().collect();
    best.sort_by(|a, b| {
        a.per_100_units
            .partial_cmp(&b.per_100_units)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.units_delivered.cmp(&a.units_delivered))
            .then(a.enterprise_id.cmp(&b.enterprise_id))
    });
    for (i, m) in best.iter().take(TOP).enumerate() {
        best_rate.push(rate_row(i, m));
        named.push(m.enterprise_id);
    }

    let min_rated = param(
        &ctx.rules,
        "satisfaction_min_rated",
        period.last_day(),
        None,
    )
    .unwrap_or(1)
    .max(1);
    let mut rated: Vec<&&EnterpriseMetrics> = mine
        .iter()
        .filter(|m| m.rated >= min_rated && m.satisfaction_rate.is_some())
        .collect();
    rated.sort_by(|a, b| {
        b.satisfaction_rate
            .partial_cmp(&a.satisfaction_rate)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.rated.cmp(&a.rated))
            .then(a.enterprise_id.cmp(&b.enterprise_id))
    });
    let sat_cols = || {
        vec![
            Column::number("序号", 2),
            Column::text("企业名称", 9),
            Column::text("县（市、区）", 4),
            Column::number("已评价", 3),
            Column::number("满意+基本满意", 4),
            Column::number("满意率", 3),
        ]
    };
    let sat_row = |i: usize, m: &EnterpriseMetrics| {
        let mut r = vec![(i + 1).to_string()];
        r.extend(row(
            m,
            vec![
                m.rated.to_string(),
                (m.satisfied + m.basically_satisfied).to_string(),
                pct(m.satisfaction_rate),
            ],
        ));
        r
    };
    let mut sat_best = Table::new(w.text("sat_best_caption", &top)?, sat_cols());
    let mut sat_worst = Table::new(w.text("sat_worst_caption", &top)?, sat_cols());
    for (i, m) in rated.iter().take(TOP).enumerate() {
        sat_best.push(sat_row(i, m));
        named.push(m.enterprise_id);
    }
    for (i, m) in rated.iter().rev().take(TOP).enumerate() {
        sat_worst.push(sat_row(i, m));
        named.push(m.enterprise_id);
    }

    let (ranking_blocks, ranking_named, ranking_n, excluded) =
        super::ranking::ranking(&w, &mine, &who, base)?;
    named.extend(ranking_named);

    let vars: Vec<(&str, String)> = base
        .iter()
        .cloned()
        .chain([
            ("total", count(total.tickets)),
            (
                "previous",
                total_before.map_or_else(|| "无数据（未导入）".into(), |b| format!("{b}件")),
            ),
            (
                "change",
                if known {
                    change(total.tickets, total_before)
                } else {
                    "无数据".into()
                },
            ),
            ("satisfaction", pct(rate(total.satisfied, total.rated))),
            ("answer", pct(rate(total.answered, total.forwarded_due))),
            ("revisit", pct(rate(total.revisited, total.closed_due))),
            ("handled", pct(rate(total.handled, total.tickets))),
            (
                "enterprises",
                mine.iter().filter(|m| m.tickets > 0).count().to_string(),
            ),
            ("ranked", ranking_n.to_string()),
            ("excluded", excluded.to_string()),
            ("min_rated", min_rated.to_string()),
            ("top", TOP.to_string()),
        ])
        .collect();
    let mut doc = Compose::new(&w, &vars);
    doc.para("opening")?
        .heading("h_overview")?
        .para(if known { "overview" } else { "overview_none" })?
        .table(county_table)
        .chart(by_county);
    if let Some(trend) = trend {
        doc.chart(trend);
    }
    doc.heading("h_categories")?
        .list(category_table, "categories")?;
    if !cats.is_empty() {
        doc.chart(shares);
    }
    let has_worst = !worst_rate.rows.is_empty();
    doc.heading("h_rates")?.list(worst_rate, "worst_rate")?;
    if has_worst {
        doc.chart(Chart::Ranking(worst_chart));
    }
    doc.list(best_rate, "best_rate")?
        .heading("h_satisfaction")?
        .list(sat_best, "sat_best")?
        .list(sat_worst, "sat_worst")?
        .heading("h_ranking")?;
    doc.blocks.extend(ranking_blocks);
    doc.heading("h_requirements")?.para("requirements")?;
    let blocks = doc.blocks;
    let generation = ctx.facts.generation;
    Ok(Draft {
        title_vars: Vec::new(),
        wording: w,
        blocks,
        named,
        run: None,
        tickets_generation: Some(generation),
        rule_set: Some(ctx.rules.id.clone()),
    })
}

fn imported(m: &Metrics) -> bool {
    m.enterprises.iter().any(|e| e.tickets > 0)
}

fn count_share(n: i64, of: i64) -> String {
    if of > 0 {
        format!("{:.1}%", n as f64 * 100.0 / of as f64)
    } else {
        "无数据".into()
    }
}

/// Tickets per month of the period's year up to its last month, against the year before.
async fn trend(
    conn: &mut Conn<'_>,
    ctx: &Context,
    period: Period,
    in_scope: &impl Fn(&i64) -> bool,
    now: &Metrics,
    before: Option<&Metrics>,
) -> Result<Option<Chart>> {
    let year = Period::Year(period.year());
    let last_month = period.month().unwrap_or(12) as usize;
    let mut series = Vec::new();
    for p in [Some(year), year.previous()].into_iter().flatten() {
        // A yearly circular has both years computed already; a monthly one reads them here.
        let computed;
        let m = match period {
            Period::Year(_) if p == year => now,
            Period::Year(_) => match before {
                Some(b) => b,
                None => continue,
            },
            Period::Month(..) => {
                computed = metrics(conn, ctx, p).await?;
                &computed
            }
        };
        if !imported(m) {
            continue;
        }
        let mut months = [0_i64; 12];
        for e in m.enterprises.iter().filter(|e| in_scope(&e.enterprise_id)) {
            for (i, n) in e.by_month.iter().enumerate().take(12) {
                months[i] += n;
            }
        }
        series.push(Series {
            name: p.label(),
            values: months[..last_month].iter().map(|n| *n as f64).collect(),
        });
    }
    if series.is_empty() {
        return Ok(None);
    }
    Ok(Some(Chart::Lines(Lines {
        title: format!("{}各月工单数（与上年同期比较）", year.label()),
        labels: (1..=last_month).map(|m| format!("{m}月")).collect(),
        series,
        unit: "件".into(),
    })))
}
