//! One configuration, from (lowest to highest precedence) built-in defaults, a TOML file,
//! `AFTERCARE_*` environment variables and command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`; defaults to a SQLite file under `data_dir`.
    pub database_url: String,
    pub listen: SocketAddr,
    /// Where the SQLite database, import reports and (later) uploaded files live.
    pub data_dir: PathBuf,
    pub session_ttl_minutes: i64,
    /// Mark cookies `Secure`; turn on when served over HTTPS (it should be, in production).
    pub secure_cookies: bool,
    pub login_max_failures: i64,
    pub login_max_failures_per_ip: i64,
    pub login_window_minutes: i64,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// How many proxies of ours each append one `X-Forwarded-For` entry: the client is the
    /// entry that many places from the right (1: the last entry, added by the one proxy).
    pub trusted_proxy_hops: usize,
    pub max_upload_bytes: usize,
    /// Largest single uploaded file (photo, PDF) accepted for a filing.
    pub max_file_bytes: usize,
    /// Largest photo accepted, in pixels (width × height), read from the image header before
    /// it is decoded.
    pub max_image_pixels: u64,
    /// Rows one imported file may have (CSV records, sheet rows).
    pub max_import_rows: usize,
    /// Decompressed bytes one imported file may have (a CSV's text, a workbook's zip entries).
    pub max_import_bytes: u64,
    /// The rule set in force: one of the files under `scoring-rules/` (e.g. `jining-2021`).
    pub rule_set: String,
    /// Serve the public transparency page (`/public`, no sign-in): final evaluation results
    /// and complaint rates only. Off unless the bureau turns it on.
    pub public_page: bool,
    /// Where the circulars' wording is read from (`common.toml`, `org.toml`, …), so that an
    /// officer can edit it without a rebuild; a file missing there is the shipped copy.
    pub reports_dir: PathBuf,
    /// Log filter, e.g. `info` or `info,aftercare=debug`.
    pub log: String,
    /// The `[mail]` section: how the outbox is sent (see `notify`).
    pub mail: crate::notify::MailConfig,
}

/// The file form: every key optional; unknown keys are an error, so a typo does not silently
/// fall back to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    session_ttl_minutes: Option<i64>,
    secure_cookies: Option<bool>,
    login_max_failures: Option<i64>,
    login_max_failures_per_ip: Option<i64>,
    login_window_minutes: Option<i64>,
    trust_forwarded_for: Option<bool>,
    trusted_proxy_hops: Option<usize>,
    max_upload_bytes: Option<usize>,
    max_file_bytes: Option<usize>,
    max_image_pixels: Option<u64>,
    max_import_rows: Option<usize>,
    max_import_bytes: Option<u64>,
    rule_set: Option<String>,
    public_page: Option<bool>,
    reports_dir: Option<PathBuf>,
    log: Option<String>,
    mail: Option<crate::notify::config::MailFile>,
}

/// The global flags, as parsed by the CLI.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Defaults only (used by tests and as the base of [`Config::load`]).
    pub fn defaults(data_dir: impl Into<PathBuf>) -> Config {
        let data_dir = data_dir.into();
        Config {
            database_url: sqlite_url(&data_dir.join("aftercare.sqlite")),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir,
            session_ttl_minutes: 8 * 60,
            secure_cookies: false,
            login_max_failures: 5,
            login_max_failures_per_ip: 30,
            login_window_minutes: 15,
            trust_forwarded_for: false,
            trusted_proxy_hops: 1,
            max_upload_bytes: 20 * 1024 * 1024,
            max_file_bytes: 10 * 1024 * 1024,
            max_image_pixels: 40_000_000,
            max_import_rows: 2_000_000,
            max_import_bytes: 512 * 1024 * 1024,
            rule_set: "jining-2021".into(),
            public_page: false,
            reports_dir: PathBuf::from("reports"),
            log: "info".into(),
            mail: crate::notify::MailConfig::default(),
        }
    }

    pub fn load(flags: &Overrides) -> Result<Config> {
        let env = |k: &str| {
            std::env::var(format!("AFTERCARE_{k}"))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let file_path = flags
            .config
            .clone()
            .or_else(|| env("CONFIG").map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("aftercare.toml")).filter(|p| p.exists()));
        let file = match &file_path {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };

        let data_dir = flags
            .data_dir
            .clone()
            .or_else(|| env("DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let mut c = Config::defaults(&data_dir);
        if let Some(v) = flags
            .database_url
            .clone()
            .or_else(|| env("DATABASE_URL"))
            .or(file.database_url)
        {
            c.database_url = v;
        }
        if let Some(v) = flags
            .listen
            .clone()
            .or_else(|| env("LISTEN"))
            .or(file.listen)
        {
            c.listen = v.parse().map_err(|_| {
                Error::invalid(
                    "listen",
                    format!("“{v}”不是有效的地址，应如 127.0.0.1:8080"),
                )
            })?;
        }
        c.session_ttl_minutes = pick(
            env("SESSION_TTL_MINUTES"),
            file.session_ttl_minutes,
            c.session_ttl_minutes,
            "session_ttl_minutes",
        )?;
        c.secure_cookies = pick(
            env("SECURE_COOKIES"),
            file.secure_cookies,
            c.secure_cookies,
            "secure_cookies",
        )?;
        c.login_max_failures = pick(
            env("LOGIN_MAX_FAILURES"),
            file.login_max_failures,
            c.login_max_failures,
            "login_max_failures",
        )?;
        c.login_max_failures_per_ip = pick(
            env("LOGIN_MAX_FAILURES_PER_IP"),
            file.login_max_failures_per_ip,
            c.login_max_failures_per_ip,
            "login_max_failures_per_ip",
        )?;
        c.login_window_minutes = pick(
            env("LOGIN_WINDOW_MINUTES"),
            file.login_window_minutes,
            c.login_window_minutes,
            "login_window_minutes",
        )?;
        c.trust_forwarded_for = pick(
            env("TRUST_FORWARDED_FOR"),
            file.trust_forwarded_for,
            c.trust_forwarded_for,
            "trust_forwarded_for",
        )?;
        c.trusted_proxy_hops = pick(
            env("TRUSTED_PROXY_HOPS"),
            file.trusted_proxy_hops,
            c.trusted_proxy_hops,
            "trusted_proxy_hops",
        )?;
        c.max_upload_bytes = pick(
            env("MAX_UPLOAD_BYTES"),
            file.max_upload_bytes,
            c.max_upload_bytes,
            "max_upload_bytes",
        )?;
        c.max_file_bytes = pick(
            env("MAX_FILE_BYTES"),
            file.max_file_bytes,
            c.max_file_bytes,
            "max_file_bytes",
        )?;
        c.max_image_pixels = pick(
            env("MAX_IMAGE_PIXELS"),
            file.max_image_pixels,
            c.max_image_pixels,
            "max_image_pixels",
        )?;
        c.max_import_rows = pick(
            env("MAX_IMPORT_ROWS"),
            file.max_import_rows,
            c.max_import_rows,
            "max_import_rows",
        )?;
        c.max_import_bytes = pick(
            env("MAX_IMPORT_BYTES"),
            file.max_import_bytes,
            c.max_import_bytes,
            "max_import_bytes",
        )?;
        if let Some(v) = env("RULE_SET").or(file.rule_set) {
            c.rule_set = v;
        }
        c.public_page = pick(
            env("PUBLIC_PAGE"),
            file.public_page,
            c.public_page,
            "public_page",
        )?;
        if let Some(v) = env("REPORTS_DIR").map(PathBuf::from).or(file.reports_dir) {
            c.reports_dir = v;
        }
        c.log = env("LOG")
            .or_else(|| std::env::var("RUST_LOG").ok())
            .or(file.log)
            .unwrap_or(c.log);
        c.mail = crate::notify::config::load(file.mail.unwrap_or_default(), &env, c.listen)?;
        if c.session_ttl_minutes < 5 || c.login_max_failures < 1 || c.login_window_minutes < 1 {
            return Err(Error::invalid(
                "config",
                "session_ttl_minutes ≥ 5，login_max_failures ≥ 1，login_window_minutes ≥ 1",
            ));
        }
        if c.trusted_proxy_hops < 1 {
            return Err(Error::invalid(
                "trusted_proxy_hops",
                "trusted_proxy_hops ≥ 1",
            ));
        }
        if c.max_image_pixels < 1 {
            return Err(Error::invalid("max_image_pixels", "max_image_pixels ≥ 1"));
        }
        Ok(c)
    }

    /// User-supplied hotline mapping profiles (`*.toml`), beside the shipped ones.
    pub fn profile_dir(&self) -> PathBuf {
        self.data_dir.join("hotline-profiles")
    }

    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }

    /// The size limits every import applies before materialising a file.
    pub fn import_limits(&self) -> crate::import::Limits {
        crate::import::Limits {
            max_rows: self.max_import_rows,
            max_bytes: self.max_import_bytes,
        }
    }

    pub fn import_report_dir(&self) -> PathBuf {
        self.data_dir.join("import-reports")
    }
}

fn read_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid(
            "config",
            format!("无法读取配置文件 {}：{e}", path.display()),
        )
    })?;
    toml::from_str(&text)
        .map_err(|e| Error::invalid("config", format!("配置文件 {} 有误：{e}", path.display())))
}

pub(crate) fn pick<T: std::str::FromStr>(
    env: Option<String>,
    file: Option<T>,
    default: T,
    key: &str,
) -> Result<T> {
    match env {
        Some(v) => v.parse().map_err(|_| {
            Error::invalid(
                key,
                format!("环境变量 AFTERCARE_{} 的值“{v}”无效", key.to_uppercase()),
            )
        }),
        None => Ok(file.unwrap_or(default)),
    }
}

pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}
