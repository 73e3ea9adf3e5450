//! XLSX exports of the lists through the real router: parsed back, with Chinese headers, the
//! same scope and filters as the list, dates as date cells, and the row limit.

use axum::http::StatusCode;
use calamine::{Data, Reader};

use crate::both;
use crate::support::TestApp;

fn sheet(bytes: &[u8]) -> calamine::Range<Data> {
    let mut book: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("an xlsx");
    let name = book.sheet_names()[0].clone();
    book.worksheet_range(&name).expect("a sheet")
}

fn text(d: &Data) -> String {
    d.to_string()
}

async fn list_exports(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let mut ob = app.login("officer_b").await;

    // Enterprises: everything for the city, the county's own for its officer, and the filter.
    let r = admin.get("/api/v1/exports/enterprises").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .contains("spreadsheetml"));
    let all = sheet(&r.body);
    assert_eq!(text(&all[(0, 0)]), "统一社会信用代码");
    assert_eq!(text(&all[(0, 1)]), "企业名称");
    assert_eq!(all.height(), 4, "header and three enterprises");
    let own = sheet(&ob.get("/api/v1/exports/enterprises").await.body);
    assert_eq!(own.height(), 2);
    assert_eq!(text(&own[(1, 1)]), "兖州丙地产有限公司");
    let filtered = sheet(
        &admin
            .get(&format!(
                "/api/v1/exports/enterprises?county_id={}",
                s.county_a
            ))
            .await
            .body,
    );
    assert_eq!(filtered.height(), 3);

    // Projects: a delivery date is a date cell.
    let projects = sheet(&admin.get("/api/v1/exports/projects").await.body);
    assert_eq!(text(&projects[(0, 5)]), "交付日期");
    assert!(
        matches!(projects[(1, 5)], Data::DateTime(_)),
        "{:?}",
        projects[(1, 5)]
    );
    assert!(matches!(projects[(1, 6)], Data::Float(f) if f == 300.0));

    // Cases and filings answer with their headers even when empty; an enterprise sees its own.
    let cases = sheet(&admin.get("/api/v1/exports/cases").await.body);
    assert_eq!(text(&cases[(0, 0)]), "案号");
    let mut ea = app.login("ent_a").await;
    let filings = ea.get("/api/v1/exports/filings").await;
    assert_eq!(filings.status, StatusCode::OK);
    assert_eq!(text(&sheet(&filings.body)[(0, 3)]), "类型");
    let tickets = ea.get("/api/v1/exports/tickets?year=2025").await;
    assert_eq!(tickets.status, StatusCode::OK);

    // Rankings: officers only; a rate with no data is "无数据", never 0.
    let r = admin.get("/api/v1/exports/rankings?year=2025").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(text(&sheet(&r.body)[(0, 5)]), "每百套投诉");
    assert_eq!(
        ea.get("/api/v1/exports/rankings?year=2025").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin
            .get("/api/v1/exports/rankings?year=2025&month=13")
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // A bad filter names its field, as the list does.
    let r = admin.get("/api/v1/exports/tickets?year=abc").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("year"));
    // The list pages link their export with the filters in force.
    let page = admin
        .get(&format!("/enterprises?county_id={}", s.county_a))
        .await;
    assert!(
        page.text().contains(&format!(
            "/api/v1/exports/enterprises?county_id={}",
            s.county_a
        )),
        "{}",
        page.text()
    );
}
both!(list_exports);

#[test]
fn an_export_past_the_limit_is_refused_naming_the_filter() {
    let err = aftercare::sheet::check_total(aftercare::sheet::MAX_ROWS as i64 + 1).unwrap_err();
    assert!(err.to_string().contains("请缩小筛选范围"), "{err}");
    assert!(aftercare::sheet::check_total(aftercare::sheet::MAX_ROWS as i64).is_ok());
}
