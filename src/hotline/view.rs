//! Metrics as a user may see them: the city's ranking is computed over every enterprise, then
//! cut down to the caller's county or enterprise, with names for display.

use std::collections::HashMap;

use serde::Serialize;

use super::metrics::EnterpriseMetrics;
use super::served::Analytics;
use crate::auth::Scope;
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Named {
    pub enterprise_name: String,
    pub county_name: String,
    #[serde(flatten)]
    pub metrics: EnterpriseMetrics,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScopedMetrics {
    pub year: i32,
    pub month: Option<u32>,
    pub enterprises: Vec<Named>,
}

pub async fn scoped(
    conn: &mut Conn<'_>,
    analytics: &Analytics,
    scope: Scope,
    year: i32,
    month: Option<u32>,
) -> Result<ScopedMetrics> {
    let computed = analytics.metrics(conn, year, month).await?;
    let rows: Vec<(i64, String, i64, String)> = on_conn!(conn, |c| {
        sqlx::query_as(
        "SELECT e.id, e.name, e.county_id, j.name FROM enterprises e JOIN jurisdictions j ON j.id = e.county_id"
    )
    .fetch_all(c)
    .await
    })?;
    let names: HashMap<i64, (String, i64, String)> = rows
        .into_iter()
        .map(|(id, n, c, cn)| (id, (n, c, cn)))
        .collect();
    let mut out: Vec<Named> = computed
        .enterprises
        .iter()
        .filter_map(|m| {
            let (name, county, county_name) = names.get(&m.enterprise_id)?.clone();
            let visible = match scope {
                Scope::City => true,
                Scope::County(c) => c == county,
                Scope::Enterprise(e) => e == m.enterprise_id,
            };
            visible.then(|| Named {
                enterprise_name: name,
                county_name,
                metrics: m.clone(),
            })
        })
        .collect();
    // Most complaints per 100 units first; enterprises without units after.
    out.sort_by(|a, b| {
        b.metrics
            .per_100_units
            .unwrap_or(-1.0)
            .total_cmp(&a.metrics.per_100_units.unwrap_or(-1.0))
            .then(b.metrics.tickets.cmp(&a.metrics.tickets))
    });
    Ok(ScopedMetrics {
        year,
        month,
        enterprises: out,
    })
}
