//! Bookkeeping writes that read requests cause — a token's last use, a session's sliding
//! expiry — done in the background, one at a time. A read request then never waits for a
//! write lock: on SQLite an import holds the lock for its whole transaction (seconds), and a
//! GET that recorded something waited that long behind it. One at a time, and skipped while
//! one is on its way, so that writes queued behind an import cannot take the pool's
//! connections from readers; a skipped record is made by a later request, since what is due
//! stays due until it is written.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;

use super::{session, token};
use crate::db::Db;

#[derive(Debug, Clone, Copy)]
pub enum Touch {
    TokenUsed {
        token_id: i64,
        at: DateTime<Utc>,
    },
    SessionExtended {
        session_id: i64,
        until: DateTime<Utc>,
    },
}

pub struct Touches {
    busy: Arc<Semaphore>,
}

impl Default for Touches {
    fn default() -> Self {
        Touches {
            busy: Arc::new(Semaphore::new(1)),
        }
    }
}

impl Touches {
    /// Writes `touch` in the background, unless another is still on its way.
    pub fn record(&self, db: &Db, touch: Touch) {
        let Ok(permit) = self.busy.clone().try_acquire_owned() else {
            return;
        };
        let db = db.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let written = async {
                let mut pooled = db.acquire().await?;
                let mut conn = pooled.conn();
                match touch {
                    Touch::TokenUsed { token_id, at } => {
                        token::record_use(&mut conn, token_id, at).await
                    }
                    Touch::SessionExtended { session_id, until } => {
                        session::extend(&mut conn, session_id, until).await
                    }
                }
            }
            .await;
            if let Err(e) = written {
                tracing::warn!(error = ?e, ?touch, "could not record a session's or token's use");
            }
        });
    }
}
