//! Login and logout. The login form has no session yet, so it is protected by a double-submit
//! cookie: the form's `_csrf` must equal a cookie only this site can set.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::render;
use crate::audit::{self, Actor};
use crate::auth::{password, session, throttle, user};
use crate::web::error::{HttpError, PageError};
use crate::web::extract::PageUser;
use crate::web::{client_ip, cookie, AppState};

const LOGIN_CSRF_COOKIE: &str = "aftercare_login_csrf";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTemplate {
    csrf: String,
    next: String,
    username: String,
    error: String,
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// Only same-site paths: never an open redirect to another host.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

fn login_page(
    state: &AppState,
    next: String,
    username: String,
    error: String,
) -> Result<Response, HttpError> {
    let csrf = crate::secret::random_hex(16);
    let mut resp = render(&LoginTemplate {
        csrf: csrf.clone(),
        next,
        username,
        error,
    })?;
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let value =
        format!("{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict{secure}");
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

pub async fn form(
    State(state): State<AppState>,
    Query(q): Query<NextParam>,
) -> Result<Response, PageError> {
    Ok(login_page(
        &state,
        safe_next(q.next.as_deref()),
        String::new(),
        String::new(),
    )?)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    req_ext: axum::http::Extensions,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !crate::secret::constant_time_eq(expected, &form.csrf) {
        return Err(HttpError::csrf().into());
    }
    let next = safe_next(form.next.as_deref());
    let username = form.username.trim().to_lowercase();
    let ip = client_ip(&headers, crate::web::peer(&req_ext), &state.config);
    let limits = throttle::Limits {
        per_user: state.config.login_max_failures,
        per_ip: state.config.login_max_failures_per_ip,
        window: chrono::Duration::minutes(state.config.login_window_minutes),
    };

    let mut pooled = state.db.acquire().await?;
    if let Some(wait) = throttle::check(&mut pooled.conn(), &limits, &username, &ip).await? {
        tracing::warn!(username, ip, "login throttled");
        return Err(HttpError::too_many(wait.num_seconds()).into());
    }
    let found = user::find(&mut pooled.conn(), &username).await?;
    drop(pooled);
    let stored = found.as_ref().map(|u| u.password_hash.clone());
    let password_text = form.password;
    let matches = tokio::task::spawn_blocking(move || {
        // Verify against a decoy when the user is unknown, so timing does not tell.
        let hash = stored.unwrap_or_else(|| password::decoy_hash().to_string());
        password::verify(&password_text, &hash)
    })
    .await
    .unwrap_or(false);

    let mut tx = state.db.begin().await?;
    let mut conn = tx.conn();
    let user = match found {
        Some(u) if matches && u.active => u,
        _ => {
            throttle::record_failure(&mut conn, &username, &ip).await?;
            tx.commit().await?;
            tracing::info!(username, ip, "login failed");
            let mut resp = login_page(&state, next, username, "用户名或密码错误".into())?;
            *resp.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            return Ok(resp);
        }
    };
    throttle::clear(&mut conn, &username).await?;
    let created = session::create(&mut conn, user.id, state.session_ttl(), &ip).await?;
    audit::record(
        &mut conn,
        &Actor::user(user.id, &user.username),
        "login",
        "user",
        Some(user.id),
        None::<&()>,
        Some(&serde_json::json!({"ip": ip})),
    )
    .await?;
    tx.commit().await?;

    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let mut resp = Redirect::to(&next).into_response();
    let cookies = [
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax{secure}",
            session::COOKIE,
            created.token
        ),
        format!("{LOGIN_CSRF_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    ];
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

pub async fn logout(State(state): State<AppState>, user: PageUser) -> Result<Response, PageError> {
    let mut tx = state.db.begin().await?;
    let mut conn = tx.conn();
    session::delete(&mut conn, user.session_id).await?;
    audit::record(
        &mut conn,
        &user.principal.actor(),
        "logout",
        "user",
        Some(user.principal.user_id),
        None::<&()>,
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    let mut resp = Redirect::to("/login").into_response();
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
        session::COOKIE
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}
