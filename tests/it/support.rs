//! The test application: the real router on a fresh database (a SQLite file in a temp dir,
//! or a new PostgreSQL database when `AFTERCARE_TEST_PG_URL` is set), with a client that keeps
//! cookies and the CSRF token like a browser.

use std::collections::HashMap;

use aftercare::audit::Actor;
use aftercare::auth::{user, Role};
use aftercare::config::{sqlite_url, Config};
use aftercare::db::Db;
use aftercare::registry::enterprise::{self, EnterpriseFields};
use aftercare::registry::jurisdiction::{self, JurisdictionInput};
use aftercare::registry::project::{self, ProjectFields};
use aftercare::registry::{CreditCode, Grade, Status};
use aftercare::web::{self, AppState};
use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use sqlx::Connection;
use tower::ServiceExt;

pub const PASSWORD: &str = "Test-Passw0rd!";

/// Runs a test body once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::TestApp::sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::support::TestApp::postgres().await {
                    super::$name(app).await
                }
            }
        }
    };
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

pub fn code(first17: &str) -> CreditCode {
    CreditCode::complete(first17).expect("valid test credit code")
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = sqlite_url(&dir.path().join("test.sqlite"));
        Self::start(dir, url, None).await
    }

    /// `None` (the test passes vacuously, saying so) when no PostgreSQL is configured, unless
    /// `AFTERCARE_REQUIRE_PG` is set, as CI sets it: then a missing database fails the test.
    pub async fn postgres() -> Option<TestApp> {
        let Ok(admin_url) = std::env::var("AFTERCARE_TEST_PG_URL") else {
            if std::env::var("AFTERCARE_REQUIRE_PG").is_ok() {
                panic!("AFTERCARE_REQUIRE_PG is set but AFTERCARE_TEST_PG_URL is not");
            }
            eprintln!("PostgreSQL half skipped: AFTERCARE_TEST_PG_URL is not set");
            return None;
        };
        let name = format!("aftercare_t_{}", aftercare::secret::random_hex(6));
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to AFTERCARE_TEST_PG_URL");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.ok();
        let (base, query) = match admin_url.split_once('?') {
            Some((b, q)) => (b.to_string(), format!("?{q}")),
            None => (admin_url.clone(), String::new()),
        };
        let prefix = match base.rsplit_once('/') {
            Some((p, _)) if p.contains("://") && p.len() > p.find("://").unwrap_or(0) + 3 => {
                p.to_string()
            }
            _ => base.clone(),
        };
        let url = format!("{prefix}/{name}{query}");
        let dir = tempfile::tempdir().expect("tempdir");
        Some(Self::start(dir, url, Some((admin_url, name))).await)
    }

    async fn start(dir: tempfile::TempDir, url: String, pg: Option<(String, String)>) -> TestApp {
        let db = Db::connect(&url).await.expect("connect");
        db.migrate().await.expect("migrate");
        let mut config = Config::defaults(dir.path());
        config.database_url = url;
        let state = AppState::new(db, config).expect("app state");
        TestApp {
            router: web::router(state.clone()),
            state,
            dir,
            pg,
        }
    }

    /// Switches the rule set in force (e.g. `qingdao-sample`), keeping the database.
    pub fn use_rules(&mut self, id: &str) {
        self.state.rules =
            std::sync::Arc::new(aftercare::rules::RuleSet::shipped(id).expect("rule set"));
        self.router = web::router(self.state.clone());
    }

    /// Changes the configuration (e.g. turns the public page on), keeping the database.
    pub fn configure(&mut self, change: impl FnOnce(&mut aftercare::config::Config)) {
        let mut config = (*self.state.config).clone();
        change(&mut config);
        self.state.config = std::sync::Arc::new(config);
        self.router = web::router(self.state.clone());
    }

    pub async fn count(&self, table: &str) -> i64 {
        let mut p = self.db().acquire().await.expect("acquire");
        let mut conn = p.conn();
        aftercare::on_conn!(&mut conn, |c| sqlx::query_scalar::<_, i64>(&format!(
            "SELECT COUNT(*) FROM {table}"
        ))
        .fetch_one(c)
        .await)
        .expect("count")
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("router answers");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec();
        (status, headers, body)
    }

    pub fn client(&self) -> Client<'_> {
        Client {
            app: self,
            cookies: HashMap::new(),
            csrf: None,
            bearer: None,
        }
    }

    /// Logs in through the real login form.
    pub async fn login(&self, username: &str) -> Client<'_> {
        let mut c = self.client();
        let status = c.login(username, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "login as {username}");
        c
    }

    /// A city, two counties, three enterprises, two projects and one user per role.
    pub async fn seed(&self) -> Seed {
        let actor = Actor::system("test");
        let mut tx = self.db().begin().await.expect("begin");
        let mut conn = tx.conn();
        let city = jurisdiction::create(
            &mut conn,
            &actor,
            &JurisdictionInput {
                code: "370800".into(),
                name: "济宁市".into(),
                parent_id: None,
            },
        )
        .await
        .expect("city");
        let a = jurisdiction::create(
            &mut conn,
            &actor,
            &JurisdictionInput {
                code: "370811".into(),
                name: "任城区".into(),
                parent_id: Some(city.id),
            },
        )
        .await
        .expect("county a");
        let b = jurisdiction::create(
            &mut conn,
            &actor,
            &JurisdictionInput {
                code: "370812".into(),
                name: "兖州区".into(),
                parent_id: Some(city.id),
            },
        )
        .await
        .expect("county b");
        let ent = |code17: &str, name: &str, county: i64| EnterpriseFields {
            credit_code: code(code17),
            name: name.into(),
            legal_rep: "张三".into(),
            grade: Grade::Second,
            is_local: true,
            origin: String::new(),
            parent_id: None,
            status: Status::Active,
            status_date: None,
            county_id: county,
            phone: "13800000000".into(),
            email: "kefu@example.cn".into(),
            aliases: Some(vec![format!("{}简称", &name[..6])]),
        };
        let ent_a = enterprise::insert(
            &mut conn,
            &actor,
            &ent("91370811MA0000001", "济宁甲置业有限公司", a.id),
        )
        .await
        .expect("ent a");
        let ent_a2 = enterprise::insert(
            &mut conn,
            &actor,
            &ent("91370811MA0000002", "济宁乙置业有限公司", a.id),
        )
        .await
        .expect("ent a2");
        let ent_b = enterprise::insert(
            &mut conn,
            &actor,
            &ent("91370812MA0000003", "兖州丙地产有限公司", b.id),
        )
        .await
        .expect("ent b");
        let proj = |e: i64, county: i64, name: &str| ProjectFields {
            enterprise_id: e,
            county_id: county,
            name: name.into(),
            address: "济宁市某路1号".into(),
            sales_site_open: true,
            delivery_date: chrono::NaiveDate::from_ymd_opt(2023, 5, 1),
            units_delivered: 300,
            aliases: Some(vec![]),
        };
        let proj_a = project::insert(&mut conn, &actor, &proj(ent_a.id, a.id, "甲花园"))
            .await
            .expect("proj a");
        let proj_b = project::insert(&mut conn, &actor, &proj(ent_b.id, b.id, "丙家园"))
            .await
            .expect("proj b");
        for (username, role) in [
            ("admin", Role::CityAdmin),
            ("officer_a", Role::CountyOfficer { county_id: a.id }),
            ("officer_b", Role::CountyOfficer { county_id: b.id }),
            (
                "ent_a",
                Role::Enterprise {
                    enterprise_id: ent_a.id,
                },
            ),
            (
                "ent_b",
                Role::Enterprise {
                    enterprise_id: ent_b.id,
                },
            ),
        ] {
            user::create(
                &mut conn,
                &actor,
                user::NewUser {
                    username: username.into(),
                    display_name: username.into(),
                    password: PASSWORD.into(),
                    role,
                    email: String::new(),
                },
            )
            .await
            .expect("user");
        }
        tx.commit().await.expect("commit");
        Seed {
            city: city.id,
            county_a: a.id,
            county_b: b.id,
            ent_a: ent_a.id,
            ent_a2: ent_a2.id,
            ent_b: ent_b.id,
            proj_a: proj_a.id,
            proj_b: proj_b.id,
        }
    }

    /// Audit entries for one entity type, oldest first.
    pub async fn audit(&self, entity_type: &str) -> Vec<aftercare::audit::Entry> {
        let mut p = self.db().acquire().await.expect("acquire");
        let filter = aftercare::audit::Filter {
            entity_type: Some(entity_type.into()),
            ..Default::default()
        };
        let (mut items, _) = aftercare::audit::list(&mut p.conn(), &filter, 10_000, 0)
            .await
            .expect("audit");
        items.reverse();
        items
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg.take() else {
            return;
        };
        let db = self.state.db.clone();
        // Drop runs outside async context; a small runtime of its own does the cleanup.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                db.close().await;
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut admin)
                            .await;
                }
            })
        })
        .join();
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Seed {
    pub city: i64,
    pub county_a: i64,
    pub county_b: i64,
    pub ent_a: i64,
    pub ent_a2: i64,
    pub ent_b: i64,
    pub proj_a: i64,
    pub proj_b: i64,
}

/// A browser-like client: cookies, the session's CSRF token, or a bearer token.
pub struct Client<'a> {
    app: &'a TestApp,
    pub cookies: HashMap<String, String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Client<'_> {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        csrf: bool,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            b = b.header(header::COOKIE, self.cookie_header());
        }
        if let Some(t) = &self.bearer {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        if csrf {
            if let Some(t) = &self.csrf {
                b = b.header("x-csrf-token", t.as_str());
            }
        }
        let (status, headers, body) = self
            .app
            .send(b.body(Body::from(body)).expect("request"))
            .await;
        for v in headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap_or_default();
            let Some((kv, attrs)) = v.split_once(';').or(Some((v, ""))) else {
                continue;
            };
            let Some((k, val)) = kv.split_once('=') else {
                continue;
            };
            if attrs.contains("Max-Age=0") || val.is_empty() {
                self.cookies.remove(k.trim());
            } else {
                self.cookies.insert(k.trim().to_string(), val.to_string());
            }
        }
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.request(Method::GET, path, None, Vec::new(), false)
            .await
    }

    pub async fn send_json(&mut self, method: Method, path: &str, body: &Value) -> Resp {
        self.request(
            method,
            path,
            Some("application/json"),
            body.to_string().into_bytes(),
            true,
        )
        .await
    }

    pub async fn post_bytes(&mut self, path: &str, bytes: Vec<u8>) -> Resp {
        self.request(
            Method::POST,
            path,
            Some("application/octet-stream"),
            bytes,
            true,
        )
        .await
    }

    pub async fn post_form(&mut self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        let body = serde_urlencoded::to_string(pairs).expect("form");
        self.request(
            Method::POST,
            path,
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
            false,
        )
        .await
    }

    /// Fetches the login form (for its double-submit token) and posts the credentials.
    pub async fn login(&mut self, username: &str, password: &str) -> StatusCode {
        let form = self.get("/login").await.text();
        let token = hidden(&form, "_csrf");
        let resp = self
            .post_form(
                "/login",
                &[
                    ("username", username),
                    ("password", password),
                    ("_csrf", &token),
                    ("next", "/"),
                ],
            )
            .await;
        if resp.status == StatusCode::SEE_OTHER {
            // Every page carries the session's CSRF token in the logout form.
            let page = self.get("/projects").await.text();
            self.csrf = Some(hidden(&page, "_csrf"));
        }
        resp.status
    }
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .map(|i| i + marker.len())
        .unwrap_or_else(|| panic!("no hidden {name} in page"));
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A small SMTP server for the mail tests: greets, answers EHLO/HELO, MAIL, RCPT, DATA (with
/// dot-unstuffing), NOOP, RSET and QUIT, and records each message. It can be stopped (the
/// port then refuses connections) and started again on the same port, and told to refuse
/// recipients containing some text with a permanent 550.
pub struct SmtpSink {
    pub addr: std::net::SocketAddr,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    pub refuse: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let mut sink = SmtpSink {
            addr: listener.local_addr().expect("addr"),
            received: Default::default(),
            refuse: Default::default(),
            task: None,
        };
        sink.serve(listener);
        sink
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (received, refuse) = (self.received.clone(), self.refuse.clone());
        self.task = Some(tokio::spawn(async move {
            // Connections live in the set, so stopping the accept loop drops them too.
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((socket, _)) = listener.accept().await {
                conns.spawn(smtp_session(socket, received.clone(), refuse.clone()));
            }
        }));
    }

    pub async fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("rebind");
        self.serve(listener);
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

async fn smtp_session(
    socket: tokio::net::TcpStream,
    received: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    refuse: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut envelope = Received {
        from: String::new(),
        to: Vec::new(),
        data: String::new(),
    };
    let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let arg = |prefix: &str| {
            line[prefix.len()..]
                .trim()
                .trim_matches(['<', '>'])
                .to_string()
        };
        let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            "250-sink.test\r\n250 8BITMIME".into()
        } else if upper.starts_with("MAIL FROM:") {
            envelope.from = arg("MAIL FROM:")
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_matches(['<', '>'])
                .to_string();
            "250 2.1.0 Ok".into()
        } else if upper.starts_with("RCPT TO:") {
            let to = arg("RCPT TO:");
            if refuse
                .lock()
                .expect("lock")
                .iter()
                .any(|r| to.contains(r.as_str()))
            {
                format!("550 5.1.1 <{to}>: Recipient address rejected: User unknown")
            } else {
                envelope.to.push(to);
                "250 2.1.5 Ok".into()
            }
        } else if upper == "DATA" {
            let _ = write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await;
            let mut data = String::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                data.push_str(
                    l.strip_prefix('.')
                        .filter(|_| l.starts_with(".."))
                        .unwrap_or(&l),
                );
                data.push_str("\r\n");
            }
            envelope.data = data;
            let mut all = received.lock().expect("lock");
            all.push(std::mem::replace(
                &mut envelope,
                Received {
                    from: String::new(),
                    to: Vec::new(),
                    data: String::new(),
                },
            ));
            format!("250 2.0.0 Ok: queued as {}", all.len())
        } else if upper == "NOOP" {
            "250 2.0.0 Ok".into()
        } else if upper == "RSET" {
            envelope = Received {
                from: String::new(),
                to: Vec::new(),
                data: String::new(),
            };
            "250 2.0.0 Ok".into()
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
            return;
        } else {
            "502 5.5.2 Error: command not recognized".into()
        };
        if write
            .write_all(format!("{reply}\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}
