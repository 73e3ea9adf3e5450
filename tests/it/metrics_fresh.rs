//! Served metrics are never stale: they change right after an import and after an
//! assignment, a manual attribution survives a re-import in them too, and the figures a
//! restarted instance computes (rebuilding its facts copy from the database) are the ones the
//! running instance serves from its patched copy.

use aftercare::hotline::served::Analytics;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::support::TestApp;

const HEADER: &str = "工单编号,受理时间,所属区县,小区名称,涉及企业,诉求内容,转办时间,企业答复时间,办结时间,满意度,是否回访,回访时间,是否群体诉求";

fn csv(rows: &[&str]) -> Vec<u8> {
    let mut s = format!("{HEADER}\r\n");
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s.into_bytes()
}

/// The served figures of one enterprise for 2025 (tickets, answered in 3 days, satisfied).
fn figures(metrics: &Value, enterprise: i64) -> (i64, i64, i64) {
    metrics["enterprises"]
        .as_array()
        .expect("enterprises")
        .iter()
        .find(|m| m["enterprise_id"] == enterprise)
        .map(|m| {
            (
                m["tickets"].as_i64().unwrap_or(0),
                m["answered_in_3_days"].as_i64().unwrap_or(0),
                m["satisfied"].as_i64().unwrap_or(0),
            )
        })
        .unwrap_or((0, 0, 0))
}

async fn metrics(c: &mut crate::support::Client<'_>) -> Value {
    let r = c.get("/api/v1/hotline/metrics?year=2025").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

async fn served_metrics_follow_every_change(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let first = csv(&[
        "F001,2025-03-01 09:00,任城区,甲花园,,漏水,2025-03-01 10:00,2025-03-02 10:00,2025-03-03,满意,是,2025-03-04,否",
        "F002,2025-03-02 09:00,任城区,甲花园,,开裂,2025-03-02 10:00,,2025-03-09,不满意,否,,否",
    ]);
    let r = admin
        .post_bytes("/api/v1/hotline/imports?file_name=a.csv", first)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(figures(&metrics(&mut admin).await, s.ent_a), (2, 1, 1));

    // A second file: one new ticket, one changed (now answered and satisfied), one unmatched.
    let second = csv(&[
        "F002,2025-03-02 09:00,任城区,甲花园,,开裂,2025-03-02 10:00,2025-03-03 10:00,2025-03-09,满意,否,,否",
        "F003,2025-04-01 09:00,任城区,甲花园,,积水,,,,,,,否",
        "F004,2025-04-02 09:00,任城区,无名小区,,噪音,2025-04-02 10:00,2025-04-03 10:00,,满意,,,否",
    ]);
    let r = admin
        .post_bytes("/api/v1/hotline/imports?file_name=b.csv", second)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        figures(&metrics(&mut admin).await, s.ent_a),
        (3, 2, 2),
        "the served figures follow the import at once"
    );

    // Assigning the unmatched ticket moves it into the enterprise's figures at once.
    let queue = admin.get("/api/v1/hotline/unmatched").await.json();
    let f004 = queue["items"][0]["id"].as_i64().expect("F004 waits");
    let r = admin
        .send_json(
            Method::POST,
            &format!("/api/v1/hotline/tickets/{f004}/assign"),
            &json!({"enterprise_id": s.ent_a2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let after = metrics(&mut admin).await;
    assert_eq!(figures(&after, s.ent_a2), (1, 1, 1));

    // Re-importing F004 with new content keeps the officer's attribution, in the figures too.
    let third = csv(&[
        "F004,2025-04-02 09:00,任城区,无名小区,,噪音扰民,2025-04-02 10:00,2025-04-03 10:00,,满意,,,否",
    ]);
    let r = admin
        .post_bytes("/api/v1/hotline/imports?file_name=c.csv", third)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let served = metrics(&mut admin).await;
    assert_eq!(figures(&served, s.ent_a2), (1, 1, 1));

    // A restarted instance (no facts copy, nothing in memory) computes the same figures.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let fresh = Analytics::new(elsewhere.path());
    let rebuilt = fresh.metrics(app.db(), 2025, None).await.expect("metrics");
    for e in [s.ent_a, s.ent_a2, s.ent_b] {
        let m = rebuilt.enterprises.iter().find(|m| m.enterprise_id == e);
        let got = m.map_or((0, 0, 0), |m| {
            (m.tickets, m.answered_in_3_days, m.satisfied)
        });
        assert_eq!(got, figures(&served, e), "enterprise {e}: rebuilt = served");
    }
    // The registry feeds the figures too: a project's units change the complaint rate at once.
    let rate = |m: &Value| {
        m["enterprises"]
            .as_array()
            .and_then(|a| a.iter().find(|m| m["enterprise_id"] == s.ent_a))
            .map(|m| m["per_100_units"].clone())
    };
    let before = rate(&served);
    let p = admin
        .get(&format!("/api/v1/projects/{}", s.proj_a))
        .await
        .json();
    let body = json!({"enterprise_id": s.ent_a, "county_id": s.county_a, "name": p["name"], "address": p["address"],
        "sales_site_open": true, "delivery_date": "2023-05-01", "units_delivered": 600, "aliases": []});
    let r = admin
        .send_json(
            Method::PUT,
            &format!("/api/v1/projects/{}", s.proj_a),
            &body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let changed = rate(&metrics(&mut admin).await);
    assert_ne!(before, changed, "units changed, so the rate did");
    assert_eq!(changed, Some(json!(0.5)), "3 tickets per 600 units");
}
both!(served_metrics_follow_every_change);

/// The content of a bulk file's tickets.
fn pad() -> String {
    "楼道灯不亮".repeat(12)
}

/// 50,000 rows of ~220 bytes, numbered from `prefix`000000: the size at which a file counts
/// as a bulk load.
fn bulk_rows(prefix: char) -> Vec<String> {
    let pad = pad();
    (0..50_000)
        .map(|i| format!("{prefix}{i:06},2025-05-01 09:00,任城区,甲花园,,{pad},2025-05-01 10:00,2025-05-02 10:00,2025-05-03,满意,是,2025-05-04,否"))
        .collect()
}

/// Every constraint on `tickets` and every foreign key that refers to it: a PostgreSQL bulk
/// load sets the primary key aside with the foreign keys when it can.
const TICKET_CONSTRAINTS: &str =
    "SELECT conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
    FROM pg_constraint WHERE conrelid = 'tickets'::regclass OR confrelid = 'tickets'::regclass
    ORDER BY 1";

/// A file larger than the table loads with the secondary indexes set aside and gets
/// them back, identical, before it commits; a refused bulk file leaves them untouched. Its
/// rows that were already stored go through the upsert, after the unique key is back (on
/// PostgreSQL a bulk load sets the key aside too).
async fn bulk_load_keeps_the_indexes(app: TestApp) {
    let s = app.seed().await;
    let indexes = |app: &TestApp| {
        let db = app.db().clone();
        async move {
            let mut p = db.acquire().await.expect("acquire");
            let mut conn = p.conn();
            // Each backend's own catalog: names and definitions.
            let sql = if conn.backend() == aftercare::db::Backend::Sqlite {
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tickets' AND sql IS NOT NULL ORDER BY name"
            } else {
                // The primary key and the foreign keys that refer to it too: a PostgreSQL bulk
                // load sets them aside when it can.
                &format!(
                    "SELECT indexname::text, indexdef FROM pg_indexes WHERE tablename = 'tickets'
                     UNION ALL {TICKET_CONSTRAINTS}"
                )
            };
            aftercare::on_conn!(&mut conn, |c| sqlx::query_as::<_, (String, String)>(sql)
                .fetch_all(c)
                .await)
            .expect("indexes")
        }
    };
    let before = indexes(&app).await;
    assert!(before.len() >= 5, "{before:?}");
    let rows = bulk_rows('B');
    let mut admin = app.login("admin").await;
    // Stored before: one changed by the bulk file, one the same as in it.
    let stored = admin
        .post_bytes(
            "/api/v1/hotline/imports?file_name=before.csv",
            csv(&[
                "B000001,2025-05-01 09:00,任城区,甲花园,,旧内容,2025-05-01 10:00,2025-05-02 10:00,2025-05-03,满意,是,2025-05-04,否",
                rows[2].as_str(),
            ]),
        )
        .await;
    assert_eq!(stored.json()["inserted"], 2, "{}", stored.text());
    let mut bad = rows.clone();
    bad.push("B999999,not a date,任城区,甲花园,,x,,,,,,,否".into());
    let refused = admin
        .post_bytes(
            "/api/v1/hotline/imports?file_name=bad.csv",
            csv(&bad.iter().map(String::as_str).collect::<Vec<_>>()),
        )
        .await;
    assert_eq!(refused.json()["committed"], false, "{}", refused.text());
    assert_eq!(
        indexes(&app).await,
        before,
        "a refused file changes nothing"
    );
    let r = admin
        .post_bytes(
            "/api/v1/hotline/imports?file_name=bulk.csv",
            csv(&rows.iter().map(String::as_str).collect::<Vec<_>>()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let summary = r.json();
    assert_eq!(
        (
            &summary["inserted"],
            &summary["updated"],
            &summary["unchanged"]
        ),
        (&json!(49_998), &json!(1), &json!(1)),
        "{summary}"
    );
    assert_eq!(indexes(&app).await, before, "the same indexes, rebuilt");
    assert_eq!(figures(&metrics(&mut admin).await, s.ent_a).0, 50_000);
    // PostgreSQL's bulk load numbered its tickets itself: the identity must have moved past
    // them, or the next ticket would take a number already used.
    let next = admin
        .post_bytes(
            "/api/v1/hotline/imports?file_name=next.csv",
            csv(&[
                "B777777,2025-05-02 09:00,任城区,甲花园,,新的诉求,2025-05-02 10:00,2025-05-03 10:00,2025-05-04,满意,是,2025-05-05,否",
            ]),
        )
        .await;
    assert_eq!(next.json()["inserted"], 1, "{}", next.text());
    let mut p = app.db().acquire().await.expect("acquire");
    let mut conn = p.conn();
    let (tickets, ids, content): (i64, i64, String) =
        aftercare::on_conn!(&mut conn, |c| sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(DISTINCT id) FROM tickets),
                (SELECT content FROM tickets WHERE ticket_no = 'B000001')"
        )
        .fetch_one(c)
        .await)
        .expect("tickets");
    assert_eq!(
        (tickets, ids, content),
        (50_001, 50_001, pad()),
        "one row and one id per ticket, the update merged"
    );
}
both!(bulk_load_keeps_the_indexes);

/// A request writing a petition's follow-up holds a lock on the follow-ups: a PostgreSQL bulk
/// load then keeps the primary key (it never waits for those locks, which could deadlock)
/// and still loads, and every constraint is as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_petition_table_keeps_the_key() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    app.seed().await;
    let mut holder = app.db().acquire().await.expect("acquire");
    let mut conn = holder.conn();
    let before: Vec<(String, String)> =
        aftercare::on_conn!(&mut conn, |c| sqlx::query_as(TICKET_CONSTRAINTS)
            .fetch_all(c)
            .await)
        .expect("constraints");
    assert!(
        before
            .iter()
            .any(|(name, _)| name.ends_with("petition_followups_ticket_id_fkey")),
        "{before:?}"
    );
    for sql in [
        "BEGIN",
        "LOCK TABLE petition_followups IN ROW EXCLUSIVE MODE",
    ] {
        aftercare::on_conn!(&mut conn, |c| sqlx::query(sql).execute(c).await.map(|_| ()))
            .expect(sql);
    }
    let mut admin = app.login("admin").await;
    let r = admin
        .post_bytes(
            "/api/v1/hotline/imports?file_name=bulk.csv",
            csv(&bulk_rows('C')
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["inserted"], 50_000, "{}", r.text());
    aftercare::on_conn!(&mut conn, |c| sqlx::query("ROLLBACK")
        .execute(c)
        .await
        .map(|_| ()))
    .expect("rollback");
    let after: Vec<(String, String)> =
        aftercare::on_conn!(&mut conn, |c| sqlx::query_as(TICKET_CONSTRAINTS)
            .fetch_all(c)
            .await)
        .expect("constraints");
    assert_eq!(after, before);
}
