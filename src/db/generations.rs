//! Generations of the data that served results are computed from, and the totals of paged
//! lists kept per generation.
//!
//! The database keeps one row of counters (migrations 0007 and 0008): `tickets` moves with
//! every transaction that changes tickets (imports and assignments bump it themselves),
//! `registry` with every change to enterprises, projects or counties and `filings` with every
//! change to a filing (both by trigger). Anything keyed by the counters it was computed under
//! is never served after its inputs changed, and every instance on one database agrees.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use super::Conn;
use crate::error::Result;
use crate::on_conn;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Generations {
    pub tickets: i64,
    pub registry: i64,
    pub filings: i64,
}

impl Generations {
    /// Whether any counter of `self` is past the same counter of `other`.
    pub fn newer_than(&self, other: &Generations) -> bool {
        self.tickets > other.tickets
            || self.registry > other.registry
            || self.filings > other.filings
    }

    pub async fn read(conn: &mut Conn<'_>) -> Result<Generations> {
        let (tickets, registry, filings) = on_conn!(conn, |c| sqlx::query_as(
            "SELECT tickets, registry, filings FROM generations WHERE id = 1"
        )
        .fetch_one(c)
        .await)?;
        Ok(Generations {
            tickets,
            registry,
            filings,
        })
    }
}

/// How many totals stay in memory between changes (each is a query and its parameters).
const KEEP: usize = 1024;

/// Totals of list queries, by query and parameters, for the current generations. Counting a
/// county's or the city's tickets reads 250,000 to a million index entries (10–50 ms); the
/// page itself is read from an index in well under a millisecond. The totals only change with
/// the data, so they are counted once per generation.
#[derive(Default)]
pub struct Counts {
    kept: Mutex<(Option<Generations>, HashMap<String, i64>)>,
}

impl Counts {
    /// The total for `key` (the count query and its parameters) under `generations`, from
    /// memory or from `count`, which runs only when it is not at hand.
    pub async fn total(
        &self,
        generations: Generations,
        key: String,
        count: impl Future<Output = Result<i64>>,
    ) -> Result<i64> {
        {
            let kept = self.lock();
            if kept.0 == Some(generations) {
                if let Some(n) = kept.1.get(&key) {
                    return Ok(*n);
                }
            }
        }
        let n = count.await?;
        let mut kept = self.lock();
        if kept.0.is_some_and(|k| k.newer_than(&generations)) {
            // A change came in while this was counted; keep what is current.
            return Ok(n);
        }
        if kept.0 != Some(generations) {
            // Totals of other generations are never asked for again (or are out of date).
            *kept = (Some(generations), HashMap::new());
        }
        if kept.1.len() >= KEEP {
            kept.1.clear();
        }
        kept.1.insert(key, n);
        Ok(n)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Option<Generations>, HashMap<String, i64>)> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}
