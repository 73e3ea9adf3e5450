//! The authorization matrix: each role against each route, allowed or refused.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::support::{code, TestApp};

/// (what, method, path, JSON body, expected status for admin, officer_a, officer_b, ent_a, ent_b)
type Case = (
    &'static str,
    Method,
    String,
    Option<serde_json::Value>,
    [StatusCode; 5],
);

fn enterprise_body(code17: &str, county: i64) -> serde_json::Value {
    json!({"credit_code": code(code17).as_str(), "name": "矩阵测试置业有限公司", "grade": "third", "county_id": county})
}

async fn matrix(app: TestApp) {
    let s = app.seed().await;
    let roles = ["admin", "officer_a", "officer_b", "ent_a", "ent_b"];
    // (method, path, body, expected status per role in the order above)
    let e_a = format!("/api/v1/enterprises/{}", s.ent_a);
    let e_b = format!("/api/v1/enterprises/{}", s.ent_b);
    let p_a = format!("/api/v1/projects/{}", s.proj_a);
    let p_b = format!("/api/v1/projects/{}", s.proj_b);
    let ok = StatusCode::OK;
    let nf = StatusCode::NOT_FOUND;
    let fb = StatusCode::FORBIDDEN;
    let cases: Vec<Case> = vec![
        (
            "list enterprises",
            Method::GET,
            "/api/v1/enterprises".into(),
            None,
            [ok; 5],
        ),
        (
            "enterprise of county A",
            Method::GET,
            e_a.clone(),
            None,
            [ok, ok, nf, ok, nf],
        ),
        (
            "enterprise of county B",
            Method::GET,
            e_b.clone(),
            None,
            [ok, nf, ok, nf, ok],
        ),
        (
            "project of county A",
            Method::GET,
            p_a.clone(),
            None,
            [ok, ok, nf, ok, nf],
        ),
        (
            "project of county B",
            Method::GET,
            p_b.clone(),
            None,
            [ok, nf, ok, nf, ok],
        ),
        (
            "jurisdictions",
            Method::GET,
            "/api/v1/jurisdictions".into(),
            None,
            [ok; 5],
        ),
        (
            "audit log",
            Method::GET,
            "/api/v1/audit".into(),
            None,
            [ok, fb, fb, fb, fb],
        ),
        (
            "users",
            Method::GET,
            "/api/v1/users".into(),
            None,
            [ok, fb, fb, fb, fb],
        ),
        ("me", Method::GET, "/api/v1/me".into(), None, [ok; 5]),
        (
            "create jurisdiction",
            Method::POST,
            "/api/v1/jurisdictions".into(),
            Some(json!({"code": "370881", "name": "曲阜市", "parent_id": s.city})),
            [StatusCode::CREATED, fb, fb, fb, fb],
        ),
        (
            "update enterprise of county B",
            Method::PUT,
            e_b.clone(),
            Some(
                json!({"credit_code": code("91370812MA0000003").as_str(), "name": "兖州丙地产有限公司", "grade": "first", "county_id": s.county_b}),
            ),
            [ok, nf, ok, fb, fb],
        ),
        (
            "move enterprise of county A into county B",
            Method::PUT,
            format!("/api/v1/enterprises/{}", s.ent_a2),
            Some(
                json!({"credit_code": code("91370811MA0000002").as_str(), "name": "济宁乙置业有限公司", "grade": "second", "county_id": s.county_b}),
            ),
            [ok, fb, nf, fb, fb],
        ),
        (
            "update project of county A",
            Method::PUT,
            p_a.clone(),
            Some(
                json!({"enterprise_id": s.ent_a, "county_id": s.county_a, "name": "甲花园", "units_delivered": 320, "delivery_date": "2023-05-01"}),
            ),
            [ok, ok, nf, fb, fb],
        ),
    ];
    // The administrator goes last: its successful move of an enterprise would change what
    // the officers' rows expect.
    for ri in [1, 2, 3, 4, 0] {
        let role = roles[ri];
        let mut c = app.login(role).await;
        for (what, method, path, body, expected) in &cases {
            let resp = match body {
                Some(b) => c.send_json(method.clone(), path, b).await,
                None => {
                    c.request(method.clone(), path, None, Vec::new(), false)
                        .await
                }
            };
            assert_eq!(
                resp.status,
                expected[ri],
                "{role} → {what} ({method} {path}): {}",
                resp.text()
            );
        }
    }

    // Creating: each officer only in their own county; enterprises never.
    let attempts = [
        (
            "admin",
            "91370812MA0000011",
            s.county_b,
            StatusCode::CREATED,
        ),
        (
            "officer_a",
            "91370811MA0000012",
            s.county_a,
            StatusCode::CREATED,
        ),
        (
            "officer_a",
            "91370812MA0000013",
            s.county_b,
            StatusCode::FORBIDDEN,
        ),
        (
            "officer_b",
            "91370811MA0000014",
            s.county_a,
            StatusCode::FORBIDDEN,
        ),
        (
            "ent_a",
            "91370811MA0000015",
            s.county_a,
            StatusCode::FORBIDDEN,
        ),
    ];
    for (role, code17, county, expected) in attempts {
        let mut c = app.login(role).await;
        let resp = c
            .send_json(
                Method::POST,
                "/api/v1/enterprises",
                &enterprise_body(code17, county),
            )
            .await;
        assert_eq!(
            resp.status,
            expected,
            "{role} creates in county {county}: {}",
            resp.text()
        );
    }

    // Lists are scoped, not merely filtered by the client.
    let mut a = app.login("officer_a").await;
    let listed = a
        .get(&format!("/api/v1/enterprises?county_id={}", s.county_b))
        .await
        .json();
    assert_eq!(
        listed["total"], 0,
        "an officer's list never shows another county"
    );
    let mine = a.get("/api/v1/enterprises").await.json();
    assert!(mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["county_id"] == s.county_a));
    let mut e = app.login("ent_a").await;
    let own = e.get("/api/v1/enterprises").await.json();
    assert_eq!(own["total"], 1);
    assert_eq!(own["items"][0]["id"], s.ent_a);
    let projects = e.get("/api/v1/projects").await.json();
    assert!(projects["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["enterprise_id"] == s.ent_a));
}
both!(matrix);

async fn pages_respect_roles(app: TestApp) {
    let s = app.seed().await;
    let mut anon = app.client();
    assert_eq!(
        anon.get("/enterprises").await.status,
        StatusCode::SEE_OTHER,
        "pages send strangers to the login"
    );
    assert_eq!(
        anon.get("/api/v1/enterprises").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        anon.get(&format!("/api/v1/enterprises/{}", s.ent_a))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let mut admin = app.login("admin").await;
    let page = admin.get("/enterprises").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains("兖州丙地产有限公司") && page.text().contains("济宁甲置业有限公司")
    );
    assert_eq!(admin.get("/audit").await.status, StatusCode::OK);

    let mut officer = app.login("officer_a").await;
    let page = officer.get("/enterprises").await.text();
    assert!(page.contains("济宁甲置业有限公司") && !page.contains("兖州丙地产有限公司"));
    assert_eq!(
        officer
            .get(&format!("/enterprises/{}", s.ent_b))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(officer.get("/audit").await.status, StatusCode::FORBIDDEN);
    let projects = officer.get("/projects").await.text();
    assert!(projects.contains("甲花园") && !projects.contains("丙家园"));

    let mut ent = app.login("ent_a").await;
    let home = ent.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(
        home.headers["location"],
        format!("/enterprises/{}", s.ent_a).as_str()
    );
    let own = ent.get(&format!("/enterprises/{}", s.ent_a)).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.text().contains("甲花园"));
    assert_eq!(
        ent.get(&format!("/enterprises/{}", s.ent_a2)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ent.get(&format!("/enterprises/{}", s.ent_b)).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!ent.get("/projects").await.text().contains("丙家园"));
}
both!(pages_respect_roles);

async fn bearer_tokens(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let users = admin.get("/api/v1/users").await.json();
    let ent_b_user = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "ent_b")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let created = admin
        .send_json(
            Method::POST,
            "/api/v1/tokens",
            &json!({"name": "CRM", "user_id": ent_b_user}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let secret = created.json()["token"].as_str().unwrap().to_string();

    let mut crm = app.client();
    crm.bearer = Some(secret.clone());
    assert_eq!(
        crm.get(&format!("/api/v1/enterprises/{}", s.ent_b))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        crm.get(&format!("/api/v1/enterprises/{}", s.ent_a))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "a token has its user's scope"
    );
    // No CSRF token needed with a bearer token, but the role still decides.
    let resp = crm
        .send_json(
            Method::POST,
            "/api/v1/enterprises",
            &enterprise_body("91370812MA0000021", s.county_b),
        )
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);

    // Only the administrator mints tokens for others.
    let mut ent = app.login("ent_a").await;
    let resp = ent
        .send_json(
            Method::POST,
            "/api/v1/tokens",
            &json!({"name": "x", "user_id": ent_b_user}),
        )
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    let own = ent
        .send_json(
            Method::POST,
            "/api/v1/tokens",
            &json!({"name": "自己的 CRM"}),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED);

    let mut forged = app.client();
    // Change the last hex digit to a different one: a near miss must not authenticate.
    let last = if secret.ends_with('0') { '1' } else { '0' };
    forged.bearer = Some(format!("{}{last}", &secret[..secret.len() - 1]));
    assert_eq!(
        forged.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    forged.bearer = Some("not-a-token".into());
    assert_eq!(
        forged.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}
both!(bearer_tokens);
