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

/// Where to go after logging in: a path of this site, or `/`. Accepted only when it is a
/// relative reference starting with a single `/` (so no scheme and no authority), made of
/// printable ASCII, and — also after percent-decoding its path — free of `//`, backslashes,
/// control characters and whitespace. Browsers strip tabs and newlines and read `\` as `/`,
/// so `/%09/evil.example` or `/\evil.example` would otherwise leave the site.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_string(),
        _ => "/".to_string(),
    }
}

fn is_local_path(n: &str) -> bool {
    if n.len() > 2048 || !n.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    // The path decides where the browser goes; the query and fragment cannot change the host.
    let path = n.split(['?', '#']).next().unwrap_or("");
    let Some(decoded) = percent_decode(path) else {
        return false;
    };
    let decoded = String::from_utf8_lossy(&decoded);
    [path, decoded.as_ref()].iter().all(|p| {
        p.starts_with('/')
            && !p.contains("//")
            && !p.contains('\\')
            && !p.chars().any(|c| c.is_control() || c.is_whitespace())
    })
}

/// `None` for a malformed escape (`%` not followed by two hex digits).
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
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

    // Counted before the password is checked, so parallel guesses cannot slip past the limit.
    let attempt = match throttle::admit(&state.db, &limits, &username, &ip).await? {
        throttle::Admission::Admitted(id) => id,
        throttle::Admission::Refused(wait) => {
            tracing::warn!(username, ip, "login throttled");
            return Err(HttpError::too_many(wait.num_seconds()).into());
        }
    };
    let found = {
        let mut pooled = state.db.acquire().await?;
        user::find(&mut pooled.conn(), &username).await?
    };
    let stored = found.as_ref().map(|u| u.password_hash.clone());
    let password_text = form.password;
    let matches = tokio::task::spawn_blocking(move || {
        // Verify against a decoy when the user is unknown, so timing does not tell.
        let hash = stored.unwrap_or_else(|| password::decoy_hash().to_string());
        password::verify(&password_text, &hash)
    })
    .await
    .unwrap_or(false);

    let user = match found {
        Some(u) if matches && u.active => u,
        _ => {
            // The attempt stays recorded as a failure.
            tracing::info!(username, ip, "login failed");
            let mut resp = login_page(&state, next, username, "用户名或密码错误".into())?;
            *resp.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            return Ok(resp);
        }
    };
    let mut tx = state.db.begin().await?;
    let mut conn = tx.conn();
    throttle::succeeded(&mut conn, &username, attempt).await?;
    let created = session::create(&mut conn, user.id, state.session_ttl(), &ip).await?;
    user::record_login(&mut conn, user.id).await?;
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

#[cfg(test)]
mod tests {
    use super::safe_next;

    /// Where a browser would resolve `location` against `https://site.example/`: true when it
    /// stays on the site. Models the WHATWG URL parser's steps that matter here: tabs and
    /// newlines are removed, `\` counts as `/`, and a leading `//` starts an authority.
    fn stays_on_site(location: &str) -> bool {
        let cleaned: String = location
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .map(|c| if c == '\\' { '/' } else { c })
            .collect();
        let cleaned = cleaned.trim_matches(|c: char| c <= ' ');
        cleaned.starts_with('/') && !cleaned.starts_with("//")
    }

    #[test]
    fn known_open_redirects_land_on_root() {
        for bad in [
            "/%09/evil.example",
            "/\t/evil.example",
            "//evil.example",
            "/\\evil.example",
            "/%5Cevil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/%0a/evil.example",
            "/%0D%0A/evil",
            "/ /evil.example",
            "/%20/evil.example",
            "/%E3%80%80/evil.example",
            "/%zz",
            "/%",
            "",
            "\\\\evil.example",
            " /x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn site_paths_are_kept() {
        for good in [
            "/",
            "/enterprises",
            "/enterprises/12/org",
            "/hotline?q=%E7%94%B2&page=2",
            "/hotline?q=a%20b",
            "/audit?actor=admin#top",
            "/a%2Db",
        ] {
            assert_eq!(safe_next(Some(good)), good);
        }
    }

    /// Every string up to four characters over an alphabet of the characters that matter
    /// (and some that do not), plus pseudo-random longer ones: the answer is the input itself
    /// or `/`, and a browser never leaves the site with it.
    #[test]
    fn no_input_leaves_the_site() {
        const ALPHABET: [&str; 16] = [
            "/", "\\", "%", "0", "9", "2", "F", "f", "5", "C", "e", ":", "\t", " ", "?", "x",
        ];
        let mut inputs = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for s in &frontier {
                for a in ALPHABET {
                    next.push(format!("{s}{a}"));
                }
            }
            inputs.extend(next.iter().cloned());
            frontier = next;
        }
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..12 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push_str(ALPHABET[(seed % ALPHABET.len() as u64) as usize]);
            }
            inputs.push(s);
        }
        for input in inputs {
            let out = safe_next(Some(&input));
            assert!(out == "/" || out == input, "{input:?} became {out:?}");
            assert!(stays_on_site(&out), "{input:?} leaves the site");
            // And decoding the escapes once more (as a careless proxy might) does not either.
            if let Some(decoded) = super::percent_decode(&out) {
                assert!(
                    stays_on_site(&String::from_utf8_lossy(&decoded)),
                    "{input:?}"
                );
            }
        }
    }
}
