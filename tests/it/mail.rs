//! Mail: the outbox sent over SMTP to a real (tiny) server started in the test, with the
//! headers and the decoded Chinese subject and parts checked; retries while the server is
//! down; no duplicate after a restart; the same Message-ID after a lost lease; two workers
//! delivering each of 50 messages once; the file transport's `.eml`; the filing review's
//! templated message; the admin page and API with retry, and their denials; the daily digest
//! once per recipient and day.

use aftercare::audit::Actor;
use aftercare::notify::config::{MailConfig, Tls, TransportKind};
use aftercare::notify::outbox::{self, Status};
use aftercare::notify::templates::{FieldReason, FilingApproved, FilingReturned};
use aftercare::notify::transport::{self, Transport};
use aftercare::notify::worker::Worker;
use aftercare::notify::{digest, Mail};
use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use serde_json::json;

use crate::both;
use crate::support::{code, hidden, SmtpSink, TestApp};

// ---- a tiny MIME reader: enough to check what a mail client would show ----

struct Parsed {
    headers: Vec<(String, String)>,
    body: String,
}

impl Parsed {
    fn new(raw: &str) -> Parsed {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push_str(line);
                }
            } else if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        Parsed {
            headers,
            body: body.to_string(),
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    fn decoded(&self) -> String {
        let encoding = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-transfer-encoding"))
            .map(|(_, v)| v.to_ascii_lowercase())
            .unwrap_or_default();
        let bytes = match encoding.as_str() {
            "base64" => base64(&self.body),
            "quoted-printable" => quoted_printable(&self.body),
            _ => self.body.clone().into_bytes(),
        };
        String::from_utf8(bytes).expect("UTF-8 part")
    }

    /// The parts of a multipart body, each parsed.
    fn parts(&self) -> Vec<Parsed> {
        let ct = self.header("Content-Type");
        let boundary = ct
            .split("boundary=")
            .nth(1)
            .expect("boundary")
            .trim_matches('"')
            .split(['"', ';'])
            .next()
            .unwrap()
            .to_string();
        self.body
            .split(&format!("--{boundary}"))
            .skip(1)
            .filter(|p| !p.starts_with("--"))
            .map(|p| Parsed::new(p.trim_start_matches("\r\n").trim_end_matches("\r\n")))
            .collect()
    }

    fn part(&self, mime: &str) -> String {
        self.parts()
            .into_iter()
            .find(|p| p.header("Content-Type").starts_with(mime))
            .unwrap_or_else(|| panic!("no {mime} part"))
            .decoded()
    }
}

fn base64(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in s.bytes().filter(|c| A.contains(c)) {
        acc = (acc << 6) | A.iter().position(|a| *a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn quoted_printable(s: &str) -> Vec<u8> {
    let s = s.replace("=\r\n", "");
    let b = s.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < b.len() {
        if b[i] == b'=' && i + 3 <= b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("QP hex"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// RFC 2047: `=?utf-8?b?…?=` and `=?utf-8?q?…?=` words, adjacent ones joined.
fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut last_encoded = false;
    for token in v.split_whitespace() {
        let word = token
            .strip_prefix("=?")
            .and_then(|t| t.strip_suffix("?="))
            .and_then(|t| {
                let mut it = t.splitn(3, '?');
                Some((it.next()?, it.next()?, it.next()?))
            });
        match word {
            Some((_, enc, text)) => {
                let bytes = if enc.eq_ignore_ascii_case("b") {
                    base64(text)
                } else {
                    quoted_printable(&text.replace('_', " "))
                };
                // Blanks between two encoded words are not part of the text.
                if !out.is_empty() && !last_encoded {
                    out.push(' ');
                }
                out.push_str(&String::from_utf8(bytes).expect("UTF-8 word"));
                last_encoded = true;
            }
            None => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(token);
                last_encoded = false;
            }
        }
    }
    out
}

// ---- helpers ----

fn smtp_config(sink: &SmtpSink) -> MailConfig {
    MailConfig {
        transport: TransportKind::Smtp,
        from: "济宁市住建局 <noreply@zjj.example.cn>".into(),
        smtp_host: "127.0.0.1".into(),
        smtp_port: sink.addr.port(),
        smtp_tls: Tls::None,
        message_id_host: "zjj.example.cn".into(),
        timeout_secs: 5,
        batch_size: 10,
        max_attempts: 4,
        ..MailConfig::default()
    }
}

fn worker(app: &TestApp, m: &MailConfig) -> Worker {
    let t = Transport::from_config(m, app.dir.path()).expect("transport");
    Worker::new(app.db().clone(), m, t).expect("worker")
}

async fn queue(app: &TestApp, to: &str, mail: &impl Mail) -> i64 {
    let mut tx = app.db().begin().await.expect("begin");
    let id = aftercare::notify::enqueue_id(&mut tx.conn(), to, mail)
        .await
        .expect("enqueue")
        .expect("queued");
    tx.commit().await.expect("commit");
    id
}

async fn row(app: &TestApp, id: i64) -> outbox::Message {
    let mut p = app.db().acquire().await.expect("acquire");
    outbox::get(&mut p.conn(), id).await.expect("row")
}

fn returned() -> FilingReturned {
    FilingReturned {
        enterprise: "济宁甲置业有限公司".into(),
        filing: "设立备案（第3号）".into(),
        reasons: vec![FieldReason {
            field: "专职工作人员".into(),
            reason: "<b>不足2人</b>，请补充".into(),
        }],
        reviewer: "王科长".into(),
    }
}

fn approved(n: i64) -> FilingApproved {
    FilingApproved {
        enterprise: "济宁甲置业有限公司".into(),
        filing: format!("经理变更（第{n}号）"),
        late: true,
        reviewer: "王科长".into(),
    }
}

// ---- SMTP ----

async fn delivers_over_smtp_with_decodable_chinese(app: TestApp) {
    let sink = SmtpSink::start().await;
    let m = smtp_config(&sink);
    let id = queue(&app, "kefu@example.cn", &returned()).await;
    let pass = worker(&app, &m).run_once(Utc::now()).await.expect("pass");
    assert_eq!((pass.claimed, pass.sent), (1, 1), "{pass:?}");

    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].from, "noreply@zjj.example.cn");
    assert_eq!(got[0].to, vec!["kefu@example.cn".to_string()]);
    let mail = Parsed::new(&got[0].data);
    assert_eq!(
        mail.header("Message-ID"),
        format!("<outbox-{id}@zjj.example.cn>")
    );
    assert_eq!(
        decode_words(mail.header("Subject")),
        "【备案退回】设立备案（第3号）"
    );
    assert!(decode_words(mail.header("From")).contains("济宁市住建局"));
    assert!(mail.header("To").contains("kefu@example.cn"));
    assert!(mail.header("Date").contains(':'));
    assert!(mail
        .header("Content-Type")
        .starts_with("multipart/alternative"));
    let text = mail.part("text/plain");
    assert!(text.contains("济宁甲置业有限公司："), "{text}");
    assert!(
        text.contains("- 专职工作人员：<b>不足2人</b>，请补充"),
        "{text}"
    );
    assert!(text.contains("审核人：王科长"));
    let html = mail.part("text/html");
    assert!(html.contains("专职工作人员"), "{html}");
    assert!(
        !html.contains("<b>不足"),
        "user text must be escaped: {html}"
    );
    assert!(
        html.contains("&#60;b&#62;不足") || html.contains("&lt;b&gt;不足"),
        "{html}"
    );

    let r = row(&app, id).await;
    assert_eq!(r.status, Status::Sent);
    assert_eq!(r.attempts, 1);
    assert!(r.sent_at.is_some());
    assert!(
        r.reply.as_deref().unwrap_or("").starts_with("250"),
        "{:?}",
        r.reply
    );
    assert_eq!(
        r.message_id.as_deref(),
        Some(format!("<outbox-{id}@zjj.example.cn>").as_str())
    );
}
both!(delivers_over_smtp_with_decodable_chinese);

async fn retried_while_down_delivered_once_up(app: TestApp) {
    let mut sink = SmtpSink::start().await;
    sink.stop().await;
    let m = smtp_config(&sink);
    let id = queue(&app, "kefu@example.cn", &approved(7)).await;
    let w = worker(&app, &m);
    let t0 = Utc::now();

    let p = w.run_once(t0).await.expect("pass");
    assert_eq!((p.claimed, p.retrying), (1, 1), "{p:?}");
    let r = row(&app, id).await;
    assert_eq!(r.status, Status::Queued);
    assert_eq!(r.attempts, 1);
    assert!(!r.error_text().is_empty());
    let wait = r.next_attempt_at - t0;
    assert!(
        wait > Duration::seconds(59) && wait <= Duration::seconds(61),
        "{wait}"
    );

    // Not due before its next attempt.
    assert_eq!(
        w.run_once(t0 + Duration::seconds(30))
            .await
            .unwrap()
            .claimed,
        0
    );
    // Due, still down: the wait doubles.
    let t1 = t0 + Duration::seconds(61);
    assert_eq!(w.run_once(t1).await.unwrap().retrying, 1);
    let r = row(&app, id).await;
    assert_eq!(r.attempts, 2);
    let wait = r.next_attempt_at - t1;
    assert!(
        wait > Duration::seconds(119) && wait <= Duration::seconds(121),
        "{wait}"
    );

    // The server is back on the same port: delivered, once.
    sink.restart().await;
    let t2 = t1 + Duration::seconds(121);
    let p = w.run_once(t2).await.expect("pass");
    assert_eq!(p.sent, 1, "{p:?}");
    assert_eq!(sink.messages().len(), 1);
    let r = row(&app, id).await;
    assert_eq!((r.status, r.attempts), (Status::Sent, 3));

    // A restarted worker (a new process) finds nothing to send, now or much later.
    let again = worker(&app, &m);
    assert_eq!(again.drain().await.unwrap().claimed, 0);
    assert_eq!(
        again
            .run_once(t2 + Duration::days(2))
            .await
            .unwrap()
            .claimed,
        0
    );
    assert_eq!(sink.messages().len(), 1);
}
both!(retried_while_down_delivered_once_up);

async fn out_of_attempts_fails_until_retried(app: TestApp) {
    let mut sink = SmtpSink::start().await;
    sink.stop().await;
    let m = MailConfig {
        max_attempts: 2,
        ..smtp_config(&sink)
    };
    let id = queue(&app, "kefu@example.cn", &approved(8)).await;
    let w = worker(&app, &m);
    let t0 = Utc::now();
    assert_eq!(w.run_once(t0).await.unwrap().retrying, 1);
    let p = w.run_once(t0 + Duration::minutes(2)).await.unwrap();
    assert_eq!(p.failed, 1, "{p:?}");
    let r = row(&app, id).await;
    assert_eq!((r.status, r.attempts), (Status::Failed, 2));
    // Failed stays failed, however long one waits.
    assert_eq!(
        w.run_once(t0 + Duration::days(30)).await.unwrap().claimed,
        0
    );

    // A recipient that is not an address fails at once, without a connection.
    let bad = queue(&app, "kefu at example.cn", &approved(9)).await;
    assert_eq!(w.run_once(Utc::now()).await.unwrap().failed, 1);
    let r = row(&app, bad).await;
    assert_eq!((r.status, r.attempts), (Status::Failed, 1));
    assert!(
        r.error_text().contains("收件地址“kefu at example.cn”无效"),
        "{}",
        r.error_text()
    );
}
both!(out_of_attempts_fails_until_retried);

async fn lost_lease_resends_with_the_same_message_id(app: TestApp) {
    let sink = SmtpSink::start().await;
    let m = smtp_config(&sink);
    let id = queue(&app, "kefu@example.cn", &approved(9)).await;
    let t0 = Utc::now();
    // Worker A claims, the server accepts, and A dies before recording it.
    let claimed = {
        let mut p = app.db().acquire().await.unwrap();
        outbox::claim(&mut p.conn(), "crashed", t0, t0 + Duration::seconds(1), 10)
            .await
            .unwrap()
    };
    assert_eq!(claimed.len(), 1);
    let from = m.from.parse().unwrap();
    let email = transport::build(&claimed[0], &from, &m.message_id_host).unwrap();
    let t = Transport::from_config(&m, app.dir.path()).unwrap();
    t.send(id, email).await.expect("accepted");
    // While A's lease lasts, nobody else takes it.
    let b = worker(&app, &m);
    assert_eq!(b.run_once(t0).await.unwrap().claimed, 0);
    // After it, B sends again: the copy carries the same Message-ID.
    let p = b.run_once(t0 + Duration::seconds(2)).await.unwrap();
    assert_eq!(p.sent, 1, "{p:?}");
    let ids: Vec<String> = sink
        .messages()
        .iter()
        .map(|r| Parsed::new(&r.data).header("Message-ID").to_string())
        .collect();
    assert_eq!(ids, vec![format!("<outbox-{id}@zjj.example.cn>"); 2]);
    let r = row(&app, id).await;
    assert_eq!((r.status, r.attempts), (Status::Sent, 2));
    // Sent is final: A's late failure report changes nothing, and no one sends it again.
    let mut p = app.db().acquire().await.unwrap();
    assert!(
        !outbox::mark_failed(&mut p.conn(), id, "crashed", "late", None)
            .await
            .unwrap()
    );
    drop(p);
    assert_eq!(row(&app, id).await.status, Status::Sent);
    assert_eq!(
        worker(&app, &m)
            .run_once(t0 + Duration::days(1))
            .await
            .unwrap()
            .claimed,
        0
    );
}
both!(lost_lease_resends_with_the_same_message_id);

async fn two_workers_deliver_each_message_once(app: TestApp) {
    let sink = SmtpSink::start().await;
    let m = MailConfig {
        batch_size: 5,
        ..smtp_config(&sink)
    };
    let mut ids = Vec::new();
    for n in 0..50 {
        ids.push(queue(&app, &format!("e{n}@example.cn"), &approved(n)).await);
    }
    let (a, b) = (worker(&app, &m), worker(&app, &m));
    let (pa, pb) = tokio::join!(a.drain(), b.drain());
    let (pa, pb) = (pa.expect("worker a"), pb.expect("worker b"));
    assert_eq!(pa.sent + pb.sent, 50, "{pa:?} {pb:?}");
    assert!(
        pa.sent > 0 && pb.sent > 0,
        "both workers took part: {pa:?} {pb:?}"
    );
    let mut seen: Vec<String> = sink
        .messages()
        .iter()
        .map(|r| Parsed::new(&r.data).header("Message-ID").to_string())
        .collect();
    assert_eq!(seen.len(), 50);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 50, "each Message-ID once");
    for id in ids {
        assert_eq!(row(&app, id).await.status, Status::Sent);
    }
}
both!(two_workers_deliver_each_message_once);

// ---- the file transport ----

async fn file_transport_writes_one_parseable_eml(app: TestApp) {
    let m = MailConfig::default();
    assert_eq!(m.transport, TransportKind::File);
    let id = queue(&app, "kefu@example.cn", &approved(5)).await;
    let w = worker(&app, &m);
    assert_eq!(w.drain().await.unwrap().sent, 1);
    let dir = app.dir.path().join("mail");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read_to_string(dir.join(format!("outbox-{id}.eml"))).expect("eml");
    let mail = Parsed::new(&raw);
    assert_eq!(
        decode_words(mail.header("Subject")),
        "【备案通过】经理变更（第5号）"
    );
    assert_eq!(
        mail.header("Message-ID"),
        format!("<outbox-{id}@localhost>")
    );
    let text = mail.part("text/plain");
    assert!(
        text.contains("已审核通过（该变更报备逾期，已记录）。"),
        "{text}"
    );
    assert!(mail
        .part("text/html")
        .contains("<strong>（该变更报备逾期，已记录）</strong>"));
    let r = row(&app, id).await;
    assert_eq!(r.status, Status::Sent);
    assert!(r.reply.unwrap().contains("outbox-"));
    assert_eq!(w.drain().await.unwrap().claimed, 0);

    // A message queued before migration 0010 has no HTML part: it goes as plain text.
    let old = queue(&app, "kefu@example.cn", &approved(6)).await;
    aftercare::on_conn!(&mut app.db().acquire().await.unwrap().conn(), |c| {
        sqlx::query("UPDATE outbox SET html = '' WHERE id = $1")
            .bind(old)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })
    .unwrap();
    assert_eq!(w.drain().await.unwrap().sent, 1);
    let raw = std::fs::read_to_string(dir.join(format!("outbox-{old}.eml"))).expect("eml");
    let mail = Parsed::new(&raw);
    assert!(mail.header("Content-Type").starts_with("text/plain"));
    assert!(mail.decoded().contains("经理变更（第6号）已审核通过"));
}
both!(file_transport_writes_one_parseable_eml);

async fn the_worker_in_serve_sends_and_stops(app: TestApp) {
    let m = MailConfig {
        poll_secs: 1,
        ..MailConfig::default()
    };
    let t = Transport::from_config(&m, app.dir.path()).unwrap();
    let running = aftercare::notify::worker::spawn(app.db().clone(), m, t).expect("spawn");
    let id = queue(&app, "kefu@example.cn", &approved(1)).await;
    let mut status = Status::Queued;
    for _ in 0..100 {
        status = row(&app, id).await.status;
        if status == Status::Sent {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, Status::Sent);
    tokio::time::timeout(std::time::Duration::from_secs(10), running.stop())
        .await
        .expect("stops promptly");
}
both!(the_worker_in_serve_sends_and_stops);

// ---- the filing review writes the templated message ----

async fn review_queues_the_templated_message(app: TestApp) {
    let s = app.seed().await;
    let mut e = app.login("ent_a").await;
    let members: Vec<serde_json::Value> = (0..2)
        .map(|i| json!({"name": format!("员工{i}"), "role": "客服专员", "mobile": format!("1390537000{i}")}))
        .collect();
    let payload = json!({
        "kind": "establishment", "manager_name": "王经理", "manager_mobile": "13905371111",
        "office_address": "济宁市任城区共青团路1号", "hotline": "0537-2345678", "staff": members,
        "fund_fen": 5_000_000, "established_on": "2023-03-01", "independent_department": true
    });
    let r = e
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_a),
            &payload,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let fid = r.json()["id"].as_i64().unwrap();
    let r = e
        .request(
            Method::POST,
            &format!("/api/v1/filings/{fid}/submit"),
            None,
            Vec::new(),
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut o = app.login("officer_a").await;
    let r = o
        .send_json(
            Method::POST,
            &format!("/api/v1/filings/{fid}/reject"),
            &json!({"reasons": {"general": "<i>材料不全</i>"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = {
        let mut p = app.db().acquire().await.unwrap();
        let paging = aftercare::registry::Paging::new(None, None).unwrap();
        outbox::list(&mut p.conn(), None, None, paging)
            .await
            .unwrap()
    };
    assert_eq!(page.total, 1);
    let m = &page.items[0];
    assert_eq!(m.kind, "filing_rejected");
    assert_eq!(m.recipient, "kefu@example.cn");
    assert_eq!(
        m.subject,
        format!("【备案退回】售后服务机构设立备案（第{fid}号）")
    );
    assert!(m.body.contains("- 总体意见：<i>材料不全</i>"), "{}", m.body);
    assert!(m.body.contains("审核人：officer_a"), "{}", m.body);
    assert!(!m.html.contains("<i>材料"), "{}", m.html);
    assert_eq!(m.status, Status::Queued);
}
both!(review_queues_the_templated_message);

// ---- admin page and API ----

async fn admin_sees_and_retries_a_refused_message(app: TestApp) {
    app.seed().await;
    let sink = SmtpSink::start().await;
    sink.refuse.lock().unwrap().push("nobody".into());
    let m = smtp_config(&sink);
    let id = queue(&app, "nobody@example.cn", &returned()).await;
    let p = worker(&app, &m).run_once(Utc::now()).await.unwrap();
    assert_eq!(p.failed, 1, "a permanent refusal is not retried: {p:?}");
    let r = row(&app, id).await;
    assert_eq!((r.status, r.attempts), (Status::Failed, 1));
    assert!(r.error_text().contains("550"), "{}", r.error_text());
    assert!(
        r.error_text().contains("User unknown"),
        "{}",
        r.error_text()
    );

    // Nobody but the admin knows the page or the API exist.
    for who in ["officer_a", "ent_a"] {
        let mut c = app.login(who).await;
        assert_eq!(
            c.get("/admin/outbox").await.status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
        assert_eq!(
            c.get("/api/v1/admin/outbox").await.status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
        let csrf = c.csrf.clone().unwrap();
        let r = c
            .post_form(
                &format!("/admin/outbox/{id}/retry"),
                &[("_csrf", csrf.as_str())],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{who}");
        let r = c
            .request(
                Method::POST,
                &format!("/api/v1/admin/outbox/{id}/retry"),
                None,
                Vec::new(),
                true,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{who}");
        let page = c.get("/projects").await.text();
        assert!(!page.contains("/admin/outbox"), "no link for {who}");
    }
    assert_eq!(
        app.client().get("/api/v1/admin/outbox").await.status,
        StatusCode::UNAUTHORIZED
    );

    let mut admin = app.login("admin").await;
    let page = admin.get("/admin/outbox?status=failed").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("nobody@example.cn") && html.contains("User unknown"),
        "{html}"
    );
    assert!(html.contains(&format!("/admin/outbox/{id}/retry")));
    assert!(admin
        .get("/projects")
        .await
        .text()
        .contains("href=\"/admin/outbox\""));
    let sent = admin.get("/admin/outbox?status=sent").await.text();
    assert!(!sent.contains("nobody@example.cn"));
    let api = admin
        .get("/api/v1/admin/outbox?status=failed&per_page=10")
        .await
        .json();
    assert_eq!(api["total"], 1);
    assert_eq!(api["items"][0]["id"], id);
    assert_eq!(api["items"][0]["status"], "failed");
    assert!(api["items"][0]["last_error"]
        .as_str()
        .unwrap()
        .contains("550"));
    assert_eq!(
        admin
            .get("/api/v1/admin/outbox?status=nonsense")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // The form needs the session's CSRF token.
    let r = admin
        .post_form(&format!("/admin/outbox/{id}/retry"), &[("_csrf", "wrong")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(row(&app, id).await.status, Status::Failed);
    let csrf = hidden(&html, "_csrf");
    let r = admin
        .post_form(
            &format!("/admin/outbox/{id}/retry"),
            &[("_csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = row(&app, id).await;
    assert_eq!((r.status, r.attempts), (Status::Queued, 0));
    let audit = app.audit("outbox").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].action.as_str(), audit[0].actor.as_str()),
        ("retry", "admin")
    );
    assert_eq!(audit[0].entity_id, Some(id));
    // Only a failed message can be retried.
    let r = admin
        .request(
            Method::POST,
            &format!("/api/v1/admin/outbox/{id}/retry"),
            None,
            Vec::new(),
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // The address is fixed on the server's side: the next pass delivers it.
    sink.refuse.lock().unwrap().clear();
    assert_eq!(worker(&app, &m).run_once(Utc::now()).await.unwrap().sent, 1);
    let api = admin.get("/api/v1/admin/outbox?status=sent").await.json();
    assert_eq!(api["items"][0]["id"], id);

    // A second failure, retried through the API.
    sink.refuse.lock().unwrap().push("nobody".into());
    let id2 = queue(&app, "nobody@example.cn", &approved(2)).await;
    assert_eq!(
        worker(&app, &m).run_once(Utc::now()).await.unwrap().failed,
        1
    );
    let r = admin
        .request(
            Method::POST,
            &format!("/api/v1/admin/outbox/{id2}/retry"),
            None,
            Vec::new(),
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "queued");
    assert_eq!(app.audit("outbox").await.len(), 2);
    let doc = admin.get("/api/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/admin/outbox"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/admin/outbox/{id}/retry"]["post"].is_object());
}
both!(admin_sees_and_retries_a_refused_message);

// ---- the daily digest ----

async fn set_email(app: &TestApp, username: &str, email: &str) {
    let mut p = app.db().acquire().await.unwrap();
    let mut c = p.conn();
    aftercare::on_conn!(&mut c, |c| sqlx::query(
        "UPDATE users SET email = $1 WHERE username = $2"
    )
    .bind(email)
    .bind(username)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
}

async fn digest_once_per_recipient_and_day(app: TestApp) {
    let s = app.seed().await;
    set_email(&app, "officer_a", "a@county.example.cn").await;
    set_email(&app, "officer_b", "b@county.example.cn").await;
    set_email(&app, "ent_a", "ent@a.example.cn").await;
    set_email(&app, "admin", "admin@example.cn").await;
    // ent_b has no address.

    // A filing waiting for officer_a's review.
    let mut e = app.login("ent_a").await;
    let payload = json!({"kind": "documents", "note": "制度文件"});
    let r = e
        .send_json(
            Method::POST,
            &format!("/api/v1/enterprises/{}/filings", s.ent_a),
            &payload,
        )
        .await;
    let fid = r.json()["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{}", r.text()));
    aftercare::on_conn!(&mut app.db().acquire().await.unwrap().conn(), |c| {
        sqlx::query("UPDATE filings SET status = 'submitted', submitted_at = $2 WHERE id = $1")
            .bind(fid)
            .bind(Utc::now() - Duration::days(2))
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })
    .unwrap();

    // Tickets forwarded to ent_a: overdue, due within a day, not yet due, answered.
    let now = Utc::now();
    let local = |d: Duration| {
        (now - d)
            .with_timezone(&aftercare::time::china())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let code_a = code("91370811MA0000001").to_string();
    let mut csv = String::from("工单编号,受理时间,来源渠道,所属区县,小区名称,涉及企业,统一社会信用代码,诉求类别,诉求内容,转办时间,企业答复时间,办结时间,满意度,是否回访,回访时间,是否群体诉求\r\n");
    for (no, forwarded, answered) in [
        ("D-OVERDUE", Duration::days(4), false),
        ("D-SOON", Duration::hours(60), false),
        ("D-LATER", Duration::hours(1), false),
        ("D-ANSWERED", Duration::days(4), true),
    ] {
        let answer = if answered {
            local(Duration::days(3))
        } else {
            String::new()
        };
        csv.push_str(&format!(
            "{no},{},电话,任城区,,,{code_a},质量投诉,卫生间漏水，楼下渗水,{},{answer},,,否,,否\r\n",
            local(forwarded + Duration::hours(1)),
            local(forwarded),
        ));
    }
    let opts = aftercare::hotline::import::Options {
        base: aftercare::import::Options {
            report_dir: Some(app.dir.path().join("reports")),
            ..Default::default()
        },
        ..Default::default()
    };
    let summary = aftercare::hotline::import::import(
        app.db(),
        &Actor::system("test"),
        csv.into_bytes(),
        "d.csv",
        &opts,
    )
    .await
    .expect("import");
    assert_eq!(summary.base.inserted, 4, "{:?}", summary.base.rejections);

    let mail = MailConfig {
        base_url: "https://ac.example.cn".into(),
        ..MailConfig::default()
    };
    let day = now.with_timezone(&aftercare::time::china()).date_naive();
    // Two instances at once: each recipient gets one digest.
    let (a, b) = tokio::join!(
        digest::run(app.db(), &mail, day, now),
        digest::run(app.db(), &mail, day, now)
    );
    let (a, b) = (a.expect("a"), b.expect("b"));
    assert_eq!(a.queued + b.queued, 2, "{a:?} {b:?}");
    assert_eq!(
        a.empty + b.empty,
        1,
        "officer_b has nothing to do: {a:?} {b:?}"
    );
    let again = digest::run(app.db(), &mail, day, now).await.unwrap();
    assert_eq!(again, digest::Outcome::default());
    assert_eq!(app.count("digest_runs").await, 3);

    let page = {
        let mut p = app.db().acquire().await.unwrap();
        let paging = aftercare::registry::Paging::new(None, None).unwrap();
        outbox::list(&mut p.conn(), None, None, paging)
            .await
            .unwrap()
    };
    assert_eq!(page.total, 2);
    let find = |to: &str| {
        page.items
            .iter()
            .find(|m| m.recipient == to)
            .unwrap_or_else(|| panic!("no digest to {to}"))
    };
    let officer = find("a@county.example.cn");
    assert_eq!(officer.kind, "daily_digest");
    assert!(
        officer.subject.starts_with("【每日待办】"),
        "{}",
        officer.subject
    );
    assert!(
        officer.body.contains("济宁甲置业有限公司 制度文件公开"),
        "{}",
        officer.body
    );
    assert!(
        officer
            .body
            .contains(&format!("https://ac.example.cn/filings/{fid}")),
        "{}",
        officer.body
    );
    let ent = find("ent@a.example.cn");
    assert!(
        ent.body.contains("工单D-OVERDUE") && ent.body.contains("已逾期"),
        "{}",
        ent.body
    );
    assert!(ent.body.contains("工单D-SOON"), "{}", ent.body);
    assert!(
        !ent.body.contains("D-LATER") && !ent.body.contains("D-ANSWERED"),
        "{}",
        ent.body
    );
    assert!(
        ent.subject.contains("2项待办") && ent.subject.contains("1项已逾期"),
        "{}",
        ent.subject
    );
    assert!(
        ent.html.contains(&format!(
            "href=\"https://ac.example.cn/enterprises/{}/hotline\"",
            s.ent_a
        )),
        "{}",
        ent.html
    );

    // Before 09:30 Beijing time nothing runs; the day after, at 09:30, it does.
    let tomorrow = day.succ_opt().unwrap();
    let at = |h, m| {
        tomorrow
            .and_hms_opt(h, m, 0)
            .unwrap()
            .and_local_timezone(aftercare::time::china())
            .unwrap()
            .with_timezone(&Utc)
    };
    assert_eq!(
        digest::run_due(app.db(), &mail, at(9, 29)).await.unwrap(),
        digest::Outcome::default()
    );
    assert_eq!(app.count("digest_runs").await, 3);
    let next = digest::run_due(app.db(), &mail, at(9, 30)).await.unwrap();
    assert_eq!(next.queued + next.empty, 3, "{next:?}");
    assert_eq!(app.count("digest_runs").await, 6);
}
both!(digest_once_per_recipient_and_day);
