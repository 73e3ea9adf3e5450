//! An evaluation run: one rule set applied to the input snapshot of a year, stored whole and
//! never changed afterwards. It records the rule set's text and hash, the snapshot's hash, the
//! results' hash and the engine version, so that anyone can re-run it and compare.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::engine::{self, Evaluation};
use super::gather::{hex, Snapshot, Subject};
use super::Loaded;
use crate::audit::{self, Actor};
use crate::db::{Conn, Db};
use crate::error::{Error, Result};
use crate::on_conn;

/// Changes whenever the engine could evaluate the same rules and inputs differently.
pub const ENGINE_VERSION: &str = concat!("aftercare ", env!("CARGO_PKG_VERSION"), " engine/1");

/// Publicity window when the rule set does not say (`publicity_days`).
pub const DEFAULT_PUBLICITY_DAYS: i64 = 7;

/// A rule set ready to run: checked, with its text and hash.
pub struct Prepared {
    pub loaded: Loaded,
    pub text: String,
    pub hash: String,
    /// Whether the year lies outside the validity window (refused unless forced).
    pub outside_window: bool,
}

/// Checks `text` for an evaluation of `year` on `as_of`. A year outside the rule set's
/// validity window (Art. 23: 2021 to 2026 for Jining) is refused unless `force`.
pub fn prepare(text: &str, year: i32, as_of: NaiveDate, force: bool) -> Result<Prepared> {
    let window = crate::rules::RuleSet::parse(text)?;
    let outside_window = year < window.effective_from.year() || year > window.effective_to.year();
    if outside_window && !force {
        return Err(Error::invalid(
            "year",
            format!(
                "{year}年不在规则集“{}”的有效期（{} 至 {}）内；确需评价请强制执行（--force），结果将注明",
                window.id, window.effective_from, window.effective_to
            ),
        ));
    }
    // A forced run uses the parameters as they stand at the nearest end of the window (the
    // trace shows each value's date).
    let check_on = as_of.clamp(
        window.effective_from,
        window.effective_to.max(window.effective_from),
    );
    let loaded = super::load(text, check_on).map_err(|problems| {
        Error::invalid(
            "rules",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("；"),
        )
    })?;
    Ok(Prepared {
        hash: hex(&Sha256::digest(text.as_bytes())),
        text: text.to_string(),
        loaded,
        outside_window,
    })
}

impl Prepared {
    pub fn publicity_days(&self, as_of: NaiveDate) -> i64 {
        if self.loaded.params.parameters.contains_key("publicity_days") {
            self.loaded
                .params
                .value("publicity_days", as_of, None)
                .value
                .clamp(1, 60)
        } else {
            DEFAULT_PUBLICITY_DAYS
        }
    }

    /// Every subject evaluated, in the snapshot's order.
    pub fn evaluate(&self, snapshot: &Snapshot) -> Vec<Evaluation> {
        snapshot
            .subjects
            .iter()
            .map(|s| self.evaluate_one(s, snapshot.as_of))
            .collect()
    }

    pub fn evaluate_one(&self, s: &Subject, as_of: NaiveDate) -> Evaluation {
        engine::evaluate(
            &self.loaded.book,
            &self.loaded.params,
            as_of,
            Some(s.grade),
            &s.inputs,
        )
    }
}

/// SHA-256 of the results (enterprise id, items with traces, total, flags) as JSON.
pub fn results_hash(snapshot: &Snapshot, results: &[Evaluation]) -> Result<String> {
    let pairs: Vec<(i64, &Evaluation)> = snapshot
        .subjects
        .iter()
        .map(|s| s.enterprise_id)
        .zip(results)
        .collect();
    let bytes = serde_json::to_vec(&pairs).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(hex(&Sha256::digest(bytes)))
}

/// A run as listed and shown.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Run {
    pub id: i64,
    pub year: i32,
    pub as_of: NaiveDate,
    pub rule_set_id: String,
    pub rule_set_title: String,
    pub rules_hash: String,
    pub inputs_hash: String,
    pub results_hash: String,
    pub engine_version: String,
    pub forced: bool,
    pub enterprises: i32,
    #[schema(value_type = String)]
    pub status: RunStatus,
    pub publicity_days: i32,
    pub publicized_at: Option<DateTime<Utc>>,
    pub publicity_ends: Option<NaiveDate>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl Run {
    pub fn number(&self) -> String {
        format!("{}年度第{}次评价", self.year, self.id)
    }
    pub fn created_local(&self) -> String {
        crate::time::local(&self.created_at)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Draft,
    Publicized,
    Final,
}

impl RunStatus {
    pub fn code(self) -> &'static str {
        match self {
            RunStatus::Draft => "draft",
            RunStatus::Publicized => "publicized",
            RunStatus::Final => "final",
        }
    }
    pub fn parse(s: &str) -> Option<RunStatus> {
        [RunStatus::Draft, RunStatus::Publicized, RunStatus::Final]
            .into_iter()
            .find(|k| k.code() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Draft => "草稿",
            RunStatus::Publicized => "公示中",
            RunStatus::Final => "已定稿",
        }
    }
}

crate::text_column!(RunStatus, RunStatus::parse);

/// Stores a computed run and its results in one transaction.
pub async fn store(
    db: &Db,
    actor: &Actor,
    prepared: &Prepared,
    snapshot: &Snapshot,
    results: &[Evaluation],
) -> Result<Run> {
    let inputs_hash = snapshot.hash()?;
    let results_hash = results_hash(snapshot, results)?;
    let params = &prepared.loaded.params;
    let enterprises = i32::try_from(snapshot.subjects.len())
        .map_err(|_| Error::Internal("企业数超出范围".into()))?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let id: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO evaluation_runs (year, as_of, rule_set_id, rule_set_title, rules_text, rules_hash,
             inputs_hash, results_hash, engine_version, forced, enterprises, status, publicity_days,
             created_by_user, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'draft', $12, $13, $14, $15) RETURNING id"
    )
    .bind(snapshot.year)
    .bind(snapshot.as_of)
    .bind(&params.id)
    .bind(&params.title)
    .bind(&prepared.text)
    .bind(&prepared.hash)
    .bind(&inputs_hash)
    .bind(&results_hash)
    .bind(ENGINE_VERSION)
    .bind(prepared.outside_window)
    .bind(enterprises)
    .bind(prepared.publicity_days(snapshot.as_of) as i32)
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(now)
    .fetch_one(c)
    .await
    })?;
    let rows: Vec<(&Subject, &Evaluation)> = snapshot.subjects.iter().zip(results).collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        insert_results(&mut conn, id, chunk).await?;
    }
    let run = get(&mut conn, id).await?;
    audit::record(
        &mut conn,
        actor,
        "evaluation.run",
        "evaluation_run",
        Some(id),
        None::<&()>,
        Some(&run),
    )
    .await?;
    tx.commit().await?;
    Ok(run)
}

/// Results per INSERT statement: 500 × 10 parameters stays under both backends' limits, and
/// saves a round trip per enterprise (2.3 s of a 10,000-enterprise run on PostgreSQL).
const ROWS_PER_INSERT: usize = 500;

async fn insert_results(
    conn: &mut Conn<'_>,
    run: i64,
    rows: &[(&Subject, &Evaluation)],
) -> Result<()> {
    let mut encoded = Vec::with_capacity(rows.len());
    for (s, e) in rows {
        encoded.push((
            to_json(&s.inputs)?,
            to_json(*e)?,
            e.flags.iter().any(|f| f == "no_2a"),
        ));
    }
    let values: Vec<String> = (0..rows.len())
        .map(|i| {
            let p = |k: usize| format!("${}", i * 10 + k);
            // final_total and final_no_2a start equal to the computed ones.
            format!(
                "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(6),
                p(7),
                p(8),
                p(7),
                p(8),
                p(9),
                p(10)
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO evaluation_results (run_id, enterprise_id, county_id, name, credit_code, grade,
             total, no_2a, final_total, final_no_2a, inputs, evaluation) VALUES {}",
        values.join(", ")
    );
    on_conn!(conn, |c| {
        let mut q = sqlx::query(&sql);
        for ((s, e), (inputs, evaluation, no_2a)) in rows.iter().zip(&encoded) {
            q = q
                .bind(run)
                .bind(s.enterprise_id)
                .bind(s.county_id)
                .bind(&s.name)
                .bind(&s.credit_code)
                .bind(s.grade.code())
                .bind(e.total)
                .bind(*no_2a)
                .bind(inputs)
                .bind(evaluation);
        }
        q.execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))
}

pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Run> {
    on_conn!(conn, |c| {
        sqlx::query_as::<_, Run>(
        "SELECT id, year, as_of, rule_set_id, rule_set_title, rules_hash, inputs_hash, results_hash,
                engine_version, forced, enterprises, status, publicity_days, publicized_at,
                publicity_ends, finalized_at, created_by, created_at
         FROM evaluation_runs WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await
    })?
    .ok_or(Error::NotFound("评价"))
}

/// The rule-set text a run used (for re-running it and for what-if).
pub async fn rules_text(conn: &mut Conn<'_>, id: i64) -> Result<String> {
    on_conn!(conn, |c| sqlx::query_scalar::<_, String>(
        "SELECT rules_text FROM evaluation_runs WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("评价"))
}
