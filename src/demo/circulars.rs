//! Demo circulars: for 2025 one of each kind, issued in January 2026 (the evaluation one
//! after the run was finalized); the hotline circular of the latest full month, issued; and a
//! county officer's draft for the current year, left for them to issue.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::cases::Cast;
use crate::auth::Principal;
use crate::circulars::{store, Context, Kind, Period, Request};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::hotline::facts::FactStore;

fn at(y: i32, m: u32, d: u32) -> Result<DateTime<Utc>> {
    chrono::NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(2, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| Error::Internal("demo date".into()))
}

pub async fn build(db: &Db, admin: &Principal, cast: &Cast) -> Result<()> {
    let scratch =
        std::env::temp_dir().join(format!("aftercare-demo-circulars-{}", std::process::id()));
    let result = circulars(db, &FactStore::new(&scratch), admin, cast).await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn circulars(db: &Db, facts: &FactStore, admin: &Principal, cast: &Cast) -> Result<()> {
    let table = {
        let mut pooled = db.acquire().await?;
        let mut conn = pooled.conn();
        facts.current(&mut conn).await?
    };
    let rules = Arc::new(crate::rules::RuleSet::shipped("jining-2021")?);
    let ctx = |now: DateTime<Utc>| Context {
        facts: table.clone(),
        rules: rules.clone(),
        wording_dir: None,
        now,
    };
    let actor = admin.actor();
    let today = crate::time::today();
    let year = 2025;
    let issued_2025 = [
        (Kind::Org, at(2026, 1, 20)?),
        (Kind::Hotline, at(2026, 1, 21)?),
        (Kind::Evaluation, at(2026, 1, 26)?),
    ];
    for (kind, when) in issued_2025 {
        let req = Request {
            kind,
            period: Period::Year(year),
            county_id: None,
        };
        let c = store::create(db, admin.role, &actor, &ctx(when), req).await?;
        store::issue(db, admin.role, &actor, c.id, None, when).await?;
    }
    let month = Period::last_full_month(today);
    let req = Request {
        kind: Kind::Hotline,
        period: month,
        county_id: None,
    };
    let now = Utc::now();
    let c = store::create(db, admin.role, &actor, &ctx(now), req).await?;
    store::issue(db, admin.role, &actor, c.id, None, now).await?;

    // A county officer's draft of this year's org circular, to issue from the page.
    let officer = cast
        .officers
        .first()
        .ok_or_else(|| Error::Internal("demo officer".into()))?;
    let req = Request {
        kind: Kind::Org,
        period: Period::Year(chrono::Datelike::year(&today)),
        county_id: None,
    };
    store::create(db, officer.role, &officer.actor(), &ctx(now), req).await?;
    Ok(())
}
