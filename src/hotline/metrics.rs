//! Ticket metrics per enterprise and period, computed with polars from the tickets table
//! (the database stays the source of truth). For each enterprise: tickets, complaints per 100
//! units delivered in the last five years and its rank in the city, the satisfaction rate
//! (满意 + 基本满意 over rated), forwarded tickets answered within 3 days (Art. 15), closed
//! tickets revisited within 7 days (Art. 17), group petitions, tickets by category and month.
//!
//! A response or revisit window counts only once it has run out (or been met) by the period's
//! end: a ticket forwarded on 30 December is not late on the 31st.
//!
//! Unknown is not zero: a rate whose source column was missing from the import of any ticket
//! it would count is `None`, with the reason in `unknown`, never 0 %.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{Datelike, Months, NaiveDate};
use polars::prelude::*;
use serde::Serialize;

use super::facts::{self, Table};
use super::profile::field_bit;
use super::tally::{self, Marks, FLAGS};
use super::tickets::{day_start, period_bounds};
use super::{facts::sat_from, DAY};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;

pub use super::tally::{ANSWER_WITHIN, REVISIT_WITHIN};
/// Units delivered in this many years count for the complaint rate.
pub const UNIT_YEARS: u32 = 5;

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct EnterpriseMetrics {
    pub enterprise_id: i64,
    pub tickets: i64,
    /// Units delivered in the five years before the period's end (own and handed-over projects).
    pub units_delivered: i64,
    /// Tickets per 100 units; absent without delivered units.
    pub per_100_units: Option<f64>,
    /// How many ranked enterprises have a strictly lower rate (0 = best).
    pub rate_rank: Option<i64>,
    /// Enterprises ranked (those with delivered units).
    pub ranked: i64,
    /// `rate_rank` as a percentage of `ranked`, rounded down.
    pub rate_percentile: Option<i64>,
    pub rated: i64,
    pub satisfied: i64,
    pub basically_satisfied: i64,
    pub dissatisfied: i64,
    pub satisfaction_rate: Option<f64>,
    /// Forwarded tickets whose 3-day window has run out or been met.
    pub forwarded_due: i64,
    pub answered_in_3_days: i64,
    pub answer_rate: Option<f64>,
    /// Closed tickets whose 7-day window has run out or been met.
    pub closed_due: i64,
    pub revisited_in_7_days: i64,
    pub revisit_rate: Option<f64>,
    /// Tickets closed (办结) by the period's end, and their share of all tickets.
    pub handled: i64,
    pub handled_rate: Option<f64>,
    /// Forwarded tickets whose window of 3 working days (Qingdao: "三个工作日内做出处理意见")
    /// has run out or been met, and those answered within it.
    pub forwarded_due_working: i64,
    pub answered_in_3_working_days: i64,
    pub answer_rate_working: Option<f64>,
    /// Unknown when a ticket came from an export without the group-petition column.
    pub group_petitions: Option<i64>,
    /// Why a figure above is unknown, one `metric: reason` line each.
    pub unknown: Vec<String>,
    pub by_category: BTreeMap<String, i64>,
    /// Tickets per month (1–12) for a yearly period; empty for a monthly one.
    pub by_month: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Metrics {
    pub year: i32,
    pub month: Option<u32>,
    /// Epoch seconds: the period is [start, end).
    pub start: i64,
    pub end: i64,
    pub enterprises: Vec<EnterpriseMetrics>,
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// Revoked or cancelled subsidiaries: their tickets and units count for the parent from the
/// date of revocation (Art. 7). Chains are followed to the first active ancestor.
async fn rollup(conn: &mut Conn<'_>) -> Result<HashMap<i64, (i64, i64)>> {
    let rows: Vec<(i64, i64, Option<NaiveDate>)> = on_conn!(conn, |c| {
        sqlx::query_as(
        "SELECT id, parent_id, status_date FROM enterprises WHERE status <> 'active' AND parent_id IS NOT NULL"
    )
    .fetch_all(c)
    .await
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, parent, date)| Some((id, (parent, day_start(date?)))))
        .collect())
}

fn counted_for(rollup: &HashMap<i64, (i64, i64)>, mut enterprise: i64, at: i64) -> i64 {
    for _ in 0..8 {
        match rollup.get(&enterprise) {
            Some((parent, since)) if at >= *since => enterprise = *parent,
            _ => break,
        }
    }
    enterprise
}

fn polars_err(e: PolarsError) -> Error {
    Error::Internal(format!("指标计算失败：{e}"))
}

/// What each ticket of a period counts towards, one column per name in [`FLAGS`], with
/// the enterprise it counts for, its month and its category. Decided row by row in
/// [`frame`]: nullable times as polars columns took three times the memory, and on this
/// virtual machine the first touch of a page is what a metrics read spent most on.
struct Frame {
    enterprise: Vec<i64>,
    month: Vec<i32>,
    /// Codes into the facts table's category names.
    category: Vec<i64>,
    flags: [Vec<bool>; FLAGS.len()],
}

// One column per count `tally::flags` decides and per metric in `NEEDS`, in that order.
const _: () = assert!(FLAGS.len() == tally::COUNTS + NEEDS.len());

impl Frame {
    /// Room for `rows` tickets in every column, so that none is copied as it grows.
    fn with_capacity(rows: usize) -> Frame {
        Frame {
            enterprise: Vec::with_capacity(rows),
            month: Vec::with_capacity(rows),
            category: Vec::with_capacity(rows),
            flags: std::array::from_fn(|_| Vec::with_capacity(rows)),
        }
    }
}

/// The metrics that need particular source columns, the fields each needs (all of `all`, and
/// one of `any` when not empty), and the reason shown when one is missing.
struct Needs {
    metric: &'static str,
    all: &'static [&'static str],
    any: &'static [&'static str],
    reason: &'static str,
}

const NEEDS: [Needs; 6] = [
    Needs {
        metric: "answer_rate",
        all: &["forwarded_at", "responded_at"],
        any: &[],
        reason: "导入文件缺少转办时间或答复时间列",
    },
    Needs {
        metric: "revisit_rate",
        all: &["closed_at"],
        any: &["revisited", "revisited_at"],
        reason: "导入文件缺少办结时间或回访列",
    },
    Needs {
        metric: "satisfaction_rate",
        all: &["satisfaction"],
        any: &[],
        reason: "导入文件缺少满意度列",
    },
    Needs {
        metric: "group_petitions",
        all: &["group_petition"],
        any: &[],
        reason: "导入文件缺少群体诉求列",
    },
    Needs {
        metric: "handled_rate",
        all: &["closed_at"],
        any: &[],
        reason: "导入文件缺少办结时间列",
    },
    // Also lacking when the official calendar has no notice for the year of a forwarding
    // (see `frame`).
    Needs {
        metric: "answer_rate_working",
        all: &["forwarded_at", "responded_at"],
        any: &[],
        reason: "导入文件缺少转办时间或答复时间列，或缺少当年的工作日历",
    },
];

/// Qingdao: an opinion within three working days of receiving the complaint.
pub const ANSWER_WORKING_DAYS: u16 = 3;

/// The epoch second the 3-working-day window of a ticket forwarded at `at` ends: 00:00
/// Beijing after the third working day following the forwarding day. `None` when the
/// official calendar does not cover the days involved.
fn working_deadline(at: i64, cache: &mut HashMap<i64, Option<i64>>) -> Option<i64> {
    const CHINA: i64 = 8 * 3600;
    let day = (at + CHINA).div_euclid(DAY);
    *cache.entry(day).or_insert_with(|| {
        let date = chrono::DateTime::from_timestamp(day * DAY, 0)?.date_naive();
        let due = crate::calendar::Calendar::official()
            .add_working_days(date, ANSWER_WORKING_DAYS)
            .ok()?;
        let days = (due - NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days();
        Some((days + 1) * DAY - CHINA)
    })
}

/// A metric's needs as bit masks over a ticket's `source_fields`: (all of, any of).
fn masks(needs: &Needs) -> (i64, i64) {
    let mask = |fields: &[&str]| fields.iter().fold(0, |m, f| m | field_bit(f));
    (mask(needs.all), mask(needs.any))
}

fn lacks((all, any): (i64, i64), fields: i64) -> bool {
    fields & all != all || (any != 0 && fields & any == 0)
}

/// The period's attributed tickets, column by column, from the facts copy.
fn frame(t: &Table, start: i64, end: i64, as_of: i64, rollup: &HashMap<i64, (i64, i64)>) -> Frame {
    let tz = crate::time::china();
    let needs_masks = NEEDS.each_ref().map(masks);
    let (enterprise, received) = (t.col(facts::ENTERPRISE), t.col(facts::RECEIVED));
    // The period's rows, counted first: a pass over two columns costs less than growing
    // twenty, and a month's frame is sized for the month, not the table.
    let rows = enterprise
        .iter()
        .zip(received)
        .filter(|&(&e, &at)| e != facts::NULL && at >= start && at < end)
        .count();
    let mut f = Frame::with_capacity(rows);
    let mut working = HashMap::new();
    for r in 0..t.rows() {
        let (e, at) = (enterprise[r], received[r]);
        if e == facts::NULL || at < start || at >= end {
            continue;
        }
        f.enterprise.push(counted_for(rollup, e, at));
        let month = chrono::DateTime::from_timestamp(at, 0)
            .map(|t| t.with_timezone(&tz).month() as i32)
            .unwrap_or(0);
        f.month.push(month);
        f.category.push(t.col(facts::CATEGORY)[r]);
        let forwarded = t.opt(facts::FORWARDED, r);
        let marks = Marks {
            forwarded,
            responded: t.opt(facts::RESPONDED, r),
            closed: t.opt(facts::CLOSED, r),
            revisited: t.col(facts::REVISITED)[r] != 0,
            revisited_at: t.opt(facts::REVISITED_AT, r),
            sat: sat_from(t.col(facts::SAT)[r]),
            group: t.col(facts::GROUP)[r] != 0,
            working_deadline: forwarded.map(|at| working_deadline(at, &mut working)),
        };
        let counted = tally::flags(&marks, as_of);
        let fields = t.col(facts::SOURCE_FIELDS)[r];
        let mut lacking = needs_masks.map(|needs| lacks(needs, fields));
        // Also lacking when the official calendar has no notice for the forwarding's year.
        lacking[5] |= marks.working_deadline == Some(None);
        for (column, flag) in f.flags.iter_mut().zip(counted.into_iter().chain(lacking)) {
            column.push(flag);
        }
    }
    f
}

fn aggregate(f: Frame) -> PolarsResult<(DataFrame, DataFrame, DataFrame)> {
    let mut columns = vec![
        Column::new("enterprise".into(), f.enterprise),
        Column::new("month".into(), f.month),
        Column::new("category".into(), f.category),
    ];
    for (name, values) in FLAGS.iter().zip(f.flags) {
        columns.push(Column::new((*name).into(), values));
    }
    let df = DataFrame::new(columns)?;
    let mut sums = vec![len().cast(DataType::Int64).alias("tickets")];
    sums.extend(
        FLAGS
            .iter()
            .map(|name| col(*name).sum().cast(DataType::Int64).alias(*name)),
    );
    let main = df
        .clone()
        .lazy()
        .group_by([col("enterprise")])
        .agg(sums)
        .collect()?;
    let by_category = df
        .clone()
        .lazy()
        .group_by([col("enterprise"), col("category")])
        .agg([len().cast(DataType::Int64).alias("n")])
        .collect()?;
    let by_month = df
        .lazy()
        .group_by([col("enterprise"), col("month")])
        .agg([len().cast(DataType::Int64).alias("n")])
        .collect()?;
    Ok((main, by_category, by_month))
}

fn ints(df: &DataFrame, name: &str) -> PolarsResult<Vec<i64>> {
    Ok(df
        .column(name)?
        .cast(&DataType::Int64)?
        .i64()?
        .into_iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

/// Units delivered within five years before `as_of` per counted enterprise.
async fn units(
    conn: &mut Conn<'_>,
    as_of: NaiveDate,
    rollup: &HashMap<i64, (i64, i64)>,
) -> Result<HashMap<i64, i64>> {
    let since = as_of
        .checked_sub_months(Months::new(12 * UNIT_YEARS))
        .unwrap_or(NaiveDate::MIN);
    let rows: Vec<(i64, i64)> = on_conn!(conn, |c| {
        sqlx::query_as(
        "SELECT enterprise_id, units_delivered FROM projects WHERE delivery_date IS NOT NULL AND delivery_date >= $1 AND delivery_date <= $2"
    )
    .bind(since)
    .bind(as_of)
    .fetch_all(c)
    .await
    })?;
    let at = day_start(as_of);
    let mut out = HashMap::new();
    for (e, u) in rows {
        *out.entry(counted_for(rollup, e, at)).or_insert(0) += u;
    }
    Ok(out)
}

/// The [start, end) epoch seconds of a Beijing calendar year or month.
pub fn bounds(year: i32, month: Option<u32>) -> Result<(i64, i64)> {
    period_bounds(year, month).ok_or_else(|| Error::invalid("month", "月份应为1–12"))
}

/// Metrics of every enterprise with tickets or delivered units in a Beijing calendar year or
/// month, as of `as_of` (response windows still open then are not counted yet), from the
/// facts copy `t`. Rates are ranked city-wide; callers filter what a user may see afterwards.
pub async fn compute_from(
    conn: &mut Conn<'_>,
    t: Arc<Table>,
    year: i32,
    month: Option<u32>,
    as_of: i64,
) -> Result<Metrics> {
    let (start, end) = bounds(year, month)?;
    let as_of = as_of.min(end);
    let last_day = chrono::DateTime::from_timestamp(end - 1, 0)
        .map(|t| t.with_timezone(&crate::time::china()).date_naive())
        .ok_or_else(|| Error::invalid("year", "年份超出范围"))?;
    let rollup = rollup(conn).await?;
    let units = units(conn, last_day, &rollup).await?;
    let categories = t.categories.clone();
    // Scanning a million rows and aggregating is CPU work: off the async workers.
    let (main, by_category, by_month) =
        tokio::task::spawn_blocking(move || aggregate(frame(&t, start, end, as_of, &rollup)))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(polars_err)?;

    let mut out: BTreeMap<i64, EnterpriseMetrics> = BTreeMap::new();
    let get = |name: &str| ints(&main, name).map_err(polars_err);
    let (ids, tickets, rated, satisfied, basically, dissatisfied) = (
        get("enterprise")?,
        get("tickets")?,
        get("rated")?,
        get("satisfied")?,
        get("basically")?,
        get("dissatisfied")?,
    );
    let (forwarded_due, answered, closed_due, revisited, group) = (
        get("forwarded_due")?,
        get("answered")?,
        get("closed_due")?,
        get("revisited")?,
        get("group")?,
    );
    let (handled, forwarded_due_working, answered_working) = (
        get("handled")?,
        get("forwarded_due_working")?,
        get("answered_working")?,
    );
    let lacking = [
        get("lacks0")?,
        get("lacks1")?,
        get("lacks2")?,
        get("lacks3")?,
        get("lacks4")?,
        get("lacks5")?,
    ];
    for i in 0..ids.len() {
        let known = |k: usize| lacking[k].get(i).is_none_or(|n| *n == 0);
        let unknown: Vec<String> = NEEDS
            .iter()
            .enumerate()
            .filter(|(k, _)| !known(*k))
            .map(|(_, n)| format!("{}: {}", n.metric, n.reason))
            .collect();
        out.insert(
            ids[i],
            EnterpriseMetrics {
                enterprise_id: ids[i],
                tickets: tickets[i],
                rated: rated[i],
                satisfied: satisfied[i],
                basically_satisfied: basically[i],
                dissatisfied: dissatisfied[i],
                satisfaction_rate: ratio(satisfied[i] + basically[i], rated[i])
                    .filter(|_| known(2)),
                forwarded_due: forwarded_due[i],
                answered_in_3_days: answered[i],
                answer_rate: ratio(answered[i], forwarded_due[i]).filter(|_| known(0)),
                closed_due: closed_due[i],
                revisited_in_7_days: revisited[i],
                revisit_rate: ratio(revisited[i], closed_due[i]).filter(|_| known(1)),
                group_petitions: known(3).then_some(group[i]),
                handled: handled[i],
                handled_rate: ratio(handled[i], tickets[i]).filter(|_| known(4)),
                forwarded_due_working: forwarded_due_working[i],
                answered_in_3_working_days: answered_working[i],
                answer_rate_working: ratio(answered_working[i], forwarded_due_working[i])
                    .filter(|_| known(5)),
                unknown,
                ..Default::default()
            },
        );
    }
    let cat_ids = ints(&by_category, "enterprise").map_err(polars_err)?;
    let cat_n = ints(&by_category, "n").map_err(polars_err)?;
    let cat_codes = ints(&by_category, "category").map_err(polars_err)?;
    for (i, code) in cat_codes.into_iter().enumerate() {
        if let Some(m) = out.get_mut(&cat_ids[i]) {
            let name = usize::try_from(code)
                .ok()
                .and_then(|c| categories.get(c))
                .map_or("other", String::as_str);
            *m.by_category.entry(name.to_string()).or_insert(0) += cat_n[i];
        }
    }
    if month.is_none() {
        let (m_ids, m_month, m_n) = (
            ints(&by_month, "enterprise").map_err(polars_err)?,
            ints(&by_month, "month").map_err(polars_err)?,
            ints(&by_month, "n").map_err(polars_err)?,
        );
        for m in out.values_mut() {
            m.by_month = vec![0; 12];
        }
        for i in 0..m_ids.len() {
            if let (Some(m), 1..=12) = (out.get_mut(&m_ids[i]), m_month[i]) {
                m.by_month[(m_month[i] - 1) as usize] = m_n[i];
            }
        }
    }
    // Enterprises with delivered units but no tickets have the best rate of all: rank them too.
    for (e, u) in &units {
        let m = out.entry(*e).or_insert_with(|| EnterpriseMetrics {
            enterprise_id: *e,
            group_petitions: Some(0),
            by_month: if month.is_none() {
                vec![0; 12]
            } else {
                Vec::new()
            },
            ..Default::default()
        });
        m.units_delivered = *u;
    }
    rank(&mut out);
    Ok(Metrics {
        year,
        month,
        start,
        end,
        enterprises: out.into_values().collect(),
    })
}

/// Ranks complaint rates exactly (tickets/units compared by cross-multiplication).
fn rank(all: &mut BTreeMap<i64, EnterpriseMetrics>) {
    let cmp = |a: &(i64, i64), b: &(i64, i64)| {
        (a.0 as i128 * b.1 as i128).cmp(&(b.0 as i128 * a.1 as i128))
    };
    let mut rates: Vec<(i64, i64)> = all
        .values()
        .filter(|m| m.units_delivered > 0)
        .map(|m| (m.tickets, m.units_delivered))
        .collect();
    rates.sort_by(cmp);
    let n = rates.len() as i64;
    for m in all.values_mut().filter(|m| m.units_delivered > 0) {
        let me = (m.tickets, m.units_delivered);
        let lower = rates.partition_point(|r| cmp(r, &me) == Ordering::Less) as i64;
        m.per_100_units = Some(m.tickets as f64 * 100.0 / m.units_delivered as f64);
        m.rate_rank = Some(lower);
        m.ranked = n;
        m.rate_percentile = Some(lower * 100 / n);
    }
}
