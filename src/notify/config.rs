//! The `[mail]` section of the configuration: which transport, the SMTP server and its TLS
//! mode, the sender, and the worker's pace. Each key also comes from `AFTERCARE_MAIL_<KEY>`;
//! the environment wins over the file.

use std::fmt;
use std::net::SocketAddr;

use chrono::NaiveTime;
use serde::Deserialize;

use crate::config::pick;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// `.eml` files under `<data-dir>/mail/`: the embedded default, nothing to set up.
    File,
    Smtp,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS at all: only for a relay on the same host or network, and for tests.
    None,
}

impl Tls {
    fn parse(s: &str) -> Option<Tls> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Some(Tls::Starttls),
            "tls" | "implicit" | "smtps" => Some(Tls::Implicit),
            "none" | "plain" => Some(Tls::None),
            _ => None,
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Tls::Starttls => 587,
            Tls::Implicit => 465,
            Tls::None => 25,
        }
    }
}

/// A password that never reaches a log line through `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: TransportKind,
    /// The sender, e.g. `济宁市住建局 <noreply@zjj.jining.gov.cn>`.
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: Tls,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<Secret>,
    /// Connecting, and each command, may take this long before the attempt counts as failed.
    pub timeout_secs: u64,
    /// Messages one worker claims at a time.
    pub batch_size: i64,
    /// Attempts before a message is `failed` until an admin retries it.
    pub max_attempts: i64,
    /// How often an idle worker looks for due messages.
    pub poll_secs: u64,
    /// Where links in messages point (the address users open the site at).
    pub base_url: String,
    /// The host part of each Message-ID (`<outbox-{id}@{host}>`) and the EHLO name; by
    /// default the sender's domain.
    pub message_id_host: String,
    /// Run the sender inside `serve`; off when a separate `aftercare mail send` does it.
    pub worker: bool,
    /// Send the daily digest, at `digest_at` Beijing time.
    pub digest: bool,
    pub digest_at: NaiveTime,
}

impl MailConfig {
    pub fn defaults(listen: SocketAddr) -> MailConfig {
        MailConfig {
            transport: TransportKind::File,
            from: "售后服务机构监管平台 <noreply@localhost>".into(),
            smtp_host: String::new(),
            smtp_port: Tls::Starttls.default_port(),
            smtp_tls: Tls::Starttls,
            smtp_username: None,
            smtp_password: None,
            timeout_secs: 30,
            batch_size: 10,
            max_attempts: 10,
            poll_secs: 10,
            base_url: format!("http://{listen}"),
            message_id_host: "localhost".into(),
            worker: true,
            digest: true,
            digest_at: NaiveTime::from_hms_opt(9, 30, 0).unwrap_or(NaiveTime::MIN),
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig::defaults(SocketAddr::from(([127, 0, 0, 1], 8080)))
    }
}

/// The file form of `[mail]`; unknown keys are an error, as in the rest of the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailFile {
    transport: Option<String>,
    from: Option<String>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_tls: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    timeout_secs: Option<u64>,
    batch_size: Option<i64>,
    max_attempts: Option<i64>,
    poll_secs: Option<u64>,
    base_url: Option<String>,
    message_id_host: Option<String>,
    worker: Option<bool>,
    digest: Option<bool>,
    digest_at: Option<String>,
}

/// Builds the mail settings from the file's section and `AFTERCARE_MAIL_*`, and checks them:
/// SMTP needs a host, the sender must be an address, numbers must be in range.
pub fn load(
    file: MailFile,
    env: &dyn Fn(&str) -> Option<String>,
    listen: SocketAddr,
) -> Result<MailConfig> {
    let mut m = MailConfig::defaults(listen);
    let text =
        |key: &str, file: Option<String>| env(&format!("MAIL_{}", key.to_uppercase())).or(file);
    if let Some(v) = text("transport", file.transport) {
        m.transport = match v.trim().to_ascii_lowercase().as_str() {
            "file" => TransportKind::File,
            "smtp" => TransportKind::Smtp,
            _ => {
                return Err(Error::invalid(
                    "mail.transport",
                    format!("“{v}”无效，应为 file 或 smtp"),
                ))
            }
        };
    }
    if let Some(v) = text("from", file.from) {
        m.from = v;
    }
    let from = m
        .from
        .parse::<lettre::message::Mailbox>()
        .map_err(|e| Error::invalid("mail.from", format!("“{}”不是有效的发件地址：{e}", m.from)))?;
    m.message_id_host = from.email.domain().to_string();
    if let Some(v) = text("smtp_host", file.smtp_host) {
        m.smtp_host = v.trim().to_string();
    }
    if let Some(v) = text("smtp_tls", file.smtp_tls) {
        m.smtp_tls = Tls::parse(&v).ok_or_else(|| {
            Error::invalid(
                "mail.smtp_tls",
                format!("“{v}”无效，应为 starttls、tls 或 none"),
            )
        })?;
    }
    m.smtp_port = m.smtp_tls.default_port();
    m.smtp_port = pick(
        env("MAIL_SMTP_PORT"),
        file.smtp_port,
        m.smtp_port,
        "mail_smtp_port",
    )?;
    m.smtp_username = text("smtp_username", file.smtp_username).filter(|s| !s.is_empty());
    m.smtp_password = text("smtp_password", file.smtp_password).map(Secret);
    m.timeout_secs = pick(
        env("MAIL_TIMEOUT_SECS"),
        file.timeout_secs,
        m.timeout_secs,
        "mail_timeout_secs",
    )?;
    m.batch_size = pick(
        env("MAIL_BATCH_SIZE"),
        file.batch_size,
        m.batch_size,
        "mail_batch_size",
    )?;
    m.max_attempts = pick(
        env("MAIL_MAX_ATTEMPTS"),
        file.max_attempts,
        m.max_attempts,
        "mail_max_attempts",
    )?;
    m.poll_secs = pick(
        env("MAIL_POLL_SECS"),
        file.poll_secs,
        m.poll_secs,
        "mail_poll_secs",
    )?;
    if let Some(v) = text("base_url", file.base_url) {
        m.base_url = v.trim().trim_end_matches('/').to_string();
    }
    if let Some(v) = text("message_id_host", file.message_id_host) {
        m.message_id_host = v.trim().to_string();
    }
    m.worker = pick(env("MAIL_WORKER"), file.worker, m.worker, "mail_worker")?;
    m.digest = pick(env("MAIL_DIGEST"), file.digest, m.digest, "mail_digest")?;
    if let Some(v) = text("digest_at", file.digest_at) {
        m.digest_at = NaiveTime::parse_from_str(v.trim(), "%H:%M")
            .map_err(|_| Error::invalid("mail.digest_at", format!("“{v}”无效，应如 09:30")))?;
    }
    check(&m)?;
    Ok(m)
}

fn check(m: &MailConfig) -> Result<()> {
    if m.transport == TransportKind::Smtp && m.smtp_host.is_empty() {
        return Err(Error::invalid(
            "mail.smtp_host",
            "使用 SMTP 发信时须设置 smtp_host",
        ));
    }
    if m.smtp_username.is_some() != m.smtp_password.is_some() {
        return Err(Error::invalid(
            "mail.smtp_username",
            "smtp_username 与 smtp_password 须同时设置",
        ));
    }
    let ranges: [(&str, i64, i64, i64); 4] = [
        (
            "mail.timeout_secs",
            m.timeout_secs.try_into().unwrap_or(i64::MAX),
            1,
            600,
        ),
        ("mail.batch_size", m.batch_size, 1, 500),
        ("mail.max_attempts", m.max_attempts, 1, 100),
        (
            "mail.poll_secs",
            m.poll_secs.try_into().unwrap_or(i64::MAX),
            1,
            3600,
        ),
    ];
    for (key, v, lo, hi) in ranges {
        if !(lo..=hi).contains(&v) {
            return Err(Error::invalid(key, format!("应在 {lo}–{hi} 之间")));
        }
    }
    if !(m.base_url.starts_with("http://") || m.base_url.starts_with("https://")) {
        return Err(Error::invalid(
            "mail.base_url",
            "应以 http:// 或 https:// 开头",
        ));
    }
    if m.message_id_host.is_empty()
        || !m
            .message_id_host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(Error::invalid(
            "mail.message_id_host",
            "应为域名（字母、数字、点和连字符）",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8080))
    }

    #[test]
    fn file_is_the_default_and_smtp_comes_from_file_and_env() {
        let none = |_: &str| None;
        let m = load(MailFile::default(), &none, listen()).expect("defaults");
        assert_eq!(m.transport, TransportKind::File);
        assert_eq!(m.base_url, "http://127.0.0.1:8080");
        assert_eq!(m.digest_at, NaiveTime::from_hms_opt(9, 30, 0).unwrap());

        let file: MailFile = toml::from_str(
            "transport = \"smtp\"\nfrom = \"济宁市住建局 <noreply@zjj.example.cn>\"\nsmtp_host = \"smtp.example.cn\"\nsmtp_tls = \"tls\"\nsmtp_username = \"u\"\nsmtp_password = \"p\"",
        )
        .expect("toml");
        let env = |k: &str| (k == "MAIL_SMTP_PORT").then(|| "2465".to_string());
        let m = load(file, &env, listen()).expect("smtp");
        assert_eq!((m.smtp_tls, m.smtp_port), (Tls::Implicit, 2465));
        assert_eq!(m.message_id_host, "zjj.example.cn");
        assert_eq!(format!("{:?}", m.smtp_password), "Some(\"***\")");
    }

    #[test]
    fn mistakes_name_the_key() {
        let none = |_: &str| None;
        let bad = |toml_text: &str| {
            let file: MailFile = toml::from_str(toml_text).expect("toml");
            match load(file, &none, listen()) {
                Err(Error::Invalid(inv)) => inv.field,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(bad("transport = \"smtp\""), "mail.smtp_host");
        assert_eq!(bad("transport = \"pigeon\""), "mail.transport");
        assert_eq!(bad("from = \"not an address\""), "mail.from");
        assert_eq!(bad("smtp_tls = \"ssl3\""), "mail.smtp_tls");
        assert_eq!(bad("batch_size = 0"), "mail.batch_size");
        assert_eq!(bad("digest_at = \"9点半\""), "mail.digest_at");
        assert_eq!(bad("smtp_username = \"u\""), "mail.smtp_username");
        assert!(toml::from_str::<MailFile>("smtp_hots = \"x\"").is_err());
    }
}
