//! Circulars end to end through the real router: each kind built from the small city, its
//! figures checked against the metrics and the final run they cite; DOCX, PDF and HTML
//! parsed back (title, document number, table figures, charts, the PDF's Chinese text
//! layer); draft → issued with its number, immutability and mail; scope on every path; the
//! wording edited without a rebuild; the public page showing only issued circulars.

use std::io::Read;

use axum::http::StatusCode;
use chrono::{Datelike, Duration};
use serde_json::{json, Value};

use crate::both;
use crate::evaluation_city::{build_city, exec, outbox, post};
use crate::support::{Client, TestApp};

/// The text of a DOCX's body and footer, tags stripped; and its parts' names.
fn docx_text(bytes: &[u8]) -> (String, Vec<String>) {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("DOCX is a zip");
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().to_string()).collect();
    let mut text = String::new();
    for part in ["word/document.xml", "word/footer1.xml"] {
        let mut xml = String::new();
        zip.by_name(part).unwrap().read_to_string(&mut xml).unwrap();
        let mut inside = false;
        for c in xml.chars() {
            match c {
                '<' => inside = true,
                '>' => inside = false,
                c if !inside => text.push(c),
                _ => {}
            }
        }
    }
    (text.replace("&amp;", "&"), names)
}

fn docx_part(bytes: &[u8], name: &str) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = Vec::new();
    zip.by_name(name).unwrap().read_to_end(&mut out).unwrap();
    out
}

/// The PDF's text layer, page by page, read back through its fonts' ToUnicode maps.
fn pdf_text(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF lopdf reads");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    assert!(!pages.is_empty());
    doc.extract_text(&pages).expect("text layer")
}

/// Dark pixels in rows `from..to` of a PNG.
fn ink(png: &[u8], from: u32, to: u32) -> usize {
    let img = image::load_from_memory(png).unwrap().to_rgb8();
    (from..to.min(img.height()))
        .flat_map(|y| (0..img.width()).map(move |x| (x, y)))
        .filter(|(x, y)| img.get_pixel(*x, *y).0.iter().all(|c| *c < 100))
        .count()
}

async fn file(c: &mut Client<'_>, id: i64, format: &str) -> Vec<u8> {
    let r = c
        .get(&format!("/api/v1/circulars/{id}/file?format={format}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{format}: {}", r.text());
    r.body
}

/// A table of the content by its caption's start, as rows of cells.
fn table<'a>(content: &'a Value, caption: &str) -> &'a Vec<Value> {
    content["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "table" && b["caption"].as_str().unwrap().starts_with(caption))
        .unwrap_or_else(|| panic!("no table {caption}: {content}"))["rows"]
        .as_array()
        .unwrap()
}

fn row<'a>(rows: &'a [Value], first: &str) -> Vec<&'a str> {
    rows.iter()
        .find(|r| r.as_array().unwrap().iter().any(|c| c == first))
        .unwrap_or_else(|| panic!("no row {first}: {rows:?}"))
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect()
}

async fn create(c: &mut Client<'_>, body: Value) -> (StatusCode, Value) {
    post(c, "/api/v1/circulars", body).await
}

/// Builds a circular (201 expected) and reads its stored content back.
async fn built(c: &mut Client<'_>, body: Value) -> (i64, Value) {
    let (st, made) = create(c, body).await;
    assert_eq!(st, StatusCode::CREATED, "{made}");
    let id = made["id"].as_i64().unwrap();
    let content = c.get(&format!("/api/v1/circulars/{id}")).await.json()["content"].clone();
    (id, content)
}

async fn circulars_end_to_end(mut app: TestApp) {
    let s = build_city(&app).await;
    let today = aftercare::time::today();
    let y = today.year();
    let mut admin = app.login("admin").await;
    let mut oa = app.login("officer_a").await;
    let mut ob = app.login("officer_b").await;
    let mut ea = app.login("ent_a").await;
    let mut eb = app.login("ent_b").await;

    // Bad input names its field; an enterprise builds nothing; a county officer only its own.
    for (body, field) in [
        (json!({"kind": "weekly", "period": "2025"}), "kind"),
        (json!({"kind": "org", "period": "2025-13"}), "period"),
        (
            json!({"kind": "org", "period": format!("{}", y + 1)}),
            "period",
        ),
        (
            json!({"kind": "evaluation", "period": format!("{y}-01")}),
            "period",
        ),
        (
            json!({"kind": "org", "period": "2025", "county_id": 999_999}),
            "county",
        ),
    ] {
        let (st, err) = create(&mut admin, body.clone()).await;
        assert_eq!(
            (st, err["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{body}: {err}"
        );
    }
    let org = json!({"kind": "org", "period": y.to_string()});
    assert_eq!(create(&mut ea, org.clone()).await.0, StatusCode::FORBIDDEN);
    let mut other = org.clone();
    other["county_id"] = json!(s.county_b);
    assert_eq!(create(&mut oa, other).await.0, StatusCode::FORBIDDEN);

    // The org circular of county A, by its officer (its county by default).
    let (st, made) = create(&mut oa, org.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{made}");
    assert_eq!(
        (made["status"].as_str(), made["county_id"].as_i64()),
        (Some("draft"), Some(s.county_a))
    );
    let org_id = made["id"].as_i64().unwrap();
    let detail = oa.get(&format!("/api/v1/circulars/{org_id}")).await.json();
    let content = &detail["content"];
    // By hand: county A has ent_a (complete org, 3 staff, every board) and ent_a2 (no org,
    // so no board at an org office either; a missed order).
    let counties = table(content, "表1");
    assert_eq!(
        counties[0],
        json!([
            "任城区",
            "2",
            "1（50.0%）",
            "1（50.0%）",
            "1（50.0%）",
            "1（50.0%）"
        ]),
        "{counties:?}"
    );
    let no_org = table(content, "表2");
    assert_eq!(row(no_org, "济宁乙置业有限公司")[3], "任城区");
    let orders = table(content, "表3");
    let order = row(orders, "济宁乙置业有限公司");
    assert_eq!((order[3], order[5]), ("任房整改〔2026〕9号", "逾期未整改"));
    assert_eq!(row(table(content, "表4"), "济宁甲置业有限公司")[3], "3");
    let named: Vec<i64> = serde_json::from_value(content["named"].clone()).unwrap();
    assert_eq!(named, vec![s.ent_a, s.ent_a2]);
    // Another county's officer and the enterprises do not see a draft.
    for c in [&mut ob, &mut ea, &mut eb] {
        assert_eq!(
            c.get(&format!("/api/v1/circulars/{org_id}")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        post(
            &mut ob,
            &format!("/api/v1/circulars/{org_id}/issue"),
            json!({})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    // DOCX of the draft: the red head, no number yet, the figures, a chart.
    let docx = file(&mut oa, org_id, "docx").await;
    let (text, parts) = docx_text(&docx);
    assert!(text.contains("任城区住房和城乡建设局"), "{text}");
    assert!(text.contains(made["title"].as_str().unwrap()));
    assert!(text.contains("草稿") && text.contains("任房整改〔2026〕9号"));
    assert!(text.contains("统计期间"), "sources in the footer");
    assert!(
        parts.iter().any(|p| p == "word/media/chart1.png"),
        "{parts:?}"
    );
    let chart = docx_part(&docx, "word/media/chart1.png");
    let h = image::load_from_memory(&chart).unwrap().height();
    assert!(ink(&chart, 0, h / 12) > 200, "the chart's caption is drawn");
    assert!(
        ink(&chart, h - h / 10, h) > 100,
        "its county labels are drawn"
    );

    // Issued: a number in the issuer's sequence, a date, a mail to each named enterprise.
    let (st, issued) = post(
        &mut oa,
        &format!("/api/v1/circulars/{org_id}/issue"),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{issued}");
    assert_eq!(
        issued["doc_number"].as_str(),
        Some(format!("任城区住建字〔{y}〕1号").as_str())
    );
    assert_eq!(outbox(&app, "circular_issued").await, 2);
    let (st, again) = post(
        &mut oa,
        &format!("/api/v1/circulars/{org_id}/issue"),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{again}");
    // Named enterprises see it, in their list too; the other does not.
    assert_eq!(
        ea.get(&format!("/api/v1/circulars/{org_id}")).await.status,
        StatusCode::OK
    );
    let list = ea.get("/api/v1/circulars").await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(eb.get("/api/v1/circulars").await.json()["total"], 0);
    assert_eq!(
        eb.get(&format!("/api/v1/circulars/{org_id}/file?format=pdf"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The PDF carries the same content with a Chinese text layer.
    let pdf = file(&mut ea, org_id, "pdf").await;
    assert!(pdf.starts_with(b"%PDF"));
    let text = pdf_text(&pdf);
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    let text = squeeze(&text);
    assert!(
        text.contains(&squeeze(made["title"].as_str().unwrap())),
        "{text}"
    );
    assert!(text.contains(&format!("任城区住建字〔{y}〕1号")), "{text}");
    assert!(text.contains("济宁乙置业有限公司"), "{text}");
    // An issued circular reads the same after the data changes.
    exec(
        &app,
        "UPDATE enterprises SET name = '改名公司' WHERE name = '济宁乙置业有限公司'",
    )
    .await;
    let again = oa.get(&format!("/api/v1/circulars/{org_id}")).await.json();
    assert_eq!(again["content"], detail["content"]);

    // The hotline circular of the year, city-wide: its figures against the metrics.
    let (hot_id, content) = built(
        &mut admin,
        json!({"kind": "hotline", "period": y.to_string()}),
    )
    .await;
    let metrics = admin
        .get(&format!("/api/v1/hotline/metrics?year={y}&per_page=50"))
        .await
        .json();
    let tickets = |e: i64| {
        metrics["enterprises"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["enterprise_id"] == e)
            .map_or(0, |m| m["tickets"].as_i64().unwrap())
    };
    let counties = table(&content, "表1");
    let a = row(counties, "任城区");
    assert_eq!(a[1], (tickets(s.ent_a) + tickets(s.ent_a2)).to_string());
    assert_eq!(a[1], "4");
    // 满意, 满意, 基本满意 of 4 rated: 75.0 %; all 4 answered in 3 days; 3 of 4 revisited.
    assert_eq!((a[4], a[5], a[6]), ("75.0%", "100.0%", "75.0%"));
    assert_eq!(row(counties, "合计")[1], "5");
    assert_eq!(row(table(&content, "表2"), "质量问题")[1], "5");
    let charts = content["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "chart")
        .count();
    assert!(charts >= 3, "counties, trend, categories: {charts}");
    let (text, parts) = docx_text(&file(&mut admin, hot_id, "docx").await);
    assert!(text.contains("75.0%") && text.contains("济宁市住房和城乡建设局"));
    assert_eq!(
        parts
            .iter()
            .filter(|p| p.starts_with("word/media/"))
            .count(),
        charts
    );
    let html = String::from_utf8(file(&mut admin, hot_id, "html").await).unwrap();
    assert!(html.contains("<svg") && html.contains("任城区") && html.contains("75.0%"));

    // The evaluation circular needs a final run.
    let (st, err) = create(
        &mut admin,
        json!({"kind": "evaluation", "period": y.to_string()}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{err}");
    let force = y > 2026;
    let (st, run) = post(
        &mut admin,
        "/api/v1/evaluations",
        json!({"year": y, "force": force}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{run}");
    let run_id = run["id"].as_i64().unwrap();
    post(
        &mut admin,
        &format!("/api/v1/evaluations/{run_id}/publicize"),
        json!({}),
    )
    .await;
    exec(
        &app,
        &format!(
            "UPDATE evaluation_runs SET publicity_ends = '{}' WHERE id = {run_id}",
            today - Duration::days(1)
        ),
    )
    .await;
    let (st, fin) = post(
        &mut admin,
        &format!("/api/v1/evaluations/{run_id}/finalize"),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{fin}");
    let (ev_id, content) = built(
        &mut admin,
        json!({"kind": "evaluation", "period": y.to_string()}),
    )
    .await;
    assert_eq!(content["sources"]["run"]["id"], run_id);
    assert_eq!(
        content["sources"]["run"]["results_hash"],
        fin["results_hash"]
    );
    let results = admin
        .get(&format!("/api/v1/evaluations/{run_id}/results"))
        .await
        .json();
    let rows = table(&content, "表2");
    for r in results["items"].as_array().unwrap() {
        let cells = row(rows, r["name"].as_str().unwrap());
        let total = r["final_total"].as_i64().unwrap();
        let shown = cells[cells.len() - 2].replace('−', "-").replace('+', "");
        assert_eq!(shown.parse::<i64>().unwrap(), total, "{cells:?}");
        assert_eq!(
            cells[cells.len() - 1].is_empty(),
            !r["final_no_2a"].as_bool().unwrap()
        );
    }
    let (st, issued) = post(
        &mut admin,
        &format!("/api/v1/circulars/{ev_id}/issue"),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{issued}");
    assert_eq!(
        issued["doc_number"].as_str(),
        Some(format!("济建房字〔{y}〕1号").as_str())
    );
    let pdf = file(&mut admin, ev_id, "pdf").await;
    let text = squeeze(&pdf_text(&pdf));
    assert!(text.contains(&format!("济建房字〔{y}〕1号")), "{text}");
    assert!(
        text.contains(&format!("评价批次#{run_id}")),
        "the footer cites the run: {text}"
    );
    // County B's officer sees the city's issued circulars, not county A's.
    let seen: Vec<i64> = ob.get("/api/v1/circulars").await.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(seen, vec![ev_id]);

    // The pages: the list, the circular as it reads, issuing from the page.
    let page = oa.get(&format!("/circulars/{org_id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("任城区住建字"));
    let csrf = admin.csrf.clone().unwrap();
    let r = admin
        .post_form(&format!("/circulars/{hot_id}/issue"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(admin.get("/circulars").await.text().contains("济建房字"));
    assert_eq!(
        eb.get(&format!("/circulars/{org_id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // The public page lists issued circulars only, with nothing personal.
    let (_, draft) = create(&mut admin, json!({"kind": "org", "period": y.to_string()})).await;
    let draft = draft["id"].as_i64().unwrap();
    let mut anon = app.client();
    assert_eq!(
        anon.get("/api/v1/public/circulars").await.status,
        StatusCode::NOT_FOUND
    );
    app.configure(|c| c.public_page = true);
    let mut anon = app.client();
    let public = anon.get("/api/v1/public/circulars").await;
    assert_eq!(public.status, StatusCode::OK);
    let ids: Vec<i64> = public.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(
        !ids.contains(&draft) && ids.contains(&ev_id) && ids.len() == 3,
        "{ids:?}"
    );
    let text = public.text();
    assert!(
        !text.contains("admin") && !text.contains("officer_a"),
        "{text}"
    );
    assert_eq!(
        anon.get(&format!("/api/v1/public/circulars/{draft}/file?format=pdf"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        anon.get(&format!("/api/v1/public/circulars/{ev_id}/file?format=pdf"))
            .await
            .status,
        StatusCode::OK
    );
    let page = anon.get("/public").await.text();
    assert!(page.contains(&format!("济建房字〔{y}〕1号")));

    // The wording is read from the configured folder at each build: an edit shows without a
    // rebuild, and a mistake names the file and the item.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("common.toml"),
        "issuer = \"某某市住房和城乡建设局\"\ncity = \"全市\"\naddressee = \"各单位：\"\ndoc_prefix = \"某建字\"\ncounty_issuer = \"{county}住建局\"\ncounty_addressee = \"{county}：\"\ncounty_doc_prefix = \"{county}字\"",
    )
    .unwrap();
    let path = dir.path().to_path_buf();
    app.configure(|c| c.reports_dir = path);
    let mut admin = app.login("admin").await;
    let (_, content) = built(
        &mut admin,
        json!({"kind": "hotline", "period": y.to_string()}),
    )
    .await;
    assert_eq!(content["issuer"], "某某市住房和城乡建设局");
    std::fs::write(
        dir.path().join("hotline.toml"),
        "title = \"{scope}{period}{nonsense}\"",
    )
    .unwrap();
    let (st, err) = create(
        &mut admin,
        json!({"kind": "hotline", "period": y.to_string()}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let field = err["error"]["field"].as_str().unwrap();
    assert!(
        field.ends_with("hotline.toml: title") || field.contains("hotline.toml"),
        "{err}"
    );
}
both!(circulars_end_to_end);

/// A monthly hotline circular before any import: every rate reads 无数据, never 0 %, and
/// the ranking says nobody is ranked instead of listing zeros.
async fn circular_without_data(app: TestApp) {
    app.seed().await;
    let mut admin = app.login("admin").await;
    let (id, content) = built(&mut admin, json!({"kind": "hotline", "period": "2025-03"})).await;
    let text = content.to_string();
    assert!(text.contains("无数据") && !text.contains("0.0%"), "{text}");
    // No ticket imported at all: the counts are unknown too, not 0.
    assert!(text.contains("尚未导入本平台"), "{text}");
    assert!(text.contains("不进行综合排名"));
    let (text, _) = docx_text(&file(&mut admin, id, "docx").await);
    assert!(text.contains("2025年3月"));
}
both!(circular_without_data);

/// The CLI builds from the same data, writes the three files and issues on request; a bad
/// format is refused before anything is built.
async fn circular_cli(app: TestApp) {
    build_city(&app).await;
    let y = aftercare::time::today().year();
    let out = tempfile::tempdir().unwrap();
    let args = |format: &str| aftercare::circulars::cli::CircularArgs {
        kind: "hotline".into(),
        period: y.to_string(),
        county: Some("370811".into()),
        format: format.split(',').map(String::from).collect(),
        out: out.path().to_path_buf(),
        issue: true,
    };
    let actor = aftercare::audit::Actor::system("cli");
    let err = aftercare::circulars::cli::run(args("docx,odt"), app.db(), &app.state.config, &actor)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("format"), "{err}");
    assert_eq!(app.count("circulars").await, 0);
    let code =
        aftercare::circulars::cli::run(args("docx,pdf,html"), app.db(), &app.state.config, &actor)
            .await
            .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let mut files: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    let number = format!("任城区住建字〔{y}〕1号");
    let pdf = std::fs::read(
        files
            .iter()
            .find(|f| f.extension().unwrap() == "pdf")
            .unwrap(),
    )
    .unwrap();
    let text: String = pdf_text(&pdf).split_whitespace().collect();
    assert!(text.contains(&number) && text.contains("任城区"), "{text}");
    let html = std::fs::read_to_string(
        files
            .iter()
            .find(|f| f.extension().unwrap() == "html")
            .unwrap(),
    )
    .unwrap();
    assert!(html.contains(&number) && html.contains("<svg"));
}
both!(circular_cli);
