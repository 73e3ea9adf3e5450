//! Metrics as the server hands them out: computed once per change of their inputs, then
//! served from memory. The key is the database's ticket and registry generations (moved by
//! every import, assignment and registry change, see migration 0007), the period, and, for a
//! period still running, the hour the figures are as of (response windows run out as time
//! passes). Nothing here is needed by another instance: each computes the same figures from
//! the same database, so several `serve` processes can share one PostgreSQL.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::facts::{FactStore, Table};
use super::metrics::{self, Metrics};
use super::queue::FactChange;
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

/// How many computed periods stay in memory (a year is ~2 MB at 10,000 enterprises).
const KEEP: usize = 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    year: i32,
    month: Option<u32>,
    tickets: i64,
    registry: i64,
    as_of: i64,
}

pub struct Analytics {
    pub facts: Arc<FactStore>,
    results: Mutex<HashMap<Key, Arc<Metrics>>>,
    /// The last facts table read, by generation, so that computing several periods after one
    /// change reads the file once.
    table: Mutex<Option<Arc<Table>>>,
}

/// (tickets, registry) generations.
pub async fn generations(conn: &mut Conn<'_>) -> Result<(i64, i64)> {
    Ok(on_conn!(conn, |c| sqlx::query_as(
        "SELECT tickets, registry FROM generations WHERE id = 1"
    )
    .fetch_one(c)
    .await)?)
}

impl Analytics {
    pub fn new(data_dir: &Path) -> Analytics {
        Analytics {
            facts: Arc::new(FactStore::new(data_dir)),
            results: Mutex::new(HashMap::new()),
            table: Mutex::new(None),
        }
    }

    /// The metrics of a year or month, as of now (rounded down to the hour while the period
    /// runs), computed only when no current result is at hand.
    pub async fn metrics(
        &self,
        conn: &mut Conn<'_>,
        year: i32,
        month: Option<u32>,
    ) -> Result<Arc<Metrics>> {
        let (tickets, registry) = generations(conn).await?;
        let (_, end) = metrics::bounds(year, month)?;
        let now = chrono::Utc::now().timestamp();
        let as_of = end.min(now - now.rem_euclid(3600));
        let key = Key {
            year,
            month,
            tickets,
            registry,
            as_of,
        };
        if let Some(hit) = self.lock_results().get(&key) {
            return Ok(hit.clone());
        }
        let table = self.table(conn, tickets).await?;
        let computed = Arc::new(metrics::compute_from(conn, table, year, month, as_of).await?);
        let mut results = self.lock_results();
        // Results of older generations can never be asked for again.
        results.retain(|k, _| k.tickets == tickets && k.registry == registry);
        if results.len() >= KEEP {
            results.clear();
        }
        results.insert(key, computed.clone());
        Ok(computed)
    }

    /// Brings the facts copy up to the database (after a start, or a change made by another
    /// instance), so the first request after it does not pay for the rebuild.
    pub async fn warm(&self, conn: &mut Conn<'_>) -> Result<()> {
        let (tickets, _) = generations(conn).await?;
        self.table(conn, tickets).await.map(|_| ())
    }

    /// Teaches the facts copy a committed assignment.
    pub async fn assigned(&self, change: &FactChange) {
        self.facts
            .patch(change.step.clone(), |t| {
                t.reassign(&change.keys, change.enterprise)
            })
            .await;
    }

    async fn table(&self, conn: &mut Conn<'_>, generation: i64) -> Result<Arc<Table>> {
        if let Some(t) = self
            .lock_table()
            .as_ref()
            .filter(|t| t.generation == generation)
        {
            return Ok(t.clone());
        }
        let t = Arc::new(self.facts.current(conn).await?);
        *self.lock_table() = Some(t.clone());
        Ok(t)
    }

    fn lock_results(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Metrics>>> {
        self.results.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_table(&self) -> std::sync::MutexGuard<'_, Option<Arc<Table>>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }
}
