//! The annual credit evaluation end to end through the real router: a small city built
//! through the API (filings, 12345 tickets, an overdue rectification order), each
//! enterprise's items against values worked out by hand, the hashes reproducing, scope on
//! every read and write, publicity and objections with their denials, the what-if diff and
//! the exports.

use axum::http::{Method, StatusCode};
use chrono::{Datelike, Duration};
use serde_json::json;

use crate::both;
use crate::evaluation_city::{build_city, exec, find, outbox, points, post};
use crate::filings::png;
use crate::support::{hidden, TestApp};

async fn evaluation_end_to_end(mut app: TestApp) {
    let s = build_city(&app).await;
    let today = aftercare::time::today();
    let y = today.year();
    let force = y > 2026; // Jining's rules are valid 2021–2026 (Art. 23).
    let mut admin = app.login("admin").await;
    let mut oa = app.login("officer_a").await;

    // Only city staff run an evaluation.
    let body = json!({"year": y, "force": force});
    assert_eq!(
        post(&mut oa, "/api/v1/evaluations", body.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (st, run) = post(&mut admin, "/api/v1/evaluations", body.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{run}");
    let id = run["id"].as_i64().unwrap();
    assert_eq!(
        (
            run["status"].as_str(),
            run["enterprises"].as_i64(),
            run["forced"].as_bool()
        ),
        (Some("draft"), Some(3), Some(force))
    );
    // Outside the window without force: refused, naming the field.
    let (st, err) = post(&mut admin, "/api/v1/evaluations", json!({"year": 2020})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "year");
    // Forced or not, a year before 2000 or after this one has nothing to evaluate.
    for year in [-493, 1999, y + 1] {
        let (st, err) = post(
            &mut admin,
            "/api/v1/evaluations",
            json!({"year": year, "force": true}),
        )
        .await;
        assert_eq!(
            (st, err["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("year")),
            "{year}"
        );
    }

    // By hand: ent_a +5 (org complete: 3 staff ≥ 2, fund, 4 documents, 3 of 3 boards, 4/4
    // answered ≥ 90 %, 3/4 = 75 % revisited ≥ 70 %) and 0 for the hotline (4 per 300 units is
    // the city's worse half; 75 % satisfied of only 4 rated); ent_b 0 + 5 (no org; 1 per 300
    // units: best quartile); ent_a2 −20 and no 2A (the missed order).
    let rows = admin
        .get(&format!("/api/v1/evaluations/{id}/results"))
        .await
        .json();
    assert_eq!(rows["total"], 3);
    let (a, b, a2) = (
        find(&rows, s.ent_a),
        find(&rows, s.ent_b),
        find(&rows, s.ent_a2),
    );
    assert_eq!(
        (
            a["final_total"].as_i64(),
            b["final_total"].as_i64(),
            a2["final_total"].as_i64()
        ),
        (Some(5), Some(5), Some(-20))
    );
    assert_eq!(
        (a["final_no_2a"].as_bool(), a2["final_no_2a"].as_bool()),
        (Some(false), Some(true))
    );
    let d = admin
        .get(&format!("/api/v1/evaluations/{id}/results/{}", s.ent_a))
        .await
        .json();
    assert_eq!(
        (
            points(&d, "org_complete"),
            points(&d, "hotline"),
            points(&d, "overdue")
        ),
        (5, 0, 0)
    );
    assert_eq!(d["inputs"]["revisited_7d_pct"], 75.0);
    assert_eq!(d["inputs"]["board_coverage_pct"], 100.0);
    assert_eq!(d["inputs"]["complaint_rate_quartile"], 3.0);
    let trace = d["items"].to_string();
    assert!(
        trace.contains("满意率（满意+基本满意） 75.0%，低于 90.0%"),
        "{trace}"
    );
    assert!(trace.contains("第十七条"), "parameters carry their article");
    let d2 = admin
        .get(&format!("/api/v1/evaluations/{id}/results/{}", s.ent_a2))
        .await
        .json();
    assert_eq!(d2["flags"], json!(["no_2a"]));
    assert!(
        d2["inputs"]["satisfaction_pct"]["unknown"].is_string(),
        "no tickets: unknown, not 0"
    );

    // The hashes reproduce on the same inputs.
    let (_, again) = post(&mut admin, "/api/v1/evaluations", body).await;
    for h in [
        "rules_hash",
        "inputs_hash",
        "results_hash",
        "engine_version",
    ] {
        assert_eq!(run[h], again[h], "{h}");
    }
    let second = again["id"].as_i64().unwrap();

    // Scope: a county sees its own; another enterprise's result and a draft do not exist.
    let mut ob = app.login("officer_b").await;
    let mut ea = app.login("ent_a").await;
    let mut eb = app.login("ent_b").await;
    assert_eq!(
        ob.get(&format!("/api/v1/evaluations/{id}/results"))
            .await
            .json()["total"],
        1
    );
    assert_eq!(
        ob.get(&format!("/api/v1/evaluations/{id}/results/{}", s.ent_a))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ea.get(&format!("/api/v1/evaluations/{id}")).await.status,
        StatusCode::NOT_FOUND,
        "a draft"
    );

    // Publicity: city staff only; one published run a year; every enterprise is mailed.
    assert_eq!(
        post(
            &mut oa,
            &format!("/api/v1/evaluations/{id}/publicize"),
            json!({})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (st, published) = post(
        &mut admin,
        &format!("/api/v1/evaluations/{id}/publicize"),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{published}");
    assert_eq!(published["status"], "publicized");
    assert_eq!(
        post(
            &mut admin,
            &format!("/api/v1/evaluations/{second}/publicize"),
            json!({})
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    assert_eq!(outbox(&app, "evaluation_publicized").await, 3);
    assert_eq!(
        ea.get(&format!("/api/v1/evaluations/{id}/results"))
            .await
            .json()["total"],
        1
    );

    // Objections: only the enterprise, only on its own items, one per item.
    let objections = format!("/api/v1/evaluations/{id}/results/{}/objections", s.ent_a);
    let text = json!({"rule": "hotline", "text": "本企业已建立回访台账，满意率应按全部回访计算"});
    assert_eq!(
        post(&mut eb, &objections, text.clone()).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(&mut oa, &objections, text.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(
            &mut ea,
            &objections,
            json!({"rule": "nothing", "text": "x"})
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (st, o) = post(&mut ea, &objections, text.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{o}");
    assert_eq!(
        post(&mut ea, &objections, text).await.0,
        StatusCode::CONFLICT
    );
    let objection = o["id"].as_i64().unwrap();
    // Evidence: the enterprise's own open objection only; seen by whoever sees the result.
    let files = format!("/api/v1/objections/{objection}/files?file_name=台账.png");
    assert_eq!(
        eb.post_bytes(&files, png(3)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        oa.post_bytes(&files, png(3)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ea.post_bytes(&files, b"not an image".to_vec()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let up = ea.post_bytes(&files, png(3)).await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.text());
    let file = format!("/api/v1/objections/{objection}/files/{}", up.json()["id"]);
    assert_eq!(oa.get(&file).await.status, StatusCode::OK);
    assert_eq!(eb.get(&file).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        post(
            &mut admin,
            &format!("/api/v1/evaluations/{id}/finalize"),
            json!({})
        )
        .await
        .0,
        StatusCode::CONFLICT,
        "window open"
    );

    // Decisions: the county's officers, never the enterprise itself.
    let decide = format!("/api/v1/objections/{objection}/decision");
    let upheld = json!({"uphold": true, "reason": "经核实，回访台账齐全，予以更正"});
    assert_eq!(
        post(&mut ea, &decide, upheld.clone()).await.0,
        StatusCode::FORBIDDEN,
        "an enterprise never decides its own objection"
    );
    assert_eq!(
        post(&mut ob, &decide, upheld.clone()).await.0,
        StatusCode::NOT_FOUND
    );
    let (st, o) = post(&mut oa, &decide, upheld.clone()).await;
    assert_eq!(
        (st, o["status"].as_str()),
        (StatusCode::OK, Some("upheld")),
        "{o}"
    );
    assert_eq!(
        post(&mut oa, &decide, upheld).await.0,
        StatusCode::CONFLICT,
        "decided once"
    );
    let d = ea
        .get(&format!("/api/v1/evaluations/{id}/results/{}", s.ent_a))
        .await
        .json();
    assert_eq!(
        (d["row"]["total"].as_i64(), d["row"]["final_total"].as_i64()),
        (Some(5), Some(10))
    );
    let hotline = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["rule"] == "hotline")
        .unwrap()
        .clone();
    assert_eq!(
        (
            hotline["points"].as_i64(),
            hotline["overridden"]["points_before"].as_i64()
        ),
        (Some(5), Some(0))
    );
    // ent_b objects; the window then closes with that objection still open.
    let (st, ob_obj) = post(
        &mut eb,
        &format!("/api/v1/evaluations/{id}/results/{}/objections", s.ent_b),
        json!({"rule": "org_complete", "text": "机构已于年初设立"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{ob_obj}");
    // The pages: ent_a2 objects through the multipart form with a photo; its officer rejects
    // it through the decision form.
    {
        let mut conn = app.db().acquire().await.unwrap();
        aftercare::auth::user::create(
            &mut conn.conn(),
            &aftercare::audit::Actor::system("test"),
            aftercare::auth::user::NewUser {
                username: "ent_a2".into(),
                display_name: "ent_a2".into(),
                password: crate::support::PASSWORD.into(),
                role: aftercare::auth::Role::Enterprise {
                    enterprise_id: s.ent_a2,
                },
                email: String::new(),
            },
        )
        .await
        .unwrap();
        drop(conn);
        let mut e2 = app.login("ent_a2").await;
        let page = e2
            .get(&format!("/evaluations/{id}/enterprises/{}", s.ent_a2))
            .await
            .text();
        assert!(page.contains("对此项提出异议"), "{page}");
        let csrf = hidden(&page, "_csrf");
        let mut body = Vec::new();
        for (k, v) in [
            ("_csrf", csrf.as_str()),
            ("rule", "overdue"),
            ("text", "整改材料已于期限前报送"),
        ] {
            body.extend(
                format!("--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                    .as_bytes(),
            );
        }
        body.extend(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"receipt.png\"\r\nContent-Type: image/png\r\n\r\n");
        body.extend(png(9));
        body.extend(b"\r\n--XyZ--\r\n");
        let r = e2
            .request(
                Method::POST,
                &format!("/evaluations/{id}/enterprises/{}/objections", s.ent_a2),
                Some("multipart/form-data; boundary=XyZ"),
                body,
                false,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let d = e2
            .get(&format!("/api/v1/evaluations/{id}/results/{}", s.ent_a2))
            .await
            .json();
        assert_eq!(
            (
                d["objections"].as_array().unwrap().len(),
                d["files"].as_array().unwrap().len()
            ),
            (1, 1)
        );
        let page = oa
            .get(&format!("/evaluations/{id}/enterprises/{}", s.ent_a2))
            .await
            .text();
        assert!(
            page.contains("receipt.png") && page.contains("不予采纳"),
            "{page}"
        );
        let csrf = hidden(&page, "_csrf");
        let r = oa
            .post_form(
                &format!("/objections/{}/decision", d["objections"][0]["id"]),
                &[
                    ("_csrf", &csrf),
                    ("uphold", "0"),
                    ("reason", "核查时仍未设立机构"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    }
    exec(
        &app,
        &format!(
            "UPDATE evaluation_runs SET publicity_ends = '{}' WHERE id = {id}",
            today - Duration::days(1)
        ),
    )
    .await;
    assert_eq!(
        post(
            &mut ea,
            &objections,
            json!({"rule": "org_complete", "text": "晚了"})
        )
        .await
        .0,
        StatusCode::CONFLICT,
        "outside the window"
    );
    let (st, err) = post(
        &mut admin,
        &format!("/api/v1/evaluations/{id}/finalize"),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "open objection");
    assert!(err.to_string().contains("1件异议未审核"), "{err}");
    let (st, _) = post(
        &mut ob,
        &format!("/api/v1/objections/{}/decision", ob_obj["id"]),
        json!({"uphold": false, "reason": "年内未提交设立备案"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, fin) = post(
        &mut admin,
        &format!("/api/v1/evaluations/{id}/finalize"),
        json!({}),
    )
    .await;
    assert_eq!(
        (st, fin["status"].as_str()),
        (StatusCode::OK, Some("final"))
    );
    assert_eq!(outbox(&app, "objection_decided").await, 3);

    // The public page: off by default; on, it shows the final run only, and nothing personal.
    let mut anon = app.client();
    assert_eq!(anon.get("/public").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        anon.get("/api/v1/public/evaluation").await.status,
        StatusCode::NOT_FOUND
    );
    app.configure(|c| c.public_page = true);
    let mut anon = app.client();
    let pubjson = anon.get("/api/v1/public/evaluation").await;
    assert_eq!(pubjson.status, StatusCode::OK, "{}", pubjson.text());
    let pj = pubjson.json();
    assert_eq!(pj["enterprises"]["total"], 3);
    let a_pub = pj["enterprises"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "济宁甲置业有限公司")
        .unwrap()
        .clone();
    assert_eq!(a_pub["total"], 10, "with the upheld objection");
    assert!((a_pub["complaints_per_100_units"].as_f64().unwrap() - 4.0 / 3.0).abs() < 1e-6);
    let page = anon.get("/public").await;
    assert_eq!(page.status, StatusCode::OK);
    let (html, all) = (page.text(), pubjson.text());
    assert!(html.contains("济宁甲置业有限公司") && html.contains("每百套投诉"));
    for personal in [
        "13800000000",
        "kefu@example.cn",
        "张三",
        "王经理",
        "13905371111",
        "墙面开裂",
        "T001",
    ] {
        assert!(
            !html.contains(personal) && !all.contains(personal),
            "{personal} is personal"
        );
    }
    let mut ea = app.login("ent_a").await;
    let mut eb = app.login("ent_b").await;
    let mut oa = app.login("officer_a").await;
    let mut admin = app.login("admin").await;

    // What-if: with 4 rated tickets enough and 75 % satisfied enough, ent_a's hotline item
    // would hold; only ent_a changes. City staff only.
    let whatif = json!({"parameters": {"satisfaction_min_rated": 4, "satisfaction_min_pct": 75}});
    assert_eq!(
        post(
            &mut oa,
            &format!("/api/v1/evaluations/{id}/what-if"),
            whatif.clone()
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (st, w) = post(
        &mut admin,
        &format!("/api/v1/evaluations/{id}/what-if"),
        whatif,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{w}");
    assert_eq!(w["changed"].as_array().unwrap().len(), 1, "{w}");
    assert_eq!(w["changed"][0]["enterprise_id"], s.ent_a);
    assert_eq!(
        (
            w["changed"][0]["before"].as_i64(),
            w["changed"][0]["after"].as_i64()
        ),
        (Some(5), Some(10))
    );
    assert_eq!(w["changed"][0]["items"][0]["rule"], "hotline");
    // A parameter the rules do not compare with would change the inputs, which are frozen.
    let (st, err) = post(
        &mut admin,
        &format!("/api/v1/evaluations/{id}/what-if"),
        json!({"parameters": {"board_lookback_years": 3}}),
    )
    .await;
    assert_eq!(
        (st, err["error"]["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("board_lookback_years")
        )
    );
    // The CLI's `--what-if` prints the same comparison, from a draft file.
    let draft = aftercare::rules::RuleSet::shipped_text("jining-2021")
        .unwrap()
        .replace("时计\"\nvalues = [{ from = \"2021-03-01\", value = 10 }]", "时计\"\nvalues = [{ from = \"2021-03-01\", value = 4 }]")
        .replace("满意率较高：满意+基本满意占已评价工单的比例不低于该百分比\"\nvalues = [{ from = \"2021-03-01\", value = 90 }]", "满意率较高\"\nvalues = [{ from = \"2021-03-01\", value = 75 }]");
    let mut c = app.db().acquire().await.unwrap();
    let mut conn = c.conn();
    let run = aftercare::scoring::run::get(&mut conn, id).await.unwrap();
    let prepared = aftercare::scoring::run::prepare(&draft, y, run.as_of, true).unwrap();
    let diff = aftercare::scoring::whatif::compare(&mut conn, &run, &prepared.loaded)
        .await
        .unwrap();
    let text = aftercare::scoring::whatif::render(&diff);
    assert!(
        text.contains("3家企业中1家结果变化，1家升、0家降"),
        "{text}"
    );
    assert!(
        text.contains("济宁甲置业有限公司（任城区）：5 → 10分"),
        "{text}"
    );
    drop(c);

    // Exports: officers, their scope; CSV with a BOM, XLSX a zip.
    let csv = oa
        .get(&format!("/api/v1/evaluations/{id}/export?format=csv"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = String::from_utf8(csv.body.clone()).unwrap();
    assert!(text.starts_with('\u{feff}'));
    assert_eq!(
        text.lines().count(),
        3,
        "header and county A's two enterprises: {text}"
    );
    assert!(text.contains("济宁甲置业有限公司") && !text.contains("兖州丙"));
    let x = admin
        .get(&format!("/api/v1/evaluations/{id}/export?format=xlsx"))
        .await;
    assert!(x.body.starts_with(b"PK"));
    assert_eq!(
        ea.get(&format!("/api/v1/evaluations/{id}/export"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Pages: the officer's table, the enterprise's own result with its trace.
    let page = admin.get(&format!("/evaluations/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("济宁乙置业有限公司"));
    let page = ea
        .get(&format!("/evaluations/{id}/enterprises/{}", s.ent_a))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("经异议更正"), "{}", page.text());
    assert_eq!(
        eb.get(&format!("/evaluations/{id}/enterprises/{}", s.ent_a))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
both!(evaluation_end_to_end);

/// The same city on SQLite and PostgreSQL gives the same three hashes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashes_match_across_databases() {
    let Some(pg) = TestApp::postgres().await else {
        return;
    };
    let lite = TestApp::sqlite().await;
    let body = json!({"year": aftercare::time::today().year(), "force": aftercare::time::today().year() > 2026});
    let mut runs = Vec::new();
    for app in [&lite, &pg] {
        build_city(app).await;
        let mut admin = app.login("admin").await;
        let (st, run) = post(&mut admin, "/api/v1/evaluations", body.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{run}");
        runs.push(run);
    }
    for h in ["rules_hash", "inputs_hash", "results_hash"] {
        assert_eq!(
            runs[0][h], runs[1][h],
            "{h} differs between SQLite and PostgreSQL"
        );
    }
}

/// `aftercare rules check` names the file and the line; `rules test` runs a bureau's own
/// golden file; both answer with their exit status.
#[test]
fn rules_cli_checks_files_and_runs_golden_cases() {
    let dir = tempfile::tempdir().unwrap();
    let jining = aftercare::rules::RuleSet::shipped_text("jining-2021").unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        jining.replace("metric = \"manager_named\"", "metric = \"manager_nmed\""),
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_aftercare"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = run(&[
        "rules",
        "check",
        bad.to_str().unwrap(),
        "--date",
        "2025-12-31",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bad.toml") && err.contains("行") && err.contains("未知指标“manager_nmed”"),
        "{err}"
    );
    let good = run(&["rules", "check", "--date", "2025-12-31"]);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );

    let golden = dir.path().join("ours.toml");
    std::fs::write(
        &golden,
        "rule_set = \"jining-2021\"\ndate = \"2025-12-31\"\n[[cases]]\nname = \"逾期未改正\"\nmetrics = { overdue_orders = 1 }\nexpect = { total = -20, flags = [\"no_2a\"], items = { overdue = -20 } }\n",
    )
    .unwrap();
    let out = run(&["rules", "test", golden.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::write(
        &golden,
        std::fs::read_to_string(&golden)
            .unwrap()
            .replace("total = -20", "total = 0"),
    )
    .unwrap();
    let out = run(&["rules", "test", golden.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL  逾期未改正"));
}
