//! Import trust (issue 7): headers by meaning with nothing dropped in silence, unknown metrics
//! instead of 0 %, bounded input, county scope on every import write, and rejected-row reports
//! served by id to those who may see the import.

use std::io::Write;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::Value;

use crate::both;
use crate::support::{code, TestApp};

fn lines(rows: &[String]) -> Vec<u8> {
    let mut s = rows.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

async fn project(app: &TestApp, id: i64) -> Value {
    let mut admin = app.login("admin").await;
    admin.get(&format!("/api/v1/projects/{id}")).await.json()
}

/// A county officer cannot move or overwrite another county's project by naming it in an
/// import; a developer column headed 开发单位统一社会信用代码 is read as the developer's code.
async fn project_import_cannot_rehome(app: TestApp) {
    let s = app.seed().await;
    let before = project(&app, s.proj_b).await;
    let code_a = code("91370811MA0000001");
    let code_b = code("91370812MA0000003");
    let file = lines(&[
        "序号,项目名称,开发单位统一社会信用代码,所属县区,项目地址".into(),
        format!("1,丙家园,{code_b},任城区,任城区被改写的地址"),
        format!("2,甲新苑,{code_a},任城区,任城区新路2号"),
    ]);
    let mut a = app.login("officer_a").await;
    let resp = a
        .post_bytes(
            "/api/v1/imports/projects?file_name=p.csv&skip_bad_rows=true",
            file,
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let r = resp.json();
    assert_eq!(r["committed"], true);
    assert_eq!(r["inserted"], 1, "{r}");
    assert_eq!(r["rejected"], 1);
    assert_eq!(r["rejections"][0]["line"], 2);
    assert!(r["rejections"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("其他县区"));
    assert_eq!(r["unused_columns"][0]["header"], "序号");
    let after = project(&app, s.proj_b).await;
    assert_eq!(after["county_id"], before["county_id"], "not moved");
    assert_eq!(after["address"], before["address"], "not overwritten");
    assert_eq!(app.count("projects").await, 3);
}
both!(project_import_cannot_rehome);

const HOTLINE_HEADER: &str = "工单编号,受理时间,所属区县,涉及企业,统一社会信用代码,诉求内容,转办时间,企业答复时间,办结时间,满意度,是否群体诉求";

async fn import_hotline(client: &mut crate::support::Client<'_>, rows: &[String]) -> Value {
    let mut all = vec![HOTLINE_HEADER.to_string()];
    all.extend(rows.iter().cloned());
    let resp = client
        .post_bytes(
            "/api/v1/hotline/imports?file_name=t.csv&skip_bad_rows=true",
            lines(&all),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    resp.json()
}

async fn ticket_row(app: &TestApp, no: &str) -> (String, Option<i64>) {
    let mut p = app.db().acquire().await.unwrap();
    let mut conn = p.conn();
    aftercare::on_conn!(&mut conn, |c| sqlx::query_as::<_, (String, Option<i64>)>(
        "SELECT content, county_id FROM tickets WHERE ticket_no = $1"
    )
    .bind(no)
    .fetch_one(c)
    .await)
    .unwrap()
}

/// A county officer's re-import cannot rewrite or move a ticket another county holds, and the
/// rejection reads exactly like a row of another county.
async fn hotline_overwrite_denied(app: TestApp) {
    let s = app.seed().await;
    let code_a = code("91370811MA0000001");
    let code_b = code("91370812MA0000003");
    let original = format!("T100,2025-03-01 09:00,兖州区,,{code_b},物业乱收费,,,,满意,否");
    let mut admin = app.login("admin").await;
    let r = import_hotline(&mut admin, std::slice::from_ref(&original)).await;
    assert_eq!(r["inserted"], 1, "{r}");
    let before = ticket_row(&app, "T100").await;
    assert_eq!(before.1, Some(s.county_b));

    let mut a = app.login("officer_a").await;
    let r = import_hotline(
        &mut a,
        &[
            // Another county's ticket, rewritten to look like county A's.
            format!("T100,2025-03-01 09:00,任城区,,{code_a},改写的内容,,,,满意,否"),
            // A new ticket of county B.
            format!("T101,2025-03-02 09:00,兖州区,,{code_b},新工单,,,,满意,否"),
            // County A's own ticket.
            format!("T102,2025-03-03 09:00,任城区,,{code_a},本县工单,,,,满意,否"),
        ],
    )
    .await;
    assert_eq!(r["committed"], true, "{r}");
    let counts = |r: &Value| {
        ["inserted", "updated", "unchanged", "rejected"].map(|k| r[k].as_i64().unwrap())
    };
    assert_eq!(counts(&r), [1, 0, 0, 2], "{r}");
    let reasons: Vec<&str> = r["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["工单属于其他县区，无权导入"; 2]);
    // The other county's ticket, exactly as it is stored: refused, not "unchanged".
    let r = import_hotline(&mut a, std::slice::from_ref(&original)).await;
    assert_eq!(counts(&r), [0, 0, 0, 1], "{r}");
    assert_eq!(r["rejections"][0]["reason"], "工单属于其他县区，无权导入");
    assert_eq!(ticket_row(&app, "T100").await, before, "ticket unchanged");
    assert_eq!(app.count("tickets").await, 2);
}
both!(hotline_overwrite_denied);

/// A county officer may not link an imported enterprise to a parent of another county, by
/// code or by name; the city administrator may.
async fn cross_county_parent(app: TestApp) {
    app.seed().await;
    let code_b = code("91370812MA0000003");
    let header = "统一社会信用代码,企业名称,资质等级,所属县区,母公司信用代码,母公司".to_string();
    let file = lines(&[
        header,
        format!(
            "{},济宁新子公司有限公司,二级,任城区,{code_b},",
            code("91370811MA0000201")
        ),
        format!(
            "{},济宁另一子公司有限公司,二级,任城区,,兖州丙地产有限公司",
            code("91370811MA0000202")
        ),
    ]);
    let before = app.count("enterprises").await;
    let mut a = app.login("officer_a").await;
    let resp = a
        .post_bytes("/api/v1/imports/enterprises?file_name=e.csv", file.clone())
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let r = resp.json();
    assert_eq!(r["committed"], false);
    assert_eq!(r["rejected"], 2);
    assert!(r["rejections"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("母公司信用代码"));
    assert!(r["rejections"][1]["reason"]
        .as_str()
        .unwrap()
        .starts_with("母公司"));
    assert_eq!(app.count("enterprises").await, before, "nothing imported");

    let mut admin = app.login("admin").await;
    let r = admin
        .post_bytes("/api/v1/imports/enterprises?file_name=e.csv", file)
        .await
        .json();
    assert_eq!(r["committed"], true, "{r}");
    assert_eq!(r["inserted"], 2);
}
both!(cross_county_parent);

/// A 1.5 KB workbook whose sheet has cells in A1 and XFD1048576.
fn dimension_bomb() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let files = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
        (
            "xl/worksheets/sheet1.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>y</t></is></c></row></sheetData></worksheet>"#,
        ),
    ];
    for (name, body) in files {
        zip.start_file(name, opts).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

/// The bomb is refused with a clear message (not an abort), and the server stays up; a file
/// over the row limit is refused too.
async fn bounded_input(mut app: TestApp) {
    app.seed().await;
    let bomb = dimension_bomb();
    assert!(bomb.len() < 4096);
    let mut admin = app.login("admin").await;
    for path in [
        "/api/v1/hotline/imports?file_name=bomb.xlsx",
        "/api/v1/imports/enterprises?file_name=bomb.xlsx",
    ] {
        let resp = admin.post_bytes(path, bomb.clone()).await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let msg = resp.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(msg.contains("列的上限"), "{msg}");
    }
    assert_eq!(app.client().get("/healthz").await.status, StatusCode::OK);

    let mut config = (*app.state.config).clone();
    config.max_import_rows = 3;
    app.state.config = Arc::new(config);
    app.router = aftercare::web::router(app.state.clone());
    let code_a = code("91370811MA0000001");
    let rows: Vec<String> = (0..3)
        .map(|i| format!("T2{i},2025-03-01 09:00,任城区,,{code_a},内容,,,,满意,否"))
        .collect();
    let mut all = vec![HOTLINE_HEADER.to_string()];
    all.extend(rows);
    let mut admin = app.login("admin").await;
    let resp = admin
        .post_bytes("/api/v1/hotline/imports?file_name=big.csv", lines(&all))
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().contains("max_import_rows"), "{}", resp.text());
    assert_eq!(app.count("tickets").await, 0);
}
both!(bounded_input);

/// A NUL character in a cell refuses the file with its line and column, on both backends
/// (PostgreSQL cannot store it in text), and imports nothing.
async fn nul_in_a_cell_is_named(app: TestApp) {
    app.seed().await;
    let code_a = code("91370811MA0000001");
    let all = vec![
        HOTLINE_HEADER.to_string(),
        format!("N1,2025-03-01 09:00,任城区,,{code_a},内容,,,,满意,否"),
        format!("N2,2025-03-01 09:00,任城区,,{code_a},漏\0水,,,,满意,否"),
    ];
    let mut admin = app.login("admin").await;
    let resp = admin
        .post_bytes(
            "/api/v1/hotline/imports?file_name=nul.csv&skip_bad_rows=true",
            lines(&all),
        )
        .await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        resp.text()
    );
    let text = resp.text();
    assert!(
        text.contains("第3行") && text.contains("第6列") && text.contains("NUL"),
        "{text}"
    );
    assert_eq!(app.count("tickets").await, 0);
}
both!(nul_in_a_cell_is_named);

/// Headers in an export's own words are read by meaning; a missing response column leaves the
/// answer rate unknown (null, with the reason), never 0 %; the summary lists what it skipped.
async fn headers_by_meaning_and_unknown_metrics(app: TestApp) {
    let s = app.seed().await;
    let code_a = code("91370811MA0000001");
    let code_b = code("91370812MA0000003");
    let mut admin = app.login("admin").await;
    // County A's export names the response column in its own words.
    let file = lines(&[
        "序号,工单编号,受理时间,统一社会信用代码,诉求内容,转办时间,承办单位答复时间,办结时间,满意度".into(),
        format!("1,T300,2025-03-01 09:00,{code_a},漏水,2025-03-01 10:00,2025-03-02 10:00,2025-03-03 10:00,满意"),
    ]);
    let resp = admin
        .post_bytes("/api/v1/hotline/imports?file_name=a.csv", file)
        .await;
    let r = resp.json();
    assert_eq!(r["committed"], true, "{r}");
    assert!(r.get("report_path").is_none());
    assert_eq!(r["unused_columns"][0]["header"], "序号");
    let missing: Vec<&str> = r["missing_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["field"].as_str().unwrap())
        .collect();
    assert!(missing.contains(&"group_petition"), "{missing:?}");
    assert!(!missing.contains(&"responded_at"), "{missing:?}");
    // County B's export has no response column at all.
    let file = lines(&[
        "工单编号,受理时间,统一社会信用代码,诉求内容,转办时间,办结时间,满意度".into(),
        format!("T301,2025-03-01 09:00,{code_b},漏水,2025-03-01 10:00,2025-03-03 10:00,满意"),
    ]);
    let r = admin
        .post_bytes("/api/v1/hotline/imports?file_name=b.csv", file)
        .await
        .json();
    assert_eq!(r["committed"], true, "{r}");
    assert!(r["missing_fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["field"] == "responded_at"));

    let m = admin.get("/api/v1/hotline/metrics?year=2025").await.json();
    let of = |id: i64| {
        m["enterprises"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["enterprise_id"] == id)
            .cloned()
            .unwrap()
    };
    let a = of(s.ent_a);
    assert_eq!(
        a["answer_rate"], 1.0,
        "承办单位答复时间 read as the response: {a}"
    );
    assert!(a["group_petitions"].is_null(), "no group column: {a}");
    let b = of(s.ent_b);
    assert!(b["answer_rate"].is_null(), "unknown, not 0: {b}");
    assert_eq!(b["satisfaction_rate"], 1.0);
    let unknown: Vec<&str> = b["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert!(
        unknown.iter().any(|u| u.starts_with("answer_rate:")),
        "{unknown:?}"
    );
    let page = admin
        .get(&format!("/enterprises/{}/hotline?year=2025", s.ent_b))
        .await;
    assert!(page.text().contains("无数据"));
    assert!(
        page.text().contains("3日内答复率：导入文件缺少"),
        "the page says why, in its own words"
    );
}
both!(headers_by_meaning_and_unknown_metrics);

/// The rejected-row report is served by id to the importer, the city and the importer's
/// county; another county's officer and an enterprise get 404.
async fn report_download_scoped(app: TestApp) {
    app.seed().await;
    let mut a = app.login("officer_a").await;
    let file = lines(&[
        HOTLINE_HEADER.to_string(),
        "T400,不是时间,任城区,,,内容,,,,满意,否".into(),
    ]);
    let r = a
        .post_bytes("/api/v1/hotline/imports?file_name=bad.csv", file)
        .await
        .json();
    assert_eq!(r["committed"], false);
    let url = r["report_url"].as_str().expect("report url").to_string();
    assert!(url.starts_with("/api/v1/imports/reports/"));
    assert!(r.get("report_path").is_none());
    let got = a.get(&url).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.text().starts_with('\u{FEFF}'));
    assert!(got.text().contains("不是时间"));
    let mut admin = app.login("admin").await;
    assert_eq!(admin.get(&url).await.status, StatusCode::OK);
    let mut b = app.login("officer_b").await;
    assert_eq!(b.get(&url).await.status, StatusCode::NOT_FOUND);
    let mut e = app.login("ent_a").await;
    assert_eq!(e.get(&url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        a.get("/api/v1/imports/reports/999999").await.status,
        StatusCode::NOT_FOUND
    );
}
both!(report_download_scoped);

/// The upload page shows the columns it did not use, the fields it found no column for, and a
/// link to the report by id (never a server path).
async fn upload_page_lists_columns_and_report(app: TestApp) {
    app.seed().await;
    let mut a = app.login("officer_a").await;
    let csrf = a.csrf.clone().expect("csrf");
    let file = "序号,工单编号,受理时间,诉求内容\r\n1,T500,不是时间,内容\r\n";
    let mut body = Vec::new();
    body.extend(
        format!("--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n")
            .as_bytes(),
    );
    body.extend(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.csv\"\r\nContent-Type: text/csv\r\n\r\n");
    body.extend(file.as_bytes());
    body.extend(b"\r\n--XyZ--\r\n");
    let r = a
        .request(
            axum::http::Method::POST,
            "/hotline/import",
            Some("multipart/form-data; boundary=XyZ"),
            body,
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = r.text();
    assert!(
        page.contains("未使用的列") && page.contains("“序号”"),
        "{page}"
    );
    assert!(page.contains("企业答复时间（responded_at）"), "{page}");
    assert!(page.contains("href=\"/api/v1/imports/reports/"), "{page}");
    assert!(!page.contains("import-reports"), "no server path");
}
both!(upload_page_lists_columns_and_report);
