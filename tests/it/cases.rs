//! Enforcement cases (Art. 22) through the real router: the whole flow, out-of-order events,
//! denials, the overdue switch at the Asia/Shanghai midnight, a failed verification with a new
//! deadline and one after the deadline, working-day deadlines across a holiday and an adjusted
//! Saturday, the suggested cases, and group-petition follow-ups (Art. 16).

use aftercare::auth::{Principal, Role};
use aftercare::calendar::Calendar;
use aftercare::enforcement::deadline::DeadlineInput;
use aftercare::enforcement::{self, tick, EventInput, State};
use axum::http::{Method, StatusCode};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};

use crate::both;
use crate::support::{Client, TestApp};

fn today() -> NaiveDate {
    aftercare::time::today()
}

async fn open(c: &mut Client<'_>, enterprise: i64, ground: &str) -> i64 {
    let r = c
        .send_json(
            Method::POST,
            "/api/v1/cases",
            &json!({"enterprise_id": enterprise, "ground": ground}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

async fn event(c: &mut Client<'_>, case: i64, body: Value) -> (StatusCode, Value) {
    let r = c
        .send_json(Method::POST, &format!("/api/v1/cases/{case}/events"), &body)
        .await;
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

fn order(deadline: NaiveDate) -> Value {
    json!({"kind": "order", "document_no": "任房整改〔2025〕1号",
           "requirements": "30日内设立售后服务机构并报备", "deadline": {"on": deadline}})
}

async fn outbox_kinds(app: &TestApp) -> Vec<String> {
    let mut p = app.db().acquire().await.unwrap();
    match &mut p.conn() {
        aftercare::db::Conn::Sqlite(c) => {
            sqlx::query_scalar("SELECT kind FROM outbox ORDER BY id")
                .fetch_all(&mut **c)
                .await
        }
        aftercare::db::Conn::Postgres(c) => {
            sqlx::query_scalar("SELECT kind FROM outbox ORDER BY id")
                .fetch_all(&mut **c)
                .await
        }
    }
    .unwrap()
}

async fn case_flow(app: TestApp) {
    let s = app.seed().await;
    let mut oa = app.login("officer_a").await;
    let mut ob = app.login("officer_b").await;
    let mut ea = app.login("ent_a").await;
    let mut eb = app.login("ent_b").await;

    // Only officers open cases, and only in their county.
    let r = ea
        .send_json(
            Method::POST,
            "/api/v1/cases",
            &json!({"enterprise_id": s.ent_a, "ground": "no_org"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = ob
        .send_json(
            Method::POST,
            "/api/v1/cases",
            &json!({"enterprise_id": s.ent_a, "ground": "no_org"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = oa
        .send_json(
            Method::POST,
            "/api/v1/cases",
            &json!({"enterprise_id": s.ent_a, "ground": "other"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["field"], "ground_text");
    let id = open(&mut oa, s.ent_a, "no_org").await;
    let r = oa
        .send_json(
            Method::POST,
            "/api/v1/cases",
            &json!({"enterprise_id": s.ent_a, "ground": "no_org"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "one active case per ground");

    // Outside scope the case does not exist, for reads and writes.
    for c in [&mut ob, &mut eb] {
        assert_eq!(
            c.get(&format!("/api/v1/cases/{id}")).await.status,
            StatusCode::NOT_FOUND
        );
        let (st, _) = event(c, id, json!({"kind": "close"})).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert_eq!(c.get("/api/v1/cases").await.json()["total"], 0);
    }
    assert_eq!(
        ea.get(&format!("/api/v1/cases/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(ea.get("/api/v1/cases").await.json()["total"], 1);

    // Out of order: refused with what is expected next.
    let (st, body) = event(&mut oa, id, json!({"kind": "verification", "passed": true})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("下一步应为"),
        "{body}"
    );
    let (st, _) = event(&mut oa, id, json!({"kind": "submission", "text": "x"})).await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "officers do not submit for the enterprise"
    );

    // Interview, with the minutes as a file by the officer who recorded it.
    let (st, body) = event(
        &mut oa,
        id,
        json!({"kind": "interview", "held_on": today(), "place": "任城区住建局302会议室",
               "attendees": "王科长、企业法人张三", "minutes": "企业承认未设立售后服务机构"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(body["case"]["state"], "interviewed");
    let ev = body["event_id"].as_i64().unwrap();
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n".to_vec();
    let r = ea
        .post_bytes(
            &format!("/api/v1/cases/{id}/events/{ev}/files?file_name=m.pdf"),
            pdf.clone(),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only the recorder attaches"
    );
    let r = oa
        .post_bytes(
            &format!("/api/v1/cases/{id}/events/{ev}/files?file_name=minutes.pdf"),
            pdf.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let file = r.json()["id"].as_i64().unwrap();
    assert_eq!(
        ea.get(&format!("/api/v1/cases/{id}/files/{file}"))
            .await
            .body,
        pdf
    );
    assert_eq!(
        eb.get(&format!("/api/v1/cases/{id}/files/{file}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The order: a deadline in the past or given twice is refused, naming the field.
    let (st, body) = event(&mut oa, id, order(today() - Duration::days(1))).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "deadline");
    let mut both_ways = order(today() + Duration::days(20));
    both_ways["deadline"]["span"] = json!("10个工作日");
    assert_eq!(
        event(&mut oa, id, both_ways).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let deadline = today() + Duration::days(20);
    let (st, body) = event(&mut oa, id, order(deadline)).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(body["case"]["state"], "ordered");
    assert_eq!(body["case"]["deadline"], deadline.to_string());
    // A late attach to an earlier event is refused: the timeline is not edited afterwards.
    let r = oa
        .post_bytes(
            &format!("/api/v1/cases/{id}/events/{ev}/files?file_name=late.pdf"),
            pdf.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // The enterprise submits; it cannot verify its own rectification.
    let (st, body) = event(
        &mut ea,
        id,
        json!({"kind": "submission", "text": "已设立售后服务部，专职3人"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(body["case"]["state"], "submitted");
    let (st, _) = event(&mut ea, id, json!({"kind": "verification", "passed": true})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Failed, with a new deadline: back to ordered, on the new deadline.
    let (st, body) = event(
        &mut oa,
        id,
        json!({"kind": "verification", "passed": false}),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a failure gives reasons"
    );
    assert_eq!(body["error"]["field"], "reasons");
    let (st, body) = event(
        &mut oa,
        id,
        json!({"kind": "verification", "passed": false, "reasons": "人员未到岗",
               "new_deadline": {"span": "15日"}}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(body["case"]["state"], "ordered");
    assert_eq!(
        body["case"]["deadline"],
        (today() + Duration::days(15)).to_string()
    );
    assert_eq!(body["case"]["deadline_rule"], "15日");

    // Resubmitted, passed, closed; then nothing more.
    assert_eq!(
        event(
            &mut ea,
            id,
            json!({"kind": "submission", "text": "人员已到岗"})
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let (st, body) = event(&mut oa, id, json!({"kind": "verification", "passed": true})).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(body["case"]["state"], "rectified");
    assert_eq!(body["case"]["rectified_on"], today().to_string());
    assert_eq!(
        event(&mut oa, id, json!({"kind": "close", "note": "整改到位"}))
            .await
            .0,
        StatusCode::CREATED
    );
    let (st, body) = event(
        &mut oa,
        id,
        json!({"kind": "interview", "held_on": today(), "place": "x", "attendees": "y"}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("已结案"));

    let d = ea.get(&format!("/api/v1/cases/{id}")).await.json();
    let kinds: Vec<&str> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["event"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "interview",
            "order",
            "submission",
            "verification",
            "submission",
            "verification",
            "closed"
        ]
    );
    assert_eq!(d["timeline"][1]["files"][0]["original_name"], "minutes.pdf");
    assert!(d["overdue_years"].as_array().unwrap().is_empty());
    // Every event is audited, with the case before and after.
    let audit = app.audit("case").await;
    assert_eq!(audit.len(), 8, "{audit:?}");
    assert!(audit.iter().all(|e| e.after_json.is_some()));
    let mail = outbox_kinds(&app).await;
    assert_eq!(
        mail,
        [
            "rectification_order",
            "verification_result",
            "verification_result"
        ],
        "order issued and each verification result"
    );
}
both!(case_flow);

async fn overdue_at_beijing_midnight(app: TestApp) {
    let s = app.seed().await;
    let mut oa = app.login("officer_a").await;
    let mut ea = app.login("ent_a").await;
    let id = open(&mut oa, s.ent_a, "not_functioning").await;
    let deadline = today() + Duration::days(3);
    assert_eq!(
        event(&mut oa, id, order(deadline)).await.0,
        StatusCode::CREATED
    );
    let china = aftercare::time::china();
    let at = |d: NaiveDate, h: u32, m: u32, sec: u32| {
        china
            .from_local_datetime(&d.and_hms_opt(h, m, sec).unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    // Reminders: 3 days before (from 09:00), then 1 day before; each once.
    let r = tick::run(app.db(), at(today(), 8, 59, 0)).await.unwrap();
    assert_eq!(r.reminders, 0, "not before 09:00");
    let r = tick::run(app.db(), at(today(), 9, 30, 0)).await.unwrap();
    assert_eq!(r.reminders, 1);
    assert_eq!(
        tick::run(app.db(), at(today(), 10, 0, 0))
            .await
            .unwrap()
            .reminders,
        0
    );
    let r = tick::run(app.db(), at(deadline - Duration::days(1), 9, 30, 0))
        .await
        .unwrap();
    assert_eq!(r.reminders, 1);
    // The deadline day is still in time, to its last second.
    let r = tick::run(app.db(), at(deadline, 23, 59, 59)).await.unwrap();
    assert_eq!(r.overdue, 0);
    let c = oa.get(&format!("/api/v1/cases/{id}")).await.json();
    assert_eq!(c["case"]["state"], "ordered");
    // 00:00:00 Beijing the next day it is overdue — 16:00 UTC the day before.
    let midnight = at(deadline + Duration::days(1), 0, 0, 0);
    assert_eq!(midnight.format("%H:%M").to_string(), "16:00");
    let r = tick::run(app.db(), midnight).await.unwrap();
    assert_eq!(r.overdue, 1);
    assert_eq!(
        tick::run(app.db(), midnight).await.unwrap().overdue,
        0,
        "once"
    );
    let c = ea.get(&format!("/api/v1/cases/{id}")).await.json();
    assert_eq!(c["case"]["state"], "overdue");
    let year = chrono::Datelike::year(&deadline);
    assert_eq!(c["case"]["overdue_year"], year);
    assert_eq!(
        c["case"]["overdue_at"].as_str().unwrap()[..19],
        midnight.to_rfc3339()[..19]
    );
    {
        let mut p = app.db().acquire().await.unwrap();
        let rows = enforcement::overdue_for_year(&mut p.conn(), year)
            .await
            .unwrap();
        assert_eq!(rows, vec![(s.ent_a, id)]);
        assert!(enforcement::overdue_for_year(&mut p.conn(), year + 1)
            .await
            .unwrap()
            .is_empty());
    }
    // The 09:30 digest lists the overdue order for the enterprise and the officers.
    {
        use aftercare::notify::digest::{gather, Recipient};
        let mut p = app.db().acquire().await.unwrap();
        for (county, enterprise) in [(None, Some(s.ent_a)), (Some(s.county_a), None)] {
            let r = Recipient {
                user_id: 1,
                display_name: "x".into(),
                email: "x@example.cn".into(),
                county_id: county,
                enterprise_id: enterprise,
            };
            let sections = gather(&mut p.conn(), &r, midnight + Duration::hours(10))
                .await
                .unwrap();
            let case = sections
                .iter()
                .flat_map(|s| &s.items)
                .find(|i| i.link == format!("/cases/{id}"))
                .expect("the case in the digest");
            assert!(
                case.overdue && case.title.contains("逾期未改正"),
                "{}",
                case.title
            );
        }
    }
    // The officer's list puts overdue cases first.
    let other = open(&mut oa, s.ent_a2, "no_org").await;
    let list = oa.get("/api/v1/cases?state=active").await.json();
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["id"], id);
    assert_eq!(list["items"][1]["id"], other);
    // A late rectification still closes the case; the overdue stays on record.
    assert_eq!(
        event(&mut ea, id, json!({"kind": "submission", "text": "已整改"}))
            .await
            .0,
        StatusCode::CREATED
    );
    let (_, body) = event(&mut oa, id, json!({"kind": "verification", "passed": true})).await;
    assert_eq!(body["case"]["state"], "rectified");
    assert_eq!(body["case"]["overdue_year"], year);
    let d = oa.get(&format!("/api/v1/cases/{id}")).await.json();
    assert_eq!(d["overdue_years"], json!([year]));
    let mail = outbox_kinds(&app).await;
    assert_eq!(
        mail,
        [
            "rectification_order",
            "deadline_reminder",
            "deadline_reminder",
            "overdue_notice",
            "verification_result"
        ]
    );
    let list = oa.get("/api/v1/cases?state=active").await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], other);
}
both!(overdue_at_beijing_midnight);

fn officer(app_user: i64, county: i64) -> Principal {
    Principal {
        user_id: app_user,
        username: "officer_a".into(),
        display_name: "officer_a".into(),
        role: Role::CountyOfficer { county_id: county },
    }
}

async fn user_id(app: &TestApp, c: &mut Client<'_>) -> i64 {
    let _ = app;
    c.get("/api/v1/me").await.json()["user_id"]
        .as_i64()
        .unwrap()
}

/// Deadlines counted on the calendar, and a verification that fails after the deadline: the
/// domain functions with a chosen "today", as the HTTP routes call them with the real one.
async fn working_days_and_late_failure(app: TestApp) {
    let s = app.seed().await;
    let mut oa = app.login("officer_a").await;
    let me = officer(user_id(&app, &mut oa).await, s.county_a);
    let id = open(&mut oa, s.ent_a, "no_org").await;
    let cal = Calendar::shipped();
    let sep30 = NaiveDate::from_ymd_opt(2025, 9, 30).unwrap();
    let mut tx = app.db().begin().await.unwrap();
    // Tuesday 30 Sep 2025, 10 working days: 1–8 October off, Saturday 11 October worked.
    let (case, _) = enforcement::record(
        &mut tx.conn(),
        &me,
        &cal,
        id,
        &EventInput::Order {
            document_no: "任房整改〔2025〕9号".into(),
            requirements: "设立售后服务机构".into(),
            issued_on: None,
            deadline: DeadlineInput {
                on: None,
                span: Some("10个工作日".into()),
            },
        },
        sep30,
    )
    .await
    .unwrap();
    assert_eq!(case.deadline, NaiveDate::from_ymd_opt(2025, 10, 21));
    assert_eq!(case.deadline_rule.as_deref(), Some("10个工作日"));
    tx.commit().await.unwrap();
    // The enterprise submits in time; the scheduler leaves a submission awaiting verification.
    let mut ea = app.login("ent_a").await;
    assert_eq!(
        event(&mut ea, id, json!({"kind": "submission", "text": "已设立"}))
            .await
            .0,
        StatusCode::CREATED
    );
    let after = Utc.with_ymd_and_hms(2025, 10, 22, 1, 0, 0).unwrap();
    assert_eq!(tick::run(app.db(), after).await.unwrap().overdue, 0);
    // Verified on 24 October and failed with no new deadline: overdue from the deadline.
    let oct24 = NaiveDate::from_ymd_opt(2025, 10, 24).unwrap();
    let mut tx = app.db().begin().await.unwrap();
    let (case, _) = enforcement::record(
        &mut tx.conn(),
        &me,
        &cal,
        id,
        &EventInput::Verification {
            passed: false,
            reasons: "未配备专职人员".into(),
            new_deadline: None,
        },
        oct24,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(case.state, State::Overdue);
    assert_eq!(case.overdue_year, Some(2025));
    assert_eq!(
        case.overdue_at.unwrap().to_rfc3339(),
        "2025-10-21T16:00:00+00:00"
    );
    // A working-day span into a year without a calendar is refused, naming the year.
    assert_eq!(
        event(
            &mut ea,
            id,
            json!({"kind": "submission", "text": "再次整改"})
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let mut tx = app.db().begin().await.unwrap();
    let err = enforcement::record(
        &mut tx.conn(),
        &me,
        &cal,
        id,
        &EventInput::Verification {
            passed: false,
            reasons: "仍未到位".into(),
            new_deadline: Some(DeadlineInput {
                on: None,
                span: Some("10个工作日".into()),
            }),
        },
        NaiveDate::from_ymd_opt(2026, 12, 28).unwrap(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("2027年"), "{err}");
}
both!(working_days_and_late_failure);

const HEADER: &str = "工单编号,受理时间,来源渠道,所属区县,小区名称,涉及企业,统一社会信用代码,诉求类别,诉求内容,转办时间,企业答复时间,办结时间,满意度,是否回访,回访时间,是否群体诉求";

async fn import(c: &mut Client<'_>, rows: &[String]) {
    let mut csv = String::from(HEADER);
    for r in rows {
        csv.push_str("\r\n");
        csv.push_str(r);
    }
    let r = c
        .post_bytes("/api/v1/hotline/imports?file_name=t.csv", csv.into_bytes())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn suggestions(app: TestApp) {
    let s = app.seed().await;
    let mut oa = app.login("officer_a").await;
    let mut ob = app.login("officer_b").await;
    // Six forwarded tickets of 兖州丙 in 2025, one answered within 3 days: mostly unanswered.
    let rows: Vec<String> = (1..=6)
        .map(|i| {
            let answered = if i == 1 { "2025-04-02 10:00" } else { "" };
            format!("S{i:03},2025-04-01 09:00,电话,兖州区,,兖州丙地产有限公司,,,电梯故障,2025-04-01 10:00,{answered},,,否,,否")
        })
        .collect();
    let mut admin = app.login("admin").await;
    import(&mut admin, &rows).await;
    let as_of = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
    let list = |scope| {
        let st = app.state.clone();
        async move {
            enforcement::suggest::list(
                &st.db,
                &st.worklists,
                &st.analytics,
                &st.rules,
                scope,
                as_of,
                &enforcement::suggest::Params::default(),
            )
            .await
            .unwrap()
        }
    };
    use aftercare::scope::Scope;
    let a = list(Scope::County(s.county_a)).await;
    let kinds: Vec<(i64, &str)> = a
        .items
        .iter()
        .map(|g| (g.enterprise_id, g.kind.code()))
        .collect();
    assert!(kinds.contains(&(s.ent_a, "no_org")), "{kinds:?}");
    assert!(kinds.iter().all(|(e, _)| *e != s.ent_b), "another county's");
    let b = list(Scope::County(s.county_b)).await;
    let unanswered = b
        .items
        .iter()
        .find(|g| g.kind.code() == "unanswered")
        .expect("unanswered");
    assert_eq!(unanswered.enterprise_id, s.ent_b);
    assert!(
        unanswered.evidence.contains("6件") && unanswered.evidence.contains("17%"),
        "{}",
        unanswered.evidence
    );

    // Dismissing keeps the reason; another county's officer cannot dismiss it.
    let dismiss = json!({"enterprise_id": s.ent_a, "kind": "no_org", "reason": "项目已整体移交物业，无在售项目"});
    let r = ob
        .send_json(Method::POST, "/api/v1/cases/suggestions/dismiss", &dismiss)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = oa
        .send_json(Method::POST, "/api/v1/cases/suggestions/dismiss", &dismiss)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let after = oa.get("/api/v1/cases/suggestions").await.json();
    assert!(after["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["enterprise_id"] != s.ent_a || g["kind"] != "no_org"));
    let shown = oa
        .get("/api/v1/cases/suggestions?dismissed=true")
        .await
        .json();
    let kept = shown["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["enterprise_id"] == s.ent_a)
        .expect("kept");
    assert_eq!(kept["dismissed_reason"], "项目已整体移交物业，无在售项目");
    let mut ea = app.login("ent_a").await;
    assert_eq!(
        ea.get("/api/v1/cases/suggestions").await.status,
        StatusCode::FORBIDDEN
    );

    // Opening a case from a suggestion removes it from the list.
    let r = ob
        .send_json(
            Method::POST,
            "/api/v1/cases",
            &json!({"enterprise_id": s.ent_b, "ground": "not_functioning", "suggestion": "unanswered"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["suggestion"], "unanswered");
    let b = list(Scope::County(s.county_b)).await;
    assert!(b.items.iter().all(|g| g.kind.code() != "unanswered"));

    // Filed hotline hours short of the rule set's 7 days × 10 h: proposed, with the figures.
    let mut ea2 = app.login("ent_a").await;
    let payload = json!({
        "kind": "establishment", "manager_name": "王经理", "manager_mobile": "13905371111",
        "office_address": "济宁市任城区共青团路1号", "hotline": "0537-2345678",
        "staff": [{"name": "员工1", "role": "客服", "mobile": "13905370001"}, {"name": "员工2", "role": "客服", "mobile": "13905370002"}],
        "fund_fen": 5_000_000, "established_on": "2025-03-01", "independent_department": true,
        "service_hours": {"days_per_week": 5, "hours_per_day": 8}
    });
    let bad = {
        let mut p = payload.clone();
        p["service_hours"]["days_per_week"] = json!(8);
        p
    };
    let r = ea2
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_a),
            &bad,
        )
        .await;
    assert!(r.status.is_client_error(), "8 days a week: {}", r.status);
    let r = ea2
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_a),
            &payload,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let filing = r.json()["id"].as_i64().unwrap();
    let r = ea2
        .request(
            Method::POST,
            &format!("/api/v1/filings/{filing}/submit"),
            None,
            Vec::new(),
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = oa
        .request(
            Method::POST,
            &format!("/api/v1/filings/{filing}/approve"),
            None,
            Vec::new(),
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let a = list(Scope::County(s.county_a)).await;
    let short = a
        .items
        .iter()
        .find(|g| g.kind.code() == "short_hours")
        .expect("short hours");
    assert_eq!(short.enterprise_id, s.ent_a);
    assert!(
        short.evidence.contains("每周5天，每天8小时"),
        "{}",
        short.evidence
    );
    assert!(a
        .items
        .iter()
        .all(|g| g.kind.code() != "no_org" || g.enterprise_id != s.ent_a));
}
both!(suggestions);

async fn petitions(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let recent = (Utc::now() - Duration::hours(2))
        .with_timezone(&aftercare::time::china())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    import(
        &mut admin,
        &[
            "P001,2025-05-06 09:00,电话,任城区,,济宁甲置业有限公司,,,三十余户业主集体反映漏水,2025-05-06 10:00,,,,否,,是".to_string(),
            format!("P002,{recent},电话,任城区,,济宁甲置业有限公司,,,业主集体到售楼处反映延期交房,,,,,否,,是"),
            "P003,2025-05-06 09:00,电话,任城区,,济宁甲置业有限公司,,,个人投诉,,,,,否,,否".into(),
        ],
    )
    .await;
    let mut oa = app.login("officer_a").await;
    let mut ob = app.login("officer_b").await;
    let mut ea = app.login("ent_a").await;
    let mut eb = app.login("ent_b").await;
    let all = oa.get("/api/v1/petitions").await.json();
    assert_eq!(all["total"], 2);
    assert_eq!(ob.get("/api/v1/petitions").await.json()["total"], 0);
    assert_eq!(eb.get("/api/v1/petitions").await.json()["total"], 0);
    assert_eq!(ea.get("/api/v1/petitions").await.json()["total"], 2);
    let late = oa.get("/api/v1/petitions?status=late").await.json();
    assert_eq!(late["total"], 1, "the May one was never reported");
    let old = late["items"][0]["ticket_id"].as_i64().unwrap();

    // Recorded by the county's officer only.
    let body = json!({"manager_name": "李经理", "manager_on_site_at": "2025-05-06T11:00:00", "reported_on": "2025-05-12"});
    for c in [&mut ob, &mut eb] {
        let r = c
            .send_json(Method::PUT, &format!("/api/v1/petitions/{old}"), &body)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    let r = ea
        .send_json(Method::PUT, &format!("/api/v1/petitions/{old}"), &body)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let bad = json!({"reported_on": "2025-05-01"});
    let r = oa
        .send_json(Method::PUT, &format!("/api/v1/petitions/{old}"), &bad)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["field"], "reported_on");
    let r = oa
        .send_json(Method::PUT, &format!("/api/v1/petitions/{old}"), &body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["manager_name"], "李经理");
    // Reported on the 12th, due the 9th: still late, now among the reported.
    assert_eq!(
        oa.get("/api/v1/petitions?status=late").await.json()["total"],
        1
    );
    assert_eq!(
        oa.get("/api/v1/petitions?status=reported").await.json()["total"],
        1
    );
    assert_eq!(
        oa.get("/api/v1/petitions?status=open").await.json()["total"],
        1
    );
    {
        let mut p = app.db().acquire().await.unwrap();
        let start = Utc
            .with_ymd_and_hms(2024, 12, 31, 16, 0, 0)
            .unwrap()
            .timestamp();
        let end = Utc
            .with_ymd_and_hms(2025, 12, 31, 16, 0, 0)
            .unwrap()
            .timestamp();
        let counts = enforcement::petitions::late_counts(
            &mut p.conn(),
            s.ent_a,
            start,
            end,
            Utc::now().timestamp(),
        )
        .await
        .unwrap();
        assert_eq!(counts, (1, 1));
    }
    // The late report counts in the hotline metrics of the year.
    let m = oa.get("/api/v1/hotline/metrics?year=2025").await.json();
    let row = m["enterprises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["enterprise_id"] == s.ent_a)
        .expect("ent_a's row")
        .clone();
    assert_eq!(row["group_petitions"], 1);
    assert_eq!(row["petition_reports_late"], 1);
    // The recent one is due within two days: the enterprise is reminded once.
    let now = Utc::now();
    assert_eq!(
        enforcement::petitions::remind_due(app.db(), now)
            .await
            .unwrap(),
        0,
        "not yet due"
    );
    let now = now + Duration::days(2);
    let n = enforcement::petitions::remind_due(app.db(), now)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        enforcement::petitions::remind_due(app.db(), now)
            .await
            .unwrap(),
        0
    );
    assert_eq!(app.audit("ticket").await.len(), 1);
}
both!(petitions);

/// The pages: the list with suggestions, a case's timeline and its forms, a multipart event
/// with its file, the enterprise's countdown.
async fn case_pages(app: TestApp) {
    let s = app.seed().await;
    let mut oa = app.login("officer_a").await;
    let list = oa.get("/cases").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text().contains("立案建议") && list.text().contains("济宁甲置业有限公司"));
    let form = oa
        .get(&format!(
            "/cases/new?enterprise_id={}&ground=no_org&suggestion=no_org",
            s.ent_a
        ))
        .await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = oa.csrf.clone().unwrap();
    let r = oa
        .post_form(
            "/cases",
            &[
                ("_csrf", csrf.as_str()),
                ("enterprise_id", &s.ent_a.to_string()),
                ("ground", "no_org"),
                ("suggestion", "no_org"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let location = r.headers["location"].to_str().unwrap().to_string();
    let id: i64 = location
        .trim_start_matches("/cases/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = oa.get(&format!("/cases/{id}")).await.text();
    assert!(page.contains("下达责令限期整改通知") && page.contains("记录约谈"));

    let deadline = (today() + Duration::days(10)).to_string();
    let parts: Vec<(&str, &str)> = vec![
        ("_csrf", &csrf),
        ("kind", "order"),
        ("document_no", "任房整改〔2025〕7号"),
        ("requirements", "设立机构"),
        ("issued_on", ""),
        ("deadline_count", ""),
        ("deadline_unit", "working"),
        ("deadline_on", &deadline),
    ];
    let mut body = Vec::new();
    for (k, v) in &parts {
        body.extend(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"order.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n%%EOF\n\r\n--XyZ--\r\n");
    let r = oa
        .request(
            Method::POST,
            &format!("/cases/{id}/events"),
            Some("multipart/form-data; boundary=XyZ"),
            body,
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = oa.get(&format!("/cases/{id}")).await.text();
    assert!(
        page.contains("任房整改〔2025〕7号")
            && page.contains("order.pdf")
            && page.contains("还剩10天"),
        "{page}"
    );

    let mut ea = app.login("ent_a").await;
    let mine = ea.get("/cases").await.text();
    assert!(mine.contains("任房整改〔2025〕7号") && !mine.contains("立案建议"));
    let page = ea.get(&format!("/cases/{id}")).await.text();
    assert!(
        page.contains("提交整改材料")
            && page.contains("设立机构")
            && !page.contains("核查整改情况")
    );
    let mut eb = app.login("ent_b").await;
    assert_eq!(
        eb.get(&format!("/cases/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(oa.get("/petitions").await.status, StatusCode::OK);
}
both!(case_pages);
