//! Pages at city scale: the worklist computed set-based for a whole scope equals the
//! per-enterprise computation of the org page, every worklist list pages on the server, and
//! the load test's latency arithmetic.

use std::time::Duration;

use aftercare::bench::stats::{percentile, summarize, Samples};
use aftercare::filings::state;
use aftercare::registry::enterprise;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde_json::Value;

use crate::both;
use crate::support::{Client, TestApp};

async fn demo(app: &TestApp) {
    let blobs = aftercare::blobs::LocalDir::new(app.dir.path().join("blobs"));
    aftercare::demo::build(app.db(), &blobs)
        .await
        .expect("demo builds");
}

async fn login<'a>(app: &'a TestApp, username: &str) -> Client<'a> {
    let mut c = app.client();
    assert_eq!(
        c.login(username, aftercare::demo::PASSWORD).await,
        StatusCode::SEE_OTHER,
        "login as {username}"
    );
    c
}

/// (enterprise id, detail) of a worklist list's items.
fn gaps(list: &Value) -> Vec<(i64, String)> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|g| {
            (
                g["enterprise_id"].as_i64().expect("id"),
                g["detail"].as_str().expect("detail").to_string(),
            )
        })
        .collect()
}

/// The worklist's enterprise lists as the per-enterprise functions compute them: one
/// `state::coverage` (the org page's) per active enterprise of the county, in county and
/// name order.
async fn per_enterprise(
    app: &TestApp,
    county: Option<i64>,
    as_of: NaiveDate,
) -> (Vec<(i64, String)>, Vec<(i64, String)>) {
    let mut pooled = app.db().acquire().await.expect("acquire");
    let mut conn = pooled.conn();
    let rows: Vec<(i64, i64, bool)> = aftercare::on_conn!(&mut conn, |c| sqlx::query_as(
        "SELECT e.id, (SELECT COUNT(*) FROM projects p WHERE p.enterprise_id = e.id),
                EXISTS (SELECT 1 FROM filings f WHERE f.enterprise_id = e.id AND f.status = 'approved'
                        AND f.kind IN ('establishment', 'delegation'))
         FROM enterprises e JOIN jurisdictions j ON j.id = e.county_id
         WHERE e.status = 'active' AND ($1 IS NULL OR e.county_id = $1)
         ORDER BY j.code, e.name, e.id"
    )
    .bind(county)
    .fetch_all(c)
    .await)
    .expect("candidates");
    let (mut without_org, mut incomplete) = (Vec::new(), Vec::new());
    for (id, projects, has_org) in rows {
        if projects == 0 {
            continue;
        }
        if !has_org {
            without_org.push((
                id,
                format!("有{projects}个项目，无已通过的售后服务机构设立备案"),
            ));
        }
        let e = enterprise::get(&mut conn, id).await.expect("enterprise");
        let cov = state::coverage(&mut conn, &e, &app.state.rules, as_of)
            .await
            .expect("coverage");
        if !cov.complete() {
            let missing: Vec<&str> = cov.uncovered().map(|p| p.label.as_str()).collect();
            incomplete.push((
                id,
                format!(
                    "公示牌覆盖 {}/{}，缺：{}",
                    cov.covered,
                    cov.required,
                    missing.join("、")
                ),
            ));
        }
    }
    (without_org, incomplete)
}

async fn county_id(app: &TestApp, name: &str) -> i64 {
    let mut pooled = app.db().acquire().await.expect("acquire");
    let mut conn = pooled.conn();
    aftercare::on_conn!(&mut conn, |c| sqlx::query_scalar::<_, i64>(
        "SELECT id FROM jurisdictions WHERE name = $1"
    )
    .bind(name)
    .fetch_one(c)
    .await)
    .expect("county")
}

async fn set_based_equals_per_enterprise(app: TestApp) {
    demo(&app).await;
    let rencheng = county_id(&app, "任城区").await;
    // Before and after the demo's revoked subsidiary hands its projects over (2025-06-30), and
    // with the lookback window cutting through the deliveries.
    for as_of in ["2025-01-01", "2025-07-01", "2026-11-30"] {
        let date: NaiveDate = as_of.parse().unwrap();
        for (user, county) in [("admin", None), ("rencheng", Some(rencheng))] {
            let mut c = login(&app, user).await;
            let w = c
                .get(&format!("/api/v1/worklist?as_of={as_of}&per_page=500"))
                .await
                .json();
            let (without_org, incomplete) = per_enterprise(&app, county, date).await;
            assert!(!incomplete.is_empty(), "the demo has gaps to compare");
            assert_eq!(gaps(&w["without_org"]), without_org, "{user} {as_of}");
            assert_eq!(
                gaps(&w["incomplete_coverage"]),
                incomplete,
                "{user} {as_of}"
            );
            assert_eq!(w["without_org"]["total"], without_org.len() as i64);
            assert_eq!(w["incomplete_coverage"]["total"], incomplete.len() as i64);
        }
    }
}
both!(set_based_equals_per_enterprise);

async fn worklist_pages(app: TestApp) {
    demo(&app).await;
    let mut c = login(&app, "admin").await;
    let all = c.get("/api/v1/worklist?per_page=500").await.json();
    for (list, param) in [
        ("pending", "pending_page"),
        ("without_org", "without_org_page"),
        ("incomplete_coverage", "coverage_page"),
    ] {
        let items = all[list]["items"].as_array().unwrap().clone();
        let total = all[list]["total"].as_i64().unwrap();
        assert_eq!(
            total,
            items.len() as i64,
            "{list}: the whole list on one page"
        );
        assert!(
            items.len() > 2,
            "{list}: the demo fills more than a page of 2"
        );
        let p1 = c
            .get(&format!("/api/v1/worklist?per_page=2&{param}=1"))
            .await
            .json();
        let p2 = c
            .get(&format!("/api/v1/worklist?per_page=2&{param}=2"))
            .await
            .json();
        assert_eq!(
            p1[list]["items"].as_array().unwrap()[..],
            items[..2],
            "{list} page 1"
        );
        let want2 = &items[2..items.len().min(4)];
        assert_eq!(
            p2[list]["items"].as_array().unwrap()[..],
            want2[..],
            "{list} page 2"
        );
        for p in [&p1, &p2] {
            assert_eq!(p[list]["total"], total, "{list}: the total on every page");
            assert_eq!(p[list]["per_page"], 2);
        }
        assert_eq!(p2[list]["page"], 2);
        // Another list's page number leaves this one on page 1.
        let other = if param == "pending_page" {
            "coverage_page"
        } else {
            "pending_page"
        };
        let q = c
            .get(&format!("/api/v1/worklist?per_page=2&{other}=2"))
            .await
            .json();
        assert_eq!(q[list]["page"], 1, "{list} with {other}=2");
        // Past the end: an empty page with the right total.
        let past = c
            .get(&format!("/api/v1/worklist?per_page=500&{param}=9"))
            .await
            .json();
        assert!(past[list]["items"].as_array().unwrap().is_empty());
        assert_eq!(past[list]["total"], total);
        // A page number past the limit is refused, naming the list's parameter.
        let r = c
            .get(&format!("/api/v1/worklist?{param}=99999999999"))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{param}");
        assert_eq!(r.json()["error"]["field"], param);
    }

    // The page shows 50 a list, with pagers that keep the other lists' pages.
    let total = all["incomplete_coverage"]["total"].as_i64().unwrap();
    let html = c.get("/worklist?coverage_page=1&pending_page=1").await;
    assert_eq!(html.status, StatusCode::OK);
    let html = html.text();
    assert!(html.contains(&format!("公示牌覆盖不完整（{total}）")));
    let second = all["incomplete_coverage"]["items"][1]["enterprise_name"]
        .as_str()
        .unwrap();
    assert!(html.contains(second));
    assert!(html.contains("第 1 / 1 页"));
    assert_eq!(
        c.get("/worklist?coverage_page=abc").await.status,
        StatusCode::OK,
        "a page number a browser mangled reads as the first page"
    );

    // Enterprise users have no worklist, paged or not.
    let mut e = login(&app, "qiye1").await;
    assert_eq!(
        e.get("/api/v1/worklist?pending_page=2").await.status,
        StatusCode::FORBIDDEN
    );
}
both!(worklist_pages);

/// County officers' lists hold only their county, on every page.
async fn worklist_pages_stay_in_scope(app: TestApp) {
    demo(&app).await;
    let mut c = login(&app, "rencheng").await;
    let all = c.get("/api/v1/worklist?per_page=500").await.json();
    let mut seen = Vec::new();
    let total = all["incomplete_coverage"]["total"].as_i64().unwrap();
    for page in 1..=total {
        let p = c
            .get(&format!("/api/v1/worklist?per_page=1&coverage_page={page}"))
            .await
            .json();
        let items = p["incomplete_coverage"]["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["county_name"], "任城区");
        seen.push(items[0].clone());
    }
    assert_eq!(
        seen[..],
        all["incomplete_coverage"]["items"].as_array().unwrap()[..]
    );
}
both!(worklist_pages_stay_in_scope);

#[test]
fn load_test_percentiles() {
    let sorted: Vec<u64> = (1..=1000).collect();
    assert_eq!(percentile(&sorted, 50.0), Some(500));
    assert_eq!(percentile(&sorted, 99.0), Some(990));
    assert_eq!(percentile(&sorted, 99.9), Some(999));
    assert_eq!(percentile(&[], 99.0), None);

    let mut s = Samples::default();
    for ms in [10u64, 20, 30, 40] {
        s.record(Duration::from_millis(ms), Some(200));
    }
    s.record(Duration::from_millis(500), Some(500));
    let row = summarize("admin /worklist", &s, Duration::from_secs(5));
    assert_eq!(row.requests, 5);
    assert!((row.rps - 1.0).abs() < 1e-9);
    assert_eq!(row.p50_ms, 30.0);
    assert_eq!(row.p99_ms, 500.0);
    assert_eq!(row.non_2xx, 1);
    assert_eq!(s.failures.get(&500), Some(&1));
}
