//! Publicity (公示) and objections (异议): a draft run is publicized for the rule set's number
//! of days; meanwhile an enterprise objects to one of its items, with text and files; an
//! officer of its county upholds the objection (the item is overridden, with the reason, and
//! the totals are re-read) or rejects it with a reason; the run is finalized once the window
//! has closed and no objection is open. Each step is audited and mails the enterprise.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::access::{require_city, require_decider, require_objector, require_result_visible};
use super::results::{apply, evaluation, result_county, visible_run};
use super::run::{self, Run, RunStatus};
use crate::audit::{self, Actor};
use crate::auth::Principal;
use crate::db::{Conn, Db};
use crate::error::{Error, Result};
use crate::notify::{self, templates};
use crate::on_conn;

const MAX_TEXT: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Upheld,
    Rejected,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Upheld => "upheld",
            Status::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Open, Status::Upheld, Status::Rejected]
            .into_iter()
            .find(|k| k.code() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "待审核",
            Status::Upheld => "已采纳",
            Status::Rejected => "未采纳",
        }
    }
}

crate::text_column!(Status, Status::parse);

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Objection {
    pub id: i64,
    pub run_id: i64,
    pub enterprise_id: i64,
    pub rule: String,
    pub text: String,
    #[schema(value_type = String)]
    pub status: Status,
    pub points_before: i64,
    pub points_after: Option<i64>,
    pub flag_cleared: Option<bool>,
    pub reason: Option<String>,
    pub filed_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl Objection {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
    pub fn filed_local(&self) -> String {
        crate::time::local(&self.filed_at)
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ObjectionInput {
    /// The item objected to (its rule id).
    pub rule: String,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    pub uphold: bool,
    pub reason: String,
}

fn today_at(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&crate::time::china()).date_naive()
}

/// Whether objections are taken on `run` on `today` (Beijing).
pub fn window_open(run: &Run, today: NaiveDate) -> bool {
    run.status == RunStatus::Publicized && run.publicity_ends.is_some_and(|end| today <= end)
}

fn text(field: &str, label: &str, s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::invalid(field, format!("请填写{label}")));
    }
    if s.chars().count() > MAX_TEXT {
        return Err(Error::invalid(
            field,
            format!("{label}不能超过{MAX_TEXT}字"),
        ));
    }
    Ok(s.to_string())
}

const COLUMNS: &str = "id, run_id, enterprise_id, rule, text, status, points_before, points_after,
     flag_cleared, reason, filed_at, decided_at";

pub async fn of_result(
    conn: &mut Conn<'_>,
    run_id: i64,
    enterprise_id: i64,
) -> Result<Vec<Objection>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, Objection>(
        &format!(
            "SELECT {COLUMNS} FROM objections WHERE run_id = $1 AND enterprise_id = $2 ORDER BY id"
        )
    )
    .bind(run_id)
    .bind(enterprise_id)
    .fetch_all(c)
    .await)?)
}

/// An objection by id, unchecked: for callers that have just checked access through it.
pub async fn of_id(conn: &mut Conn<'_>, id: i64) -> Result<Objection> {
    get(conn, id).await
}

/// The upheld objections of a run, per enterprise: what the run's final figures read.
pub async fn upheld_in_run(
    conn: &mut Conn<'_>,
    run_id: i64,
) -> Result<std::collections::HashMap<i64, Vec<Objection>>> {
    let rows = on_conn!(conn, |c| sqlx::query_as::<_, Objection>(&format!(
        "SELECT {COLUMNS} FROM objections WHERE run_id = $1 AND status = 'upheld' ORDER BY id"
    ))
    .bind(run_id)
    .fetch_all(c)
    .await)?;
    let mut out: std::collections::HashMap<i64, Vec<Objection>> = Default::default();
    for o in rows {
        out.entry(o.enterprise_id).or_default().push(o);
    }
    Ok(out)
}

pub(super) async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Objection> {
    on_conn!(conn, |c| sqlx::query_as::<_, Objection>(&format!(
        "SELECT {COLUMNS} FROM objections WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("异议"))
}

/// The objections of a run within `p`'s scope, open ones first.
pub async fn of_run(
    conn: &mut Conn<'_>,
    p: &Principal,
    run_id: i64,
) -> Result<Vec<(Objection, String)>> {
    visible_run(conn, p, run_id).await?;
    let scope = p.scope();
    #[derive(sqlx::FromRow)]
    struct Named {
        #[sqlx(flatten)]
        objection: Objection,
        enterprise_name: String,
    }
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, Named>(
        "SELECT o.id, o.run_id, o.enterprise_id, o.rule, o.text, o.status, o.points_before,
                o.points_after, o.flag_cleared, o.reason, o.filed_at, o.decided_at,
                r.name AS enterprise_name
         FROM objections o
         JOIN evaluation_results r ON r.run_id = o.run_id AND r.enterprise_id = o.enterprise_id
         WHERE o.run_id = $1 AND ($2 IS NULL OR r.county_id = $2) AND ($3 IS NULL OR o.enterprise_id = $3)
         ORDER BY CASE o.status WHEN 'open' THEN 0 ELSE 1 END, o.id LIMIT 500"
    )
    .bind(run_id)
    .bind(scope.county())
    .bind(scope.enterprise())
    .fetch_all(c)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|n| (n.objection, n.enterprise_name))
        .collect())
}

/// An enterprise objects to one of its items while the run is publicized.
pub async fn file(
    conn: &mut Conn<'_>,
    p: &Principal,
    run_id: i64,
    enterprise_id: i64,
    input: &ObjectionInput,
    now: DateTime<Utc>,
) -> Result<Objection> {
    let run = visible_run(conn, p, run_id).await?;
    let county = result_county(conn, run_id, enterprise_id).await?;
    require_result_visible(p, enterprise_id, county)?;
    require_objector(p, enterprise_id)?;
    if !window_open(&run, today_at(now)) {
        return Err(Error::Conflict(match run.publicity_ends {
            Some(end) if run.status == RunStatus::Publicized => {
                format!("公示期已于{end}结束，不再受理异议")
            }
            _ => "该评价不在公示期，不受理异议".into(),
        }));
    }
    let (e, _) = evaluation(conn, run_id, enterprise_id).await?;
    let item = e
        .items
        .iter()
        .find(|i| i.rule == input.rule)
        .ok_or_else(|| Error::invalid("rule", format!("评价中没有“{}”这一项", input.rule)))?;
    let body = text("text", "异议理由", &input.text)?;
    let id: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "INSERT INTO objections (run_id, enterprise_id, rule, text, status, points_before, filed_by, filed_at)
         VALUES ($1, $2, $3, $4, 'open', $5, $6, $7) RETURNING id"
    )
    .bind(run_id)
    .bind(enterprise_id)
    .bind(&item.rule)
    .bind(&body)
    .bind(item.points)
    .bind(p.user_id)
    .bind(now)
    .fetch_one(c)
    .await)
    .map_err(|e| Error::on_unique(e, "已对该项提出过异议"))?;
    let o = get(conn, id).await?;
    audit::record(
        conn,
        &Actor::user(p.user_id, &p.username),
        "evaluation.objection",
        "objection",
        Some(id),
        None::<&()>,
        Some(&o),
    )
    .await?;
    Ok(o)
}

/// An officer of the enterprise's county upholds or rejects an open objection. Upheld, the
/// item is reversed: an item that applied gives nothing and clears its flag; one that did not
/// gives its points.
pub async fn decide(
    conn: &mut Conn<'_>,
    p: &Principal,
    objection_id: i64,
    d: &Decision,
    now: DateTime<Utc>,
) -> Result<Objection> {
    let before = get(conn, objection_id).await?;
    let run = visible_run(conn, p, before.run_id).await?;
    let county = result_county(conn, before.run_id, before.enterprise_id).await?;
    require_result_visible(p, before.enterprise_id, county).map_err(|_| Error::NotFound("异议"))?;
    require_decider(p, county)?;
    if before.status != Status::Open {
        return Err(Error::Conflict("该异议已审核".into()));
    }
    if run.status != RunStatus::Publicized {
        return Err(Error::Conflict("评价已定稿，不能再审核异议".into()));
    }
    let reason = text("reason", "审核理由", &d.reason)?;
    let (e, _) = evaluation(conn, before.run_id, before.enterprise_id).await?;
    let item = e
        .items
        .iter()
        .find(|i| i.rule == before.rule)
        .ok_or_else(|| Error::Internal(format!("评价缺少“{}”项", before.rule)))?;
    let applied = item.outcome == super::engine::Outcome::Pass;
    let (points_after, flag_cleared) = match (d.uphold, applied) {
        (false, _) => (None, None),
        (true, true) => (Some(0), Some(item.flag.is_some())),
        (true, false) => (Some(item.rule_points.max(0)), Some(false)),
    };
    let status = if d.uphold {
        Status::Upheld
    } else {
        Status::Rejected
    };
    let done: u64 = on_conn!(conn, |c| sqlx::query(
        "UPDATE objections SET status = $1, points_after = $2, flag_cleared = $3, reason = $4,
             decided_by = $5, decided_at = $6
         WHERE id = $7 AND status = 'open'"
    )
    .bind(status.code())
    .bind(points_after)
    .bind(flag_cleared)
    .bind(&reason)
    .bind(p.user_id)
    .bind(now)
    .bind(objection_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(Error::Conflict("该异议已审核".into()));
    }
    let all = of_result(conn, before.run_id, before.enterprise_id).await?;
    let (_, total, flags) = apply(&e, &all);
    let no_2a = flags.iter().any(|f| f == "no_2a");
    on_conn!(conn, |c| {
        sqlx::query(
        "UPDATE evaluation_results SET final_total = $1, final_no_2a = $2 WHERE run_id = $3 AND enterprise_id = $4"
    )
    .bind(total)
    .bind(no_2a)
    .bind(before.run_id)
    .bind(before.enterprise_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    let after = get(conn, objection_id).await?;
    audit::record(
        conn,
        &Actor::user(p.user_id, &p.username),
        "evaluation.objection_decided",
        "objection",
        Some(objection_id),
        Some(&before),
        Some(&after),
    )
    .await?;
    let enterprise = crate::registry::enterprise::get(conn, before.enterprise_id).await?;
    let mail = templates::ObjectionDecided {
        enterprise: enterprise.name.clone(),
        run: run.number(),
        item: item.description.clone(),
        upheld: d.uphold,
        reason,
        total,
    };
    notify::enqueue(conn, &enterprise.email, &mail).await?;
    Ok(after)
}

/// Publicizes a draft: the window runs from today for the run's number of days, and every
/// enterprise evaluated is told its total. One run per year is published at a time.
pub async fn publicize(db: &Db, p: &Principal, run_id: i64, now: DateTime<Utc>) -> Result<Run> {
    require_city(p)?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let before = run::get(&mut conn, run_id).await?;
    if before.status != RunStatus::Draft {
        return Err(Error::Conflict(format!(
            "评价已{}，不能再公示",
            before.status.label()
        )));
    }
    let other: Option<i64> = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
        "SELECT id FROM evaluation_runs WHERE year = $1 AND status <> 'draft' AND id <> $2 LIMIT 1"
    )
    .bind(before.year)
    .bind(run_id)
    .fetch_optional(c)
    .await
    })?;
    if let Some(other) = other {
        return Err(Error::Conflict(format!(
            "{}年度已有公示或定稿的评价（第{other}次），不能再公示另一次",
            before.year
        )));
    }
    let ends = today_at(now) + Duration::days(i64::from(before.publicity_days));
    let moved: u64 = on_conn!(&mut conn, |c| {
        sqlx::query(
        "UPDATE evaluation_runs SET status = 'publicized', publicized_at = $1, publicity_ends = $2
         WHERE id = $3 AND status = 'draft'"
    )
    .bind(now)
    .bind(ends)
    .bind(run_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })
    // The partial unique index on the year settles two runs publicized at once.
    .map_err(|e| Error::on_unique(e, format!("{}年度已有公示或定稿的评价", before.year)))?;
    let run = moved_to(&mut conn, p, "evaluation.publicize", &before, moved).await?;
    let recipients: Vec<(String, String, i64, bool)> = on_conn!(&mut conn, |c| sqlx::query_as(
        "SELECT e.name, e.email, r.final_total, r.final_no_2a
         FROM evaluation_results r JOIN enterprises e ON e.id = r.enterprise_id
         WHERE r.run_id = $1 AND e.email <> '' ORDER BY r.enterprise_id"
    )
    .bind(run_id)
    .fetch_all(c)
    .await)?;
    for (name, email, total, no_2a) in recipients {
        let mail = templates::EvaluationPublicized {
            enterprise: name,
            run: run.number(),
            year: run.year,
            total,
            no_2a,
            ends,
        };
        notify::enqueue(&mut conn, &email, &mail).await?;
    }
    tx.commit().await?;
    Ok(run)
}

/// Finalizes a publicized run once its window has closed and every objection is decided.
pub async fn finalize(db: &Db, p: &Principal, run_id: i64, now: DateTime<Utc>) -> Result<Run> {
    require_city(p)?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let before = run::get(&mut conn, run_id).await?;
    if before.status != RunStatus::Publicized {
        return Err(Error::Conflict(format!(
            "评价{}，只有公示中的评价可以定稿",
            before.status.label()
        )));
    }
    if window_open(&before, today_at(now)) {
        return Err(Error::Conflict(format!(
            "公示期至{}止，期满后方可定稿",
            before.publicity_ends.unwrap_or_default()
        )));
    }
    let open: i64 = on_conn!(&mut conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM objections WHERE run_id = $1 AND status = 'open'"
    )
    .bind(run_id)
    .fetch_one(c)
    .await)?;
    if open > 0 {
        return Err(Error::Conflict(format!(
            "尚有{open}件异议未审核，审核完毕后方可定稿"
        )));
    }
    let moved: u64 = on_conn!(&mut conn, |c| {
        sqlx::query(
        "UPDATE evaluation_runs SET status = 'final', finalized_at = $1 WHERE id = $2 AND status = 'publicized'"
    )
    .bind(now)
    .bind(run_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    let run = moved_to(&mut conn, p, "evaluation.finalize", &before, moved).await?;
    tx.commit().await?;
    Ok(run)
}

/// After a conditional status update of `before` (which changed `moved` rows): the run as it
/// now is, audited; a conflict when a concurrent request moved it first.
async fn moved_to(
    conn: &mut Conn<'_>,
    p: &Principal,
    action: &str,
    before: &Run,
    moved: u64,
) -> Result<Run> {
    if moved == 0 {
        return Err(Error::Conflict("评价状态已被他人更改，请刷新后重试".into()));
    }
    let run = run::get(conn, before.id).await?;
    audit::record(
        conn,
        &Actor::user(p.user_id, &p.username),
        action,
        "evaluation_run",
        Some(before.id),
        Some(before),
        Some(&run),
    )
    .await?;
    Ok(run)
}
