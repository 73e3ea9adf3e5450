//! Demo hotline tickets: 2025 and 2026 to date, generated from the demo city's own
//! enterprises and projects and imported through the real import path. Groups with complete
//! orgs serve well, enterprises without an org badly; some tickets name places nobody knows.

use chrono::Datelike;

use crate::audit::Actor;
use crate::db::Db;
use crate::error::Result;
use crate::hotline::bench::{generate_csv, BenchEnterprise};
use crate::hotline::import::{self, Options};
use crate::on_conn;

/// Service quality by position in the county, matching the demo's filings: the complete orgs
/// (0, 6) answer well, the enterprise with no org (5) and the pending ones (3, 4) badly.
fn service(position: usize) -> u64 {
    match position {
        0 | 6 => 0,
        1 | 7 => 2,
        2 | 9 | 10 => 4,
        3 | 4 | 8 => 7,
        _ => 9,
    }
}

pub async fn build(db: &Db, positions: &[(i64, usize)]) -> Result<()> {
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    let mut enterprises = Vec::new();
    for (id, position) in positions {
        let (name, code): (String, String) = on_conn!(&mut conn, |c| sqlx::query_as(
            "SELECT name, credit_code FROM enterprises WHERE id = $1"
        )
        .bind(id)
        .fetch_one(c)
        .await)?;
        let projects: Vec<(i64, String)> = on_conn!(&mut conn, |c| sqlx::query_as(
            "SELECT id, name FROM projects WHERE enterprise_id = $1 ORDER BY id"
        )
        .bind(id)
        .fetch_all(c)
        .await)?;
        let mut named = Vec::new();
        for (pid, pname) in projects {
            let alias: Option<String> = on_conn!(&mut conn, |c| sqlx::query_scalar(
                "SELECT alias FROM project_aliases WHERE project_id = $1 ORDER BY id"
            )
            .bind(pid)
            .fetch_optional(c)
            .await)?;
            named.push((pname.clone(), alias.unwrap_or(pname)));
        }
        if !named.is_empty() {
            enterprises.push(BenchEnterprise {
                name,
                code,
                projects: named,
                service: service(*position),
            });
        }
    }
    drop(pooled);
    // The generator gives the first enterprises the most tickets: put the neglectful first,
    // so that complaint rates and service quality tell the same story.
    enterprises.sort_by_key(|e| std::cmp::Reverse(e.service));
    let today = crate::time::today();
    let actor = Actor::system("demo");
    for (year, rows, days) in [
        (2025, 3200, 365),
        (
            today.year(),
            2800,
            u64::from(today.ordinal().saturating_sub(1).max(1)),
        ),
    ] {
        let csv = generate_csv(&enterprises, rows, year, days);
        import::import(
            db,
            &actor,
            csv.into_bytes(),
            &format!("12345工单导出-{year}.csv"),
            &Options::default(),
        )
        .await?;
    }
    Ok(())
}
