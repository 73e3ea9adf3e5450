//! XLSX exports of the list pages, with the same filters and the same scope as the lists (each
//! reads its list a page at a time), at most [`sheet::MAX_ROWS`] rows.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::auth::Principal;
use crate::enforcement;
use crate::every_page;
use crate::filings::store as filings;
use crate::hotline::tickets;
use crate::registry::{enterprise, project};
use crate::sheet::{self, col, Cell, Column};
use crate::web::error::{ErrorBody, HttpError};
use crate::web::extract::ApiQuery;
use crate::web::AppState;

type ApiResult<T> = Result<T, HttpError>;

fn xlsx(file: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}.xlsx\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

const ENTERPRISES: [Column; 9] = [
    col("统一社会信用代码", 22.0),
    col("企业名称", 36.0),
    col("县区", 10.0),
    col("资质等级", 10.0),
    col("本地/外地", 10.0),
    col("状态", 8.0),
    col("状态日期", 12.0),
    col("项目数", 8.0),
    col("联系电话", 16.0),
];

#[utoipa::path(get, path = "/api/v1/exports/enterprises", tag = "exports", params(enterprise::Filter),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 422, body = ErrorBody, description = "More rows than an export holds")))]
pub async fn export_enterprises(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(filter): ApiQuery<enterprise::Filter>,
) -> ApiResult<Response> {
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let items = every_page!(filter, |f| enterprise::list(
        &mut conn,
        &s.counts,
        p.scope(),
        &f
    )
    .await?);
    let rows = items
        .into_iter()
        .map(|i| {
            let e = i.enterprise;
            vec![
                Cell::from(e.credit_code.to_string()),
                e.name.into(),
                i.county_name.into(),
                e.grade.label().into(),
                if e.is_local { "本地" } else { "外地" }.into(),
                e.status.label().into(),
                e.status_date.into(),
                i.project_count.into(),
                e.phone.into(),
            ]
        })
        .collect();
    Ok(xlsx(
        "enterprises",
        sheet::workbook("企业", &ENTERPRISES, rows)?,
    ))
}

const PROJECTS: [Column; 7] = [
    col("项目名称", 30.0),
    col("开发企业", 36.0),
    col("县区", 10.0),
    col("地址", 36.0),
    col("售楼处开放", 10.0),
    col("交付日期", 12.0),
    col("交付套数", 10.0),
];

#[utoipa::path(get, path = "/api/v1/exports/projects", tag = "exports", params(project::Filter),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 422, body = ErrorBody)))]
pub async fn export_projects(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(filter): ApiQuery<project::Filter>,
) -> ApiResult<Response> {
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let items = every_page!(filter, |f| project::list(
        &mut conn,
        &s.counts,
        p.scope(),
        &f
    )
    .await?);
    let rows = items
        .into_iter()
        .map(|i| {
            let pr = i.project;
            vec![
                Cell::from(pr.name),
                i.enterprise_name.into(),
                i.county_name.into(),
                pr.address.into(),
                pr.sales_site_open.into(),
                pr.delivery_date.into(),
                pr.units_delivered.into(),
            ]
        })
        .collect();
    Ok(xlsx("projects", sheet::workbook("项目", &PROJECTS, rows)?))
}

const FILINGS: [Column; 9] = [
    col("编号", 8.0),
    col("企业", 36.0),
    col("县区", 10.0),
    col("类型", 18.0),
    col("状态", 10.0),
    col("提交次数", 10.0),
    col("逾期报备", 10.0),
    col("提交时间", 18.0),
    col("审核时间", 18.0),
];

#[utoipa::path(get, path = "/api/v1/exports/filings", tag = "exports", params(filings::Filter),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 422, body = ErrorBody)))]
pub async fn export_filings(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(filter): ApiQuery<filings::Filter>,
) -> ApiResult<Response> {
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let items = every_page!(filter, |f| filings::list(&mut conn, p.scope(), &f).await?);
    let rows = items
        .into_iter()
        .map(|i| {
            vec![
                Cell::from(i.id),
                i.enterprise_name.into(),
                i.county_name.into(),
                i.kind.label().into(),
                i.status.label().into(),
                i.revision.into(),
                i.late.into(),
                i.submitted_at.into(),
                i.decided_at.into(),
            ]
        })
        .collect();
    Ok(xlsx("filings", sheet::workbook("备案", &FILINGS, rows)?))
}

const TICKETS: [Column; 14] = [
    col("工单编号", 18.0),
    col("受理时间", 18.0),
    col("来源渠道", 10.0),
    col("所属区县", 10.0),
    col("小区名称", 20.0),
    col("归属企业", 36.0),
    col("分类", 12.0),
    col("诉求内容", 50.0),
    col("转办时间", 18.0),
    col("答复时间", 18.0),
    col("办结时间", 18.0),
    col("满意度", 10.0),
    col("已回访", 8.0),
    col("群体诉求", 8.0),
];

fn epoch(t: Option<i64>) -> Cell {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map_or(Cell::Empty, Cell::Time)
}

#[utoipa::path(get, path = "/api/v1/exports/tickets", tag = "exports", params(tickets::Filter),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 422, body = ErrorBody, description = "More than 100,000 tickets: narrow the filters")))]
pub async fn export_tickets(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(filter): ApiQuery<tickets::Filter>,
) -> ApiResult<Response> {
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let items = every_page!(filter, |f| tickets::list(
        &mut conn,
        &s.counts,
        p.scope(),
        &f
    )
    .await?);
    let rows = items
        .into_iter()
        .map(|t| {
            vec![
                Cell::from(t.ticket_no),
                epoch(Some(t.received_at)),
                t.channel.into(),
                t.district.into(),
                t.community_text.into(),
                t.enterprise_name.into(),
                t.category.into(),
                t.content.into(),
                epoch(t.forwarded_at),
                epoch(t.responded_at),
                epoch(t.closed_at),
                t.satisfaction.label().into(),
                t.revisited.into(),
                t.group_petition.into(),
            ]
        })
        .collect();
    Ok(xlsx(
        "tickets",
        sheet::workbook("12345工单", &TICKETS, rows)?,
    ))
}

const CASES: [Column; 9] = [
    col("案号", 18.0),
    col("企业", 36.0),
    col("县区", 10.0),
    col("事由", 16.0),
    col("状态", 10.0),
    col("整改通知文号", 22.0),
    col("整改期限", 12.0),
    col("逾期计入年度", 12.0),
    col("立案时间", 18.0),
];

#[utoipa::path(get, path = "/api/v1/exports/cases", tag = "exports", params(enforcement::Filter),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 422, body = ErrorBody)))]
pub async fn export_cases(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(filter): ApiQuery<enforcement::Filter>,
) -> ApiResult<Response> {
    let mut c = s.db.acquire().await?;
    let mut conn = c.conn();
    let items = every_page!(filter, |f| enforcement::list(&mut conn, p.scope(), &f)
        .await?);
    let rows = items
        .into_iter()
        .map(|k| {
            vec![
                Cell::from(k.number()),
                k.enterprise_name.into(),
                k.county_name.into(),
                k.ground.label().into(),
                k.state.label().into(),
                k.document_no.into(),
                k.deadline.into(),
                k.overdue_year.map(i64::from).into(),
                k.opened_at.into(),
            ]
        })
        .collect();
    Ok(xlsx("cases", sheet::workbook("案件", &CASES, rows)?))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RankingsQuery {
    pub year: i32,
    pub month: Option<u32>,
    /// `rate` (default), `tickets`, `satisfaction` or `name`.
    pub sort: Option<crate::hotline::view::Sort>,
}

const RANKINGS: [Column; 13] = [
    col("序号", 6.0),
    col("企业", 36.0),
    col("县区", 10.0),
    col("工单数", 8.0),
    col("近5年交付套数", 12.0),
    col("每百套投诉", 10.0),
    col("全市排名（少者在前）", 12.0),
    col("满意率%", 10.0),
    col("已评价", 8.0),
    col("3日内反馈率%", 12.0),
    col("7日内回访率%", 12.0),
    col("群体诉求", 8.0),
    col("面复逾期", 8.0),
];

/// A share in percent, or "无数据" when unknown: never 0 for missing data.
fn pct(r: Option<f64>) -> Cell {
    r.map_or_else(
        || Cell::from("无数据"),
        |r| Cell::Num((r * 1000.0).round() / 10.0),
    )
}

/// The hotline rankings of a year or month (officers), in the page's order.
#[utoipa::path(get, path = "/api/v1/exports/rankings", tag = "exports", params(RankingsQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 403, body = ErrorBody)))]
pub async fn export_rankings(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<RankingsQuery>,
) -> ApiResult<Response> {
    p.require_officer()?;
    super::hotline::check_period(Some(q.year), q.month)?;
    let mut rows = Vec::new();
    for n in 1.. {
        let paging = crate::registry::Paging {
            page: n,
            per_page: sheet::PAGE,
        };
        let got = crate::hotline::view::page(
            &s.db,
            &s.analytics,
            p.scope(),
            q.year,
            q.month,
            q.sort.unwrap_or_default(),
            paging,
        )
        .await?;
        sheet::check_total(got.total)?;
        let done = (got.enterprises.len() as i64) < sheet::PAGE;
        for e in got.enterprises {
            let m = &e.metrics;
            rows.push(vec![
                Cell::from(rows.len() as i64 + 1),
                e.enterprise_name.clone().into(),
                e.county_name.clone().into(),
                m.tickets.into(),
                m.units_delivered.into(),
                m.per_100_units.map_or_else(
                    || Cell::from("无交付"),
                    |v| Cell::Num((v * 100.0).round() / 100.0),
                ),
                m.rate_rank.map(|r| r + 1).into(),
                pct(m.satisfaction_rate),
                m.rated.into(),
                pct(m.answer_rate),
                pct(m.revisit_rate),
                m.group_petitions
                    .map_or_else(|| Cell::from("无数据"), Cell::Int),
                e.petition_reports_late
                    .map_or_else(|| Cell::from("无数据"), Cell::Int),
            ]);
        }
        if done {
            break;
        }
    }
    let period = match q.month {
        Some(m) => format!("{}年{m}月", q.year),
        None => format!("{}年", q.year),
    };
    Ok(xlsx(
        "rankings",
        sheet::workbook(&format!("{period}排名"), &RANKINGS, rows)?,
    ))
}
