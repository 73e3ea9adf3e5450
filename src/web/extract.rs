//! Extractors: who is asking, and request bodies/queries whose rejections speak our error
//! format instead of axum's plain text.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use super::error::HttpError;
use crate::auth::session::Session;
use crate::auth::Principal;

/// How the request authenticated; put in the request extensions by the auth middleware.
#[derive(Clone)]
pub enum Auth {
    Session(Session),
    Token(Principal),
}

impl Auth {
    pub fn principal(&self) -> &Principal {
        match self {
            Auth::Session(s) => &s.principal,
            Auth::Token(p) => p,
        }
    }
}

impl Auth {
    /// The session, when the request came from a browser session rather than a token.
    pub fn session_id(&self) -> Option<i64> {
        match self {
            Auth::Session(s) => Some(s.id),
            Auth::Token(_) => None,
        }
    }
}

/// How the caller authenticated; 401 when not at all.
impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Auth>()
            .cloned()
            .ok_or_else(HttpError::unauthorized)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Auth>()
            .map(|a| a.principal().clone())
            .ok_or_else(HttpError::unauthorized)
    }
}

/// A signed-in browser user, with the CSRF token its forms must carry. Anyone else is sent
/// to the login page.
pub struct PageUser {
    pub principal: Principal,
    pub csrf: String,
    pub session_id: i64,
}

impl<S: Send + Sync> FromRequestParts<S> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Auth>() {
            Some(Auth::Session(s)) => Ok(PageUser {
                principal: s.principal.clone(),
                csrf: s.csrf_token.clone(),
                session_id: s.id,
            }),
            _ => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let target = format!("/login?next={}", percent_encode(next));
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// JSON body whose parse errors name the field and come back as our error body (400).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(HttpError::bad_request(format!(
                "请求内容有误：{}",
                e.body_text()
            ))),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(HttpError::bad_request(
                "请求须为 JSON（Content-Type: application/json）",
            )),
            Err(e) => Err(HttpError::bad_request(format!(
                "无法解析 JSON：{}",
                e.body_text()
            ))),
        }
    }
}

/// Query string whose parse errors come back as our error body (400).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(HttpError::bad_request(
                format!("查询参数有误：{}", e.body_text()),
            )),
            Err(e) => Err(HttpError::bad_request(e.body_text())),
        }
    }
}

/// Path parameters whose rejection speaks our error format (400 with the JSON body naming the
/// path) instead of axum's plain text: an id that is text, or beyond i64.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(axum::extract::rejection::PathRejection::FailedToDeserializePathParams(e)) => {
                Err(HttpError {
                    field: Some("path".into()),
                    ..HttpError::bad_request(format!("路径中的编号无效：{}", e.body_text()))
                })
            }
            Err(e) => {
                tracing::error!(error = %e.body_text(), "path parameters missing from route");
                Err(HttpError::not_found())
            }
        }
    }
}
