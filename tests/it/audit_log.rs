//! Every change leaves an audit entry with who, what, before and after; the log cannot be
//! rewritten.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::support::{code, TestApp};

async fn every_change_is_audited(app: TestApp) {
    let s = app.seed().await;
    let mut c = app.login("officer_a").await;
    let body = json!({"credit_code": code("91370811MA0000201").as_str(), "name": "审计测试置业有限公司", "grade": "third", "county_id": s.county_a});
    let created = c
        .send_json(Method::POST, "/api/v1/enterprises", &body)
        .await
        .json();
    let id = created["id"].as_i64().unwrap();
    let mut changed = body.clone();
    changed["name"] = json!("审计测试置业（集团）有限公司");
    assert_eq!(
        c.send_json(Method::PUT, &format!("/api/v1/enterprises/{id}"), &changed)
            .await
            .status,
        StatusCode::OK
    );
    // Saving the same values again is not a change and records nothing.
    assert_eq!(
        c.send_json(Method::PUT, &format!("/api/v1/enterprises/{id}"), &changed)
            .await
            .status,
        StatusCode::OK
    );

    let entries: Vec<_> = app
        .audit("enterprise")
        .await
        .into_iter()
        .filter(|e| e.entity_id == Some(id))
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].action, "create");
    assert_eq!(entries[0].actor, "officer_a");
    assert!(entries[0].actor_user_id.is_some());
    assert!(entries[0].before_json.is_none());
    let before: Value = serde_json::from_str(entries[1].before_json.as_deref().unwrap()).unwrap();
    let after: Value = serde_json::from_str(entries[1].after_json.as_deref().unwrap()).unwrap();
    assert_eq!(before["name"], "审计测试置业有限公司");
    assert_eq!(after["name"], "审计测试置业（集团）有限公司");

    let project = json!({"enterprise_id": id, "county_id": s.county_a, "name": "审计花园"});
    let p = c
        .send_json(Method::POST, "/api/v1/projects", &project)
        .await
        .json();
    let mut p2 = project.clone();
    p2["sales_site_open"] = json!(true);
    c.send_json(Method::PUT, &format!("/api/v1/projects/{}", p["id"]), &p2)
        .await;
    let actions: Vec<String> = app
        .audit("project")
        .await
        .into_iter()
        .filter(|e| e.entity_id == p["id"].as_i64())
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["create", "update"]);

    // Logins and accounts are recorded too; the admin reads the log through the API.
    let logins = app.audit("user").await;
    assert!(logins
        .iter()
        .any(|e| e.action == "login" && e.actor == "officer_a"));
    assert_eq!(logins.iter().filter(|e| e.action == "create").count(), 5);
    let mut admin = app.login("admin").await;
    let page = admin
        .get(&format!(
            "/api/v1/audit?entity_type=enterprise&entity_id={id}"
        ))
        .await
        .json();
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["action"], "update", "newest first");
    let html = admin.get("/audit?entity_type=enterprise").await.text();
    assert!(html.contains("审计测试置业（集团）有限公司"));

    // Append-only: the database itself refuses to rewrite history.
    let mut pooled = app.db().acquire().await.unwrap();
    let mut conn = pooled.conn();
    let update = aftercare::on_conn!(&mut conn, |x| sqlx::query(
        "UPDATE audit_log SET actor = 'someone else'"
    )
    .execute(x)
    .await
    .map(|_| ()));
    assert!(update.is_err(), "audit rows cannot be updated");
    let delete = aftercare::on_conn!(&mut conn, |x| sqlx::query("DELETE FROM audit_log")
        .execute(x)
        .await
        .map(|_| ()));
    assert!(delete.is_err(), "audit rows cannot be deleted");
}
both!(every_change_is_audited);
