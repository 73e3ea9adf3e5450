//! `bench web --write-while FILE`: while the read load runs, a city administrator uploads a
//! hotline export through the API (`POST /api/v1/hotline/imports`), and the reads that
//! overlapped the import are reported apart. On SQLite the import holds the write lock for its
//! whole transaction; WAL readers go on, but a request that writes would wait behind it, so
//! this shows whether any read route does.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};

use super::http::{Client, Target};

/// When the import ran, in microseconds since the load started; `u64::MAX` while not yet
/// started / not yet ended. Workers read it as each request completes.
#[derive(Debug)]
pub struct Window {
    began: Instant,
    start: AtomicU64,
    end: AtomicU64,
}

impl Window {
    pub fn new(began: Instant) -> Arc<Window> {
        Arc::new(Window {
            began,
            start: AtomicU64::new(u64::MAX),
            end: AtomicU64::new(u64::MAX),
        })
    }

    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.began).as_micros()).unwrap_or(u64::MAX)
    }

    /// Whether a request sent at `sent` and answered now overlapped the import.
    pub fn overlaps(&self, sent: Instant) -> bool {
        let start = self.start.load(Ordering::Acquire);
        let end = self.end.load(Ordering::Acquire);
        start != u64::MAX && self.micros(sent) < end && self.micros(Instant::now()) > start
    }
}

/// What the upload did.
pub struct Outcome {
    pub took: Duration,
    pub status: u16,
    /// The import summary (or the error) as the server answered it.
    pub body: serde_json::Value,
}

/// The session's CSRF token, read from the hidden `_csrf` field every page's logout form has.
pub async fn csrf_token(target: &Target, cookie: &str) -> anyhow::Result<String> {
    let mut c = Client::new(target.clone());
    let page = c
        .send("GET", "/hotline/import", &[("Cookie", cookie)], b"")
        .await?;
    let html = String::from_utf8_lossy(&page.body);
    let marker = "name=\"_csrf\" value=\"";
    let at = html
        .find(marker)
        .ok_or_else(|| anyhow!("导入页没有 CSRF 令牌（状态 {}）", page.status))?;
    let rest = &html[at + marker.len()..];
    Ok(rest.split('"').next().unwrap_or_default().to_string())
}

/// Waits `after`, then uploads `file` as the user of `cookie`, marking the import's window.
pub async fn upload(
    target: Target,
    cookie: String,
    csrf: String,
    file: PathBuf,
    after: Duration,
    window: Arc<Window>,
) -> anyhow::Result<Outcome> {
    let bytes = tokio::fs::read(&file).await?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload.csv".into());
    let path = format!(
        "/api/v1/hotline/imports?{}",
        serde_urlencoded::to_string([("file_name", name)])?
    );
    tokio::time::sleep(after).await;
    let mut c = Client::new(target);
    let started = Instant::now();
    window
        .start
        .store(window.micros(started), Ordering::Release);
    let answer = c
        .send(
            "POST",
            &path,
            &[
                ("Cookie", &cookie),
                ("X-CSRF-Token", &csrf),
                ("Content-Type", "application/octet-stream"),
            ],
            &bytes,
        )
        .await;
    let ended = Instant::now();
    window.end.store(window.micros(ended), Ordering::Release);
    let resp = answer?;
    let body = serde_json::from_slice(&resp.body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&resp.body).into()));
    Ok(Outcome {
        took: ended - started,
        status: resp.status,
        body,
    })
}

/// The import's line of the report.
pub fn describe(o: &Outcome) -> String {
    let n = |k: &str| o.body[k].as_i64().unwrap_or(0);
    if o.status == 200 {
        format!(
            "导入用时 {:.2}s：{} 行，新增 {}，更新 {}，未变 {}，拒绝 {}，未匹配 {}",
            o.took.as_secs_f64(),
            n("rows"),
            n("inserted"),
            n("updated"),
            n("unchanged"),
            n("rejected"),
            n("unmatched")
        )
    } else {
        format!(
            "导入失败（状态 {}，用时 {:.2}s）：{}",
            o.status,
            o.took.as_secs_f64(),
            o.body
        )
    }
}

/// The city administrator's session among the signed-in ones (by `GET /api/v1/me`).
pub async fn admin_cookie(target: &Target, cookies: &[String]) -> anyhow::Result<String> {
    for cookie in cookies {
        let mut c = Client::new(target.clone());
        let me = c
            .send("GET", "/api/v1/me", &[("Cookie", cookie)], b"")
            .await?;
        let json: serde_json::Value = serde_json::from_slice(&me.body).unwrap_or_default();
        if json["role"] == "city_admin" {
            return Ok(cookie.clone());
        }
    }
    bail!("--write-while 需要在 --users 中有一个市局管理员")
}
