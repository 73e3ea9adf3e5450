//! Reading a run's results: the officers' table (scoped, filtered, sorted and paged in the
//! database, with the previous year's total beside each), one enterprise's result with its
//! trace and the objections' overrides applied, and an enterprise's history.

use serde::{Deserialize, Serialize};

use super::access::{require_result_visible, require_run_visible};
use super::engine::{Evaluation, Item, Outcome};
use super::metrics::Inputs;
use super::run::{self, Run, RunStatus};
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::{Page, Paging};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ResultRow {
    pub enterprise_id: i64,
    pub name: String,
    pub credit_code: String,
    pub county_id: i64,
    pub county_name: String,
    pub grade: String,
    /// As computed.
    pub total: i64,
    pub no_2a: bool,
    /// With upheld objections applied.
    pub final_total: i64,
    pub final_no_2a: bool,
    /// The same enterprise's total in the previous year's latest published run.
    pub prev_total: Option<i64>,
    pub open_objections: i64,
}

impl ResultRow {
    pub fn change(&self) -> Option<i64> {
        self.prev_total.map(|p| self.final_total - p)
    }

    /// "+5", "-20", "0", or "—" without a previous year.
    pub fn change_text(&self) -> String {
        match self.change() {
            Some(c) if c > 0 => format!("+{c}"),
            Some(c) => c.to_string(),
            None => "—".into(),
        }
    }

    pub fn change_class(&self) -> &'static str {
        match self.change() {
            Some(c) if c > 0 => "good",
            Some(c) if c < 0 => "bad",
            _ => "",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    TotalDesc,
    TotalAsc,
    Change,
    Name,
}

impl Sort {
    fn order_by(self) -> &'static str {
        match self {
            Sort::TotalDesc => "r.final_total DESC, r.enterprise_id",
            Sort::TotalAsc => "r.final_total, r.enterprise_id",
            Sort::Change => {
                "(r.final_total - COALESCE(pr.final_total, r.final_total)), r.enterprise_id"
            }
            Sort::Name => "r.name, r.enterprise_id",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    pub county_id: Option<i64>,
    /// Part of the name or credit code.
    pub q: Option<String>,
    /// Only those that may not take part in the 2A selection (or only those that may).
    pub no_2a: Option<bool>,
    /// Only those whose total changed against the previous year.
    pub changed: Option<bool>,
    #[param(value_type = Option<String>)]
    pub sort: Option<Sort>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The latest published run of a year (final first, then publicized).
pub async fn published(conn: &mut Conn<'_>, year: i32) -> Result<Option<i64>> {
    Ok(on_conn!(conn, |c| sqlx::query_scalar::<_, i64>(
        "SELECT id FROM evaluation_runs WHERE year = $1 AND status <> 'draft'
         ORDER BY CASE status WHEN 'final' THEN 0 ELSE 1 END, id DESC LIMIT 1"
    )
    .bind(year)
    .fetch_optional(c)
    .await)?)
}

/// A run `p` may see.
pub async fn visible_run(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<Run> {
    let run = run::get(conn, id).await?;
    require_run_visible(p, &run)?;
    Ok(run)
}

/// One page of a run's results within `p`'s scope.
pub async fn table(
    conn: &mut Conn<'_>,
    p: &Principal,
    run: &Run,
    f: &Filter,
) -> Result<Page<ResultRow>> {
    let paging = Paging::new(f.page, f.per_page)?;
    let scope = p.scope();
    let county = scope.county().or(f.county_id);
    let enterprise = scope.enterprise();
    let q =
        f.q.as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(|q| {
                let q: String = q.chars().take(100).collect();
                format!("%{}%", q.replace(['%', '_'], ""))
            });
    let prev = published(conn, run.year - 1).await?;
    let filter = "FROM evaluation_results r JOIN jurisdictions j ON j.id = r.county_id
         LEFT JOIN evaluation_results pr ON pr.run_id = $2 AND pr.enterprise_id = r.enterprise_id
         WHERE r.run_id = $1 AND ($3 IS NULL OR r.county_id = $3) AND ($4 IS NULL OR r.enterprise_id = $4)
           AND ($5 IS NULL OR r.name LIKE $5 OR r.credit_code LIKE $5)
           AND ($6 IS NULL OR r.final_no_2a = $6)
           AND ($7 IS NULL OR $7 = (pr.final_total IS NOT NULL AND pr.final_total <> r.final_total))";
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) {filter}"
    ))
    .bind(run.id)
    .bind(prev)
    .bind(county)
    .bind(enterprise)
    .bind(&q)
    .bind(f.no_2a)
    .bind(f.changed)
    .fetch_one(c)
    .await)?;
    let sql = format!(
        "SELECT r.enterprise_id, r.name, r.credit_code, r.county_id, j.name AS county_name, r.grade,
                r.total, r.no_2a, r.final_total, r.final_no_2a, pr.final_total AS prev_total,
                (SELECT COUNT(*) FROM objections o WHERE o.run_id = r.run_id
                   AND o.enterprise_id = r.enterprise_id AND o.status = 'open') AS open_objections
         {filter} ORDER BY {} LIMIT $8 OFFSET $9",
        f.sort.unwrap_or(Sort::TotalDesc).order_by()
    );
    let items = on_conn!(conn, |c| sqlx::query_as::<_, ResultRow>(&sql)
        .bind(run.id)
        .bind(prev)
        .bind(county)
        .bind(enterprise)
        .bind(&q)
        .bind(f.no_2a)
        .bind(f.changed)
        .bind(paging.per_page)
        .bind(paging.offset())
        .fetch_all(c)
        .await)?;
    Ok(paging.wrap(items, total))
}

/// An item as shown: as computed, and the objection that overrode it, if one was upheld.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub item: Item,
    pub overridden: Option<Override>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Override {
    pub objection_id: i64,
    pub points_before: i64,
    pub points_after: i64,
    pub flag_cleared: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResultDetail {
    pub run: Run,
    pub row: ResultRow,
    #[schema(value_type = Object)]
    pub inputs: Inputs,
    pub items: Vec<ItemView>,
    pub flags: Vec<String>,
    pub objections: Vec<super::objection::Objection>,
    /// The evidence attached to those objections.
    pub files: Vec<super::objection_files::ObjectionFile>,
    /// The enterprise may still file an objection (publicized, within the window).
    pub objections_open: bool,
    /// For a year still running: what falls short in the items not yet earned.
    pub still_possible: Vec<String>,
}

/// The stored evaluation of one enterprise in a run.
pub async fn evaluation(
    conn: &mut Conn<'_>,
    run_id: i64,
    enterprise_id: i64,
) -> Result<(Evaluation, Inputs)> {
    let (evaluation, inputs): (String, String) = on_conn!(conn, |c| {
        sqlx::query_as(
        "SELECT evaluation, inputs FROM evaluation_results WHERE run_id = $1 AND enterprise_id = $2"
    )
    .bind(run_id)
    .bind(enterprise_id)
    .fetch_optional(c)
    .await
    })?
    .ok_or(Error::NotFound("评价结果"))?;
    let bad = |e: serde_json::Error| Error::Internal(format!("评价结果无法读取：{e}"));
    Ok((
        serde_json::from_str(&evaluation).map_err(bad)?,
        serde_json::from_str(&inputs).map_err(bad)?,
    ))
}

/// The county of an enterprise's result in a run, for access checks.
pub async fn result_county(conn: &mut Conn<'_>, run_id: i64, enterprise_id: i64) -> Result<i64> {
    on_conn!(conn, |c| sqlx::query_scalar::<_, i64>(
        "SELECT county_id FROM evaluation_results WHERE run_id = $1 AND enterprise_id = $2"
    )
    .bind(run_id)
    .bind(enterprise_id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("评价结果"))
}

/// Applies upheld objections to an evaluation: the items, total and flags as they stand.
pub fn apply(
    e: &Evaluation,
    objections: &[super::objection::Objection],
) -> (Vec<ItemView>, i64, Vec<String>) {
    let mut total = 0_i64;
    let mut flags = Vec::new();
    let items: Vec<ItemView> = e
        .items
        .iter()
        .map(|item| {
            let upheld = objections
                .iter()
                .find(|o| o.rule == item.rule && o.status == super::objection::Status::Upheld);
            let mut shown = item.clone();
            let overridden = upheld.map(|o| {
                shown.points = o.points_after.unwrap_or(item.points);
                if o.flag_cleared == Some(true) {
                    shown.flag = None;
                }
                Override {
                    objection_id: o.id,
                    points_before: o.points_before,
                    points_after: shown.points,
                    flag_cleared: o.flag_cleared == Some(true),
                    reason: o.reason.clone().unwrap_or_default(),
                }
            });
            total = total.saturating_add(shown.points);
            if let Some(f) = &shown.flag {
                flags.push(f.clone());
            }
            ItemView {
                item: shown,
                overridden,
            }
        })
        .collect();
    flags.sort();
    flags.dedup();
    (items, total, flags)
}

/// One enterprise's result, for whoever may see it.
pub async fn detail(
    conn: &mut Conn<'_>,
    p: &Principal,
    run_id: i64,
    enterprise_id: i64,
    today: chrono::NaiveDate,
) -> Result<ResultDetail> {
    let run = visible_run(conn, p, run_id).await?;
    let county = result_county(conn, run_id, enterprise_id).await?;
    require_result_visible(p, enterprise_id, county)?;
    let row = table_row(conn, &run, enterprise_id).await?;
    let (evaluation, inputs) = evaluation(conn, run_id, enterprise_id).await?;
    let objections = super::objection::of_result(conn, run_id, enterprise_id).await?;
    let files = super::objection_files::of_result(conn, run_id, enterprise_id).await?;
    let (items, _, flags) = apply(&evaluation, &objections);
    let still_possible = if run.as_of < end_of_year(run.year) {
        items
            .iter()
            .filter(|i| i.item.rule_points > 0 && i.item.outcome != Outcome::Pass)
            .flat_map(|i| {
                i.item
                    .checks
                    .iter()
                    .filter(|c| c.outcome != Outcome::Pass)
                    .map(|c| format!("{}：{}", i.item.description, c.explanation))
                    .collect::<Vec<_>>()
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(ResultDetail {
        objections_open: super::objection::window_open(&run, today),
        run,
        row,
        inputs,
        items,
        flags,
        objections,
        files,
        still_possible,
    })
}

fn end_of_year(year: i32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(chrono::NaiveDate::MAX)
}

async fn table_row(conn: &mut Conn<'_>, run: &Run, enterprise_id: i64) -> Result<ResultRow> {
    let prev = published(conn, run.year - 1).await?;
    on_conn!(conn, |c| {
        sqlx::query_as::<_, ResultRow>(
        "SELECT r.enterprise_id, r.name, r.credit_code, r.county_id, j.name AS county_name, r.grade,
                r.total, r.no_2a, r.final_total, r.final_no_2a, pr.final_total AS prev_total,
                (SELECT COUNT(*) FROM objections o WHERE o.run_id = r.run_id
                   AND o.enterprise_id = r.enterprise_id AND o.status = 'open') AS open_objections
         FROM evaluation_results r JOIN jurisdictions j ON j.id = r.county_id
         LEFT JOIN evaluation_results pr ON pr.run_id = $2 AND pr.enterprise_id = r.enterprise_id
         WHERE r.run_id = $1 AND r.enterprise_id = $3"
    )
    .bind(run.id)
    .bind(prev)
    .bind(enterprise_id)
    .fetch_optional(c)
    .await
    })?
    .ok_or(Error::NotFound("评价结果"))
}

/// An enterprise's published results, newest year first.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct HistoryRow {
    pub run_id: i64,
    pub year: i32,
    #[schema(value_type = String)]
    pub status: RunStatus,
    pub rule_set_title: String,
    pub final_total: i64,
    pub final_no_2a: bool,
}

impl HistoryRow {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
}

pub async fn history(conn: &mut Conn<'_>, enterprise_id: i64) -> Result<Vec<HistoryRow>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, HistoryRow>(
        "SELECT r.run_id, e.year, e.status, e.rule_set_title, r.final_total, r.final_no_2a
         FROM evaluation_results r JOIN evaluation_runs e ON e.id = r.run_id
         WHERE r.enterprise_id = $1 AND e.status <> 'draft'
         ORDER BY e.year DESC, r.run_id DESC LIMIT 50"
    )
    .bind(enterprise_id)
    .fetch_all(c)
    .await)?)
}

/// Runs, newest first, a page at a time.
pub async fn runs(conn: &mut Conn<'_>, p: &Principal, paging: Paging) -> Result<Page<Run>> {
    let drafts = p.is_officer();
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM evaluation_runs WHERE $1 OR status <> 'draft'"
    )
    .bind(drafts)
    .fetch_one(c)
    .await)?;
    let items = on_conn!(conn, |c| {
        sqlx::query_as::<_, Run>(
        "SELECT id, year, as_of, rule_set_id, rule_set_title, rules_hash, inputs_hash, results_hash,
                engine_version, forced, enterprises, status, publicity_days, publicized_at,
                publicity_ends, finalized_at, created_by, created_at
         FROM evaluation_runs WHERE $1 OR status <> 'draft' ORDER BY id DESC LIMIT $2 OFFSET $3"
    )
    .bind(drafts)
    .bind(paging.per_page)
    .bind(paging.offset())
    .fetch_all(c)
    .await
    })?;
    Ok(paging.wrap(items, total))
}
