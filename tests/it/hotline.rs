//! Hotline tickets: the default profile on UTF-8, UTF-8-BOM, GBK and XLSX fixtures with title
//! rows and mixed date formats; bad rows; re-import counts; each attribution path, the
//! unmatched queue and the alias it creates; the Art. 7 roll-up; metrics against hand-computed
//! values, including the 3-day and 7-day boundaries.

use aftercare::audit::Actor;
use aftercare::hotline::import::{self, Options, Summary};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::support::{code, Seed, TestApp};

const HEADER: &str = "工单编号,受理时间,来源渠道,所属区县,小区名称,涉及企业,统一社会信用代码,诉求类别,诉求内容,转办时间,企业答复时间,办结时间,满意度,是否回访,回访时间,是否群体诉求";

/// Seven tickets, one per attribution path, with the response and revisit boundaries.
fn rows(seed_code_a: &str) -> Vec<String> {
    vec![
        // credit code; answered in exactly 72 h; revisited exactly 7 days after closing.
        format!("T001,2025/3/1 9:03,电话,任城区,,,{seed_code_a},质量投诉,卫生间漏水，楼下渗水,2025-03-01 10:00:00,2025-03-04 10:00:00,2025-03-05 10:00,满意,是,2025-03-12 10:00,否"),
        // project name; answered 72 h + 1 min (late); revisited 7 days + 1 min (late).
        "T002,2025-03-02 08:00:00,网站,任城区,甲花园,,,,客厅墙面开裂,2025-03-02 09:00,2025-03-05 09:01,2025年3月6日,基本满意,是,2025-03-13 00:01,否".into(),
        // enterprise name; forwarded, never answered.
        "T003,2025年3月3日,微信,,,济宁甲置业有限公司,,,开发商延期交房三个月,2025/3/3 10:00,,,不满意,否,,否".into(),
        // fuzzy (the text contains a project name), full-width digits; a group petition.
        "T004,２０２５－０３－０４　１０：００,电话,,甲花园3号楼,,,,业主们反映电梯经常停运,,,2025-03-05,未评价,否,,是".into(),
        // enterprise alias; revisited without a time.
        "T005,2025-03-05 10:00,电话,兖州区,,兖州简称,,物业管理,物业乱收费,,,2025-03-06,满意,是,,否".into(),
        // nothing known: the unmatched queue.
        "T006,2025-03-06 11:00,电话,任城区,幸福里小区,,,,小区门口积水,,,,,,,".into(),
        // project alias.
        "T007,2025-03-07 11:00,电话,,丙园,,,,交房两年仍未办理不动产证,,,,,,,".into(),
    ]
}

fn csv_text(rows: &[String]) -> String {
    let mut s = String::from("济宁市12345政务服务便民热线 工单导出（2025年3月）\r\n,,,\r\n");
    s.push_str(HEADER);
    s.push_str("\r\n");
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

fn xlsx(rows: &[String]) -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.merge_range(
        0,
        0,
        0,
        15,
        "济宁市12345政务服务便民热线 工单导出（2025年3月）",
        &Format::new(),
    )
    .unwrap();
    for (i, h) in HEADER.split(',').enumerate() {
        ws.write_string(2, i as u16, h).unwrap();
    }
    let fmt = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.split(',').enumerate() {
            let (r, c) = (r as u32 + 3, c as u16);
            // The first ticket's received time is a real Excel date cell.
            if r == 3 && c == 1 {
                let dt = ExcelDateTime::from_ymd(2025, 3, 1)
                    .unwrap()
                    .and_hms(9, 3, 0)
                    .unwrap();
                ws.write_datetime_with_format(r, c, dt, &fmt).unwrap();
            } else if !cell.is_empty() {
                ws.write_string(r, c, cell).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

async fn run(app: &TestApp, bytes: &[u8], name: &str, skip: bool) -> Summary {
    let opts = Options {
        base: aftercare::import::Options {
            skip_bad_rows: skip,
            report_dir: Some(app.dir.path().join("reports")),
            ..Default::default()
        },
        ..Default::default()
    };
    import::import(
        app.db(),
        &Actor::system("test"),
        bytes.to_vec(),
        name,
        &opts,
    )
    .await
    .expect("import runs")
}

async fn prepare(app: &TestApp) -> (Seed, String) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let p = admin
        .get(&format!("/api/v1/projects/{}", s.proj_b))
        .await
        .json();
    let mut body = json!({"enterprise_id": s.ent_b, "county_id": s.county_b, "name": p["name"], "address": p["address"],
        "sales_site_open": true, "delivery_date": "2023-05-01", "units_delivered": 300, "aliases": ["丙园"]});
    body["units_delivered"] = json!(300);
    assert_eq!(
        admin
            .send_json(
                Method::PUT,
                &format!("/api/v1/projects/{}", s.proj_b),
                &body
            )
            .await
            .status,
        StatusCode::OK
    );
    (s, code("91370811MA0000001").to_string())
}

async fn attribution(app: &TestApp) -> Vec<(String, String, Option<i64>)> {
    let mut admin = app.login("admin").await;
    let page = admin
        .get("/api/v1/hotline/tickets?per_page=100")
        .await
        .json();
    let mut out: Vec<(String, String, Option<i64>)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["ticket_no"].as_str().unwrap().to_string(),
                t["attribution"].as_str().unwrap().to_string(),
                t["enterprise_id"].as_i64(),
            )
        })
        .collect();
    out.sort();
    out
}

/// SQLite imports write without foreign-key checks nor automatic checkpoint
/// (`db::Unchecked`): the references hold all the same, and no pooled connection is lent
/// out with either still off, after a committed import or a refused one.
async fn foreign_keys_hold(app: &TestApp) {
    let aftercare::db::Db::Sqlite(pool) = app.db() else {
        return;
    };
    let broken = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(pool)
        .await
        .expect("foreign_key_check");
    assert!(broken.is_empty(), "{} broken references", broken.len());
    let mut held = Vec::new();
    for _ in 0..pool.options().get_max_connections() {
        let mut c = pool.acquire().await.expect("acquire");
        let on: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *c)
            .await
            .expect("pragma");
        assert_eq!(on, 1, "a pooled connection has foreign keys off");
        let autocheckpoint: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut *c)
            .await
            .expect("pragma");
        assert_eq!(
            autocheckpoint, 1000,
            "a pooled connection has the WAL's automatic checkpoint off"
        );
        held.push(c);
    }
}

async fn every_format_and_path(app: TestApp) {
    let (s, code_a) = prepare(&app).await;
    let text = csv_text(&rows(&code_a));
    let r = run(&app, text.as_bytes(), "utf8.csv", false).await;
    assert!(r.committed, "{:?}", r.rejections);
    assert_eq!(
        (
            r.rows,
            r.inserted,
            r.updated,
            r.unchanged,
            r.rejected,
            r.unmatched
        ),
        (7, 7, 0, 0, 0, 1)
    );
    assert_eq!(r.profile, "12345-default");
    let expected = vec![
        ("T001".to_string(), "credit_code".to_string(), Some(s.ent_a)),
        ("T002".into(), "project_name".into(), Some(s.ent_a)),
        ("T003".into(), "enterprise_name".into(), Some(s.ent_a)),
        ("T004".into(), "fuzzy".into(), Some(s.ent_a)),
        ("T005".into(), "enterprise_alias".into(), Some(s.ent_b)),
        ("T006".into(), "unmatched".into(), None),
        ("T007".into(), "project_alias".into(), Some(s.ent_b)),
    ];
    assert_eq!(attribution(&app).await, expected);

    // The same export as GBK, with a BOM, and as XLSX: nothing changes.
    let (gbk, _, bad) = encoding_rs::GBK.encode(&text);
    assert!(!bad && std::str::from_utf8(&gbk).is_err());
    let r = run(&app, &gbk, "gbk.csv", false).await;
    assert_eq!(
        (r.inserted, r.updated, r.unchanged),
        (0, 0, 7),
        "{:?}",
        r.rejections
    );
    let mut bom = "\u{FEFF}".as_bytes().to_vec();
    bom.extend(text.as_bytes());
    assert_eq!(run(&app, &bom, "bom.csv", false).await.unchanged, 7);
    let r = run(&app, &xlsx(&rows(&code_a)), "export.xlsx", false).await;
    assert_eq!(
        (r.inserted, r.updated, r.unchanged),
        (0, 0, 7),
        "{:?}",
        r.rejections
    );

    // A ticket stored by the first releases carries their 16-digit digest. One the export
    // still matches keeps it (row.rs tests the digest itself); one it no longer matches is
    // updated and stored with the current 32-digit digest.
    let hash_of = |no: &'static str| {
        let db = app.db().clone();
        async move {
            let mut p = db.acquire().await.expect("acquire");
            let mut conn = p.conn();
            aftercare::on_conn!(&mut conn, |c| sqlx::query_scalar::<_, String>(
                "SELECT row_hash FROM tickets WHERE ticket_no = $1"
            )
            .bind(no)
            .fetch_one(c)
            .await)
            .expect("row_hash")
        }
    };
    assert_eq!(hash_of("T001").await.len(), 32);
    {
        let mut p = app.db().acquire().await.expect("acquire");
        let mut conn = p.conn();
        aftercare::on_conn!(&mut conn, |c| sqlx::query(
            "UPDATE tickets SET row_hash = '0123456789abcdef' WHERE ticket_no = 'T001'"
        )
        .execute(c)
        .await
        .map(|_| ()))
        .expect("legacy digest");
    }
    let r = run(&app, text.as_bytes(), "again.csv", false).await;
    assert_eq!((r.inserted, r.updated, r.unchanged), (0, 1, 6));
    assert_eq!(hash_of("T001").await.len(), 32);

    // An updated export: one ticket closed since, one new.
    let mut changed = rows(&code_a);
    changed[2] = "T003,2025年3月3日,微信,,,济宁甲置业有限公司,,,开发商延期交房三个月,2025/3/3 10:00,2025/3/4 10:00,2025/3/8,不满意,否,,否".into();
    changed.push("T008,2025-03-08 08:00,电话,任城区,甲花园,,,,门窗关不严,,,,,,,".into());
    let r = run(&app, csv_text(&changed).as_bytes(), "update.csv", false).await;
    assert_eq!((r.inserted, r.updated, r.unchanged), (1, 1, 6));
    assert_eq!(app.count("tickets").await, 8, "no duplicates");
    foreign_keys_hold(&app).await;

    // Classification is stored beside the source's category.
    let mut admin = app.login("admin").await;
    let t1 = admin.get("/api/v1/hotline/tickets?q=T001").await.json()["items"][0].clone();
    assert_eq!(
        (
            t1["category"].as_str(),
            t1["subcategory"].as_str(),
            t1["source_category"].as_str()
        ),
        (Some("quality"), Some("leak"), Some("质量投诉"))
    );
    let t4 = admin.get("/api/v1/hotline/tickets?q=T004").await.json()["items"][0].clone();
    assert_eq!(t4["severity"], "important", "group petition");
    assert_eq!(
        t4["received_at"], 1_741_053_600,
        "２０２５－０３－０４　１０：００ Beijing = 02:00 UTC"
    );
}
both!(every_format_and_path);

/// Two imports of the same export at once: the second waits for the first and then finds
/// every ticket stored (PostgreSQL adds new tickets with a plain `COPY`, which would fail on
/// the unique key if both took them for new).
async fn concurrent_imports_of_one_source(app: TestApp) {
    let (_, code_a) = prepare(&app).await;
    let text = csv_text(&rows(&code_a));
    let (a, b) = tokio::join!(
        run(&app, text.as_bytes(), "a.csv", false),
        run(&app, text.as_bytes(), "b.csv", false)
    );
    assert!(a.committed && b.committed);
    let mut counts = [
        (a.inserted, a.updated, a.unchanged),
        (b.inserted, b.updated, b.unchanged),
    ];
    counts.sort();
    assert_eq!(counts, [(0, 0, 7), (7, 0, 0)]);
    assert_eq!(app.count("tickets").await, 7, "no duplicates");
    foreign_keys_hold(&app).await;
}
both!(concurrent_imports_of_one_source);

/// Text that COPY's format (PostgreSQL) and SQLite's binds must carry unchanged: backslashes,
/// a literal `\N`, quotes, an emoji; white space inside a cell is folded by tidying.
async fn awkward_text_round_trips(app: TestApp) {
    prepare(&app).await;
    let row = "T100,2025-03-01 09:00,电话,任城区,\"甲\\花园\",\"济宁\\N公司\",,,\"路径 C:\\temp\\N 与 \"\"引号\"\" 😀 和\t制表\",,,,,,,";
    let text = csv_text(&[row.to_string()]);
    let r = run(&app, text.as_bytes(), "awkward.csv", false).await;
    assert!(r.committed, "{:?}", r.rejections);
    assert_eq!(r.inserted, 1);
    let mut admin = app.login("admin").await;
    let t = admin.get("/api/v1/hotline/tickets?q=T100").await.json()["items"][0].clone();
    assert_eq!(t["content"], "路径 C:\\temp\\N 与 \"引号\" 😀 和 制表");
    assert_eq!(t["community_text"], "甲\\花园");
    assert_eq!(t["enterprise_text"], "济宁\\N公司");
    assert_eq!(
        t["forwarded_at"],
        Value::Null,
        "an empty cell is NULL, not 0"
    );
    // The stored hash matches what the file says: a re-import changes nothing.
    let again = run(&app, text.as_bytes(), "awkward.csv", false).await;
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 1));
}
both!(awkward_text_round_trips);

async fn bad_rows_and_headers(app: TestApp) {
    let (_, code_a) = prepare(&app).await;
    let mut bad = rows(&code_a);
    bad[1] = ",2025-03-02 08:00,网站,,甲花园,,,,内容,,,,,,,".into(); // line 5: no id
    bad[2] = "T003,2025-13-45,微信,,,济宁甲置业有限公司,,,内容,,,,,,,".into(); // line 6: bad date
    bad[3] = "T004,2025-03-04 10:00,电话,,甲花园,,,,内容,,,2025-03-01,,,,".into(); // line 7: closed before received
    bad[4] = "T005,2025-03-05 10:00,电话,,甲花园,,,,内容,,,2025-03-06,还行吧,,,".into(); // line 8: satisfaction
    bad.push(bad[0].clone()); // line 11: duplicate of line 4
    let r = run(&app, csv_text(&bad).as_bytes(), "bad.csv", false).await;
    assert!(!r.committed);
    assert_eq!(app.count("tickets").await, 0, "nothing imported");
    let lines: Vec<usize> = r.rejections.iter().map(|x| x.line).collect();
    assert_eq!(lines, vec![5, 6, 7, 8, 11], "{:?}", r.rejections);
    assert!(r.rejections[0].reason.contains("工单编号为空"));
    assert!(r.rejections[1].reason.contains("2025-13-45"));
    assert!(r.rejections[2].reason.contains("办结时间早于受理时间"));
    assert!(r.rejections[3].reason.contains("还行吧"));
    assert!(r.rejections[4].reason.contains("与第4行重复"));
    let report = std::fs::read_to_string(r.report_file.as_ref().unwrap()).unwrap();
    assert_eq!(report.lines().count(), 6);
    let refused = app.audit("hotline_import").await;
    assert_eq!(refused.last().unwrap().action, "import_refused");

    let r = run(&app, csv_text(&bad).as_bytes(), "bad.csv", true).await;
    assert!(r.committed);
    assert_eq!((r.inserted, r.rejected), (3, 5));
    foreign_keys_hold(&app).await;

    // Headers no profile knows: the error lists what was found and what is missing.
    let mut admin = app.login("admin").await;
    let resp = admin
        .post_bytes(
            "/api/v1/hotline/imports?file_name=x.csv",
            "编号,日期,说明\r\n1,2025-01-01,x\r\n".as_bytes().to_vec(),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    let msg = resp.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("受理时间") && msg.contains("编号，日期，说明"),
        "{msg}"
    );
}
both!(bad_rows_and_headers);

async fn metrics_by_hand(app: TestApp) {
    let (s, code_a) = prepare(&app).await;
    assert!(
        run(&app, csv_text(&rows(&code_a)).as_bytes(), "m.csv", false)
            .await
            .committed
    );
    let mut admin = app.login("admin").await;
    let m = admin.get("/api/v1/hotline/metrics?year=2025").await.json();
    let of = |id: i64| {
        m["enterprises"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["enterprise_id"] == id)
            .unwrap()
            .clone()
    };
    let a = of(s.ent_a);
    assert_eq!(a["tickets"], 4);
    assert_eq!(a["units_delivered"], 300);
    assert_eq!(
        (
            a["rated"].as_i64(),
            a["satisfied"].as_i64(),
            a["basically_satisfied"].as_i64(),
            a["dissatisfied"].as_i64()
        ),
        (Some(3), Some(1), Some(1), Some(1))
    );
    assert!((a["satisfaction_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    // Forwarded: T001 (72 h exactly: in time), T002 (72 h + 1 min: late), T003 (never answered).
    assert_eq!(
        (
            a["forwarded_due"].as_i64(),
            a["answered_in_3_days"].as_i64()
        ),
        (Some(3), Some(1))
    );
    // Closed: T001 (revisited at 7 days exactly), T002 (7 days + 1 min), T004 (not revisited).
    assert_eq!(
        (a["closed_due"].as_i64(), a["revisited_in_7_days"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(a["group_petitions"], 1);
    assert_eq!(a["by_category"]["quality"], 3, "{a}");
    assert_eq!(a["by_month"][2], 4, "all in March");
    assert!((a["per_100_units"].as_f64().unwrap() - 4.0 / 3.0).abs() < 1e-9);
    let b = of(s.ent_b);
    assert_eq!(b["tickets"], 2);
    assert_eq!(
        (b["revisited_in_7_days"].as_i64(), b["closed_due"].as_i64()),
        (Some(1), Some(1)),
        "revisited, time unknown"
    );
    // Rank by complaints per 100 units, lowest first, over the enterprises with delivered units.
    assert_eq!(
        (
            b["rate_rank"].as_i64(),
            a["rate_rank"].as_i64(),
            a["ranked"].as_i64()
        ),
        (Some(0), Some(1), Some(2))
    );
    assert_eq!(a["rate_percentile"], 50);
    // A month, and scopes: an enterprise sees its own row, an officer their county's.
    let march = admin
        .get("/api/v1/hotline/metrics?year=2025&month=3")
        .await
        .json();
    assert_eq!(
        march["enterprises"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["tickets"].as_i64().unwrap())
            .sum::<i64>(),
        6
    );
    assert_eq!(
        admin
            .get("/api/v1/hotline/metrics?year=2025&month=13")
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut e = app.login("ent_a").await;
    let own = e.get("/api/v1/hotline/metrics?year=2025").await.json();
    assert_eq!(own["enterprises"].as_array().unwrap().len(), 1);
    assert_eq!(
        own["enterprises"][0]["rate_rank"], 1,
        "the rank is still city-wide"
    );
    let mut ob = app.login("officer_b").await;
    let county = ob.get("/api/v1/hotline/metrics?year=2025").await.json();
    assert!(county["enterprises"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["enterprise_id"] == s.ent_b));
}
both!(metrics_by_hand);

async fn queue_aliases_and_rollup(app: TestApp) {
    let (s, code_a) = prepare(&app).await;
    assert!(
        run(&app, csv_text(&rows(&code_a)).as_bytes(), "q.csv", false)
            .await
            .committed
    );
    let mut oa = app.login("officer_a").await;
    let mut ob = app.login("officer_b").await;
    let queue = oa.get("/api/v1/hotline/unmatched").await.json();
    assert_eq!(queue["total"], 1);
    let t6 = queue["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        ob.get("/api/v1/hotline/unmatched").await.json()["total"],
        0,
        "county A's ticket is not county B's"
    );
    let assign = json!({"enterprise_id": s.ent_a, "project_id": s.proj_a});
    assert_eq!(
        ob.send_json(
            Method::POST,
            &format!("/api/v1/hotline/tickets/{t6}/assign"),
            &assign
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let mut ea = app.login("ent_a").await;
    assert_eq!(
        ea.send_json(
            Method::POST,
            &format!("/api/v1/hotline/tickets/{t6}/assign"),
            &assign
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let wrong = json!({"enterprise_id": s.ent_b});
    let r = oa
        .send_json(
            Method::POST,
            &format!("/api/v1/hotline/tickets/{t6}/assign"),
            &wrong,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "another county's enterprise"
    );
    assert_eq!(r.json()["error"]["field"], "enterprise_id");
    let r = oa
        .send_json(
            Method::POST,
            &format!("/api/v1/hotline/tickets/{t6}/assign"),
            &assign,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["alias_added"], "幸福里小区");
    assert_eq!(r.json()["ticket"]["attribution"], "manual");
    let aliases = oa
        .get(&format!("/api/v1/projects/{}", s.proj_a))
        .await
        .json()["aliases"]
        .clone();
    assert_eq!(aliases, json!(["幸福里小区"]));
    // The next import matches the learnt alias; the manual choice survives a re-import.
    let next = vec![
        "T009,2025-04-01 09:00,电话,任城区,幸福里小区,,,,楼道灯不亮,,,,,,,".to_string(),
        rows(&code_a)[5].clone(),
    ];
    let r = run(&app, csv_text(&next).as_bytes(), "next.csv", false).await;
    assert_eq!((r.inserted, r.unchanged, r.unmatched), (1, 1, 0));
    let all = attribution(&app).await;
    assert!(all.contains(&("T009".into(), "project_alias".into(), Some(s.ent_a))));
    assert!(all.contains(&("T006".into(), "manual".into(), Some(s.ent_a))));

    // Art. 7: ent_a2 becomes ent_a's subsidiary and is revoked on 2025-06-01.
    let mut admin = app.login("admin").await;
    let revoked = json!({"credit_code": code("91370811MA0000002").as_str(), "name": "济宁乙置业有限公司", "grade": "second",
        "county_id": s.county_a, "parent_credit_code": code("91370811MA0000001").as_str(), "status": "revoked", "status_date": "2025-06-01"});
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
    let sub = vec![
        "S001,2025-05-31 23:59,电话,,,济宁乙置业有限公司,,,屋面漏雨,,,,,,,".to_string(),
        "S002,2025-06-01 00:00,电话,,,济宁乙置业有限公司,,,屋面漏雨,,,,,,,".to_string(),
    ];
    assert!(
        run(&app, csv_text(&sub).as_bytes(), "sub.csv", false)
            .await
            .committed
    );
    let m = admin.get("/api/v1/hotline/metrics?year=2025").await.json();
    let tickets = |id: i64| {
        m["enterprises"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["enterprise_id"] == id)
            .map(|e| e["tickets"].as_i64().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(
        tickets(s.ent_a2),
        1,
        "before the revocation the subsidiary answers"
    );
    assert_eq!(
        tickets(s.ent_a),
        4 + 1 + 1 + 1,
        "T001–T004, T006 (manual), T009, and S002 after the revocation"
    );
    let list = ea.get("/api/v1/hotline/tickets?per_page=100").await.json();
    let nos: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ticket_no"].as_str().unwrap())
        .collect();
    assert!(nos.contains(&"S002") && !nos.contains(&"S001"), "{nos:?}");
    assert!(!nos.contains(&"T005"), "another enterprise's ticket");
    let s1 = oa.get("/api/v1/hotline/tickets?q=S001").await.json()["items"][0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        ea.get(&format!("/api/v1/hotline/tickets/{s1}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let mut eb = app.login("ent_b").await;
    assert_eq!(eb.get("/api/v1/hotline/tickets").await.json()["total"], 2);
    assert_eq!(
        eb.get(&format!("/api/v1/hotline/tickets/{s1}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        eb.post_bytes("/api/v1/hotline/imports", b"x".to_vec())
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // The pages render for each role.
    assert_eq!(oa.get("/hotline").await.status, StatusCode::OK);
    assert!(oa
        .get("/hotline/unmatched")
        .await
        .text()
        .contains("未匹配工单"));
    assert!(oa
        .get("/hotline/rankings?year=2025")
        .await
        .text()
        .contains("济宁甲置业有限公司"));
    let page = ea
        .get(&format!("/enterprises/{}/hotline?year=2025", s.ent_a))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("7日内回访"));
    assert_eq!(
        ea.get(&format!("/enterprises/{}/hotline?year=2025", s.ent_b))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ea.get("/hotline/unmatched").await.status,
        StatusCode::FORBIDDEN
    );
}
both!(queue_aliases_and_rollup);

async fn county_import_and_upload_page(app: TestApp) {
    let (_, code_a) = prepare(&app).await;
    let text = csv_text(&rows(&code_a));
    let mut ob = app.login("officer_b").await;
    let r: Value = ob
        .post_bytes(
            "/api/v1/hotline/imports?file_name=all.csv&skip_bad_rows=true",
            text.clone().into_bytes(),
        )
        .await
        .json();
    // County B keeps T005 and T007 (its enterprise); the rest belong to county A.
    assert_eq!(
        (r["inserted"].as_i64(), r["rejected"].as_i64()),
        (Some(2), Some(5)),
        "{r}"
    );
    let mut oa = app.login("officer_a").await;
    let csrf = oa.csrf.clone().unwrap();
    let mut body = Vec::new();
    body.extend(
        format!("--B0\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n")
            .as_bytes(),
    );
    body.extend(b"--B0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n");
    body.extend(text.as_bytes());
    body.extend(b"\r\n--B0\r\nContent-Disposition: form-data; name=\"skip_bad_rows\"\r\n\r\non\r\n--B0--\r\n");
    let r = oa
        .request(
            Method::POST,
            "/hotline/import",
            Some("multipart/form-data; boundary=B0"),
            body,
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("已导入"));
    assert_eq!(app.count("tickets").await, 7);
}
both!(county_import_and_upload_page);
