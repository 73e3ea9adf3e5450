//! Notifications by e-mail. Every message is written to the `outbox` table in the same
//! transaction as the change it reports, so nothing is lost and nothing is sent for a change
//! that rolled back; a worker ([`worker`]) drains the outbox over SMTP or into `.eml` files
//! ([`transport`]), retrying with backoff until the server accepts or the attempts run out.
//!
//! - [`templates`]: the wording, one typed struct per kind of message, rendered from files
//!   under `src/notify/templates/` (subject, plain text, HTML) with askama;
//! - [`outbox`]: the queue's SQL: enqueue, claim with a lease, mark sent / retry / failed,
//!   the admin's list and retry;
//! - [`digest`]: the 09:30 daily digest for county officers and enterprise users (Art. 15, 16,
//!   22 deadlines as they become known), once per recipient and day across instances.

pub mod config;
pub mod digest;
mod digest_cases;
pub mod outbox;
pub mod templates;
pub mod transport;
pub mod worker;

pub use config::MailConfig;
pub use templates::{Mail, Rendered};

use crate::db::Conn;
use crate::error::Result;

/// Renders `mail` and queues it for `to`, in the caller's transaction. A recipient without an
/// address is skipped (nothing to send to): `false`.
pub async fn enqueue<M: Mail>(conn: &mut Conn<'_>, to: &str, mail: &M) -> Result<bool> {
    Ok(enqueue_id(conn, to, mail).await?.is_some())
}

/// [`enqueue`], answering the new outbox row's id.
pub async fn enqueue_id<M: Mail>(conn: &mut Conn<'_>, to: &str, mail: &M) -> Result<Option<i64>> {
    let to = to.trim();
    if to.is_empty() {
        return Ok(None);
    }
    let rendered = mail.render()?;
    let id = outbox::insert(conn, to, M::KIND, &rendered).await?;
    Ok(Some(id))
}
