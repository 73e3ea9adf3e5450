//! JSON API, version 1. Each route is registered together with its OpenAPI description.

pub mod accounts;
pub mod cases;
pub mod circulars;
pub mod document;
pub mod evaluations;
pub mod exports;
pub mod filings;
pub mod hotline;
pub mod outbox;
pub mod registry;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

/// A stored file (photo, PDF) as a download: images shown inline, anything else saved, under
/// a name that carries no user text.
pub(crate) fn stored_file(
    s: &AppState,
    sha256: &str,
    content_type: &str,
    file_name: &str,
) -> Result<axum::response::Response, super::error::HttpError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let bytes = s.blobs.get(sha256).map_err(crate::error::Error::from)?;
    let disposition = if content_type.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "private, max-age=3600".into()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "aftercare API",
        description = "房地产开发企业售后服务机构监管与信用评价平台接口。认证：集成方使用 `Authorization: Bearer act_…` 令牌；浏览器会话的写操作须带 `X-CSRF-Token`。",
    ),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "registry", description = "行政区、企业、项目"),
        (name = "imports", description = "批量导入"),
        (name = "hotline", description = "12345热线工单：导入、归属、未匹配队列、指标"),
        (name = "filings", description = "售后服务机构备案、审核、公示牌覆盖、工作清单"),
        (name = "enforcement", description = "执法：案件（约谈、责令限期整改、整改、核查、逾期）、立案建议、群体上访跟进"),
        (name = "circular", description = "通报：按期间和范围生成、印发、下载（DOCX、PDF、HTML），公开页面"),
        (name = "evaluation", description = "年度信用评价：评价运行、各项得分与依据、公示、异议、导出、假设分析"),
        (name = "exports", description = "列表导出为 XLSX：与列表相同的筛选和权限，中文表头，冻结首行，日期为日期格式"),
        (name = "accounts", description = "当前用户、用户管理、API 令牌（创建、列出、撤销）、审计日志"),
        (name = "mail", description = "邮件发件箱：状态、服务器应答、重试（仅市局管理员）"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::session::COOKIE,
            ))),
        );
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            registry::list_jurisdictions,
            registry::create_jurisdiction
        ))
        .routes(routes!(
            registry::get_jurisdiction,
            registry::update_jurisdiction
        ))
        .routes(routes!(
            registry::list_enterprises,
            registry::create_enterprise
        ))
        .routes(routes!(
            registry::get_enterprise,
            registry::update_enterprise
        ))
        .routes(routes!(registry::list_projects, registry::create_project))
        .routes(routes!(registry::get_project, registry::update_project))
        .routes(routes!(registry::import_enterprises))
        .routes(routes!(registry::import_projects))
        .routes(routes!(registry::import_report))
        .routes(routes!(filings::list_filings))
        .routes(routes!(filings::create_filing))
        .routes(routes!(filings::get_filing, filings::update_filing))
        .routes(routes!(filings::submit_filing))
        .routes(routes!(filings::withdraw_filing))
        .routes(routes!(filings::approve_filing))
        .routes(routes!(filings::reject_filing))
        .routes(routes!(filings::upload_file))
        .routes(routes!(filings::download_file, filings::delete_file))
        .routes(routes!(filings::org))
        .routes(routes!(filings::get_worklist))
        .routes(routes!(hotline::import_tickets))
        .routes(routes!(hotline::list_tickets))
        .routes(routes!(hotline::get_ticket))
        .routes(routes!(hotline::unmatched))
        .routes(routes!(hotline::assign))
        .routes(routes!(hotline::metrics))
        .routes(routes!(cases::list_cases, cases::open_case))
        .routes(routes!(cases::get_case))
        .routes(routes!(cases::record_event))
        .routes(routes!(cases::upload_case_file))
        .routes(routes!(cases::download_case_file))
        .routes(routes!(cases::list_suggestions))
        .routes(routes!(cases::dismiss_suggestion))
        .routes(routes!(cases::list_petitions))
        .routes(routes!(cases::record_petition))
        .routes(routes!(evaluations::list_runs, evaluations::create_run))
        .routes(routes!(evaluations::get_run))
        .routes(routes!(evaluations::publicize))
        .routes(routes!(evaluations::finalize))
        .routes(routes!(evaluations::list_results))
        .routes(routes!(evaluations::get_result))
        .routes(routes!(evaluations::file_objection))
        .routes(routes!(evaluations::decide_objection))
        .routes(routes!(evaluations::export_results))
        .routes(routes!(evaluations::what_if))
        .routes(routes!(evaluations::public_evaluation))
        .routes(routes!(evaluations::upload_objection_file))
        .routes(routes!(evaluations::download_objection_file))
        .routes(routes!(circulars::list, circulars::create))
        .routes(routes!(circulars::get))
        .routes(routes!(circulars::issue))
        .routes(routes!(circulars::download))
        .routes(routes!(circulars::public_list))
        .routes(routes!(circulars::public_download))
        .routes(routes!(exports::export_enterprises))
        .routes(routes!(exports::export_projects))
        .routes(routes!(exports::export_filings))
        .routes(routes!(exports::export_tickets))
        .routes(routes!(exports::export_cases))
        .routes(routes!(exports::export_rankings))
        .routes(routes!(accounts::me))
        .routes(routes!(accounts::list_users, accounts::create_user))
        .routes(routes!(accounts::disable_user))
        .routes(routes!(accounts::enable_user))
        .routes(routes!(accounts::reset_password))
        .routes(routes!(accounts::change_password))
        .routes(routes!(accounts::create_token, accounts::list_tokens))
        .routes(routes!(accounts::revoke_token))
        .routes(routes!(accounts::list_user_tokens))
        .routes(routes!(accounts::list_audit))
        .routes(routes!(outbox::list_outbox))
        .routes(routes!(outbox::retry_outbox))
}
