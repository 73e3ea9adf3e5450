//! Metrics as a user may see them: the city's ranking is computed over every enterprise, then
//! cut down to the caller's county or enterprise, with names for display, one page at a time.
//!
//! The names and the orders are worked out once per cached result (see [`Ranked`]), not per
//! request: a city-wide answer used to load 10,000 names and serialize 10,000 rows (6 MB)
//! each time, which on two cores queued every other request behind it.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::metrics::{EnterpriseMetrics, Metrics};
use super::served::Analytics;
use crate::auth::Scope;
use crate::db::{Conn, Db};
use crate::error::Result;
use crate::on_conn;
use crate::registry::Paging;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Named {
    pub enterprise_name: String,
    pub county_name: String,
    /// Group petitions of the period whose face-to-face report (Art. 16) came after the
    /// third day, or has not come by its end; unknown when the petition flag is.
    pub petition_reports_late: Option<i64>,
    #[serde(flatten)]
    pub metrics: EnterpriseMetrics,
}

/// The order of a metrics list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Most complaints per 100 units first, then most tickets; enterprises without units last.
    #[default]
    Rate,
    /// Most tickets first.
    Tickets,
    /// Lowest satisfaction rate first; enterprises without a known rate last.
    Satisfaction,
    /// By enterprise name.
    Name,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::Rate, Sort::Tickets, Sort::Satisfaction, Sort::Name];

    pub fn code(self) -> &'static str {
        match self {
            Sort::Rate => "rate",
            Sort::Tickets => "tickets",
            Sort::Satisfaction => "satisfaction",
            Sort::Name => "name",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Rate => "每百套投诉",
            Sort::Tickets => "工单数",
            Sort::Satisfaction => "满意率（低者在前）",
            Sort::Name => "企业名称",
        }
    }

    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|v| v.code() == s)
    }
}

/// One page of the metrics a caller may see.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScopedMetrics {
    pub year: i32,
    pub month: Option<u32>,
    pub sort: Sort,
    /// Enterprises the caller may see, over all pages.
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub enterprises: Vec<Named>,
}

/// A computed result made ready for display: each enterprise's name and county, and the
/// list's orders, as indexes into [`Metrics::enterprises`]. Built once per cached result.
#[derive(Debug)]
pub struct Ranked {
    labels: Vec<Option<Label>>,
    /// One order per [`Sort`], in [`Sort::ALL`] order; enterprises without a label (no longer
    /// in the registry) are left out, as before.
    orders: [Vec<u32>; 4],
    by_id: HashMap<i64, u32>,
}

#[derive(Debug)]
struct Label {
    name: String,
    county_id: i64,
    county_name: Arc<str>,
}

/// Names and counties of every enterprise, and the orders of `m`.
pub async fn rank_for_display(conn: &mut Conn<'_>, m: &Metrics) -> Result<Ranked> {
    let rows: Vec<(i64, String, i64, String)> = on_conn!(conn, |c| {
        sqlx::query_as(
        "SELECT e.id, e.name, e.county_id, j.name FROM enterprises e JOIN jurisdictions j ON j.id = e.county_id"
    )
    .fetch_all(c)
    .await
    })?;
    let mut counties: HashMap<i64, Arc<str>> = HashMap::new();
    let mut names: HashMap<i64, Label> = HashMap::with_capacity(rows.len());
    for (id, name, county_id, county_name) in rows {
        let county_name = counties
            .entry(county_id)
            .or_insert_with(|| Arc::from(county_name))
            .clone();
        names.insert(
            id,
            Label {
                name,
                county_id,
                county_name,
            },
        );
    }
    let labels: Vec<Option<Label>> = m
        .enterprises
        .iter()
        .map(|e| names.remove(&e.enterprise_id))
        .collect();
    let by_id = m
        .enterprises
        .iter()
        .enumerate()
        .filter(|(i, _)| labels[*i].is_some())
        .map(|(i, e)| (e.enterprise_id, i as u32))
        .collect();
    let orders = Sort::ALL.map(|sort| order(m, &labels, sort));
    Ok(Ranked {
        labels,
        orders,
        by_id,
    })
}

/// The indexes of the labelled enterprises of `m` in `sort` order; ties by enterprise id.
fn order(m: &Metrics, labels: &[Option<Label>], sort: Sort) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..m.enterprises.len() as u32)
        .filter(|i| labels[*i as usize].is_some())
        .collect();
    let e = |i: &u32| &m.enterprises[*i as usize];
    let name = |i: &u32| labels[*i as usize].as_ref().map_or("", |l| l.name.as_str());
    idx.sort_by(|a, b| {
        let (x, y) = (e(a), e(b));
        let primary = match sort {
            Sort::Rate => y
                .per_100_units
                .unwrap_or(-1.0)
                .total_cmp(&x.per_100_units.unwrap_or(-1.0))
                .then(y.tickets.cmp(&x.tickets)),
            Sort::Tickets => y.tickets.cmp(&x.tickets),
            Sort::Satisfaction => x
                .satisfaction_rate
                .unwrap_or(f64::INFINITY)
                .total_cmp(&y.satisfaction_rate.unwrap_or(f64::INFINITY)),
            Sort::Name => name(a).cmp(name(b)),
        };
        primary.then(x.enterprise_id.cmp(&y.enterprise_id))
    });
    idx
}

impl Ranked {
    fn named(&self, m: &Metrics, i: u32) -> Option<Named> {
        let label = self.labels.get(i as usize)?.as_ref()?;
        Some(Named {
            enterprise_name: label.name.clone(),
            county_name: label.county_name.to_string(),
            petition_reports_late: None,
            metrics: m.enterprises.get(i as usize)?.clone(),
        })
    }

    fn visible(&self, i: u32, scope: Scope, m: &Metrics) -> bool {
        match scope {
            Scope::City => true,
            Scope::County(c) => self.labels[i as usize]
                .as_ref()
                .is_some_and(|l| l.county_id == c),
            Scope::Enterprise(e) => m.enterprises[i as usize].enterprise_id == e,
        }
    }
}

/// One page of the metrics of a year or month that `scope` may see, in `sort` order. Ranks
/// stay city-wide.
pub async fn page(
    db: &Db,
    analytics: &Analytics,
    scope: Scope,
    year: i32,
    month: Option<u32>,
    sort: Sort,
    paging: Paging,
) -> Result<ScopedMetrics> {
    let served = analytics.served(db, year, month).await?;
    let (m, ranked) = (&served.metrics, &served.ranked);
    let skip = usize::try_from(paging.offset()).unwrap_or(usize::MAX);
    let take = usize::try_from(paging.per_page).unwrap_or(0);
    let (total, enterprises) = match scope {
        // An enterprise has at most one row: no need to walk the order.
        Scope::Enterprise(id) => {
            let own: Vec<Named> = ranked
                .by_id
                .get(&id)
                .and_then(|i| ranked.named(m, *i))
                .into_iter()
                .collect();
            (own.len(), own.into_iter().skip(skip).take(take).collect())
        }
        _ => {
            let order = &ranked.orders[Sort::ALL.iter().position(|s| *s == sort).unwrap_or(0)];
            let mut total = 0;
            let mut rows = Vec::with_capacity(take.min(order.len()));
            for i in order.iter().copied() {
                if !ranked.visible(i, scope, m) {
                    continue;
                }
                if total >= skip && rows.len() < take {
                    rows.extend(ranked.named(m, i));
                }
                total += 1;
            }
            (total, rows)
        }
    };
    let mut enterprises = enterprises;
    with_petitions(db, m, &mut enterprises).await?;
    Ok(ScopedMetrics {
        year,
        month,
        sort,
        total: total as i64,
        page: paging.page,
        per_page: paging.per_page,
        enterprises,
    })
}

/// One enterprise's row (the caller has already checked it may see the enterprise).
pub async fn of_enterprise(
    db: &Db,
    analytics: &Analytics,
    enterprise_id: i64,
    year: i32,
    month: Option<u32>,
) -> Result<Option<Named>> {
    let served = analytics.served(db, year, month).await?;
    let mut row: Vec<Named> = served
        .ranked
        .by_id
        .get(&enterprise_id)
        .and_then(|i| served.ranked.named(&served.metrics, *i))
        .into_iter()
        .collect();
    with_petitions(db, &served.metrics, &mut row).await?;
    Ok(row.pop())
}

/// Fills in the late petition reports of the rows of a page (one grouped query), where the
/// petition flag is known.
async fn with_petitions(db: &Db, m: &Metrics, rows: &mut [Named]) -> Result<()> {
    let known: Vec<i64> = rows
        .iter()
        .filter(|r| r.metrics.group_petitions.is_some())
        .map(|r| r.metrics.enterprise_id)
        .collect();
    if known.is_empty() {
        return Ok(());
    }
    let mut pooled = db.acquire().await?;
    let now = chrono::Utc::now().timestamp();
    let counts =
        super::petition::late_counts(&mut pooled.conn(), &known, m.start, m.end, now).await?;
    for r in rows.iter_mut() {
        if r.metrics.group_petitions.is_some() {
            r.petition_reports_late = Some(
                counts
                    .get(&r.metrics.enterprise_id)
                    .map_or(0, |(_, late)| *late),
            );
        }
    }
    Ok(())
}
