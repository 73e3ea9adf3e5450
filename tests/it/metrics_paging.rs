//! The metrics API and the rankings page are paged on the server, in one of four orders, and
//! cut to the caller's scope before paging; ranks stay city-wide.

use axum::http::StatusCode;
use serde_json::Value;

use crate::both;
use crate::support::{Client, TestApp};

const CSV: &str = "工单编号,受理时间,所属区县,小区名称,涉及企业,诉求内容,满意度\r\n\
P1,2025-03-01 09:00,任城区,甲花园,,漏水,满意\r\n\
P2,2025-03-02 09:00,任城区,甲花园,,开裂,不满意\r\n\
P3,2025-04-02 09:00,任城区,甲花园,,积水,满意\r\n\
P4,2025-04-03 09:00,兖州区,丙家园,,噪音,不满意\r\n\
P5,2025-05-01 09:00,任城区,,济宁乙置业有限公司,延期交房,满意\r\n\
P6,2025-05-02 09:00,任城区,,济宁乙置业有限公司,办证,满意\r\n";

async fn page(c: &mut Client<'_>, query: &str) -> Value {
    let r = c
        .get(&format!("/api/v1/hotline/metrics?year=2025{query}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text());
    r.json()
}

fn ids(v: &Value) -> Vec<i64> {
    v["enterprises"]
        .as_array()
        .expect("enterprises")
        .iter()
        .filter_map(|m| m["enterprise_id"].as_i64())
        .collect()
}

async fn metrics_are_paged_sorted_and_scoped(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let r = admin
        .post_bytes("/api/v1/hotline/imports?file_name=p.csv", CSV.into())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["unmatched"], 0, "{}", r.text());

    // Most complaints per 100 units first (ent_a 1.0, ent_b 0.33), no units last.
    let all = page(&mut admin, "").await;
    assert_eq!(ids(&all), vec![s.ent_a, s.ent_b, s.ent_a2]);
    assert_eq!(
        (&all["total"], &all["page"], &all["per_page"], &all["sort"]),
        (&3.into(), &1.into(), &50.into(), &"rate".into())
    );
    assert_eq!(
        ids(&page(&mut admin, "&sort=tickets").await),
        vec![s.ent_a, s.ent_a2, s.ent_b]
    );
    // Lowest satisfaction first: ent_b 0 %, ent_a 67 %, ent_a2 100 %.
    assert_eq!(
        ids(&page(&mut admin, "&sort=satisfaction").await),
        vec![s.ent_b, s.ent_a, s.ent_a2]
    );
    // By name: 兖州… before 济宁…, and 乙 before 甲.
    assert_eq!(
        ids(&page(&mut admin, "&sort=name").await),
        vec![s.ent_b, s.ent_a2, s.ent_a]
    );

    // Pages of one.
    let second = page(&mut admin, "&per_page=1&page=2").await;
    assert_eq!(ids(&second), vec![s.ent_b]);
    assert_eq!((&second["total"], &second["page"]), (&3.into(), &2.into()));
    let past = page(&mut admin, "&per_page=1&page=4").await;
    assert!(ids(&past).is_empty());
    assert_eq!(past["total"], 3);
    assert_eq!(page(&mut admin, "&per_page=0").await["per_page"], 1);
    assert_eq!(page(&mut admin, "&per_page=100000").await["per_page"], 500);
    let r = admin
        .get("/api/v1/hotline/metrics?year=2025&page=1000001")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["field"], "page");
    let r = admin
        .get("/api/v1/hotline/metrics?year=2025&sort=worst")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());

    // A county officer pages through the county's rows only; ranks stay city-wide.
    let mut officer = app.login("officer_a").await;
    let county = page(&mut officer, "&per_page=1").await;
    assert_eq!(ids(&county), vec![s.ent_a]);
    assert_eq!(county["total"], 2);
    assert_eq!(county["enterprises"][0]["rate_rank"], 1);
    assert_eq!(county["enterprises"][0]["ranked"], 2);
    assert_eq!(
        ids(&page(&mut officer, "&per_page=1&page=2").await),
        vec![s.ent_a2]
    );
    // An enterprise sees its own row, whatever it asks for.
    let mut e = app.login("ent_b").await;
    let own = page(&mut e, "&sort=name&page=1").await;
    assert_eq!(ids(&own), vec![s.ent_b]);
    assert_eq!(own["total"], 1);
    assert!(ids(&page(&mut e, "&page=2").await).is_empty());

    // The rankings page: the same rows, in the order chosen, with a pager.
    let html = admin
        .get("/hotline/rankings?year=2025&sort=tickets")
        .await
        .text();
    assert!(html.contains("共 3 家企业"), "{html}");
    assert!(html.contains("第 1 / 1 页"));
    assert!(html.contains("<option value=\"tickets\" selected>"));
    let (a, a2) = (
        html.find(&format!("/enterprises/{}/hotline", s.ent_a)),
        html.find(&format!("/enterprises/{}/hotline", s.ent_a2)),
    );
    assert!(a < a2, "most tickets first");
    let county_html = officer.get("/hotline/rankings?year=2025").await.text();
    assert!(county_html.contains("共 2 家企业"));
    assert!(!county_html.contains(&format!("/enterprises/{}/hotline", s.ent_b)));
}
both!(metrics_are_paged_sorted_and_scoped);
