//! The HTTP face: a JSON API under `/api/v1` (described at `/api/openapi.json`), server-rendered
//! Chinese pages for officers and enterprises, and `/healthz`. Only HTTP concerns live here;
//! the domain modules do the work.

pub mod api;
pub mod error;
pub mod extract;
pub mod pages;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use self::error::HttpError;
use self::extract::Auth;
use crate::auth::touch::Touch;
use crate::auth::{session, token};
use crate::blobs::{BlobStore, LocalDir};
use crate::config::Config;
use crate::db::Db;
use crate::rules::RuleSet;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub rules: Arc<RuleSet>,
    pub blobs: Arc<dyn BlobStore>,
    /// Hotline metrics, computed once per change of their inputs.
    pub analytics: Arc<crate::hotline::served::Analytics>,
    /// The worklist's computed lists, likewise.
    pub worklists: Arc<crate::filings::served::Worklists>,
    /// Totals of paged lists, per generation of the data.
    pub counts: Arc<crate::db::Counts>,
    /// Last uses of tokens and session extensions, written off the requests' path.
    pub touches: Arc<crate::auth::touch::Touches>,
}

impl AppState {
    /// Fails when the configured rule set does not exist.
    pub fn new(db: Db, config: Config) -> crate::error::Result<Self> {
        let rules = RuleSet::shipped(&config.rule_set)?;
        let blobs = Arc::new(LocalDir::new(config.blob_dir()));
        let analytics = Arc::new(crate::hotline::served::Analytics::new(&config.data_dir));
        Ok(AppState {
            analytics,
            worklists: Arc::new(crate::filings::served::Worklists::new()),
            counts: Arc::default(),
            touches: Arc::default(),
            db,
            config: Arc::new(config),
            rules: Arc::new(rules),
            blobs,
        })
    }

    pub fn session_ttl(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.config.session_ttl_minutes)
    }
}

pub fn router(state: AppState) -> Router {
    let (api, mut openapi) = api::router().split_for_parts();
    api::document::complete(&mut openapi);
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            get(move || async move { Json(openapi.as_ref().clone()) }),
        )
        .route("/healthz", get(healthz))
        .merge(pages::router())
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn(headers_and_log))
        .layer(DefaultBodyLimit::max(state.config.max_upload_bytes))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Response {
    match crate::db::ping(&state.db).await {
        Ok(()) => Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "database unavailable"})),
            )
                .into_response()
        }
    }
}

async fn fallback(req: Request) -> Response {
    let e = HttpError::not_found();
    if req.uri().path().starts_with("/api/") {
        e.into_response()
    } else {
        e.into_page()
    }
}

/// Security headers on every response, and one log line per request (path template, not
/// the raw URL, so no query-string secrets reach the logs).
async fn headers_and_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "-".into());
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    );
    tracing::info!(%method, route, status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    resp
}

/// The client address: the socket peer, or — when configured to trust a proxy — the
/// `X-Forwarded-For` entry our own proxies added. Proxies append, so everything left of that
/// entry is whatever the client chose to send; with `trusted_proxy_hops` = n the client is
/// the n-th entry from the right. A list too short or an entry that is not an address falls
/// back to the peer.
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, config: &Config) -> String {
    if config.trust_forwarded_for {
        if let Some(ip) = forwarded_client(headers, config.trusted_proxy_hops) {
            return ip;
        }
    }
    peer.map(|p| p.ip().to_string()).unwrap_or_default()
}

fn forwarded_client(headers: &HeaderMap, hops: usize) -> Option<String> {
    // Several header lines form one list, in order.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let index = entries.len().checked_sub(hops.max(1))?;
    let entry = entries.get(index)?;
    entry
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Resolves who is asking (bearer token or session cookie) into the request extensions, and
/// refuses state-changing requests made with a session cookie that do not carry the
/// session's CSRF token (in `X-CSRF-Token` or a `_csrf` form field). Token-authenticated
/// requests carry no ambient credential, so they need no CSRF token.
async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match resolve(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn resolve(state: &AppState, mut req: Request) -> Result<Request, Response> {
    let api = req.uri().path().starts_with("/api/");
    let fail = |e: HttpError| {
        if api {
            e.into_response()
        } else {
            e.into_page()
        }
    };
    let headers = req.headers().clone();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let bearer = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(secret) = bearer else {
            return Err(fail(HttpError::unauthorized()));
        };
        let mut pooled = state.db.acquire().await.map_err(|e| fail(e.into()))?;
        let found = token::authenticate(&mut pooled.conn(), secret)
            .await
            .map_err(|e| fail(e.into()))?;
        drop(pooled);
        let Some(found) = found else {
            return Err(fail(HttpError::unauthorized()));
        };
        let now = chrono::Utc::now();
        if token::use_due(found.last_used_at, now) {
            let used = Touch::TokenUsed {
                token_id: found.token_id,
                at: now,
            };
            state.touches.record(&state.db, used);
        }
        req.extensions_mut().insert(Auth::Token(found.principal));
        return Ok(req);
    }
    let Some(cookie_token) = cookie(&headers, session::COOKIE) else {
        return Ok(req);
    };
    let mut pooled = state.db.acquire().await.map_err(|e| fail(e.into()))?;
    let found = session::lookup(&mut pooled.conn(), cookie_token)
        .await
        .map_err(|e| fail(e.into()))?;
    drop(pooled);
    let Some(sess) = found else {
        return Ok(req);
    };
    let now = chrono::Utc::now();
    if sess.due_for_extension(now, state.session_ttl()) {
        let extended = Touch::SessionExtended {
            session_id: sess.id,
            until: now + state.session_ttl(),
        };
        state.touches.record(&state.db, extended);
    }
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        let (ok, rebuilt) = csrf_ok(req, &sess.csrf_token, state.config.max_upload_bytes).await;
        req = rebuilt.map_err(fail)?;
        if !ok {
            return Err(fail(HttpError::csrf()));
        }
    }
    req.extensions_mut().insert(Auth::Session(sess));
    Ok(req)
}

/// Checks the CSRF token. Form bodies (URL-encoded or multipart) are buffered to read the
/// `_csrf` field and handed on intact.
async fn csrf_ok(req: Request, expected: &str, limit: usize) -> (bool, Result<Request, HttpError>) {
    if let Some(v) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        let ok = crate::secret::constant_time_eq(v, expected);
        return (ok, Ok(req));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let boundary = multer::parse_boundary(&content_type).ok();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    if !is_form && boundary.is_none() {
        return (false, Ok(req));
    }
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            let e = HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "提交的内容过大");
            return (false, Err(e));
        }
    };
    let token = match boundary {
        Some(boundary) => multipart_field(bytes.clone(), boundary, "_csrf").await,
        None => serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "_csrf"))
            .map(|(_, v)| v),
    };
    let ok = token.is_some_and(|v| crate::secret::constant_time_eq(&v, expected));
    (ok, Ok(Request::from_parts(parts, Body::from(bytes))))
}

/// The text of one field of a buffered multipart body (forms put `_csrf` first, so this
/// stops early).
async fn multipart_field(bytes: axum::body::Bytes, boundary: String, name: &str) -> Option<String> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

/// Serves until Ctrl-C / SIGTERM; expired sessions are purged and mail is sent in the
/// background.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(state.config.listen).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    // Bring the ticket facts copy up to the database in the background, and compute this and
    // last year's metrics and today's worklist, so the first requests after a start do not
    // queue behind those computations.
    let warming = state.clone();
    tokio::spawn(async move {
        let AppState {
            db,
            analytics,
            worklists,
            rules,
            ..
        } = warming;
        let warmed = match db.acquire().await {
            Ok(mut p) => analytics.warm(&mut p.conn()).await,
            Err(e) => Err(e),
        };
        if let Err(e) = warmed {
            tracing::warn!(error = ?e, "could not prepare the ticket facts");
        }
        use chrono::Datelike;
        let today = crate::time::today();
        // This year's and last year's (the one the annual evaluation looks back on).
        for year in [today.year(), today.year() - 1] {
            if let Err(e) = analytics.served(&db, year, None).await {
                tracing::warn!(error = ?e, year, "could not compute the hotline metrics");
            }
        }
        if let Err(e) = worklists.gaps(&db, &rules, today).await {
            tracing::warn!(error = ?e, "could not compute today's worklist");
        }
    });
    let db = state.db.clone();
    let window = chrono::Duration::minutes(state.config.login_window_minutes);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Ok(mut p) = db.acquire().await {
                if let Err(e) = session::purge_expired(&mut p.conn(), window).await {
                    tracing::warn!(error = ?e, "session purge failed");
                }
            }
        }
    });
    // Deadlines turn overdue at Beijing midnight and reminders go out without a cron job;
    // several instances may run this at once (see enforcement::tick).
    tokio::spawn(crate::enforcement::tick::scheduler(
        state.db.clone(),
        std::future::pending::<()>(),
    ));
    // The outbox sender and the daily digest; on shutdown it finishes the message in flight.
    let mail = if state.config.mail.worker {
        let transport = crate::notify::transport::Transport::from_config(
            &state.config.mail,
            &state.config.data_dir,
        )?;
        let mail = state.config.mail.clone();
        Some(crate::notify::worker::spawn(
            state.db.clone(),
            mail,
            transport,
        )?)
    } else {
        None
    };
    let facts = state.analytics.facts.clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await;
    // A restart then finds the facts file current instead of rebuilding it.
    facts.flush().await;
    if let Some(mail) = mail {
        mail.stop().await;
    }
    served?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// Runs a long piece of work (a hotline import: reading, classifying and attributing up to
/// two million rows) on a blocking-pool thread instead of one of the async workers that serve
/// every request: on two cores, an import holding a worker for half a minute doubled every
/// other request's latency. It runs to the end even if the client goes away.
pub async fn off_workers<F>(work: F) -> crate::error::Result<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(work))
        .await
        .map_err(|e| crate::error::Error::Internal(format!("后台任务失败：{e}")))
}

/// Peer address when the server runs with connect info (tests drive the router without).
pub fn peer(req_ext: &axum::http::Extensions) -> Option<SocketAddr> {
    req_ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(xff: &[&str], trust: bool, hops: usize) -> String {
        let mut headers = HeaderMap::new();
        for v in xff {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).expect("header"));
        }
        let mut config = Config::defaults("/tmp");
        config.trust_forwarded_for = trust;
        config.trusted_proxy_hops = hops;
        let peer = SocketAddr::from(([10, 0, 0, 1], 40000));
        client_ip(&headers, Some(peer), &config)
    }

    #[test]
    fn the_proxy_added_entry_wins_over_client_chosen_ones() {
        // The client sent "1.2.3.4"; our proxy appended the address it saw.
        assert_eq!(ip(&["1.2.3.4, 203.0.113.7"], true, 1), "203.0.113.7");
        assert_eq!(ip(&["1.2.3.4", "203.0.113.7"], true, 1), "203.0.113.7");
        assert_eq!(ip(&["203.0.113.7"], true, 1), "203.0.113.7");
        // Two proxies of ours: the client is second from the right.
        assert_eq!(
            ip(&["1.2.3.4, 203.0.113.7, 10.1.1.1"], true, 2),
            "203.0.113.7"
        );
        assert_eq!(ip(&["2001:db8::1 , 2001:db8::2"], true, 1), "2001:db8::2");
    }

    #[test]
    fn untrusted_short_or_malformed_headers_fall_back_to_the_peer() {
        assert_eq!(ip(&["1.2.3.4"], false, 1), "10.0.0.1");
        assert_eq!(ip(&[], true, 1), "10.0.0.1");
        assert_eq!(ip(&["203.0.113.7"], true, 2), "10.0.0.1");
        assert_eq!(ip(&["1.2.3.4, not-an-ip"], true, 1), "10.0.0.1");
        assert_eq!(ip(&["1.2.3.4, "], true, 1), "10.0.0.1");
        assert_eq!(ip(&["1.2.3.4"], true, 0), "1.2.3.4");
    }
}
