//! Filings: every kind through submit → reject → resubmit → approve, the org state and
//! notice-board coverage computed from them, late changes, the Art. 7 hand-over, files, and
//! the denials.

use axum::http::{Method, StatusCode};
use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use crate::both;
use crate::support::{code, Client, Resp, TestApp};

pub(crate) fn png(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(40, 30, image::Rgb([seed, 120, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

pub(crate) const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn today() -> NaiveDate {
    aftercare::time::today()
}

pub(crate) fn establishment(staff: usize) -> Value {
    let members: Vec<Value> =
        (0..staff).map(|i| json!({"name": format!("员工{i}"), "role": "客服专员", "mobile": format!("1390537000{i}")})).collect();
    json!({
        "kind": "establishment", "manager_name": "王经理", "manager_mobile": "13905371111",
        "office_address": "济宁市任城区共青团路1号", "hotline": "0537-2345678", "staff": members,
        "fund_fen": 5_000_000, "established_on": "2023-03-01", "independent_department": true
    })
}

pub(crate) fn board(place: Value) -> Value {
    json!({"kind": "notice_board", "place": place, "width_cm": 120, "height_cm": 90, "contents": {
        "service_content": true, "responsible_person": true, "office_address": true, "service_phone": true, "guidance_phone": true}})
}

async fn draft(c: &mut Client<'_>, enterprise: i64, payload: &Value) -> i64 {
    let r = c
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{enterprise}/filings"),
            payload,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

async fn act(c: &mut Client<'_>, id: i64, action: &str) -> Resp {
    c.request(
        Method::POST,
        &format!("/api/v1/filings/{id}/{action}"),
        None,
        Vec::new(),
        true,
    )
    .await
}

async fn upload(c: &mut Client<'_>, id: i64, slot: &str, bytes: Vec<u8>) -> Resp {
    c.post_bytes(
        &format!("/api/v1/filings/{id}/files?slot={slot}&file_name=f"),
        bytes,
    )
    .await
}

/// Files, submits and has `officer` approve; returns the filing id.
pub(crate) async fn approved(
    app: &TestApp,
    enterprise: i64,
    user: &str,
    officer: &str,
    payload: &Value,
    files: &[(&str, Vec<u8>)],
) -> i64 {
    let mut e = app.login(user).await;
    let id = draft(&mut e, enterprise, payload).await;
    for (slot, bytes) in files {
        assert_eq!(
            upload(&mut e, id, slot, bytes.clone()).await.status,
            StatusCode::CREATED
        );
    }
    let r = act(&mut e, id, "submit").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut o = app.login(officer).await;
    let r = act(&mut o, id, "approve").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    id
}

/// (user, enterprise, reviewing officer, payload, files, field to reject, correction)
type Case = (
    &'static str,
    i64,
    &'static str,
    Value,
    Vec<(&'static str, Vec<u8>)>,
    &'static str,
    Value,
);

async fn every_kind_through_review(mut app: TestApp) {
    let s = app.seed().await;
    // Delegation is a Qingdao rule: use that rule set, and make ent_b an out-of-town developer.
    app.use_rules("qingdao-sample");
    let mut admin = app.login("admin").await;
    let out_of_town = json!({"credit_code": code("91370812MA0000003").as_str(), "name": "兖州丙地产有限公司", "grade": "second",
        "county_id": s.county_b, "is_local": false, "origin": "江苏省南京市", "email": "kefu@example.cn"});
    assert_eq!(
        admin
            .send_json(
                Method::PUT,
                &format!("/api/v1/enterprises/{}", s.ent_b),
                &out_of_town
            )
            .await
            .status,
        StatusCode::OK
    );

    let cases: Vec<Case> = vec![
        (
            "ent_a",
            s.ent_a,
            "officer_a",
            establishment(3),
            vec![],
            "staff",
            json!({"manager_name": "李经理"}),
        ),
        (
            "ent_a",
            s.ent_a,
            "officer_a",
            json!({"kind": "manager_change", "manager_name": "赵经理", "manager_mobile": "13905372222",
            "effective_on": today().to_string()}),
            vec![],
            "manager_name",
            json!({"manager_name": "赵新经理"}),
        ),
        (
            "ent_a",
            s.ent_a,
            "officer_a",
            json!({"kind": "office_change", "office_address": "济宁市任城区建设路8号",
            "effective_on": today().to_string()}),
            vec![],
            "office_address",
            json!({"office_address": "济宁市任城区建设路18号"}),
        ),
        (
            "ent_a",
            s.ent_a,
            "officer_a",
            json!({"kind": "hotline_change", "hotline": "4006005370",
            "effective_on": today().to_string()}),
            vec![],
            "hotline",
            json!({"hotline": "0537-7654321"}),
        ),
        (
            "ent_a",
            s.ent_a,
            "officer_a",
            json!({"kind": "staff_change", "staff": [
            {"name": "甲", "role": "客服", "mobile": "13905373331"}, {"name": "乙", "role": "回访", "mobile": "13905373332"}],
            "effective_on": today().to_string()}),
            vec![],
            "staff",
            json!({"effective_on": (today() - Duration::days(1)).to_string()}),
        ),
        (
            "ent_a",
            s.ent_a,
            "officer_a",
            json!({"kind": "documents", "note": "四项制度"}),
            vec![
                ("functions", PDF.to_vec()),
                ("duties", PDF.to_vec()),
                ("commitment", png(1)),
                ("workflow", jpeg()),
            ],
            "workflow",
            json!({"note": "四项制度（修订）"}),
        ),
        (
            "ent_a",
            s.ent_a,
            "officer_a",
            board(json!({"type": "org_office"})),
            vec![("photo", png(2))],
            "contents",
            json!({"width_cm": 121}),
        ),
        (
            "ent_b",
            s.ent_b,
            "officer_b",
            json!({"kind": "delegation", "delegate_credit_code": code("91370811MA0000001").as_str(),
            "valid_from": "2025-01-01", "valid_to": "2027-12-31"}),
            vec![("agreement", PDF.to_vec())],
            "valid_to",
            json!({"valid_to": "2028-12-31"}),
        ),
    ];
    for (user, enterprise, officer, payload, files, field, fix) in cases {
        let kind = payload["kind"].as_str().unwrap().to_string();
        let mut e = app.login(user).await;
        let id = draft(&mut e, enterprise, &payload).await;
        for (slot, bytes) in &files {
            let r = upload(&mut e, id, slot, bytes.clone()).await;
            assert_eq!(r.status, StatusCode::CREATED, "{kind} {slot}: {}", r.text());
        }
        let r = act(&mut e, id, "submit").await;
        assert_eq!(r.status, StatusCode::OK, "{kind}: {}", r.text());
        assert_eq!(r.json()["status"], "submitted");

        let mut o = app.login(officer).await;
        let r = o
            .send_json(
                Method::POST,
                &format!("/api/v1/filings/{id}/reject"),
                &json!({"reasons": {field: "请更正", "general": "见各项意见"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{kind}: {}", r.text());
        assert_eq!(r.json()["status"], "rejected");

        // The enterprise corrects and resubmits.
        let mut corrected = payload.clone();
        for (k, v) in fix.as_object().unwrap() {
            corrected[k] = v.clone();
        }
        let r = e
            .send_json(Method::PUT, &format!("/api/v1/filings/{id}"), &corrected)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{kind}: {}", r.text());
        let r = act(&mut e, id, "submit").await;
        assert_eq!(r.json()["revision"], 2, "{kind}");
        let r = act(&mut o, id, "approve").await;
        assert_eq!(r.status, StatusCode::OK, "{kind}: {}", r.text());
        assert_eq!(r.json()["status"], "approved");

        let d = o.get(&format!("/api/v1/filings/{id}")).await.json();
        assert_eq!(d["reviews"].as_array().unwrap().len(), 2, "{kind}");
        assert_eq!(d["reviews"][0]["reasons"][field], "请更正");
        assert_eq!(d["revisions"].as_array().unwrap().len(), 2);
        assert_ne!(
            d["revisions"][0]["payload"], d["revisions"][1]["payload"],
            "{kind}: both versions kept"
        );
        // Once approved the enterprise can change nothing.
        assert_eq!(
            e.send_json(Method::PUT, &format!("/api/v1/filings/{id}"), &corrected)
                .await
                .status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            act(&mut e, id, "withdraw").await.status,
            StatusCode::CONFLICT
        );
    }
    // The enterprise was told each time: 8 rejections and 8 approvals.
    assert_eq!(app.count("outbox").await, 16);

    let mut a = app.login("ent_a").await;
    let org = a
        .get(&format!("/api/v1/enterprises/{}/org", s.ent_a))
        .await
        .json();
    let st = &org["state"];
    assert_eq!(st["manager_name"], "赵新经理");
    assert_eq!(st["office_address"], "济宁市任城区建设路18号");
    assert_eq!(st["hotline"], "0537-7654321");
    assert_eq!(st["staff"].as_array().unwrap().len(), 2);
    assert_eq!(st["documents"].as_array().unwrap().len(), 4);
    assert_eq!(st["history"].as_array().unwrap().len(), 7);
    // Qingdao: a grade-2 developer needs 3 staff; it now has 2.
    assert_eq!(org["min_staff"]["value"], 3);
    assert!(
        org["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["code"] == "staff_below_minimum"),
        "{org}"
    );

    let mut b = app.login("ent_b").await;
    let org_b = b
        .get(&format!("/api/v1/enterprises/{}/org", s.ent_b))
        .await
        .json();
    assert_eq!(org_b["state"]["delegate"]["enterprise_id"], s.ent_a);
    assert!(
        org_b["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["code"] != "no_org"),
        "delegated: {org_b}"
    );
}
both!(every_kind_through_review);

async fn org_state_and_gaps(app: TestApp) {
    let s = app.seed().await;
    let mut a = app.login("ent_a").await;
    let org = a
        .get(&format!("/api/v1/enterprises/{}/org", s.ent_a))
        .await
        .json();
    assert_eq!(org["gaps"][0]["code"], "no_org");
    assert_eq!(org["gaps"][0]["article"], "第四条");

    let mut thin = establishment(1);
    thin["fund_fen"] = json!(0);
    approved(&app, s.ent_a, "ent_a", "officer_a", &thin, &[]).await;
    let org = a
        .get(&format!("/api/v1/enterprises/{}/org", s.ent_a))
        .await
        .json();
    let codes: Vec<&str> = org["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["staff_below_minimum", "no_fund", "documents_missing"]
    );
    assert_eq!(org["min_staff"]["value"], 2, "Jining: at least 2");
    assert_eq!(org["min_staff"]["article"], "第五条");

    // A second establishment is refused; a change needs none.
    let id = draft(&mut a, s.ent_a, &establishment(2)).await;
    assert_eq!(act(&mut a, id, "submit").await.status, StatusCode::CONFLICT);
    let staff = json!({"kind": "staff_change", "effective_on": today().to_string(), "staff": [
        {"name": "甲", "role": "客服", "mobile": "13905373331"}, {"name": "乙", "role": "回访", "mobile": "13905373332"}]});
    approved(&app, s.ent_a, "ent_a", "officer_a", &staff, &[]).await;
    let org = a
        .get(&format!("/api/v1/enterprises/{}/org", s.ent_a))
        .await
        .json();
    let codes: Vec<&str> = org["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["no_fund", "documents_missing"]);
    // Changes before an establishment are refused.
    let mut b = app.login("ent_b").await;
    let id = draft(&mut b, s.ent_b, &json!({"kind": "hotline_change", "hotline": "0537-1234567", "effective_on": today().to_string()})).await;
    assert_eq!(act(&mut b, id, "submit").await.status, StatusCode::CONFLICT);
}
both!(org_state_and_gaps);

async fn coverage_boundaries(app: TestApp) {
    let s = app.seed().await;
    let as_of = "2026-06-30";
    let mut admin = app.login("admin").await;
    let mut ids = std::collections::HashMap::new();
    for (name, delivery, open) in [
        ("整五年", Some("2021-06-30"), false),
        ("五年零一天", Some("2021-06-29"), false),
        ("在售", None, true),
        ("售罄老盘", Some("2015-05-01"), false),
        ("未来交付", Some("2026-07-01"), false),
        ("售楼处已关", Some("2024-01-01"), false),
    ] {
        let units = if delivery.is_some() { 100 } else { 0 };
        let r = admin
            .send_json(
                Method::POST,
                "/api/v1/projects",
                &json!({"enterprise_id": s.ent_b, "county_id": s.county_b, "name": name,
                "delivery_date": delivery, "units_delivered": units, "sales_site_open": open}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        ids.insert(name, r.json()["id"].as_i64().unwrap());
    }
    let mut b = app.login("ent_b").await;
    let cov = b
        .get(&format!(
            "/api/v1/enterprises/{}/org?as_of={as_of}",
            s.ent_b
        ))
        .await
        .json()["coverage"]
        .clone();
    let labels: Vec<&str> = cov["places"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["label"].as_str().unwrap())
        .collect();
    // The seed's 丙家园 (delivered 2023, sales site open) counts twice.
    let mut expected = vec![
        "售后服务机构办公场所",
        "丙家园 销售场所",
        "丙家园 小区",
        "在售 销售场所",
        "售楼处已关 小区",
        "整五年 小区",
    ];
    let mut got = labels.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "5-year boundary: exactly 5 years counts, 5 years and a day does not; closed sites and future deliveries do not");
    assert_eq!(cov["required"], 6);
    assert_eq!(cov["covered"], 0);

    approved(&app, s.ent_b, "ent_b", "officer_b", &establishment(2), &[]).await;
    approved(
        &app,
        s.ent_b,
        "ent_b",
        "officer_b",
        &board(json!({"type": "org_office"})),
        &[("photo", png(3))],
    )
    .await;
    approved(
        &app,
        s.ent_b,
        "ent_b",
        "officer_b",
        &board(json!({"type": "community", "project_id": ids["整五年"]})),
        &[("photo", png(4))],
    )
    .await;
    let cov = b
        .get(&format!(
            "/api/v1/enterprises/{}/org?as_of={as_of}",
            s.ent_b
        ))
        .await
        .json()["coverage"]
        .clone();
    assert_eq!(
        (
            cov["required"].as_i64(),
            cov["covered"].as_i64(),
            cov["percent"].as_i64()
        ),
        (Some(6), Some(2), Some(33))
    );
    // A day later, 整五年 has aged out and is no longer required.
    let later = b
        .get(&format!(
            "/api/v1/enterprises/{}/org?as_of=2026-07-01",
            s.ent_b
        ))
        .await
        .json()["coverage"]
        .clone();
    assert!(later["places"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["label"] != "整五年 小区"));
    assert!(
        later["places"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["label"] == "未来交付 小区"),
        "delivered on 2026-07-01"
    );

    // A board must be the regulation size and show all five contents.
    let mut wrong = board(json!({"type": "org_office"}));
    wrong["width_cm"] = json!(100);
    let r = b
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_b),
            &wrong,
        )
        .await;
    assert_eq!(r.json()["error"]["field"], "size");
    let mut missing = board(json!({"type": "org_office"}));
    missing["contents"]["guidance_phone"] = json!(false);
    let r = b
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_b),
            &missing,
        )
        .await;
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("主管部门指导电话"));
    let foreign = board(json!({"type": "community", "project_id": s.proj_a}));
    let r = b
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_b),
            &foreign,
        )
        .await;
    assert_eq!(
        r.json()["error"]["field"],
        "place",
        "a board at another developer's project"
    );

    // The worklist shows the gap to county B's officer and not to county A's.
    let mut ob = app.login("officer_b").await;
    let w = ob.get("/api/v1/worklist").await.json();
    assert!(w["incomplete_coverage"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["enterprise_id"] == s.ent_b));
    let mut oa = app.login("officer_a").await;
    let w = oa.get("/api/v1/worklist").await.json();
    assert!(w["incomplete_coverage"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["enterprise_id"] != s.ent_b));
    assert!(w["without_org"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["enterprise_id"] == s.ent_a));
    assert_eq!(
        app.login("ent_a")
            .await
            .get("/api/v1/worklist")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
both!(coverage_boundaries);

async fn late_changes(app: TestApp) {
    let s = app.seed().await;
    approved(&app, s.ent_a, "ent_a", "officer_a", &establishment(2), &[]).await;
    let change = |days: i64| json!({"kind": "office_change", "office_address": format!("新址{days}"), "effective_on": (today() - Duration::days(days)).to_string()});
    let on_time = approved(&app, s.ent_a, "ent_a", "officer_a", &change(10), &[]).await;
    let late = approved(&app, s.ent_a, "ent_a", "officer_a", &change(11), &[]).await;
    let mut o = app.login("officer_a").await;
    assert_eq!(
        o.get(&format!("/api/v1/filings/{on_time}")).await.json()["late"],
        false,
        "10 days is within the deadline"
    );
    assert_eq!(
        o.get(&format!("/api/v1/filings/{late}")).await.json()["late"],
        true,
        "11 days is late"
    );
    let org = o
        .get(&format!("/api/v1/enterprises/{}/org", s.ent_a))
        .await
        .json();
    assert_eq!(org["state"]["late_changes"], json!([late]));
    // The later effective date wins, whatever the order of approval.
    assert_eq!(org["state"]["office_address"], "新址10");
    // A change dated in the future is refused.
    let mut e = app.login("ent_a").await;
    let r = e
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_a),
            &change(-3),
        )
        .await;
    assert_eq!(r.json()["error"]["field"], "effective_on");
}
both!(late_changes);

async fn art7_handover(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    // ent_a2 becomes ent_a's subsidiary, with an open sales site, and is revoked.
    let p = admin
        .send_json(Method::POST, "/api/v1/projects", &json!({"enterprise_id": s.ent_a2, "county_id": s.county_a, "name": "乙苑", "sales_site_open": true}))
        .await;
    let project = p.json()["id"].as_i64().unwrap();
    let created = admin
        .send_json(Method::POST, "/api/v1/users", &json!({"username": "ent_a2", "display_name": "乙", "password": crate::support::PASSWORD,
            "role": "enterprise", "enterprise_id": s.ent_a2}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let mut sub = app.login("ent_a2").await;
    approved(
        &app,
        s.ent_a2,
        "ent_a2",
        "officer_a",
        &board(json!({"type": "sales_site", "project_id": project})),
        &[("photo", png(9))],
    )
    .await;
    let revoked = json!({"credit_code": code("91370811MA0000002").as_str(), "name": "济宁乙置业有限公司", "grade": "second",
        "county_id": s.county_a, "parent_credit_code": code("91370811MA0000001").as_str(), "status": "revoked", "status_date": "2026-03-01"});
    assert_eq!(
        admin
            .send_json(
                Method::PUT,
                &format!("/api/v1/enterprises/{}", s.ent_a2),
                &revoked
            )
            .await
            .status,
        StatusCode::OK
    );

    let org = sub
        .get(&format!("/api/v1/enterprises/{}/org", s.ent_a2))
        .await
        .json();
    assert_eq!(org["handover"]["parent_id"], s.ent_a);
    assert_eq!(org["handover"]["since"], "2026-03-01");
    let r = sub
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_a2),
            &establishment(2),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "a revoked enterprise files nothing more"
    );

    // From the revocation date the parent answers for the subsidiary's places; its evidence counts.
    let mut a = app.login("ent_a").await;
    let before = a
        .get(&format!(
            "/api/v1/enterprises/{}/org?as_of=2026-02-28",
            s.ent_a
        ))
        .await
        .json()["coverage"]
        .clone();
    assert!(before["places"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["label"] != "乙苑 销售场所"));
    let after = a
        .get(&format!(
            "/api/v1/enterprises/{}/org?as_of=2026-03-01",
            s.ent_a
        ))
        .await
        .json()["coverage"]
        .clone();
    let place = after["places"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["label"] == "乙苑 销售场所")
        .expect("handed over")
        .clone();
    assert!(
        place["evidence_filing_id"].is_i64(),
        "the subsidiary's board still counts"
    );
    // The parent may now file boards for the subsidiary's project.
    let id = draft(
        &mut a,
        s.ent_a,
        &board(json!({"type": "sales_site", "project_id": project})),
    )
    .await;
    assert!(id > 0);
    let page = a.get(&format!("/enterprises/{}/org", s.ent_a2)).await;
    assert_eq!(
        page.status,
        StatusCode::NOT_FOUND,
        "the parent's user still sees only its own enterprise"
    );
    let page = sub
        .get(&format!("/enterprises/{}/org", s.ent_a2))
        .await
        .text();
    assert!(page.contains("由母公司") && page.contains("济宁甲置业有限公司"));
}
both!(art7_handover);

async fn denials_and_files(app: TestApp) {
    let s = app.seed().await;
    let mut a = app.login("ent_a").await;
    let mut b = app.login("ent_b").await;
    let mut oa = app.login("officer_a").await;
    let mut ob = app.login("officer_b").await;
    let payload = board(json!({"type": "org_office"}));

    // Filing for another enterprise, or as an officer.
    let r = b
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_a),
            &payload,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = oa
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_a),
            &payload,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let id = draft(&mut a, s.ent_a, &payload).await;
    let blobs_before = app.count("blobs").await;
    let files_on_disk = || walk(app.dir.path().join("blobs"));
    // Not images: text named .jpg, a truncated JPEG, an oversized file, a PDF as a photo.
    let j = jpeg();
    for (what, bytes, status) in [
        (
            "text renamed .jpg",
            b"this is just text, honestly".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "truncated JPEG",
            j[..j.len() / 2].to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "oversized",
            {
                let mut v = png(5);
                v.resize(11 * 1024 * 1024, 0);
                v
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "over the request limit",
            vec![0xFF; 21 * 1024 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "a PDF as a photo",
            PDF.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = a
            .post_bytes(
                &format!("/api/v1/filings/{id}/files?slot=photo&file_name=board.jpg"),
                bytes,
            )
            .await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
    }
    assert_eq!(app.count("blobs").await, blobs_before, "nothing stored");
    assert_eq!(app.count("filing_files").await, 0);
    assert_eq!(files_on_disk(), 0, "no file written");
    let r = a
        .post_bytes(
            &format!("/api/v1/filings/{id}/files?slot=functions"),
            png(6),
        )
        .await;
    assert_eq!(
        r.json()["error"]["field"],
        "slot",
        "documents slot on a board filing"
    );
    let r = act(&mut a, id, "submit").await;
    assert_eq!(r.json()["error"]["field"], "photo", "a board needs a photo");

    // The same photo twice is stored once.
    let f1 = upload(&mut a, id, "photo", png(7)).await.json();
    let f2 = upload(&mut a, id, "photo", png(7)).await.json();
    assert_eq!(f1["sha256"], f2["sha256"]);
    assert_eq!(files_on_disk(), 1);
    assert_eq!(
        b.post_bytes(&format!("/api/v1/filings/{id}/files?slot=photo"), png(8))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Files: the owner and the county's officers see them, nobody else.
    let url = format!("/api/v1/filings/{id}/files/{}", f1["id"]);
    let r = oa.get(&url).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "image/png");
    assert_eq!(r.body, png(7));
    assert_eq!(a.get(&url).await.status, StatusCode::OK);
    assert_eq!(b.get(&url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(ob.get(&url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.client().get(&url).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Reviewing: not before submission, not another county's, not one's own, not without reasons.
    assert_eq!(
        act(&mut oa, id, "approve").await.status,
        StatusCode::CONFLICT,
        "a draft is not reviewable"
    );
    assert_eq!(act(&mut a, id, "submit").await.status, StatusCode::OK);
    assert_eq!(
        upload(&mut a, id, "photo", png(10)).await.status,
        StatusCode::CONFLICT,
        "no uploads while under review"
    );
    assert_eq!(
        act(&mut ob, id, "approve").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        act(&mut b, id, "approve").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        act(&mut a, id, "approve").await.status,
        StatusCode::FORBIDDEN
    );
    let r = oa
        .send_json(
            Method::POST,
            &format!("/api/v1/filings/{id}/reject"),
            &json!({"reasons": {}}),
        )
        .await;
    assert_eq!(r.json()["error"]["field"], "reasons");
    let r = oa
        .send_json(
            Method::POST,
            &format!("/api/v1/filings/{id}/reject"),
            &json!({"reasons": {"manager_name": "x"}}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not a field of a board filing"
    );
    let r = ob
        .send_json(
            Method::POST,
            &format!("/api/v1/filings/{id}/reject"),
            &json!({"reasons": {"general": "x"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        act(&mut a, id, "withdraw").await.json()["status"],
        "withdrawn"
    );
    assert_eq!(
        act(&mut oa, id, "approve").await.status,
        StatusCode::CONFLICT
    );

    // Lists are scoped.
    let list = b.get("/api/v1/filings").await.json();
    assert_eq!(list["total"], 0);
    let list = oa.get("/api/v1/filings").await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(ob.get("/api/v1/filings").await.json()["total"], 0);
    // Every step was audited.
    let actions: Vec<String> = app
        .audit("filing")
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        ["create", "attach_file", "attach_file", "submit", "withdraw"]
    );
}
both!(denials_and_files);

fn walk(dir: std::path::PathBuf) -> usize {
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| if e.path().is_dir() { walk(e.path()) } else { 1 })
        .sum()
}

async fn html_forms_and_uploads(app: TestApp) {
    let s = app.seed().await;
    let mut a = app.login("ent_a").await;
    let csrf = a.csrf.clone().unwrap();
    let form = a.get("/filings/new?kind=establishment").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("机构经理"));
    // A bad value comes back with the form, naming the field and keeping what was typed.
    let fields = [
        ("_csrf", csrf.as_str()),
        ("manager_name", "王经理"),
        ("manager_mobile", "123"),
        ("office_address", "共青团路1号"),
        ("hotline", "0537-2345678"),
        ("staff", "张三 客服 13905371234\n李四 回访 13905375678"),
        ("fund_yuan", "5万"),
        ("established_on", "2024年3月1日"),
        ("independent_department", "on"),
    ];
    let r = a
        .post_form("/filings/new?kind=establishment", &fields)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("手机号“123”") && r.text().contains("共青团路1号"));
    let mut good = fields.to_vec();
    good[2] = ("manager_mobile", "13905371111");
    let r = a.post_form("/filings/new?kind=establishment", &good).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let location = r.headers["location"].to_str().unwrap().to_string();
    let id: i64 = location.trim_start_matches("/filings/").parse().unwrap();
    let f = a.get(&format!("/api/v1/filings/{id}")).await.json();
    assert_eq!(f["payload"]["fund_fen"], 5_000_000);
    assert_eq!(f["payload"]["staff"].as_array().unwrap().len(), 2);
    assert_eq!(f["payload"]["established_on"], "2024-03-01");
    // Without its CSRF token the form is refused.
    let r = a
        .post_form("/filings/new?kind=establishment", &good[1..])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Multipart upload from the page, with and without the token.
    let board_id = draft(&mut a, s.ent_a, &board(json!({"type": "org_office"}))).await;
    let multipart = |token: Option<&str>| {
        let mut body = Vec::new();
        if let Some(t) = token {
            body.extend(
                format!("--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{t}\r\n")
                    .as_bytes(),
            );
        }
        body.extend(b"--XyZ\r\nContent-Disposition: form-data; name=\"slot\"\r\n\r\nphoto\r\n");
        body.extend(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"board.png\"\r\nContent-Type: image/png\r\n\r\n");
        body.extend(png(11));
        body.extend(b"\r\n--XyZ--\r\n");
        body
    };
    let r = a
        .request(
            Method::POST,
            &format!("/filings/{board_id}/upload"),
            Some("multipart/form-data; boundary=XyZ"),
            multipart(None),
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = a
        .request(
            Method::POST,
            &format!("/filings/{board_id}/upload"),
            Some("multipart/form-data; boundary=XyZ"),
            multipart(Some(&csrf)),
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(app.count("filing_files").await, 1);
    let r = a
        .post_form(&format!("/filings/{board_id}/submit"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // The officer's review page shows the photo inline and the reason fields; rejecting by form.
    let mut o = app.login("officer_a").await;
    let page = o.get(&format!("/filings/{board_id}")).await.text();
    assert!(page.contains("<img src=\"/api/v1/filings/") && page.contains("reason_contents"));
    let ocsrf = o.csrf.clone().unwrap();
    let r = o
        .post_form(
            &format!("/filings/{board_id}/reject"),
            &[
                ("_csrf", &ocsrf),
                ("reason_photo", "照片模糊"),
                ("reason_size", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = a.get(&format!("/filings/{board_id}")).await.text();
    assert!(page.contains("照片模糊"), "the enterprise sees the reason");
    assert_eq!(o.get("/worklist").await.status, StatusCode::OK);
    assert_eq!(a.get("/worklist").await.status, StatusCode::FORBIDDEN);
}
both!(html_forms_and_uploads);

async fn demo_pages_render(app: TestApp) {
    let blobs = aftercare::blobs::LocalDir::new(app.dir.path().join("blobs"));
    aftercare::demo::build(app.db(), &blobs)
        .await
        .expect("demo builds");
    let mut c = app.client();
    assert_eq!(
        c.login("rencheng", aftercare::demo::PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let w = c.get("/worklist").await;
    assert_eq!(w.status, StatusCode::OK);
    let w = c.get("/api/v1/worklist").await.json();
    assert!(
        !w["pending"]["items"].as_array().unwrap().is_empty(),
        "pending reviews in the demo"
    );
    assert!(
        !w["without_org"]["items"].as_array().unwrap().is_empty(),
        "an enterprise with no org"
    );
    assert!(
        !w["incomplete_coverage"]["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "partial coverage"
    );
    // A year and more of hotline tickets, with some for the unmatched queue.
    assert!(
        c.get("/api/v1/hotline/unmatched").await.json()["total"]
            .as_i64()
            .unwrap()
            > 0
    );
    let ranking = c.get("/hotline/rankings?year=2025").await;
    assert_eq!(ranking.status, StatusCode::OK);
    assert!(ranking.text().contains("每百套投诉"));
    let pending = w["pending"]["items"][0]["filing_id"].as_i64().unwrap();
    assert_eq!(
        c.get(&format!("/filings/{pending}")).await.status,
        StatusCode::OK
    );
    let statuses: Vec<String> = c.get("/api/v1/filings?per_page=500").await.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["status"].as_str().unwrap().to_string())
        .collect();
    for status in ["draft", "submitted", "approved", "rejected"] {
        assert!(
            statuses.iter().any(|s| s == status),
            "the demo has {status} filings"
        );
    }
    let mut e = app.client();
    assert_eq!(
        e.login("qiye1", aftercare::demo::PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let org = e.get("/org").await;
    assert_eq!(org.status, StatusCode::SEE_OTHER);
    let page = e.get(org.headers["location"].to_str().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("公示牌覆盖"));
}
both!(demo_pages_render);
