//! The sender: claims due messages in bounded batches, sends each, and records the outcome at
//! once. It runs inside `serve` (a task that stops between messages on shutdown) and from the
//! CLI (`aftercare mail send`: until nothing is due, then exit).
//!
//! Exactly once, as far as SMTP allows: a message is marked sent in its own statement right
//! after the server accepted it, and nothing marked sent is ever claimed again, so a restart
//! never resends. The one gap SMTP leaves — the server accepted, then the worker died or lost
//! the database before marking — is closed by the lease running out and another worker sending
//! again, with the same Message-ID (`<outbox-{id}@host>`), so the copy is recognisable. A
//! worker sends only while its lease has time left for one more attempt, so it never sends a
//! message another worker may have claimed meanwhile.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use lettre::message::Mailbox;
use serde::Serialize;
use tokio::sync::watch;

use super::config::MailConfig;
use super::outbox::{self, Message};
use super::transport::{self, SendError, Transport};
use crate::db::Db;
use crate::error::{Error, Result};

/// The first retry waits a minute; each next one twice as long, up to six hours.
pub const FIRST_RETRY: Duration = Duration::minutes(1);
pub const MAX_RETRY: Duration = Duration::hours(6);
/// Passes `drain` makes at most before it returns (a bound, however busy the outbox).
const MAX_PASSES: usize = 1000;
/// What one attempt may take, in timeouts: lettre's timeout applies to the connection and to
/// each command, and a send is several commands.
const TIMEOUTS_PER_ATTEMPT: i32 = 3;

/// The wait before the next attempt, after `attempts` attempts (1 → 1 min, 2 → 2 min, … ≤ 6 h).
pub fn backoff(attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let wait = FIRST_RETRY * 2_i32.pow(doublings);
    wait.min(MAX_RETRY)
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pass {
    pub claimed: usize,
    pub sent: usize,
    /// Failed this time, to be tried again later.
    pub retrying: usize,
    /// Given up: refused for good or out of attempts.
    pub failed: usize,
    /// Handed back unsent (stopping, or the lease too short for another attempt).
    pub released: usize,
}

impl Pass {
    fn add(&mut self, o: Pass) {
        self.claimed += o.claimed;
        self.sent += o.sent;
        self.retrying += o.retrying;
        self.failed += o.failed;
        self.released += o.released;
    }
}

pub struct Worker {
    db: Db,
    transport: Arc<Transport>,
    from: Mailbox,
    host: String,
    /// Unique per worker: the lease holder's name.
    id: String,
    batch: i64,
    max_attempts: i64,
    timeout: Duration,
    stop: Option<watch::Receiver<bool>>,
}

impl Worker {
    pub fn new(db: Db, mail: &MailConfig, transport: Transport) -> Result<Worker> {
        let from = mail
            .from
            .parse::<Mailbox>()
            .map_err(|e| Error::invalid("mail.from", format!("发件地址无效：{e}")))?;
        Ok(Worker {
            db,
            transport: Arc::new(transport),
            from,
            host: mail.message_id_host.clone(),
            id: format!("{}-{}", std::process::id(), crate::secret::random_hex(6)),
            batch: mail.batch_size,
            max_attempts: mail.max_attempts,
            timeout: Duration::seconds(i64::try_from(mail.timeout_secs).unwrap_or(600)),
            stop: None,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Long enough to send a whole batch one by one, each attempt taking as long as it may,
    /// with a minute to spare. (It is also how long a crashed worker's batch waits before
    /// another worker takes it: a smaller batch or timeout shortens that.)
    fn lease(&self) -> Duration {
        self.attempt_time() * i32::try_from(self.batch).unwrap_or(500) + Duration::minutes(1)
    }

    fn attempt_time(&self) -> Duration {
        self.timeout * TIMEOUTS_PER_ATTEMPT
    }

    fn stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| *s.borrow())
    }

    /// Claims one batch due at `now` and sends it. Backoff is counted from `now`.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Pass> {
        let lease_until = now + self.lease();
        let batch = {
            let mut p = self.db.acquire().await?;
            outbox::claim(&mut p.conn(), &self.id, now, lease_until, self.batch).await?
        };
        let mut pass = Pass {
            claimed: batch.len(),
            ..Pass::default()
        };
        for m in batch {
            // One more attempt must fit in the lease, or another worker may take the message
            // while this one is still talking to the server.
            let too_late = Utc::now() + self.attempt_time() >= lease_until;
            if self.stopping() || too_late {
                let mut p = self.db.acquire().await?;
                outbox::release(&mut p.conn(), m.id, &self.id).await?;
                pass.released += 1;
                continue;
            }
            pass.add(self.deliver(m, now).await?);
        }
        Ok(pass)
    }

    /// Passes until nothing is due (or the worker is stopping), bounded.
    pub async fn drain(&self) -> Result<Pass> {
        let mut total = Pass::default();
        for _ in 0..MAX_PASSES {
            let pass = self.run_once(Utc::now()).await?;
            total.add(pass);
            if pass.claimed == 0 || pass.released > 0 || self.stopping() {
                break;
            }
        }
        Ok(total)
    }

    async fn deliver(&self, m: Message, now: DateTime<Utc>) -> Result<Pass> {
        let mut pass = Pass::default();
        let id = m.id;
        {
            let mut p = self.db.acquire().await?;
            outbox::set_message_id(&mut p.conn(), id, &transport::message_id(id, &self.host))
                .await?;
        }
        let outcome = match transport::build(&m, &self.from, &self.host) {
            Ok(email) => self.transport.send(id, email).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(reply) => {
                self.record_sent(id, &reply).await?;
                pass.sent += 1;
            }
            Err(e) => {
                let give_up =
                    matches!(e, SendError::Permanent(_)) || m.attempts >= self.max_attempts;
                let next = (!give_up).then(|| now + backoff(m.attempts));
                tracing::warn!(
                    outbox_id = id,
                    attempts = m.attempts,
                    give_up,
                    error = e.text(),
                    "mail not sent"
                );
                let mut p = self.db.acquire().await?;
                outbox::mark_failed(&mut p.conn(), id, &self.id, e.text(), next).await?;
                if give_up {
                    pass.failed += 1;
                } else {
                    pass.retrying += 1;
                }
            }
        }
        Ok(pass)
    }

    /// Marks a message sent, trying a few times: the server has it, and until this is
    /// recorded a lease running out would send it again.
    async fn record_sent(&self, id: i64, reply: &str) -> Result<()> {
        let mut last = None;
        for wait in [0, 200, 1000, 5000] {
            tokio::time::sleep(StdDuration::from_millis(wait)).await;
            let marked = match self.db.acquire().await {
                Ok(mut p) => outbox::mark_sent(&mut p.conn(), id, reply, Utc::now()).await,
                Err(e) => Err(e),
            };
            match marked {
                Ok(true) => return Ok(()),
                Ok(false) => {
                    tracing::warn!(
                        outbox_id = id,
                        "mail delivered again: it was already marked sent"
                    );
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        let e = last.unwrap_or_else(|| Error::Internal("无法记录邮件已发送".into()));
        tracing::error!(outbox_id = id, error = ?e, "mail sent but not marked sent: it may go out twice");
        Err(e)
    }
}

/// The sender running inside `serve`.
pub struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Lets the message in flight finish, gives the rest of the batch back, and waits (at
    /// most a minute) for the task to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(StdDuration::from_secs(60), self.task)
            .await
            .is_err()
        {
            tracing::warn!("mail worker did not stop within a minute");
        }
    }
}

/// Starts the sender and the daily digest in the background: every `poll_secs`, today's
/// digest (once it is due) and then everything due in the outbox.
pub fn spawn(db: Db, mail: MailConfig, transport: Transport) -> Result<Running> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut worker = Worker::new(db.clone(), &mail, transport)?;
    worker.stop = Some(stop_rx.clone());
    tracing::info!(
        worker = worker.id(),
        to = worker.transport.describe(),
        "mail worker started"
    );
    let poll = StdDuration::from_secs(mail.poll_secs);
    let mut stop = stop_rx;
    let task = tokio::spawn(async move {
        loop {
            if let Err(e) = super::digest::run_due(&db, &mail, Utc::now()).await {
                tracing::warn!(error = ?e, "daily digest failed");
            }
            match worker.drain().await {
                Ok(p) if p.claimed > 0 => tracing::info!(?p, "mail pass"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = ?e, "mail pass failed"),
            }
            if *stop.borrow() {
                break;
            }
            // A dropped sender (the server gone without stopping us) ends the loop too.
            let closed = tokio::select! {
                _ = tokio::time::sleep(poll) => false,
                changed = stop.changed() => changed.is_err(),
            };
            if closed || *stop.borrow() {
                break;
            }
        }
        tracing::info!("mail worker stopped");
    });
    Ok(Running {
        stop: stop_tx,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_to_six_hours() {
        let minutes: Vec<i64> = (1..=12).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360]);
        assert_eq!(backoff(0), FIRST_RETRY);
        assert_eq!(backoff(i64::MAX), MAX_RETRY);
    }
}
