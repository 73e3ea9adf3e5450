//! Demo evaluation runs: 2025 evaluated, publicized in January 2026, objected to (one
//! objection upheld, one rejected) and finalized once its window closed; 2026 to date
//! evaluated and publicized today, with one objection waiting for its county's officer.
//! Built through the same functions the pages call, with the 2025 steps dated to when they
//! happened.

use chrono::{DateTime, NaiveDate, Utc};

use super::cases::Cast;
use crate::audit::Actor;
use crate::auth::Principal;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::hotline::facts::FactStore;
use crate::on_conn;
use crate::scoring::engine::{Evaluation, Outcome};
use crate::scoring::metrics::{Inputs, Value};
use crate::scoring::objection::{self, Decision, ObjectionInput};
use crate::scoring::results;

const RULE_SET: &str = "jining-2021";

/// 10:00 Beijing time on a day.
fn at(y: i32, m: u32, d: u32) -> Result<DateTime<Utc>> {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(2, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| Error::Internal("demo date".into()))
}

fn number(inputs: &Inputs, metric: &str) -> Option<f64> {
    match inputs.get(metric) {
        Some(Value::Number(n)) => Some(*n),
        _ => None,
    }
}

fn passed(e: &Evaluation, rule: &str) -> bool {
    e.items
        .iter()
        .any(|i| i.rule == rule && i.outcome == Outcome::Pass)
}

/// Every enterprise of the cast evaluated in `run`: (county, position, id, user, evaluation,
/// inputs), in the cast's order.
type Evaluated<'a> = Vec<(usize, usize, i64, &'a Principal, Evaluation, Inputs)>;

async fn evaluated<'a>(db: &Db, cast: &'a Cast, run: i64) -> Result<Evaluated<'a>> {
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    let mut out = Vec::new();
    for (county, position, id, user) in &cast.members {
        // A subsidiary cancelled before the year is not in its run.
        if let Ok((e, inputs)) = results::evaluation(&mut conn, run, *id).await {
            out.push((*county, *position, *id, user, e, inputs));
        }
    }
    Ok(out)
}

/// Evaluates `year` as of `today` through the shipped rule set, as the city administrator.
async fn evaluate(
    db: &Db,
    facts: &FactStore,
    admin: &Principal,
    year: i32,
    today: NaiveDate,
) -> Result<crate::scoring::run::Run> {
    let text = crate::rules::RuleSet::shipped_text(RULE_SET)
        .ok_or_else(|| Error::Internal(format!("缺少内置规则集 {RULE_SET}")))?;
    crate::scoring::evaluate_year(
        db,
        facts,
        &Actor::user(admin.user_id, &admin.username),
        text,
        year,
        today,
        false,
    )
    .await
}

async fn file(
    db: &Db,
    user: &Principal,
    run: i64,
    enterprise_id: i64,
    rule: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    let o = objection::file(
        &mut tx.conn(),
        user,
        run,
        enterprise_id,
        &ObjectionInput {
            rule: rule.into(),
            text: text.into(),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(o.id)
}

async fn decide(
    db: &Db,
    officer: &Principal,
    id: i64,
    uphold: bool,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut tx = db.begin().await?;
    objection::decide(
        &mut tx.conn(),
        officer,
        id,
        &Decision {
            uphold,
            reason: reason.into(),
        },
        now,
    )
    .await?;
    tx.commit().await
}

/// The runs of 2025 (final) and 2026 to date (publicized). The facts copy the evaluation
/// reads is built in a scratch folder and removed: the server builds its own from the
/// database on its first read.
pub async fn build(db: &Db, admin: &Principal, cast: &Cast) -> Result<()> {
    let scratch = std::env::temp_dir().join(format!("aftercare-demo-facts-{}", std::process::id()));
    let result = runs(db, &FactStore::new(&scratch), admin, cast).await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn runs(db: &Db, facts: &FactStore, admin: &Principal, cast: &Cast) -> Result<()> {
    let today = crate::time::today();
    let officer = |county: usize| {
        cast.officers
            .get(county)
            .ok_or_else(|| Error::Internal(format!("demo officer {county}")))
    };

    // 2025: evaluated on 8 January 2026, publicized on the 10th (window to the 17th).
    let run = evaluate(db, facts, admin, 2025, today).await?;
    {
        let created = at(2026, 1, 8)?;
        let mut pooled = db.acquire().await?;
        on_conn!(&mut pooled.conn(), |c| sqlx::query(
            "UPDATE evaluation_runs SET created_at = $1 WHERE id = $2"
        )
        .bind(created)
        .bind(run.id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    objection::publicize(db, admin, run.id, at(2026, 1, 10)?).await?;
    let all = evaluated(db, cast, run.id).await?;

    // Upheld: an org complete but for one notice board, whose photos were approved only
    // after the evaluation date although the board stood in time.
    // Preferably one short of nothing else, that already gains the hotline item (+10 once
    // upheld), at the position whose board filing the demo has returned for new photos.
    let mut boards: Vec<_> = all
        .iter()
        .filter(|(.., e, inputs)| {
            number(inputs, "board_coverage_pct").is_some_and(|p| p < 100.0)
                && !passed(e, "org_complete")
        })
        .collect();
    let only_boards = |e: &Evaluation| {
        e.items.iter().any(|i| {
            i.rule == "org_complete"
                && i.checks
                    .iter()
                    .filter(|c| c.outcome != Outcome::Pass)
                    .all(|c| c.metric == "board_coverage_pct")
        })
    };
    boards.sort_by_key(|(_, position, _, _, e, _)| {
        (!only_boards(e), !passed(e, "hotline"), *position != 1)
    });
    let (county, _, upheld_id, user, ..) = boards
        .first()
        .ok_or_else(|| Error::Internal("演示数据中没有公示牌覆盖不足的企业".into()))?;
    let upheld = file(
        db,
        user,
        run.id,
        *upheld_id,
        "org_complete",
        "我司所有应设公示牌的小区均已于2025年11月底前设置公示牌，现场照片见附件。\
         因照片初次提交时不清晰被退回重拍，补报的公示牌备案直到2026年1月才审核通过，\
         导致评价时公示牌覆盖率未达100%。请求按实际设置情况认定机构规范化建设达标。",
        at(2026, 1, 12)?,
    )
    .await?;
    decide(
        db,
        officer(*county)?,
        upheld,
        true,
        "经现场核查及调阅照片原件，该企业各小区公示牌确于2025年11月前设置到位，\
         逾期审核系照片重拍所致，非企业未设置。异议成立，“售后服务机构规范化”项按符合计分。",
        at(2026, 1, 15)?,
    )
    .await?;

    // Rejected: a developer that disputes its satisfaction rate.
    let mut hotline: Vec<_> = all
        .iter()
        .filter(|(_, _, id, _, e, inputs)| {
            *id != *upheld_id
                && !passed(e, "hotline")
                && number(inputs, "satisfaction_pct").is_some()
                && number(inputs, "rated_tickets").is_some_and(|n| n >= 10.0)
        })
        .collect();
    hotline.sort_by_key(|(c, ..)| *c == *county);
    let (county, _, rejected_id, user, ..) = hotline
        .first()
        .ok_or_else(|| Error::Internal("演示数据中没有满意率未达标的企业".into()))?;
    let rejected = file(
        db,
        user,
        run.id,
        *rejected_id,
        "hotline",
        "12345热线统计的满意率偏低，部分“不满意”评价是业主对物业收费、停车等物业服务问题的不满，\
         并非针对我司售后服务，不应计入我司满意率。请求剔除后重新计算。",
        at(2026, 1, 13)?,
    )
    .await?;
    decide(
        db,
        officer(*county)?,
        rejected,
        false,
        "经逐件核对，计入满意率的工单均为贵司开发项目业主反映的房屋质量、维修及售后问题，\
         已由市12345热线转办贵司并由业主作出评价；单纯物业服务类诉求在导入时已按诉求类别区分。\
         满意率计算无误，异议不成立。",
        at(2026, 1, 15)?,
    )
    .await?;
    objection::finalize(db, admin, run.id, at(2026, 1, 20)?).await?;

    // 2026 to date: publicized today; an enterprise short of staff objects, not yet decided.
    let run = evaluate(db, facts, admin, 2026, today).await?;
    let now = Utc::now();
    objection::publicize(db, admin, run.id, now).await?;
    let all = evaluated(db, cast, run.id).await?;
    let (_, _, open_id, user, ..) = all
        .iter()
        .find(|(.., e, inputs)| {
            number(inputs, "full_time_staff").is_some_and(|n| n < 2.0) && !passed(e, "org_complete")
        })
        .or_else(|| all.iter().find(|(.., e, _)| !passed(e, "org_complete")))
        .ok_or_else(|| Error::Internal("演示数据中没有机构不达标的企业".into()))?;
    file(
        db,
        user,
        run.id,
        *open_id,
        "org_complete",
        "我司售后服务机构已于本月新招一名专职客服专员，专职人员已达2人，\
         工作人员变更备案将于近日提交。请按2人认定，“售后服务机构规范化”项予以加分。",
        now,
    )
    .await?;
    Ok(())
}
