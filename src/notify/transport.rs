//! Where messages go: an SMTP server (lettre; STARTTLS, implicit TLS or plain, with
//! credentials and a timeout; TLS by rustls with the Mozilla roots compiled in, so no system
//! OpenSSL or certificate store is needed), or `.eml` files under `<data-dir>/mail/` for the
//! embedded default. Every failure is classified as worth retrying or not; nothing here
//! panics on a bad address or a bad answer.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::config::{MailConfig, Tls, TransportKind};
use super::outbox;
use crate::error::{Error, Result};

/// Why a message did not go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server was unreachable, timed out or answered 4xx: try again later.
    Transient(String),
    /// The server refused for good (5xx), or the message cannot be built (a bad address).
    Permanent(String),
}

impl SendError {
    pub fn text(&self) -> &str {
        match self {
            SendError::Transient(s) | SendError::Permanent(s) => s,
        }
    }
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(PathBuf),
}

impl Transport {
    pub fn from_config(mail: &MailConfig, data_dir: &Path) -> Result<Transport> {
        Ok(match mail.transport {
            TransportKind::File => Transport::File(data_dir.join("mail")),
            TransportKind::Smtp => Transport::Smtp(smtp(mail)?),
        })
    }

    /// For the logs: where messages go.
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(_) => "SMTP".into(),
            Transport::File(dir) => format!("files in {}", dir.display()),
        }
    }

    /// Sends one message; answers what the server said on acceptance.
    pub async fn send(&self, id: i64, email: lettre::Message) -> Result<String, SendError> {
        match self {
            Transport::Smtp(t) => match t.send(email).await {
                Ok(resp) => {
                    let lines: Vec<&str> = resp.message().collect();
                    Ok(format!("{} {}", resp.code(), lines.join(" ")))
                }
                Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                Err(e) => Err(SendError::Transient(e.to_string())),
            },
            Transport::File(dir) => write_eml(dir, id, &email.formatted())
                .await
                .map_err(|e| SendError::Transient(format!("无法写入邮件文件：{e}"))),
        }
    }
}

fn smtp(mail: &MailConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    let host = mail.smtp_host.as_str();
    let bad = |e: lettre::transport::smtp::Error| {
        Error::invalid(
            "mail.smtp_host",
            format!("无法使用 SMTP 服务器 {host}：{e}"),
        )
    };
    let builder = match mail.smtp_tls {
        Tls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(bad)?,
        Tls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(bad)?,
        Tls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
    };
    let mut builder = builder
        .port(mail.smtp_port)
        .timeout(Some(Duration::from_secs(mail.timeout_secs)))
        .hello_name(ClientId::Domain(mail.message_id_host.clone()));
    if let (Some(user), Some(password)) = (&mail.smtp_username, &mail.smtp_password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.0.clone()));
    }
    Ok(builder.build())
}

/// `<outbox-{id}@{host}>`: the same for every attempt at one message, so a copy delivered
/// twice (a worker that lost its lease after the server accepted) is recognisable.
pub fn message_id(id: i64, host: &str) -> String {
    format!("<outbox-{id}@{host}>")
}

/// The MIME message for an outbox row: text and HTML alternatives, its Message-ID, and the
/// time it was queued as its date. A recipient that is not an address fails for good.
pub fn build(
    m: &outbox::Message,
    from: &Mailbox,
    host: &str,
) -> Result<lettre::Message, SendError> {
    let to: Mailbox = m
        .recipient
        .parse()
        .map_err(|e| SendError::Permanent(format!("收件地址“{}”无效：{e}", m.recipient)))?;
    let builder = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(m.subject.as_str())
        .message_id(Some(message_id(m.id, host)))
        .date(SystemTime::from(m.created_at));
    // Messages queued before templates had an HTML part (migration 0010) go as plain text.
    let built = if m.html.is_empty() {
        builder.singlepart(SinglePart::plain(m.body.clone()))
    } else {
        builder.multipart(MultiPart::alternative_plain_html(
            m.body.clone(),
            m.html.clone(),
        ))
    };
    built.map_err(|e| SendError::Permanent(format!("无法生成邮件：{e}")))
}

/// Writes `outbox-{id}.eml` whole or not at all (a temporary file renamed into place): a
/// resend overwrites the same file, so each message is there once.
async fn write_eml(dir: &Path, id: i64, bytes: &[u8]) -> std::io::Result<String> {
    tokio::fs::create_dir_all(dir).await?;
    let path = dir.join(format!("outbox-{id}.eml"));
    let tmp = dir.join(format!(".outbox-{id}.eml.tmp"));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, &path).await?;
    Ok(format!("written to {}", path.display()))
}
