//! Bounded work: a pixel bomb, an enormous staff list, and integers at the edge of their
//! types in query strings and filings, each refused with a 4xx naming the field, never a 500;
//! and an ordinary filing still goes through.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::support::{Client, Resp, TestApp};

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend(kind);
    out.extend(data);
    let crc = crc32(&out[start..]);
    out.extend(crc.to_be_bytes());
}

/// A PNG of a few dozen bytes whose header declares `side`×`side` grey pixels: a decoder that
/// trusted it would allocate side² bytes before noticing the data is missing.
fn pixel_bomb(side: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(side.to_be_bytes());
    ihdr.extend(side.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit greyscale, deflate, no filter, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    // One stored deflate block holding the first row's filter byte and a few pixels.
    let row = [0u8; 16];
    let mut idat = vec![0x78, 0x01, 0x01];
    idat.extend((row.len() as u16).to_le_bytes());
    idat.extend((!(row.len() as u16)).to_le_bytes());
    idat.extend(row);
    let (a, b) = row.iter().fold((1u32, 0u32), |(a, b), &x| {
        ((a + u32::from(x)) % 65521, (b + a + u32::from(x)) % 65521)
    });
    idat.extend(((b << 16) | a).to_be_bytes());
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([30, 120, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn board(width: Value, height: Value) -> Value {
    json!({"kind": "notice_board", "place": {"type": "org_office"}, "width_cm": width, "height_cm": height,
        "contents": {"service_content": true, "responsible_person": true, "office_address": true,
            "service_phone": true, "guidance_phone": true}})
}

fn establishment(staff: Vec<Value>) -> Value {
    json!({
        "kind": "establishment", "manager_name": "王经理", "manager_mobile": "13905371111",
        "office_address": "济宁市任城区共青团路1号", "hotline": "0537-2345678", "staff": staff,
        "fund_fen": 5_000_000, "established_on": "2023-03-01", "independent_department": true
    })
}

fn staff(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"name": format!("员工{i}"), "role": "客服专员", "mobile": format!("139{i:08}")}))
        .collect()
}

async fn create(c: &mut Client<'_>, enterprise: i64, payload: &Value) -> Resp {
    c.send_json(
        Method::POST,
        &format!("/api/v1/enterprises/{enterprise}/filings"),
        payload,
    )
    .await
}

fn assert_field(r: &Resp, status: StatusCode, field: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.json()["error"]["field"], field, "{}", r.text());
}

async fn pixel_bomb_is_refused_before_decoding(app: TestApp) {
    let s = app.seed().await;
    let mut e = app.login("ent_a").await;
    let r = create(&mut e, s.ent_a, &board(json!(120), json!(90))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();

    let bomb = pixel_bomb(8000);
    assert!(bomb.len() < 200, "{} bytes", bomb.len());
    let started = Instant::now();
    let r = e
        .post_bytes(
            &format!("/api/v1/filings/{id}/files?slot=photo&file_name=bomb.png"),
            bomb,
        )
        .await;
    assert_field(&r, StatusCode::UNPROCESSABLE_ENTITY, "photo");
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("8000×8000") && message.contains("bomb.png"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(app.count("filing_files").await, 0);
    assert_eq!(app.count("blobs").await, 0);
    assert_eq!(e.get("/healthz").await.status, StatusCode::OK);

    // The same photo at a sane size is taken, and the filing goes through.
    let r = e
        .post_bytes(
            &format!("/api/v1/filings/{id}/files?slot=photo&file_name=board.png"),
            png(40, 30),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = e
        .request(
            Method::POST,
            &format!("/api/v1/filings/{id}/submit"),
            None,
            Vec::new(),
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(app.count("filing_files").await, 1);
}
both!(pixel_bomb_is_refused_before_decoding);

async fn pixel_limit_comes_from_config(mut app: TestApp) {
    let s = app.seed().await;
    let mut config = (*app.state.config).clone();
    config.max_image_pixels = 40 * 30 - 1;
    app.state.config = std::sync::Arc::new(config);
    app.router = aftercare::web::router(app.state.clone());
    let mut e = app.login("ent_a").await;
    let id = create(&mut e, s.ent_a, &board(json!(120), json!(90)))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let r = e
        .post_bytes(
            &format!("/api/v1/filings/{id}/files?slot=photo&file_name=board.png"),
            png(40, 30),
        )
        .await;
    assert_field(&r, StatusCode::UNPROCESSABLE_ENTITY, "photo");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("40×30"));
    assert_eq!(app.count("filing_files").await, 0);
}
both!(pixel_limit_comes_from_config);

async fn huge_staff_lists_are_refused_quickly(app: TestApp) {
    let s = app.seed().await;
    let mut e = app.login("ent_a").await;

    let started = Instant::now();
    let r = create(&mut e, s.ent_a, &establishment(staff(30_000))).await;
    assert_field(&r, StatusCode::UNPROCESSABLE_ENTITY, "staff");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // The same through the HTML form, one line per member.
    let lines: Vec<String> = (0..30_000)
        .map(|i| format!("员工{i} 客服专员 139{i:08}"))
        .collect();
    let text = lines.join("\n");
    let started = Instant::now();
    let r = e
        .request(
            Method::POST,
            "/filings/new?kind=establishment",
            Some("application/x-www-form-urlencoded"),
            serde_urlencoded::to_string([
                ("manager_name", "王经理"),
                ("manager_mobile", "13905371111"),
                ("office_address", "济宁市任城区共青团路1号"),
                ("hotline", "0537-2345678"),
                ("staff", text.as_str()),
                ("fund_yuan", "5万"),
                ("established_on", "2023-03-01"),
                ("independent_department", "on"),
            ])
            .unwrap()
            .into_bytes(),
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("专职工作人员最多500名"));
    assert!(started.elapsed() < Duration::from_secs(3));

    // At the limit, a repeat at the very end is still found.
    let mut list = staff(500);
    list[499]["mobile"] = list[0]["mobile"].clone();
    let r = create(&mut e, s.ent_a, &establishment(list)).await;
    assert_field(&r, StatusCode::UNPROCESSABLE_ENTITY, "staff");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("重复"));
    assert_eq!(app.count("filings").await, 0);

    // An ordinary establishment filing still works.
    let r = create(&mut e, s.ent_a, &establishment(staff(3))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(app.count("filings").await, 1);
}
both!(huge_staff_lists_are_refused_quickly);

async fn integers_at_the_edge_are_refused_with_the_field(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let max = i64::MAX;
    for path in [
        format!("/api/v1/filings?page={max}"),
        format!("/api/v1/enterprises?page={max}"),
        format!("/api/v1/projects?page={max}"),
        format!("/api/v1/hotline/tickets?page={max}"),
    ] {
        let r = admin.get(&path).await;
        assert_field(&r, StatusCode::UNPROCESSABLE_ENTITY, "page");
    }
    // The last page there can be is still a page (an empty one).
    let r = admin.get("/api/v1/filings?page=1000000").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let year_max = i32::MAX;
    for (path, field) in [
        (
            format!("/api/v1/hotline/metrics?year={year_max}&month=12"),
            "year",
        ),
        (format!("/api/v1/hotline/metrics?year={year_max}"), "year"),
        ("/api/v1/hotline/metrics?year=2025&month=13".into(), "month"),
        ("/api/v1/hotline/metrics?year=2025&month=0".into(), "month"),
        (format!("/api/v1/hotline/tickets?year={year_max}"), "year"),
        ("/api/v1/hotline/tickets?year=2025&month=13".into(), "month"),
    ] {
        let r = admin.get(&path).await;
        assert_field(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    // Pages answer with an error page, not a 500.
    for path in [
        format!("/hotline/rankings?year={year_max}"),
        format!("/hotline?year={year_max}"),
        format!("/hotline?page={max}"),
        format!("/enterprises/{}/hotline?year={year_max}", s.ent_a),
        format!("/audit?page={max}"),
        "/hotline/rankings?year=abc".into(),
    ] {
        let r = admin.get(&path).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
    let r = admin.get("/hotline/rankings?year=2025").await;
    assert_eq!(r.status, StatusCode::OK);

    // Board sizes: negative, zero and absurd are refused naming the side.
    let mut e = app.login("ent_a").await;
    for (w, h, field) in [
        (json!(-9_223_372_036_854_775_688i64), json!(90), "width_cm"),
        (json!(i64::MAX), json!(90), "width_cm"),
        (json!(120), json!(0), "height_cm"),
        (json!(120), json!(10_001), "height_cm"),
    ] {
        let r = create(&mut e, s.ent_a, &board(w, h)).await;
        assert_field(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    // Past i64 the JSON itself does not fit: still a client error.
    let r = e
        .request(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_a),
            Some("application/json"),
            board(json!(120), json!(90))
                .to_string()
                .replace("\"width_cm\":120", "\"width_cm\":99999999999999999999999")
                .into_bytes(),
            true,
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.text().contains("width_cm"), "{}", r.text());

    // The same through the form.
    let r = e
        .request(
            Method::POST,
            "/filings/new?kind=notice_board",
            Some("application/x-www-form-urlencoded"),
            serde_urlencoded::to_string([
                ("place", "org_office"),
                ("width_cm", "-9223372036854775688"),
                ("height_cm", "90"),
                ("c_service_content", "on"),
                ("c_responsible_person", "on"),
                ("c_office_address", "on"),
                ("c_service_phone", "on"),
                ("c_guidance_phone", "on"),
            ])
            .unwrap()
            .into_bytes(),
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("1–10000 厘米"), "{}", r.text());
    assert_eq!(app.count("filings").await, 0);

    // A regulation board is still accepted.
    let r = create(&mut e, s.ent_a, &board(json!(120), json!(90))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}
both!(integers_at_the_edge_are_refused_with_the_field);

async fn alias_lists_are_bounded(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let aliases: Vec<String> = (0..51).map(|i| format!("甲花园{i}期")).collect();
    let r = admin
        .send_json(
            Method::PUT,
            &format!("/api/v1/projects/{}", s.proj_a),
            &json!({"enterprise_id": s.ent_a, "county_id": s.county_a, "name": "甲花园",
                "address": "济宁市某路1号", "sales_site_open": true, "delivery_date": "2023-05-01",
                "units_delivered": 300, "aliases": aliases}),
        )
        .await;
    assert_field(&r, StatusCode::UNPROCESSABLE_ENTITY, "aliases");
    // Repeats collapse, so many copies of a few names are fine.
    let repeated: Vec<&str> = (0..2000).map(|i| ["甲园", "甲苑"][i % 2]).collect();
    let r = admin
        .send_json(
            Method::PUT,
            &format!("/api/v1/projects/{}", s.proj_a),
            &json!({"enterprise_id": s.ent_a, "county_id": s.county_a, "name": "甲花园",
                "address": "济宁市某路1号", "sales_site_open": true, "delivery_date": "2023-05-01",
                "units_delivered": 300, "aliases": repeated}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let got = admin
        .get(&format!("/api/v1/projects/{}", s.proj_a))
        .await
        .json();
    assert_eq!(got["aliases"], json!(["甲园", "甲苑"]));
}
both!(alias_lists_are_bounded);
