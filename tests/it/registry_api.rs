//! Registry API: credit-code validation, enterprises and projects, errors, OpenAPI, health.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::support::{code, TestApp};

async fn credit_codes_are_validated(app: TestApp) {
    let s = app.seed().await;
    let mut c = app.login("admin").await;
    let valid = code("91370811MA0000041").to_string();
    let body = |credit: &str| json!({"credit_code": credit, "name": "校验测试置业有限公司", "grade": "second", "county_id": s.county_a});

    // Wrong check character: the message says which character was expected.
    let last = valid.chars().last().unwrap();
    let wrong = format!("{}{}", &valid[..17], if last == '0' { '1' } else { '0' });
    let resp = c
        .send_json(Method::POST, "/api/v1/enterprises", &body(&wrong))
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    let err = resp.json()["error"].clone();
    assert_eq!(err["field"], "credit_code");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains(&format!("应为“{last}”")),
        "{err}"
    );

    for (bad, hint) in [
        ("9137081", "18位"),
        ("91370811MA00000I1X", "第16位"),
        ("", "为空"),
    ] {
        let resp = c
            .send_json(Method::POST, "/api/v1/enterprises", &body(bad))
            .await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            resp.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(hint),
            "{bad}: {}",
            resp.text()
        );
    }

    // Lower case and full-width input is normalized, and then the code is a duplicate key.
    let fullwidth: String = valid
        .to_lowercase()
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() {
                char::from_u32(ch as u32 + 0xFEE0).unwrap()
            } else {
                ch
            }
        })
        .collect();
    let resp = c
        .send_json(
            Method::POST,
            "/api/v1/enterprises",
            &body(&format!(" {fullwidth} ")),
        )
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.text());
    assert_eq!(resp.json()["credit_code"], valid.as_str());
    let resp = c
        .send_json(Method::POST, "/api/v1/enterprises", &body(&valid))
        .await;
    assert_eq!(resp.status, StatusCode::CONFLICT);
}
both!(credit_codes_are_validated);

async fn enterprises_and_projects(app: TestApp) {
    let s = app.seed().await;
    let mut c = app.login("officer_a").await;
    // A subsidiary names its parent by credit code; the parent lists it.
    let sub = json!({
        "credit_code": code("91370811MA0000051").as_str(),
        "name": "济宁甲置业有限公司运河分公司",
        "grade": "third",
        "county_id": s.county_a,
        "parent_credit_code": code("91370811MA0000001").as_str(),
        "status": "revoked",
        "status_date": "2025-06-30",
        "aliases": ["运河置业", "运河置业", " 甲运河 "],
    });
    let resp = c.send_json(Method::POST, "/api/v1/enterprises", &sub).await;
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.text());
    let created = resp.json();
    assert_eq!(created["parent"]["id"], s.ent_a);
    assert_eq!(created["aliases"], json!(["运河置业", "甲运河"]));
    let parent = c
        .get(&format!("/api/v1/enterprises/{}", s.ent_a))
        .await
        .json();
    assert_eq!(
        parent["subsidiaries"][0]["name"],
        "济宁甲置业有限公司运河分公司"
    );
    assert_eq!(parent["county_name"], "任城区");

    // A revoked enterprise must say when.
    let mut no_date = sub.clone();
    no_date["credit_code"] = json!(code("91370811MA0000052").as_str());
    no_date["status_date"] = json!(null);
    let resp = c
        .send_json(Method::POST, "/api/v1/enterprises", &no_date)
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resp.json()["error"]["field"], "status_date");

    // An unknown parent and an ownership loop are refused with the field named.
    let mut unknown_parent = sub.clone();
    unknown_parent["credit_code"] = json!(code("91370811MA0000053").as_str());
    unknown_parent["parent_credit_code"] = json!(code("91370811MA0000099").as_str());
    let resp = c
        .send_json(Method::POST, "/api/v1/enterprises", &unknown_parent)
        .await;
    assert_eq!(resp.json()["error"]["field"], "parent_credit_code");
    let looped = json!({
        "credit_code": code("91370811MA0000001").as_str(), "name": "济宁甲置业有限公司", "grade": "second",
        "county_id": s.county_a, "parent_credit_code": code("91370811MA0000051").as_str()
    });
    let resp = c
        .send_json(
            Method::PUT,
            &format!("/api/v1/enterprises/{}", s.ent_a),
            &looped,
        )
        .await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        resp.text()
    );

    // Search by alias, by partial credit code; filter by status.
    let found = c
        .get(&format!("/api/v1/enterprises?q={}", urlencode("运河")))
        .await
        .json();
    assert_eq!(found["total"], 1);
    let found = c.get("/api/v1/enterprises?q=ma000005").await.json();
    assert_eq!(found["total"], 1, "credit codes match case-insensitively");
    let found = c.get("/api/v1/enterprises?status=revoked").await.json();
    assert_eq!(found["total"], 1);
    let paged = c.get("/api/v1/enterprises?per_page=1&page=2").await.json();
    assert_eq!(paged["items"].as_array().unwrap().len(), 1);
    assert_eq!(paged["total"], 3);

    // Projects: units delivered need a delivery date; duplicates per enterprise conflict.
    let project = json!({"enterprise_id": s.ent_a, "county_id": s.county_a, "name": "运河湾", "units_delivered": 10});
    let resp = c
        .send_json(Method::POST, "/api/v1/projects", &project)
        .await;
    assert_eq!(resp.json()["error"]["field"], "delivery_date");
    let project = json!({"enterprise_id": s.ent_a, "county_id": s.county_a, "name": "运河湾", "units_delivered": 10,
        "delivery_date": "2022-09-30", "sales_site_open": false, "aliases": ["运河湾小区"]});
    let resp = c
        .send_json(Method::POST, "/api/v1/projects", &project)
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.text());
    assert_eq!(resp.json()["aliases"], json!(["运河湾小区"]));
    assert_eq!(
        c.send_json(Method::POST, "/api/v1/projects", &project)
            .await
            .status,
        StatusCode::CONFLICT
    );
    let found = c
        .get(&format!("/api/v1/projects?q={}", urlencode("运河湾小区")))
        .await
        .json();
    assert_eq!(found["total"], 1);
    // A developer from county B may build in county A, but the developer is not county A's
    // to name (issue 7): the city registers that project.
    let cross = json!({"enterprise_id": s.ent_b, "county_id": s.county_a, "name": "丙在任城", "units_delivered": 0});
    let resp = c.send_json(Method::POST, "/api/v1/projects", &cross).await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resp.json()["error"]["field"], "enterprise_id");
    let mut admin = app.login("admin").await;
    assert_eq!(
        admin
            .send_json(Method::POST, "/api/v1/projects", &cross)
            .await
            .status,
        StatusCode::CREATED
    );
}
both!(enterprises_and_projects);

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("q", s)])
        .unwrap()
        .trim_start_matches("q=")
        .to_string()
}

async fn client_mistakes_are_4xx(app: TestApp) {
    let s = app.seed().await;
    let mut c = app.login("admin").await;
    let resp = c
        .request(
            Method::POST,
            "/api/v1/enterprises",
            Some("application/json"),
            b"{not json".to_vec(),
            true,
        )
        .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert_eq!(resp.json()["error"]["code"], "bad_request");
    let resp = c
        .send_json(
            Method::POST,
            "/api/v1/enterprises",
            &json!({"name": "缺字段"}),
        )
        .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert!(resp.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("credit_code"));
    let resp = c
        .send_json(
            Method::POST,
            "/api/v1/enterprises",
            &json!({"credit_code": "x", "name": "n", "grade": "fifth", "county_id": 1}),
        )
        .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST, "unknown grade");
    assert_eq!(
        c.get("/api/v1/enterprises?page=abc").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.get("/api/v1/enterprises/999999").await.status,
        StatusCode::NOT_FOUND
    );
    let resp = c.get("/api/v1/enterprises/abc").await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert_eq!(resp.json()["error"]["field"], "path", "JSON error body");
    assert_eq!(
        c.get("/api/v1/nothing-here").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(c.get("/nothing-here").await.status, StatusCode::NOT_FOUND);
    let resp = c.send_json(Method::POST, "/api/v1/enterprises", &json!({"credit_code": code("91370811MA0000061").as_str(), "name": "x", "grade": "first", "county_id": s.city})).await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the city is not a county"
    );
    assert_eq!(resp.json()["error"]["field"], "county_id");
    let resp = c
        .send_json(
            Method::POST,
            "/api/v1/jurisdictions",
            &json!({"code": "37081", "name": "x"}),
        )
        .await;
    assert_eq!(resp.json()["error"]["field"], "code");
    let resp = c.send_json(Method::POST, "/api/v1/users", &json!({"username": "weak", "display_name": "x", "password": "short", "role": "city_admin"})).await;
    assert_eq!(resp.json()["error"]["field"], "password");
    let resp = c.send_json(Method::POST, "/api/v1/users", &json!({"username": "nocounty", "display_name": "x", "password": "Long-enough-1", "role": "county_officer"})).await;
    assert_eq!(resp.json()["error"]["field"], "county_id");
    let resp = c.send_json(Method::POST, "/api/v1/users", &json!({"username": "officer_a", "display_name": "x", "password": "Long-enough-1", "role": "county_officer", "county_id": s.county_a})).await;
    assert_eq!(resp.status, StatusCode::CONFLICT);
}
both!(client_mistakes_are_4xx);

async fn openapi_and_health(app: TestApp) {
    let mut c = app.client();
    let health = c.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");
    let doc = c.get("/api/openapi.json").await.json();
    assert_eq!(doc["openapi"].as_str().unwrap().chars().next(), Some('3'));
    for path in [
        "/api/v1/enterprises",
        "/api/v1/enterprises/{id}",
        "/api/v1/projects",
        "/api/v1/jurisdictions",
        "/api/v1/imports/enterprises",
        "/api/v1/audit",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert!(doc["components"]["schemas"]["EnterpriseInput"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // Two types with one schema name: the last one registered silently replaces the other, and
    // every response that refers to the first then "violates" the document. Spot-check the
    // names that were once taken twice.
    let schemas = &doc["components"]["schemas"];
    for (name, value) in [
        ("Status", "active"),
        ("FilingStatus", "approved"),
        ("OutboxStatus", "queued"),
        ("Kind", "establishment"),
        ("SuggestionKind", "no_org"),
        ("CaseState", "overdue"),
    ] {
        let values = schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}"));
        assert!(values.iter().any(|v| v == value), "{name}: {values:?}");
    }
    let resp = c.get("/login").await;
    assert_eq!(resp.headers["x-frame-options"], "DENY");
    assert!(resp.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
}
both!(openapi_and_health);
