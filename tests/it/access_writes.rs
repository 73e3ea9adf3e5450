//! Scope on every write (issue 7): each denial seen from the HTTP side, with proof that
//! nothing changed. Queue assignment stays in the officer's county; links (parent, developer,
//! assignment target) must name an enterprise the caller can see; a row is changed only when
//! it is the officer's before and after; pages and API apply one project rule.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::support::{code, Client, Seed, TestApp};

fn ent_a2_body(s: &Seed) -> Value {
    json!({"credit_code": code("91370811MA0000002").as_str(), "name": "济宁乙置业有限公司",
        "grade": "second", "county_id": s.county_a})
}

fn project_body(enterprise: i64, county: i64, name: &str) -> Value {
    json!({"enterprise_id": enterprise, "county_id": county, "name": name,
        "address": "济宁市某路2号", "sales_site_open": true})
}

/// The row as the administrator sees it, to compare before and after a refused write.
async fn row(admin: &mut Client<'_>, path: &str) -> Value {
    let r = admin.get(path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
    let mut v = r.json();
    if let Some(o) = v.as_object_mut() {
        o.remove("updated_at");
    }
    v
}

async fn created_id(c: &mut Client<'_>, path: &str, body: &Value) -> i64 {
    let r = c.send_json(Method::POST, path, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.text());
    r.json()["id"].as_i64().expect("id")
}

const HEADER: &str = "工单编号,受理时间,来源渠道,所属区县,小区名称,涉及企业,统一社会信用代码,诉求类别,诉求内容,转办时间,企业答复时间,办结时间,满意度,是否回访,回访时间,是否群体诉求";

/// (ticket_no → (attribution, enterprise_id)) as the administrator sees them.
async fn tickets(admin: &mut Client<'_>) -> std::collections::BTreeMap<String, (String, Value)> {
    let page = admin
        .get("/api/v1/hotline/tickets?per_page=100")
        .await
        .json();
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| {
            (
                t["ticket_no"].as_str().unwrap_or_default().to_string(),
                (
                    t["attribution"].as_str().unwrap_or_default().to_string(),
                    t["enterprise_id"].clone(),
                ),
            )
        })
        .collect()
}

async fn queue_assign_stays_in_county(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    // The same caller text in county A, in county B, and naming no county; and in county B
    // a name both of county A's enterprises answer to (so it matched neither).
    let csv = format!(
        "{HEADER}\r\n\
         Q-A,2025-03-06 11:00,电话,任城区,幸福里小区,,,,小区门口积水,,,,,,,\r\n\
         Q-B,2025-03-07 11:00,电话,兖州区,幸福里小区,,,,小区门口积水,,,,,,,\r\n\
         Q-N,2025-03-08 11:00,电话,,幸福里小区,,,,小区门口积水,,,,,,,\r\n\
         Q-X,2025-03-09 11:00,电话,兖州区,,济宁简称,,,物业乱收费,,,,,,,\r\n"
    );
    let r = admin
        .post_bytes("/api/v1/hotline/imports?file_name=q.csv", csv.into_bytes())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let before = tickets(&mut admin).await;
    assert!(before
        .values()
        .all(|(how, e)| how == "unmatched" && e.is_null()));

    let mut oa = app.login("officer_a").await;
    let queue = oa.get("/api/v1/hotline/unmatched").await.json();
    let mine: Vec<&str> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["ticket_no"].as_str())
        .collect();
    assert!(mine.contains(&"Q-A") && mine.contains(&"Q-N") && !mine.contains(&"Q-B"));
    let qa = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["ticket_no"] == "Q-A")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let assign = format!("/api/v1/hotline/tickets/{qa}/assign");

    // Targets the officer cannot see are refused on the field that names them.
    let r = oa
        .send_json(Method::POST, &assign, &json!({"enterprise_id": s.ent_b}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["field"], "enterprise_id");
    let r = oa
        .send_json(
            Method::POST,
            &assign,
            &json!({"enterprise_id": s.ent_a, "project_id": s.proj_b}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["field"], "project_id");
    assert_eq!(tickets(&mut admin).await, before, "refusals change nothing");

    let r = oa
        .send_json(
            Method::POST,
            &assign,
            &json!({"enterprise_id": s.ent_a, "project_id": s.proj_a}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["also_assigned"],
        1,
        "only the no-county twin follows"
    );
    let after = tickets(&mut admin).await;
    assert_eq!(after["Q-A"], ("manual".to_string(), json!(s.ent_a)));
    assert_eq!(after["Q-N"], ("project_alias".to_string(), json!(s.ent_a)));
    assert_eq!(
        after["Q-B"], before["Q-B"],
        "county B's ticket with the same text is untouched"
    );
    let mut ob = app.login("officer_b").await;
    let queue_b = ob.get("/api/v1/hotline/unmatched").await.json();
    let mut left: Vec<&str> = queue_b["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["ticket_no"].as_str())
        .collect();
    left.sort();
    assert_eq!(left, ["Q-B", "Q-X"]);

    // County B's officer may assign Q-X to their enterprise, but the text already names
    // county A's enterprises: it is not learnt as an alias of B's.
    let qx = queue_b["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["ticket_no"] == "Q-X")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = ob
        .send_json(
            Method::POST,
            &format!("/api/v1/hotline/tickets/{qx}/assign"),
            &json!({"enterprise_id": s.ent_b}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.json()["alias_added"].is_null(), "{}", r.text());
    let ent_b = row(&mut admin, &format!("/api/v1/enterprises/{}", s.ent_b)).await;
    assert_eq!(ent_b["aliases"], json!(["兖州简称"]));
}
both!(queue_assign_stays_in_county);

async fn cross_county_parent_refused(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let mut oa = app.login("officer_a").await;
    let code_b = code("91370812MA0000003");
    let enterprises = app.count("enterprises").await;

    // Create: a new county-A enterprise naming county B's enterprise as its parent.
    let mut body = json!({"credit_code": code("91370811MA0000061").as_str(), "name": "济宁子公司有限公司",
        "grade": "third", "county_id": s.county_a, "parent_credit_code": code_b.as_str()});
    let r = oa
        .send_json(Method::POST, "/api/v1/enterprises", &body)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["field"], "parent_credit_code");
    // The answer is the one for a parent that does not exist at all: nothing to probe.
    body["parent_credit_code"] = json!(code("91370812MA0000098").as_str());
    let unknown = oa
        .send_json(Method::POST, "/api/v1/enterprises", &body)
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.json()["error"], r.json()["error"]);
    assert_eq!(app.count("enterprises").await, enterprises);

    // Update: the same link on an existing enterprise.
    let path = format!("/api/v1/enterprises/{}", s.ent_a2);
    let was = row(&mut admin, &path).await;
    let mut put = ent_a2_body(&s);
    put["parent_credit_code"] = json!(code_b.as_str());
    let r = oa.send_json(Method::PUT, &path, &put).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["field"], "parent_credit_code");
    assert_eq!(row(&mut admin, &path).await, was, "nothing changed");

    // A parent in the officer's own county is fine.
    put["parent_credit_code"] = json!(code("91370811MA0000001").as_str());
    let r = oa.send_json(Method::PUT, &path, &put).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["parent_id"], s.ent_a);

    // A cross-county parent the city set stays when the officer saves the row unchanged.
    put["parent_credit_code"] = json!(code_b.as_str());
    let r = admin.send_json(Method::PUT, &path, &put).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = oa.send_json(Method::PUT, &path, &put).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["parent_id"], s.ent_b);
}
both!(cross_county_parent_refused);

async fn moves_across_counties_refused(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let mut oa = app.login("officer_a").await;
    let mut ob = app.login("officer_b").await;

    // An enterprise moved out of A into B: A's officer lacks B (403); B's cannot see it (404).
    let ent = format!("/api/v1/enterprises/{}", s.ent_a2);
    let ent_was = row(&mut admin, &ent).await;
    let mut moved = ent_a2_body(&s);
    moved["county_id"] = json!(s.county_b);
    let r = oa.send_json(Method::PUT, &ent, &moved).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = ob.send_json(Method::PUT, &ent, &moved).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    // County B's enterprise pulled into A by A's officer: not theirs to see.
    let ent_b = format!("/api/v1/enterprises/{}", s.ent_b);
    let ent_b_was = row(&mut admin, &ent_b).await;
    let pulled = json!({"credit_code": code("91370812MA0000003").as_str(), "name": "兖州丙地产有限公司",
        "grade": "second", "county_id": s.county_a});
    let r = oa.send_json(Method::PUT, &ent_b, &pulled).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert_eq!(row(&mut admin, &ent).await, ent_was);
    assert_eq!(row(&mut admin, &ent_b).await, ent_b_was);

    // Projects: out of A, into A, and one located in A whose developer is B's.
    let pa = format!("/api/v1/projects/{}", s.proj_a);
    let pb = format!("/api/v1/projects/{}", s.proj_b);
    let foreign = created_id(
        &mut admin,
        "/api/v1/projects",
        &project_body(s.ent_b, s.county_a, "丙在任城项目"),
    )
    .await;
    let pf = format!("/api/v1/projects/{foreign}");
    let (pa_was, pb_was, pf_was) = (
        row(&mut admin, &pa).await,
        row(&mut admin, &pb).await,
        row(&mut admin, &pf).await,
    );
    let r = oa
        .send_json(
            Method::PUT,
            &pa,
            &project_body(s.ent_a, s.county_b, "甲花园"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "out of A: {}", r.text());
    let r = oa
        .send_json(
            Method::PUT,
            &pb,
            &project_body(s.ent_b, s.county_a, "丙家园"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "into A: {}", r.text());
    let r = ob
        .send_json(
            Method::PUT,
            &pa,
            &project_body(s.ent_a, s.county_b, "甲花园"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "into B: {}", r.text());
    // Located in A, so A's officer sees it; developed by B's enterprise, so not A's to change.
    assert_eq!(oa.get(&pf).await.status, StatusCode::OK);
    let r = oa
        .send_json(
            Method::PUT,
            &pf,
            &project_body(s.ent_b, s.county_a, "丙在任城项目（改）"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // Nor may A's officer hand their own project to B's enterprise.
    let r = oa
        .send_json(
            Method::PUT,
            &pa,
            &project_body(s.ent_b, s.county_a, "甲花园"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["field"], "enterprise_id");
    assert_eq!(row(&mut admin, &pa).await, pa_was);
    assert_eq!(row(&mut admin, &pb).await, pb_was);
    assert_eq!(row(&mut admin, &pf).await, pf_was);
}
both!(moves_across_counties_refused);

async fn project_for_other_county_enterprise(app: TestApp) {
    let s = app.seed().await;
    let mut oa = app.login("officer_a").await;
    let projects = app.count("projects").await;
    let r = oa
        .send_json(
            Method::POST,
            "/api/v1/projects",
            &project_body(s.ent_b, s.county_a, "越界项目"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["field"], "enterprise_id");
    let missing = oa
        .send_json(
            Method::POST,
            "/api/v1/projects",
            &project_body(999_999, s.county_a, "越界项目"),
        )
        .await;
    assert_eq!(
        missing.json()["error"],
        r.json()["error"],
        "another county's enterprise answers like a missing one"
    );
    let r = oa
        .send_json(
            Method::POST,
            "/api/v1/projects",
            &project_body(s.ent_a, s.county_b, "越界项目"),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "located in another county: {}",
        r.text()
    );
    assert_eq!(app.count("projects").await, projects, "nothing created");
    let ok = oa
        .send_json(
            Method::POST,
            "/api/v1/projects",
            &project_body(s.ent_a, s.county_a, "甲新苑"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text());
}
both!(project_for_other_county_enterprise);

async fn page_and_api_agree(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    // County A's enterprise builds in B; county B's enterprise builds in A.
    let a_in_b = created_id(
        &mut admin,
        "/api/v1/projects",
        &project_body(s.ent_a, s.county_b, "甲在兖州项目"),
    )
    .await;
    let b_in_a = created_id(
        &mut admin,
        "/api/v1/projects",
        &project_body(s.ent_b, s.county_a, "丙在任城项目"),
    )
    .await;
    let all = [
        (s.proj_a, "甲花园", s.ent_a),
        (s.proj_b, "丙家园", s.ent_b),
        (a_in_b, "甲在兖州项目", s.ent_a),
        (b_in_a, "丙在任城项目", s.ent_b),
    ];
    // Officer A: A's projects and what A's enterprise builds anywhere; B's only where in A.
    for (officer, expected_visible) in [
        ("officer_a", [true, false, true, true]),
        ("officer_b", [false, true, true, true]),
    ] {
        let mut o = app.login(officer).await;
        let listed = o.get("/api/v1/projects?per_page=500").await.json();
        let listed_ids: Vec<i64> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["id"].as_i64())
            .collect();
        let page = o.get("/projects").await.text();
        for ((id, name, owner), visible) in all.iter().zip(expected_visible) {
            let api = o.get(&format!("/api/v1/projects/{id}")).await.status;
            assert_eq!(
                api == StatusCode::OK,
                visible,
                "{officer}: API for {name} → {api}"
            );
            assert_eq!(listed_ids.contains(id), visible, "{officer}: list, {name}");
            assert_eq!(page.contains(name), visible, "{officer}: /projects, {name}");
            // The enterprise page lists exactly the projects the API opens.
            let e_page = o.get(&format!("/enterprises/{owner}")).await;
            if e_page.status == StatusCode::OK {
                assert_eq!(
                    e_page.text().contains(name),
                    visible,
                    "{officer}: /enterprises/{owner} lists {name}"
                );
            } else {
                assert_eq!(e_page.status, StatusCode::NOT_FOUND);
            }
        }
    }
}
both!(page_and_api_agree);

async fn enterprise_user_cannot_write(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let mut e = app.login("ent_a").await;
    let own = format!("/api/v1/enterprises/{}", s.ent_a);
    let own_project = format!("/api/v1/projects/{}", s.proj_a);
    let (ent_was, proj_was) = (
        row(&mut admin, &own).await,
        row(&mut admin, &own_project).await,
    );
    let counts = (app.count("enterprises").await, app.count("projects").await);
    let attempts = [
        (
            Method::POST,
            "/api/v1/enterprises".to_string(),
            json!({"credit_code": code("91370811MA0000071").as_str(), "name": "自建置业有限公司",
                "grade": "third", "county_id": s.county_a}),
        ),
        (
            Method::PUT,
            own.clone(),
            json!({"credit_code": code("91370811MA0000001").as_str(), "name": "改名置业有限公司",
                "grade": "first", "county_id": s.county_a}),
        ),
        (
            Method::POST,
            "/api/v1/projects".to_string(),
            project_body(s.ent_a, s.county_a, "自建项目"),
        ),
        (
            Method::PUT,
            own_project.clone(),
            project_body(s.ent_a, s.county_a, "甲花园（改）"),
        ),
        (
            Method::POST,
            "/api/v1/jurisdictions".to_string(),
            json!({"code": "370881", "name": "曲阜市", "parent_id": s.city}),
        ),
    ];
    for (method, path, body) in attempts {
        let r = e.send_json(method.clone(), &path, &body).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            r.text()
        );
    }
    assert_eq!(row(&mut admin, &own).await, ent_was);
    assert_eq!(row(&mut admin, &own_project).await, proj_was);
    assert_eq!(
        (app.count("enterprises").await, app.count("projects").await),
        counts
    );
}
both!(enterprise_user_cannot_write);
