//! The public transparency page (no sign-in, only when the bureau turns `public_page` on):
//! per enterprise, the latest **final** evaluation's items and total, and its complaints per
//! 100 units delivered, with how to read them. Nothing unpublished (a draft or a run still in
//! publicity never appears) and nothing personal: no names of people, no phone numbers, no
//! ticket contents, no traces — only what the bureau has published about enterprises.

use serde::Serialize;

use super::engine::Evaluation;
use super::metrics::{Inputs, Value};
use super::results::apply;
use super::run::{self, Run};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::{Page, Paging};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicItem {
    pub description: String,
    pub article: String,
    pub points: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicRow {
    pub name: String,
    pub credit_code: String,
    pub county: String,
    pub total: i64,
    /// 不得参加评选2A级以上信用企业 (Art. 22).
    pub no_2a: bool,
    pub items: Vec<PublicItem>,
    /// Tickets per 100 units delivered in five years; absent when unknown (no units).
    pub complaints_per_100_units: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicEvaluation {
    pub year: i32,
    pub rule_set_title: String,
    pub finalized_on: Option<chrono::NaiveDate>,
    pub how_to_read: &'static str,
    pub enterprises: Page<PublicRow>,
}

pub const HOW_TO_READ: &str = "本页公布年度企业信用评价（售后服务机构建设及运行情况）已定稿的结果。\
依据《济宁市房地产开发企业售后服务机构规范化管理办法》第二十一条，售后服务机构人员齐备、制度完善、流程规范的加5分，\
市政务服务热线年度投诉数量较少或满意率较高的加5分；依据第二十二条，未设立售后服务机构或机构未开展工作、\
责令限期整改逾期不改正的扣20分，且不得参加评选2A级以上信用企业。\
“每百套投诉”是年度12345工单数除以近5年交付套数再乘以100，用于比较规模不同的企业；\
近5年没有交付的企业无法计算，显示为“—”，不等于没有投诉。";

#[derive(sqlx::FromRow)]
struct Row {
    enterprise_id: i64,
    name: String,
    credit_code: String,
    county: String,
    final_total: i64,
    final_no_2a: bool,
    evaluation: String,
    inputs: String,
}

/// The latest final run, if any.
async fn latest_final(conn: &mut Conn<'_>) -> Result<Option<Run>> {
    let id: Option<i64> = on_conn!(conn, |c| {
        sqlx::query_scalar(
        "SELECT id FROM evaluation_runs WHERE status = 'final' ORDER BY year DESC, id DESC LIMIT 1"
    )
    .fetch_optional(c)
    .await
    })?;
    match id {
        Some(id) => Ok(Some(run::get(conn, id).await?)),
        None => Ok(None),
    }
}

/// One page of the latest final run's results, by name; `q` matches a name or credit code.
pub async fn evaluation(
    conn: &mut Conn<'_>,
    q: Option<&str>,
    paging: Paging,
) -> Result<Option<PublicEvaluation>> {
    let Some(run) = latest_final(conn).await? else {
        return Ok(None);
    };
    let q = q.map(str::trim).filter(|q| !q.is_empty()).map(|q| {
        format!(
            "%{}%",
            q.chars()
                .take(50)
                .collect::<String>()
                .replace(['%', '_'], "")
        )
    });
    let filter = "FROM evaluation_results r JOIN jurisdictions j ON j.id = r.county_id
         WHERE r.run_id = $1 AND ($2 IS NULL OR r.name LIKE $2 OR r.credit_code LIKE $2)";
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) {filter}"
    ))
    .bind(run.id)
    .bind(&q)
    .fetch_one(c)
    .await)?;
    let rows = on_conn!(conn, |c| sqlx::query_as::<_, Row>(&format!(
        "SELECT r.enterprise_id, r.name, r.credit_code, j.name AS county, r.final_total,
                r.final_no_2a, r.evaluation, r.inputs
         {filter} ORDER BY r.name, r.enterprise_id LIMIT $3 OFFSET $4"
    ))
    .bind(run.id)
    .bind(&q)
    .bind(paging.per_page)
    .bind(paging.offset())
    .fetch_all(c)
    .await)?;
    let bad = |e: serde_json::Error| Error::Internal(format!("评价结果无法读取：{e}"));
    let upheld = super::objection::upheld_in_run(conn, run.id).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let evaluation: Evaluation = serde_json::from_str(&r.evaluation).map_err(bad)?;
        let inputs: Inputs = serde_json::from_str(&r.inputs).map_err(bad)?;
        // Items as they stand after upheld objections, like the total.
        let objections = upheld
            .get(&r.enterprise_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let (items, _, _) = apply(&evaluation, objections);
        out.push(PublicRow {
            name: r.name,
            credit_code: r.credit_code,
            county: r.county,
            total: r.final_total,
            no_2a: r.final_no_2a,
            items: items
                .into_iter()
                .map(|v| PublicItem {
                    description: v.item.description,
                    article: v.item.article,
                    points: v.item.points,
                })
                .collect(),
            complaints_per_100_units: match inputs.get("complaints_per_100_units") {
                Some(Value::Number(n)) => Some(*n),
                _ => None,
            },
        });
    }
    Ok(Some(PublicEvaluation {
        year: run.year,
        rule_set_title: run.rule_set_title.clone(),
        finalized_on: run
            .finalized_at
            .map(|t| t.with_timezone(&crate::time::china()).date_naive()),
        how_to_read: HOW_TO_READ,
        enterprises: paging.wrap(out, total),
    }))
}
