//! What is served from memory per generation is never stale: the worklist follows a filing's
//! approval and a registry change at once, list totals follow imports, assignments and new
//! enterprises, and a county's worklist is the city's cut to the county. Read requests never
//! wait for SQLite's write lock: a token's last use and a session's extension are recorded
//! off the request's path.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::support::{code, Client, TestApp};

fn establishment() -> Value {
    json!({
        "kind": "establishment", "manager_name": "王经理", "manager_mobile": "13905371111",
        "office_address": "济宁市任城区共青团路1号", "hotline": "0537-2345678",
        "staff": [{"name": "员工甲", "role": "客服专员", "mobile": "13905370001"},
                  {"name": "员工乙", "role": "客服专员", "mobile": "13905370002"}],
        "fund_fen": 5_000_000, "established_on": "2023-03-01", "independent_department": true
    })
}

/// The enterprise ids of one of the worklist's lists.
fn ids(worklist: &Value, list: &str) -> Vec<i64> {
    worklist[list]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {worklist}"))
        .iter()
        .filter_map(|g| g["enterprise_id"].as_i64())
        .collect()
}

async fn worklist(c: &mut Client<'_>) -> Value {
    let r = c.get("/api/v1/worklist").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

async fn post(c: &mut Client<'_>, path: &str) {
    let r = c.request(Method::POST, path, None, Vec::new(), true).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
}

async fn worklist_follows_filings_and_the_registry(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let mut officer_a = app.login("officer_a").await;
    let mut officer_b = app.login("officer_b").await;
    let city = worklist(&mut admin).await;
    assert_eq!(ids(&city, "without_org"), vec![s.ent_a, s.ent_b]);
    // A county's lists are the city's, cut to the county.
    assert_eq!(
        ids(&worklist(&mut officer_a).await, "without_org"),
        vec![s.ent_a]
    );
    assert_eq!(
        ids(&worklist(&mut officer_b).await, "without_org"),
        vec![s.ent_b]
    );
    assert_eq!(worklist(&mut officer_b).await["without_org"]["total"], 1);

    // An approved establishment takes ent_a off the list at once.
    let mut e = app.login("ent_a").await;
    let r = e
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_a),
            &establishment(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let filing = r.json()["id"].as_i64().expect("filing id");
    post(&mut e, &format!("/api/v1/filings/{filing}/submit")).await;
    let pending = worklist(&mut officer_a).await;
    assert_eq!(pending["pending"]["items"][0]["filing_id"], filing);
    assert_eq!(
        ids(&pending, "without_org"),
        vec![s.ent_a],
        "not yet approved"
    );
    post(&mut officer_a, &format!("/api/v1/filings/{filing}/approve")).await;
    let after = worklist(&mut officer_a).await;
    assert_eq!(after["pending"]["total"], 0);
    assert!(
        ids(&after, "without_org").is_empty(),
        "the approval shows in the next worklist: {after}"
    );
    assert_eq!(
        ids(&worklist(&mut admin).await, "without_org"),
        vec![s.ent_b]
    );

    // A first project for ent_a2 puts it on the list at once.
    let project = json!({"enterprise_id": s.ent_a2, "county_id": s.county_a, "name": "乙花园",
        "units_delivered": 10, "delivery_date": "2022-09-30", "sales_site_open": true});
    let r = admin
        .send_json(Method::POST, "/api/v1/projects", &project)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        ids(&worklist(&mut officer_a).await, "without_org"),
        vec![s.ent_a2]
    );
    let coverage = worklist(&mut officer_a).await;
    assert!(ids(&coverage, "incomplete_coverage").contains(&s.ent_a2));
}
both!(worklist_follows_filings_and_the_registry);

const HEADER: &str = "工单编号,受理时间,所属区县,小区名称,涉及企业,诉求内容";

async fn list_totals_follow_every_change(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let mut officer_a = app.login("officer_a").await;
    let total = |v: Value| v["total"].as_i64().expect("total");
    assert_eq!(total(admin.get("/api/v1/hotline/tickets").await.json()), 0);

    let csv = format!(
        "{HEADER}\r\nT1,2025-03-01 09:00,任城区,甲花园,,漏水\r\nT2,2025-03-02 09:00,任城区,无名小区,,噪音\r\n"
    );
    let r = admin
        .post_bytes("/api/v1/hotline/imports?file_name=t.csv", csv.into_bytes())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(total(admin.get("/api/v1/hotline/tickets").await.json()), 2);
    assert_eq!(
        total(officer_a.get("/api/v1/hotline/tickets").await.json()),
        2
    );
    let own = format!("/api/v1/hotline/tickets?enterprise_id={}", s.ent_a);
    assert_eq!(total(admin.get(&own).await.json()), 1);

    // Assigning the unmatched ticket moves it into ent_a's count at once.
    let unmatched = admin.get("/api/v1/hotline/unmatched").await.json();
    assert_eq!(total(unmatched.clone()), 1);
    let id = unmatched["items"][0]["id"].as_i64().expect("unmatched id");
    let r = admin
        .send_json(
            Method::POST,
            &format!("/api/v1/hotline/tickets/{id}/assign"),
            &json!({"enterprise_id": s.ent_a}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(total(admin.get(&own).await.json()), 2);
    assert_eq!(
        total(admin.get("/api/v1/hotline/unmatched").await.json()),
        0
    );

    // A new enterprise counts at once, in its county only.
    let before = total(officer_a.get("/api/v1/enterprises").await.json());
    let new = json!({"credit_code": code("91370811MA0000009").as_str(), "name": "济宁丁置业有限公司",
        "legal_rep": "李四", "grade": "third", "county_id": s.county_a});
    let r = admin
        .send_json(Method::POST, "/api/v1/enterprises", &new)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        total(officer_a.get("/api/v1/enterprises").await.json()),
        before + 1
    );
    let mut officer_b = app.login("officer_b").await;
    assert_eq!(total(officer_b.get("/api/v1/enterprises").await.json()), 1);
}
both!(list_totals_follow_every_change);

/// Holds SQLite's write lock, as an import does for its whole transaction (a no-op on
/// PostgreSQL, where readers and writers of other rows never wait for each other).
async fn hold_write_lock(app: &TestApp) -> Option<sqlx::Transaction<'static, sqlx::Sqlite>> {
    match app.db() {
        aftercare::db::Db::Sqlite(pool) => {
            Some(pool.begin_with("BEGIN IMMEDIATE").await.expect("lock"))
        }
        aftercare::db::Db::Postgres(_) => None,
    }
}

async fn scalar(app: &TestApp, sql: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let mut p = app.db().acquire().await.expect("acquire");
    let mut conn = p.conn();
    aftercare::on_conn!(&mut conn, |c| sqlx::query_scalar(sql).fetch_one(c).await).expect("scalar")
}

/// Polls until `sql` gives a time after `after` (the background write has landed), asking
/// `path` as `c` meanwhile: a record skipped while another was on its way is made by a later
/// request.
async fn recorded_after(
    app: &TestApp,
    c: &mut Client<'_>,
    path: &str,
    sql: &str,
    after: chrono::DateTime<chrono::Utc>,
) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if scalar(app, sql).await.is_some_and(|t| t > after) {
            return;
        }
        assert!(Instant::now() < deadline, "never recorded: {sql}");
        assert_eq!(c.get(path).await.status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn reads_never_wait_for_the_write_lock(app: TestApp) {
    app.seed().await;
    let mut admin = app.login("admin").await;
    let r = admin
        .send_json(Method::POST, "/api/v1/tokens", &json!({"name": "读"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let secret = r.json()["token"].as_str().expect("token").to_string();
    let mut bearer = app.client();
    bearer.bearer = Some(secret);
    // A session in the second half of its lifetime is due for extension.
    let mut session = app.login("officer_a").await;
    {
        let mut p = app.db().acquire().await.expect("acquire");
        let mut conn = p.conn();
        let soon = chrono::Utc::now() + chrono::Duration::minutes(5);
        aftercare::on_conn!(&mut conn, |c| sqlx::query(
            "UPDATE sessions SET expires_at = $1"
        )
        .bind(soon)
        .execute(c)
        .await
        .map(|_| ()))
        .expect("age sessions");
    }
    let started = chrono::Utc::now();
    let lock = hold_write_lock(&app).await;
    let t = Instant::now();
    for path in [
        "/api/v1/me",
        "/api/v1/enterprises",
        "/api/v1/hotline/tickets",
    ] {
        assert_eq!(bearer.get(path).await.status, StatusCode::OK, "{path}");
        assert_eq!(session.get(path).await.status, StatusCode::OK, "{path}");
    }
    assert_eq!(session.get("/enterprises").await.status, StatusCode::OK);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "reads waited for the write lock: {:?}",
        t.elapsed()
    );
    drop(lock);
    // The bookkeeping lands once the lock is free.
    recorded_after(
        &app,
        &mut bearer,
        "/api/v1/me",
        "SELECT MAX(last_used_at) FROM api_tokens",
        started - chrono::Duration::seconds(1),
    )
    .await;
    recorded_after(
        &app,
        &mut session,
        "/api/v1/me",
        "SELECT MIN(s.expires_at) FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE u.username = 'officer_a'",
        started + chrono::Duration::hours(1),
    )
    .await;
}
both!(reads_never_wait_for_the_write_lock);
