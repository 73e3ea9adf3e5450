//! The HTTP layer's error: a status, a stable code, and a message a person can act on.
//! Internal failures are logged with their cause and answered with a generic message.

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::error::Error;

#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `invalid`, `not_found`, `forbidden`, …
    pub code: String,
    pub message: String,
    /// The input field (or file line) the error is about.
    pub field: Option<String>,
}

impl HttpError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        HttpError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "请先登录或提供有效的 API 令牌",
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "表单已失效（CSRF 校验失败），请刷新页面后重试",
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "页面或资源不存在")
    }

    pub fn too_many(wait_secs: i64) -> Self {
        let minutes = (wait_secs + 59) / 60;
        HttpError {
            retry_after_secs: Some(wait_secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("登录失败次数过多，请{minutes}分钟后再试"),
            )
        }
    }

    /// The same error as an HTML page, for browser routes.
    pub fn into_page(self) -> Response {
        let status = self.status;
        let body = error_page(status, &self.message);
        let mut resp = (status, Html(body)).into_response();
        if let Some(s) = self.retry_after_secs {
            if let Ok(v) = s.to_string().parse() {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

impl From<Error> for HttpError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(what) => {
                HttpError::new(StatusCode::NOT_FOUND, "not_found", format!("{what}不存在"))
            }
            Error::Forbidden(why) => HttpError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("无权执行此操作：{why}"),
            ),
            Error::Invalid(inv) => HttpError {
                field: Some(inv.field.clone()),
                ..HttpError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", inv.to_string())
            },
            Error::Conflict(m) => HttpError::new(StatusCode::CONFLICT, "conflict", m),
            Error::Db(sqlx::Error::PoolTimedOut) => {
                tracing::warn!("database pool timed out");
                HttpError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "系统繁忙，请稍后再试",
                )
            }
            other => {
                tracing::error!(error = ?other, "internal error");
                HttpError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "服务器内部错误，请联系管理员",
                )
            }
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
            },
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after_secs {
            if let Ok(v) = s.to_string().parse() {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    status: u16,
    message: &'a str,
}

/// The error page lives here, not with the other pages: the pages use this module's errors,
/// and this module must not need the pages.
fn error_page(status: StatusCode, message: &str) -> String {
    use askama::Template;
    ErrorTemplate {
        status: status.as_u16(),
        message,
    }
    .render()
    .unwrap_or_else(|_| format!("{} {}", status.as_u16(), message))
}

/// Errors of HTML routes: rendered as a page.
pub struct PageError(pub HttpError);

impl<E: Into<HttpError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.into_page()
    }
}
