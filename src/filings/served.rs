//! The worklist's two computed lists (enterprises without an org, incomplete notice-board
//! coverage) served from memory. Computing them for the city reads every enterprise, project
//! and approved board (~0.2 s of CPU at 10,000 enterprises), while they change only when the
//! registry or a filing does. So the city's are kept per (date, rule set, registry generation,
//! filings generation), and a county's are cut from them. The registry generation moves by
//! trigger with every change to enterprises, projects or counties (migration 0007), the
//! filings generation with every change to a filing (0008). A result is never served after
//! its inputs changed, and another instance computes the same from the same database.
//!
//! One computation at a time: requests that miss while one runs wait for it (holding no
//! pooled connection) rather than all computing the same lists on two cores.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use super::worklist::{self, EnterpriseGap};
use crate::db::{Db, Generations};
use crate::error::Result;
use crate::rules::RuleSet;

/// How many results stay in memory: one per day asked for (and rule set).
const KEEP: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    as_of: NaiveDate,
    rules: String,
    registry: i64,
    filings: i64,
}

/// The gap lists of the city, in county and name order, each gap with its county's id.
#[derive(Debug, Default)]
pub struct Gaps {
    pub without_org: Vec<(i64, EnterpriseGap)>,
    pub incomplete_coverage: Vec<(i64, EnterpriseGap)>,
    /// Orgs whose filed hotline hours fall short of what the rule set asks (empty when it
    /// asks nothing); an org that filed no hours is not listed: unknown, not short.
    pub short_hours: Vec<(i64, EnterpriseGap)>,
}

#[derive(Default)]
pub struct Worklists {
    results: Mutex<HashMap<Key, Arc<Gaps>>>,
    computing: tokio::sync::Mutex<()>,
}

impl Worklists {
    pub fn new() -> Worklists {
        Worklists::default()
    }

    /// The city's gaps on `as_of` under `rules` (a county's are cut from them): the kept
    /// result when its generations are current, otherwise computed once and kept.
    pub async fn gaps(&self, db: &Db, rules: &RuleSet, as_of: NaiveDate) -> Result<Arc<Gaps>> {
        let Generations {
            registry, filings, ..
        } = {
            let mut pooled = db.acquire().await?;
            Generations::read(&mut pooled.conn()).await?
        };
        let key = Key {
            as_of,
            rules: rules.id.clone(),
            registry,
            filings,
        };
        if let Some(hit) = self.lock().get(&key) {
            return Ok(hit.clone());
        }
        let _computing = self.computing.lock().await;
        if let Some(hit) = self.lock().get(&key) {
            return Ok(hit.clone());
        }
        let computed = {
            let mut pooled = db.acquire().await?;
            Arc::new(worklist::gaps(&mut pooled.conn(), None, rules, as_of).await?)
        };
        let mut results = self.lock();
        // Results of older generations can never be asked for again.
        results.retain(|k, _| k.registry == registry && k.filings == filings);
        if results.len() >= KEEP {
            results.clear();
        }
        results.insert(key, computed.clone());
        Ok(computed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Gaps>>> {
        self.results.lock().unwrap_or_else(|p| p.into_inner())
    }
}
