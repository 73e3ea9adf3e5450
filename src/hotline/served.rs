//! Metrics as the server hands them out: computed once per change of their inputs, then
//! served from memory. The key is the database's ticket and registry generations (moved by
//! every import, assignment and registry change, see migration 0007), the period, and, for a
//! period still running, the hour the figures are as of (response windows run out as time
//! passes). Nothing here is needed by another instance: each computes the same figures from
//! the same database, so several `serve` processes can share one PostgreSQL.
//!
//! When a result is missing (after a change), one request computes it and the others asking
//! at the same moment wait for it: each computation is half a second of CPU on a million
//! tickets, and sixty-four of them at once would stall two cores for many seconds. The waiting
//! requests hold no database connection: the pool is small (8 on SQLite), and requests queued
//! here holding all of it once stalled every other route for ten seconds after an import.
//!
//! A change made through this process (an import, an assignment) recomputes the periods asked
//! for lately before its request answers ([`Analytics::refresh`]). Until then, readers of those
//! periods get the figures from just before the change, as they would have a moment earlier,
//! instead of queueing for seconds behind the computation; once the change has answered,
//! every figure served includes it. A change made by another instance is never waited out
//! this way: its figures are computed when first asked for, as before.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::facts::FactStore;
use super::metrics::{self, Metrics};
use super::queue::FactChange;
use super::view::{self, Ranked};
use crate::db::{Conn, Db, Generations};
use crate::error::Result;

/// How many computed periods stay in memory (a year is ~2 MB at 10,000 enterprises).
const KEEP: usize = 48;
/// A change made here recomputes at most this many periods, those asked for most recently
/// within [`RECENT`], before it answers.
const REFRESH: usize = 8;
const RECENT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    year: i32,
    month: Option<u32>,
    tickets: i64,
    registry: i64,
    as_of: i64,
}

/// A computed result with what display needs (names, orders), built together once.
#[derive(Debug)]
pub struct Served {
    pub metrics: Arc<Metrics>,
    pub ranked: Ranked,
}

pub struct Analytics {
    pub facts: Arc<FactStore>,
    /// Each result with when it was last asked for.
    results: Mutex<HashMap<Key, (Arc<Served>, Instant)>>,
    /// Held while a missing result is computed, so that requests arriving meanwhile wait for
    /// it instead of computing it too.
    computing: tokio::sync::Mutex<()>,
}

impl Analytics {
    pub fn new(data_dir: &Path) -> Analytics {
        Analytics {
            facts: Arc::new(FactStore::new(data_dir)),
            results: Mutex::new(HashMap::new()),
            computing: tokio::sync::Mutex::new(()),
        }
    }

    /// The metrics of a year or month, as of now (rounded down to the hour while the period
    /// runs), computed only when no current result is at hand.
    pub async fn metrics(&self, db: &Db, year: i32, month: Option<u32>) -> Result<Arc<Metrics>> {
        Ok(self.served(db, year, month).await?.metrics.clone())
    }

    /// [`Analytics::metrics`] with the names and orders the views page through.
    pub async fn served(&self, db: &Db, year: i32, month: Option<u32>) -> Result<Arc<Served>> {
        self.get(db, year, month, true).await
    }

    /// Recomputes the periods asked for lately, after a change made through this process and
    /// before its request answers (see the module's notes).
    pub async fn refresh(&self, db: &Db) -> Result<()> {
        let mut periods: Vec<(Instant, i32, Option<u32>)> = Vec::new();
        for (k, (_, used)) in self.lock_results().iter() {
            if used.elapsed() > RECENT {
                continue;
            }
            match periods
                .iter_mut()
                .find(|(_, y, m)| (*y, *m) == (k.year, k.month))
            {
                Some(p) => p.0 = p.0.max(*used),
                None => periods.push((*used, k.year, k.month)),
            }
        }
        periods.sort_by_key(|p| std::cmp::Reverse(p.0));
        for (_, year, month) in periods.into_iter().take(REFRESH) {
            self.get(db, year, month, false).await?;
        }
        Ok(())
    }

    /// The current result, computed when missing; with `may_lag`, the one from just before a
    /// change this process is still making.
    async fn get(
        &self,
        db: &Db,
        year: i32,
        month: Option<u32>,
        may_lag: bool,
    ) -> Result<Arc<Served>> {
        let generations = {
            let mut pooled = db.acquire().await?;
            Generations::read(&mut pooled.conn()).await?
        };
        let key = key(generations, year, month)?;
        if let Some(hit) = self.hit(&key) {
            return Ok(hit);
        }
        if may_lag && self.facts.committed_here(key.tickets).await {
            if let Some(before) = self.before(&key) {
                return Ok(before);
            }
        }
        let _computing = self.computing.lock().await;
        // Another request may have computed it while this one waited.
        if let Some(hit) = self.hit(&key) {
            return Ok(hit);
        }
        let mut pooled = db.acquire().await?;
        let mut conn = pooled.conn();
        let table = self.facts.current(&mut conn).await?;
        // Tickets may have changed since the generations were read: the result is for the
        // table's generation, which is never older.
        let key = Key {
            tickets: table.generation,
            ..key
        };
        let metrics =
            Arc::new(metrics::compute_from(&mut conn, table, year, month, key.as_of).await?);
        let ranked = view::rank_for_display(&mut conn, &metrics).await?;
        let computed = Arc::new(Served { metrics, ranked });
        let mut results = self.lock_results();
        // The period's older results are superseded (other periods' stay until they are
        // recomputed, so that they can be served while a change made here is recomputing).
        results.retain(|k, _| (k.year, k.month) != (year, month));
        if results.len() >= KEEP {
            results.clear();
        }
        results.insert(key, (computed.clone(), Instant::now()));
        Ok(computed)
    }

    /// Brings the facts copy up to the database (after a start, or a change made by another
    /// instance), so the first request after it does not pay for the rebuild.
    pub async fn warm(&self, conn: &mut Conn<'_>) -> Result<()> {
        self.facts.current(conn).await.map(|_| ())
    }

    /// Teaches the facts copy a committed assignment.
    pub async fn assigned(&self, change: &FactChange) {
        self.facts
            .patch(change.step.clone(), |t| {
                t.reassign(&change.keys, change.enterprise)
            })
            .await;
    }

    fn hit(&self, key: &Key) -> Option<Arc<Served>> {
        let mut results = self.lock_results();
        let (served, used) = results.get_mut(key)?;
        *used = Instant::now();
        Some(served.clone())
    }

    /// The period's latest result from before `key`'s ticket generation, under the same
    /// registry and as-of hour.
    fn before(&self, key: &Key) -> Option<Arc<Served>> {
        let results = self.lock_results();
        results
            .iter()
            .filter(|(k, _)| {
                (k.year, k.month, k.registry, k.as_of)
                    == (key.year, key.month, key.registry, key.as_of)
                    && k.tickets < key.tickets
            })
            .max_by_key(|(k, _)| k.tickets)
            .map(|(_, (served, _))| served.clone())
    }

    fn lock_results(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (Arc<Served>, Instant)>> {
        self.results.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key(generations: Generations, year: i32, month: Option<u32>) -> Result<Key> {
    let (_, end) = metrics::bounds(year, month)?;
    let now = chrono::Utc::now().timestamp();
    Ok(Key {
        year,
        month,
        tickets: generations.tickets,
        registry: generations.registry,
        as_of: end.min(now - now.rem_euclid(3600)),
    })
}
