//! `aftercare bench web`: signs in as each given user through the login form (with its
//! double-submit CSRF cookie), then keeps N keep-alive connections busy for D seconds with the
//! read pages and API calls of each user's role, and prints requests per second and
//! p50/p99 latency per route, and the answers that were not 2xx by status. Any 5xx fails the
//! run (exit 1). With `--write-while FILE` a city administrator uploads that hotline export
//! during the load, and the reads that overlapped the import get a table of their own.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

use super::http::{Client, Response, Target};
use super::stats::{self, Samples};
use super::write::{self, Window};
use crate::auth::session;

pub struct Args {
    pub url: String,
    /// `username:password` pairs.
    pub users: Vec<String>,
    pub connections: usize,
    pub duration: Duration,
    /// The year the rankings and metrics are asked for.
    pub year: i32,
    /// Routes whose label contains any of these are left out of the mix.
    pub exclude: Vec<String>,
    /// A hotline export to upload as the city administrator while the load runs.
    pub write_while: Option<PathBuf>,
    /// How long after the load starts the upload begins.
    pub write_after: Duration,
}

/// A signed-in user and the routes of its role, as (label, path).
struct Session {
    username: String,
    cookie: String,
    routes: Vec<(String, String)>,
}

const LOGIN_CSRF_COOKIE: &str = "aftercare_login_csrf";

async fn sign_in(target: &Target, spec: &str, year: i32) -> anyhow::Result<Session> {
    let (username, password) = spec
        .split_once(':')
        .ok_or_else(|| anyhow!("--users 的每一项应为 用户名:密码，而不是 {spec}"))?;
    let mut c = Client::new(target.clone());
    let form = c.send("GET", "/login", &[], b"").await?;
    let csrf = form
        .cookies()
        .find(|(k, _)| *k == LOGIN_CSRF_COOKIE)
        .map(|(_, v)| v.to_string())
        .ok_or_else(|| anyhow!("登录页没有设置 {LOGIN_CSRF_COOKIE}（状态 {}）", form.status))?;
    let body = serde_urlencoded::to_string([
        ("username", username),
        ("password", password),
        ("_csrf", &csrf),
        ("next", "/"),
    ])?;
    let cookie = format!("{LOGIN_CSRF_COOKIE}={csrf}");
    let resp = c
        .send(
            "POST",
            "/login",
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )
        .await?;
    let token = resp
        .cookies()
        .find(|(k, _)| *k == session::COOKIE)
        .map(|(_, v)| v.to_string())
        .ok_or_else(|| anyhow!("{username} 登录失败（状态 {}）", resp.status))?;
    let cookie = format!("{}={token}", session::COOKIE);
    let home = c.send("GET", "/", &[("Cookie", &cookie)], b"").await?;
    let own = home
        .header("location")
        .and_then(|l| l.strip_prefix("/enterprises/"))
        .and_then(|id| id.parse::<i64>().ok());
    let routes = match own {
        Some(id) => enterprise_routes(id, year),
        None => {
            let ids = sample_enterprises(&mut c, &cookie).await?;
            officer_routes(&ids, year)
        }
    };
    Ok(Session {
        username: username.to_string(),
        cookie,
        routes,
    })
}

/// Up to 20 enterprises the officer can see, for the detail pages.
async fn sample_enterprises(c: &mut Client, cookie: &str) -> anyhow::Result<Vec<i64>> {
    let resp = c
        .send(
            "GET",
            "/api/v1/enterprises?per_page=20",
            &[("Cookie", cookie)],
            b"",
        )
        .await?;
    let json: serde_json::Value =
        serde_json::from_slice(&resp.body).context("企业列表不是 JSON")?;
    let ids: Vec<i64> = json["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["id"].as_i64()).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        bail!("该用户看不到任何企业（状态 {}）", resp.status);
    }
    Ok(ids)
}

fn route(label: &str, path: String) -> (String, String) {
    (label.to_string(), path)
}

/// The main read pages and API calls of an officer; detail pages rotate over `ids`.
fn officer_routes(ids: &[i64], year: i32) -> Vec<(String, String)> {
    let mut r = vec![
        route("/enterprises", "/enterprises".into()),
        route("/enterprises?page=", "/enterprises?page=3".into()),
        route("/projects", "/projects".into()),
        route("/hotline", "/hotline".into()),
        route("/worklist", "/worklist".into()),
        route(
            "/hotline/rankings",
            format!("/hotline/rankings?year={year}"),
        ),
        route("/api/v1/enterprises", "/api/v1/enterprises".into()),
        route("/api/v1/projects", "/api/v1/projects".into()),
        route("/api/v1/hotline/tickets", "/api/v1/hotline/tickets".into()),
        route("/api/v1/worklist", "/api/v1/worklist".into()),
        route(
            "/api/v1/hotline/metrics",
            format!("/api/v1/hotline/metrics?year={year}"),
        ),
    ];
    for id in ids.iter().take(4) {
        r.push(route("/enterprises/{id}", format!("/enterprises/{id}")));
        r.push(route(
            "/enterprises/{id}/org",
            format!("/enterprises/{id}/org"),
        ));
    }
    r
}

fn enterprise_routes(id: i64, year: i32) -> Vec<(String, String)> {
    vec![
        route("/enterprises/{id}", format!("/enterprises/{id}")),
        route("/enterprises/{id}/org", format!("/enterprises/{id}/org")),
        route(
            "/enterprises/{id}/hotline",
            format!("/enterprises/{id}/hotline?year={year}"),
        ),
        route("/api/v1/hotline/tickets", "/api/v1/hotline/tickets".into()),
        route(
            "/api/v1/enterprises/{id}/org",
            format!("/api/v1/enterprises/{id}/org"),
        ),
        route(
            "/api/v1/hotline/metrics",
            format!("/api/v1/hotline/metrics?year={year}"),
        ),
    ]
}

type Measured = BTreeMap<String, Samples>;

/// One connection's share: requests back to back until `until`, cycling through the user's
/// routes from `start`. The second map holds the requests that overlapped the import.
async fn worker(
    target: Target,
    username: String,
    cookie: String,
    routes: Vec<(String, String)>,
    start: usize,
    until: Instant,
    window: Arc<Window>,
) -> (Measured, Measured) {
    let mut client = Client::new(target);
    let (mut out, mut during) = (Measured::new(), Measured::new());
    let mut i = start;
    while Instant::now() < until && !routes.is_empty() {
        let (label, path) = &routes[i % routes.len()];
        i = i.wrapping_add(1);
        let t = Instant::now();
        let answer = client.send("GET", path, &[("Cookie", &cookie)], b"").await;
        let status = answer.as_ref().ok().map(|r: &Response| r.status);
        let took = t.elapsed();
        let route = format!("{username} {label}");
        if window.overlaps(t) {
            during
                .entry(route.clone())
                .or_default()
                .record(took, status);
        }
        out.entry(route).or_default().record(took, status);
    }
    (out, during)
}

pub async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let target = Target::parse(&args.url).map_err(|e| anyhow!(e))?;
    if args.users.is_empty() {
        bail!("--users 至少要有一个 用户名:密码");
    }
    let mut sessions = Vec::new();
    for spec in &args.users {
        let mut s = sign_in(&target, spec, args.year).await?;
        s.routes
            .retain(|(label, _)| !args.exclude.iter().any(|x| label.contains(x.as_str())));
        println!("已登录 {}：{} 条路由", s.username, s.routes.len());
        sessions.push(s);
    }
    let writer = match &args.write_while {
        Some(file) => {
            let cookies: Vec<String> = sessions.iter().map(|s| s.cookie.clone()).collect();
            let cookie = write::admin_cookie(&target, &cookies).await?;
            let csrf = write::csrf_token(&target, &cookie).await?;
            Some((file.clone(), cookie, csrf))
        }
        None => None,
    };
    let started = Instant::now();
    let until = started + args.duration;
    let window = Window::new(started);
    let upload = writer.map(|(file, cookie, csrf)| {
        tokio::spawn(write::upload(
            target.clone(),
            cookie,
            csrf,
            file,
            args.write_after,
            window.clone(),
        ))
    });
    let mut tasks = Vec::new();
    for n in 0..args.connections.max(1) {
        let s = &sessions[n % sessions.len()];
        tasks.push(tokio::spawn(worker(
            target.clone(),
            s.username.clone(),
            s.cookie.clone(),
            s.routes.clone(),
            n / sessions.len(),
            until,
            window.clone(),
        )));
    }
    let (mut all, mut during) = (Measured::new(), Measured::new());
    for t in tasks {
        let (out, overlapped) = t.await?;
        for (route, samples) in out {
            all.entry(route).or_default().merge(samples);
        }
        for (route, samples) in overlapped {
            during.entry(route).or_default().merge(samples);
        }
    }
    let elapsed = started.elapsed();
    let mut passed = report(&all, elapsed);
    if let Some(upload) = upload {
        let outcome = upload.await??;
        println!("\n导入期间（{}）的读请求：", write::describe(&outcome));
        if during.is_empty() {
            println!("（导入在负载结束后才开始或结束，没有重叠的读请求：请加长 --duration）");
        } else {
            let longest = during
                .values()
                .flat_map(|s| s.micros.iter().copied())
                .max()
                .unwrap_or(0);
            report(&during, outcome.took);
            println!(
                "导入期间最长的读请求：{:.1} ms{}",
                longest as f64 / 1000.0,
                if longest > 1_000_000 {
                    "（超过 1 秒）"
                } else {
                    ""
                }
            );
        }
        passed = passed && outcome.status == 200;
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints the table and says whether the run passed (no 5xx, no lost connections).
fn report(all: &Measured, elapsed: Duration) -> bool {
    println!(
        "\n{:<44} {:>8} {:>8} {:>9} {:>9} {:>9} {:>7}",
        "route", "requests", "rps", "p50 ms", "p99 ms", "max ms", "non-2xx"
    );
    let mut total = Samples::default();
    let mut by_status: BTreeMap<u16, u64> = BTreeMap::new();
    for (route, samples) in all {
        let r = stats::summarize(route, samples, elapsed);
        println!(
            "{:<44} {:>8} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {:>7}",
            r.route, r.requests, r.rps, r.p50_ms, r.p99_ms, r.max_ms, r.non_2xx
        );
        for (status, n) in &samples.failures {
            *by_status.entry(*status).or_default() += n;
        }
        total.merge(samples.clone());
    }
    let t = stats::summarize("all", &total, elapsed);
    println!(
        "{:<44} {:>8} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {:>7}",
        t.route, t.requests, t.rps, t.p50_ms, t.p99_ms, t.max_ms, t.non_2xx
    );
    for (status, n) in &by_status {
        match status {
            0 => println!("无应答（连接错误）：{n}"),
            s => println!("状态 {s}：{n}"),
        }
    }
    let failed = by_status.keys().any(|s| *s == 0 || *s >= 500);
    if failed {
        println!("失败：有 5xx 应答或连接错误");
    }
    !failed
}
