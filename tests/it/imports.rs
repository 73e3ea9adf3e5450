//! Bulk imports from real files: UTF-8 and GBK CSV, XLSX with a title row, bad rows,
//! re-imports, and the county limits of an officer's import.

use aftercare::audit::Actor;
use aftercare::registry::import::{self, Options, Report};
use axum::http::StatusCode;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::both;
use crate::support::{code, TestApp};

fn csv(rows: &[Vec<String>]) -> String {
    rows.iter()
        .map(|r| r.join(","))
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

/// Five enterprises: a group with a subsidiary listed before its parent, an out-of-town
/// developer, and a cancelled one.
fn enterprise_rows() -> Vec<Vec<String>> {
    let header = [
        "序号",
        "统一社会信用代码",
        "企业名称",
        "法定代表人",
        "资质等级",
        "所属县区",
        "本地/外地",
        "注册地",
        "母公司信用代码",
        "企业状态",
        "吊销/注销日期",
        "简称",
    ];
    let mut rows = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    let data = [
        (
            "1",
            code("91370811MA0000101").to_string(),
            "济宁鸿泰置业有限公司运河分公司",
            "李四",
            "三级",
            "任城区",
            "本地",
            "",
            code("91370811MA0000102").to_string(),
            "正常",
            "",
            "运河鸿泰",
        ),
        (
            "2",
            code("91370811MA0000102").to_string(),
            "济宁鸿泰置业有限公司",
            "王五",
            "一级",
            "370811",
            "本地",
            "",
            String::new(),
            "",
            "",
            "鸿泰置业；鸿泰地产",
        ),
        (
            "3",
            code("91370100MA0000103").to_string().to_lowercase(),
            "山东金科房地产开发有限公司",
            "赵六",
            "贰级",
            "兖州区",
            "外地",
            "济南市",
            String::new(),
            "存续",
            "",
            "",
        ),
        (
            "4",
            code("91370812MA0000104").to_string(),
            "兖州圣城房地产开发有限责任公司",
            "钱七",
            "暂定",
            "兖州区",
            "",
            "",
            String::new(),
            "注销",
            "2024年12月31日",
            "",
        ),
        (
            "5",
            code("91370812MA0000105").to_string(),
            "兖州如意城建有限公司",
            "孙八",
            "4级",
            "兖州区",
            "本地",
            "",
            String::new(),
            "正常",
            "",
            "",
        ),
    ];
    for d in data {
        rows.push(vec![
            d.0.into(),
            d.1,
            d.2.into(),
            d.3.into(),
            d.4.into(),
            d.5.into(),
            d.6.into(),
            d.7.into(),
            d.8,
            d.9.into(),
            d.10.into(),
            d.11.into(),
        ]);
    }
    rows
}

async fn run(app: &TestApp, bytes: &[u8], name: &str, skip: bool) -> Report {
    let opts = Options {
        skip_bad_rows: skip,
        report_dir: Some(app.dir.path().join("reports")),
        ..Default::default()
    };
    import::import_enterprises(app.db(), &Actor::system("test"), bytes, name, &opts)
        .await
        .expect("import runs")
}

async fn utf8_and_gbk_csv(app: TestApp) {
    app.seed().await;
    let text = csv(&enterprise_rows());
    let before = app.count("enterprises").await;

    // UTF-8 with BOM.
    let mut bom = "\u{FEFF}".as_bytes().to_vec();
    bom.extend(text.as_bytes());
    let r = run(&app, &bom, "企业名录.csv", false).await;
    assert!(r.committed, "{:?}", r.rejections);
    assert_eq!(
        (r.rows, r.inserted, r.updated, r.unchanged, r.rejected),
        (5, 5, 0, 0, 0)
    );
    assert_eq!(app.count("enterprises").await, before + 5);

    // The same rows in GBK: nothing new, nothing changed.
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(
        !unmappable && std::str::from_utf8(&gbk).is_err(),
        "really GBK"
    );
    let r = run(&app, &gbk, "企业名录-gbk.csv", false).await;
    assert_eq!(
        (r.inserted, r.updated, r.unchanged),
        (0, 0, 5),
        "{:?}",
        r.rejections
    );
    assert_eq!(app.count("enterprises").await, before + 5);

    // An updated export updates in place.
    let changed = text.replace("钱七", "周九");
    let r = run(&app, changed.as_bytes(), "企业名录-2.csv", false).await;
    assert_eq!((r.inserted, r.updated, r.unchanged), (0, 1, 4));

    let mut admin = app.login("admin").await;
    let list = admin
        .get("/api/v1/enterprises?q=%E9%B8%BF%E6%B3%B0")
        .await
        .json(); // 鸿泰
    let sub = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "济宁鸿泰置业有限公司运河分公司")
        .unwrap()
        .clone();
    let parent = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "济宁鸿泰置业有限公司")
        .unwrap()
        .clone();
    assert_eq!(
        sub["parent_id"], parent["id"],
        "a parent later in the file is linked"
    );
    let detail = admin
        .get(&format!("/api/v1/enterprises/{}", parent["id"]))
        .await
        .json();
    assert_eq!(
        detail["aliases"],
        serde_json::json!(["鸿泰置业", "鸿泰地产"])
    );
    assert_eq!(detail["grade"], "first");
    let all = admin.get("/api/v1/enterprises?per_page=100").await.json();
    let jinke = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "山东金科房地产开发有限公司")
        .unwrap()
        .clone();
    assert_eq!(jinke["is_local"], false);
    assert_eq!(jinke["origin"], "济南市");
    assert_eq!(jinke["grade"], "second");
    assert_eq!(
        jinke["credit_code"],
        code("91370100MA0000103").as_str(),
        "lower-case code normalized"
    );
    let cancelled = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "兖州圣城房地产开发有限责任公司")
        .unwrap()
        .clone();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["status_date"], "2024-12-31");
}
both!(utf8_and_gbk_csv);

async fn bad_rows_import_nothing(app: TestApp) {
    app.seed().await;
    let mut rows = enterprise_rows();
    rows[2][1] = format!("{}0", &code("91370811MA0000102").as_str()[..17]); // wrong check character (or a different one)
    if rows[2][1] == code("91370811MA0000102").as_str() {
        rows[2][1] = format!("{}1", &rows[2][1][..17]);
    }
    rows[3][5] = "不存在县".into(); // unknown county
    rows[4][10] = "2024-13-45".into(); // bad date
    rows[5][8] = code("91370811MA0000999").to_string(); // unknown parent
    rows.push(rows[5].clone()); // duplicate code of line 6 (also bad parent)
    rows[6][8] = String::new();
    let mut good = rows[6].clone();
    good[1] = code("91370812MA0000106").to_string();
    good[2] = "兖州新开置业有限公司".into();
    rows.push(good); // line 8: the only good row
    let text = csv(&rows);
    let before = app.count("enterprises").await;
    let audit_before = app.count("audit_log").await;
    let r = run(&app, text.as_bytes(), "bad.csv", false).await;
    assert!(!r.committed);
    assert_eq!((r.inserted, r.updated, r.unchanged), (0, 0, 0));
    assert_eq!(app.count("enterprises").await, before, "nothing imported");
    assert_eq!(
        app.count("audit_log").await,
        audit_before,
        "nothing recorded"
    );
    let lines: Vec<usize> = r.rejections.iter().map(|x| x.line).collect();
    // Line 2 (the subsidiary) loses its parent because line 3's code is wrong.
    assert_eq!(lines, vec![2, 3, 4, 5, 6, 7], "{:?}", r.rejections);
    let reason = |line: usize| {
        r.rejections
            .iter()
            .find(|x| x.line == line)
            .unwrap()
            .reason
            .clone()
    };
    assert!(reason(3).contains("校验位"), "{}", reason(3));
    assert!(reason(4).contains("不存在县"), "{}", reason(4));
    assert!(reason(5).contains("2024-13-45"), "{}", reason(5));
    assert!(reason(6).contains("母公司"), "{}", reason(6));
    assert!(reason(7).contains("与第6行重复"), "{}", reason(7));

    // The report file lists every rejected line with the original cells.
    let path = r.report_file.clone().expect("report written");
    let report = std::fs::read_to_string(&path).unwrap();
    assert!(report.starts_with('\u{FEFF}'));
    assert_eq!(report.lines().count(), 1 + 6);
    assert!(report.contains("不存在县"));

    // Skipping bad rows imports the rest and still reports.
    let r = run(&app, text.as_bytes(), "bad.csv", true).await;
    assert!(r.committed);
    assert_eq!(r.inserted, 1, "only line 8 is good: {:?}", r);
    assert_eq!(r.rejected, 6);
    assert!(r.report_file.is_some() && r.report_id.is_some());
}
both!(bad_rows_import_nothing);

/// name, developer code, developer name, county, address, aliases, sales site, delivery, units
type ProjectRow = (
    &'static str,
    String,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<(u16, u8, u8)>,
    f64,
);

async fn xlsx_with_title_row_and_dates(app: TestApp) {
    let s = app.seed().await;
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let title = Format::new().set_bold();
    ws.merge_range(0, 0, 0, 8, "济宁市房地产开发项目汇总表（2026年）", &title)
        .unwrap();
    ws.write_string(1, 0, "填报单位：任城区住建局").unwrap();
    let headers = [
        "项目名称",
        "开发企业信用代码",
        "开发企业",
        "所属县区",
        "项目地址",
        "推广名",
        "售楼处状态",
        "交付日期",
        "交付套数",
    ];
    for (i, h) in headers.iter().enumerate() {
        ws.write_string(3, i as u16, *h).unwrap();
    }
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    let rows: [ProjectRow; 3] = [
        (
            "鸿泰·御景园",
            code("91370811MA0000001").to_string(),
            "",
            "任城区",
            "济宁市任城区共青团路18号",
            "御景园、御景",
            "开放",
            Some((2021, 6, 30)),
            512.0,
        ),
        (
            "运河湾小区",
            String::new(),
            "济宁甲置业有限公司",
            "任城区",
            "济宁市任城区运河路1号",
            "",
            "关闭",
            Some((2019, 1, 5)),
            240.0,
        ),
        (
            "丙新城",
            code("91370812MA0000003").to_string(),
            "",
            "兖州区",
            "兖州区九州大道8号",
            "",
            "在售",
            None,
            0.0,
        ),
    ];
    for (r, row) in rows.iter().enumerate() {
        let r = (r + 4) as u32;
        ws.write_string(r, 0, row.0).unwrap();
        ws.write_string(r, 1, &row.1).unwrap();
        ws.write_string(r, 2, row.2).unwrap();
        ws.write_string(r, 3, row.3).unwrap();
        ws.write_string(r, 4, row.4).unwrap();
        ws.write_string(r, 5, row.5).unwrap();
        ws.write_string(r, 6, row.6).unwrap();
        if let Some((y, m, d)) = row.7 {
            ws.write_datetime_with_format(
                r,
                7,
                ExcelDateTime::from_ymd(y, m, d).unwrap(),
                &date_fmt,
            )
            .unwrap();
        }
        ws.write_number(r, 8, row.8).unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();

    // Through the HTTP upload, as an officer of county A: the county B row is refused.
    let mut a = app.login("officer_a").await;
    let resp = a
        .post_bytes(
            "/api/v1/imports/projects?file_name=projects.xlsx",
            bytes.clone(),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let report = resp.json();
    assert_eq!(report["committed"], false);
    assert_eq!(
        report["rejections"][0]["line"], 7,
        "Excel row numbers: {report}"
    );
    assert!(report["rejections"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("本县区"));

    let mut admin = app.login("admin").await;
    let resp = admin
        .post_bytes(
            "/api/v1/imports/projects?file_name=projects.xlsx",
            bytes.clone(),
        )
        .await;
    let report = resp.json();
    assert_eq!(report["committed"], true, "{report}");
    assert_eq!(report["inserted"], 3);
    let again = admin
        .post_bytes("/api/v1/imports/projects?file_name=projects.xlsx", bytes)
        .await
        .json();
    assert_eq!(
        (again["inserted"].as_i64(), again["unchanged"].as_i64()),
        (Some(0), Some(3)),
        "re-import: no duplicates"
    );

    let list = admin
        .get(&format!(
            "/api/v1/projects?enterprise_id={}&per_page=50",
            s.ent_a
        ))
        .await
        .json();
    let yujing = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "鸿泰·御景园")
        .unwrap()
        .clone();
    assert_eq!(yujing["delivery_date"], "2021-06-30");
    assert_eq!(yujing["units_delivered"], 512);
    assert_eq!(yujing["sales_site_open"], true);
    let detail = admin
        .get(&format!("/api/v1/projects/{}", yujing["id"]))
        .await
        .json();
    assert_eq!(detail["aliases"], serde_json::json!(["御景园", "御景"]));
    let wan = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "运河湾小区")
        .unwrap()
        .clone();
    assert_eq!(
        wan["delivery_date"], "2019-01-05",
        "developer found by exact name"
    );
    assert_eq!(wan["sales_site_open"], false);

    // Enterprise users cannot import at all.
    let mut e = app.login("ent_a").await;
    assert_eq!(
        e.post_bytes("/api/v1/imports/enterprises", b"x".to_vec())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
both!(xlsx_with_title_row_and_dates);

async fn unusable_files_say_why(app: TestApp) {
    app.seed().await;
    let mut admin = app.login("admin").await;
    let resp = admin
        .post_bytes(
            "/api/v1/imports/enterprises?file_name=x.csv",
            "名称,地址\r\n甲,乙\r\n".as_bytes().to_vec(),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    let msg = resp.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("统一社会信用代码") && msg.contains("名称，地址"),
        "lists missing and found headers: {msg}"
    );
    let resp = admin
        .post_bytes(
            "/api/v1/imports/enterprises?file_name=x.xlsx",
            b"PK\x03\x04 not really a zip".to_vec(),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    let resp = admin
        .post_bytes(
            "/api/v1/imports/enterprises?file_name=empty.csv",
            Vec::new(),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(unusable_files_say_why);
