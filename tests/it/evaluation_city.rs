//! The small city the evaluation tests build through the API: ent_a with a complete org and
//! every board, 12345 tickets for ent_a and ent_b, a missed rectification order for ent_a2;
//! and the helpers the tests read it with.

use aftercare::enforcement::tick;
use axum::http::{Method, StatusCode};
use chrono::{Datelike, Duration, TimeZone, Utc};
use serde_json::{json, Value};

use crate::filings::{approved, board, establishment, png, PDF};
use crate::support::{code, Client, Seed, TestApp};

pub(crate) const HEADER: &str = "工单编号,受理时间,来源渠道,所属区县,小区名称,涉及企业,统一社会信用代码,诉求类别,诉求内容,转办时间,企业答复时间,办结时间,满意度,是否回访,回访时间,是否群体诉求";

/// Five tickets in January of `y`: four for ent_a (all answered within 3 days; 3 of 4
/// revisited within 7 days; 满意, 满意, 基本满意, 不满意), one for ent_b.
pub(crate) fn tickets(y: i32, code_a: &str, code_b: &str) -> String {
    let row = |n: u32, code: &str, sat: &str, revisited: &str| {
        format!(
            "T{n:03},{y}-01-02 09:00,电话,,,,{code},质量投诉,墙面开裂,{y}-01-02 10:00,{y}-01-03 10:00,{y}-01-04 10:00,{sat},{revisited},{},否",
            if revisited == "是" { format!("{y}-01-06 10:00") } else { String::new() }
        )
    };
    let mut s = format!("{HEADER}\r\n");
    for r in [
        row(1, code_a, "满意", "是"),
        row(2, code_a, "满意", "是"),
        row(3, code_a, "基本满意", "是"),
        row(4, code_a, "不满意", "否"),
        row(5, code_b, "满意", "是"),
    ] {
        s.push_str(&r);
        s.push_str("\r\n");
    }
    s
}

pub(crate) fn find(rows: &Value, enterprise: i64) -> &Value {
    rows["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["enterprise_id"] == enterprise)
        .unwrap_or_else(|| panic!("no row for {enterprise}: {rows}"))
}

pub(crate) fn points(detail: &Value, rule: &str) -> i64 {
    detail["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["rule"] == rule)
        .unwrap()["points"]
        .as_i64()
        .unwrap()
}

pub(crate) async fn exec(app: &TestApp, sql: &str) {
    let mut p = app.db().acquire().await.unwrap();
    match &mut p.conn() {
        aftercare::db::Conn::Sqlite(c) => sqlx::query(sql).execute(&mut **c).await.map(|_| ()),
        aftercare::db::Conn::Postgres(c) => sqlx::query(sql).execute(&mut **c).await.map(|_| ()),
    }
    .unwrap();
}

pub(crate) async fn outbox(app: &TestApp, kind: &str) -> usize {
    let sql = "SELECT kind FROM outbox WHERE kind = $1";
    let mut p = app.db().acquire().await.unwrap();
    let kinds: Vec<String> = match &mut p.conn() {
        aftercare::db::Conn::Sqlite(c) => {
            sqlx::query_scalar(sql).bind(kind).fetch_all(&mut **c).await
        }
        aftercare::db::Conn::Postgres(c) => {
            sqlx::query_scalar(sql).bind(kind).fetch_all(&mut **c).await
        }
    }
    .unwrap();
    kinds.len()
}

pub(crate) async fn post(c: &mut Client<'_>, path: &str, body: Value) -> (StatusCode, Value) {
    let r = c.send_json(Method::POST, path, &body).await;
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

/// The small city: ent_a with a complete org and every board, tickets for ent_a and ent_b,
/// and a missed rectification order for ent_a2.
pub(crate) async fn build_city(app: &TestApp) -> Seed {
    let s = app.seed().await;
    let today = aftercare::time::today();
    let y = today.year();
    // ent_a: a complete org with every required board (org office; 甲花园's sales site and
    // community, delivered 2023).
    let mut est = establishment(3);
    est["established_on"] = json!(format!("{y}-01-01"));
    approved(app, s.ent_a, "ent_a", "officer_a", &est, &[]).await;
    let docs: Vec<(&str, Vec<u8>)> = ["functions", "duties", "commitment", "workflow"]
        .into_iter()
        .map(|slot| (slot, PDF.to_vec()))
        .collect();
    approved(
        app,
        s.ent_a,
        "ent_a",
        "officer_a",
        &json!({"kind": "documents", "note": "四项制度"}),
        &docs,
    )
    .await;
    for place in [
        json!({"type": "org_office"}),
        json!({"type": "sales_site", "project_id": s.proj_a}),
        json!({"type": "community", "project_id": s.proj_a}),
    ] {
        approved(
            app,
            s.ent_a,
            "ent_a",
            "officer_a",
            &board(place),
            &[("photo", png(7))],
        )
        .await;
    }
    // Tickets.
    let mut admin = app.login("admin").await;
    let csv = tickets(
        y,
        code("91370811MA0000001").as_str(),
        code("91370812MA0000003").as_str(),
    );
    let r = admin
        .post_bytes("/api/v1/hotline/imports?file_name=t.csv", csv.into_bytes())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // ent_a2: a rectification order due tomorrow, missed (Art. 22).
    let deadline = today + Duration::days(1);
    let mut oa = app.login("officer_a").await;
    let (st, case) = post(
        &mut oa,
        "/api/v1/cases",
        json!({"enterprise_id": s.ent_a2, "ground": "no_org"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{case}");
    let case = case["id"].as_i64().unwrap();
    let (st, body) = post(&mut oa, &format!("/api/v1/cases/{case}/events"), json!({"kind": "order",
        "document_no": "任房整改〔2026〕9号", "requirements": "设立售后服务机构并报备", "deadline": {"on": deadline}})).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let after = aftercare::time::china()
        .from_local_datetime(&(deadline + Duration::days(1)).and_hms_opt(0, 1, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(tick::run(app.db(), after).await.unwrap().overdue, 1);
    if deadline.year() != y {
        // Run on 31 December: the missed deadline counts for next year; count it for this one.
        exec(app, &format!("UPDATE case_overdues SET year = {y}")).await;
    }

    s
}
