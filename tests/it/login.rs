//! Sessions, CSRF protection and login throttling.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::support::{code, hidden, TestApp, PASSWORD};

async fn csrf_is_required_for_session_writes(app: TestApp) {
    let s = app.seed().await;
    let mut c = app.login("admin").await;
    let body = json!({"credit_code": code("91370811MA0000031").as_str(), "name": "跨站测试置业有限公司", "grade": "fourth", "county_id": s.county_a});

    let token = c.csrf.take();
    let resp = c
        .send_json(Method::POST, "/api/v1/enterprises", &body)
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "no token");
    assert_eq!(resp.json()["error"]["code"], "csrf");
    c.csrf = Some("0".repeat(64));
    assert_eq!(
        c.send_json(Method::POST, "/api/v1/enterprises", &body)
            .await
            .status,
        StatusCode::FORBIDDEN,
        "wrong token"
    );
    c.csrf = token.clone();
    assert_eq!(
        c.send_json(Method::POST, "/api/v1/enterprises", &body)
            .await
            .status,
        StatusCode::CREATED,
        "right token"
    );

    // Forms: the logout form without its token is refused, with it the session ends.
    assert_eq!(
        c.post_form("/logout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.post_form("/logout", &[("_csrf", "forged")]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.get("/api/v1/me").await.status,
        StatusCode::OK,
        "still signed in after refused logouts"
    );
    let t = token.unwrap();
    assert_eq!(
        c.post_form("/logout", &[("_csrf", &t)]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        c.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED,
        "session ended by logout"
    );

    // The login form itself is protected by a double-submit cookie.
    let mut fresh = app.client();
    let resp = fresh
        .post_form(
            "/login",
            &[
                ("username", "admin"),
                ("password", PASSWORD),
                ("_csrf", "guess"),
            ],
        )
        .await;
    assert_eq!(
        resp.status,
        StatusCode::FORBIDDEN,
        "login without the form's cookie"
    );
    let form = fresh.get("/login").await.text();
    let good = hidden(&form, "_csrf");
    let resp = fresh
        .post_form(
            "/login",
            &[
                ("username", "admin"),
                ("password", PASSWORD),
                ("_csrf", "other"),
            ],
        )
        .await;
    assert_eq!(
        resp.status,
        StatusCode::FORBIDDEN,
        "login with a token that does not match the cookie"
    );
    let resp = fresh
        .post_form(
            "/login",
            &[
                ("username", "admin"),
                ("password", PASSWORD),
                ("_csrf", &good),
            ],
        )
        .await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
}
both!(csrf_is_required_for_session_writes);

async fn login_is_throttled(app: TestApp) {
    app.seed().await;
    let mut c = app.client();
    for i in 0..5 {
        assert_eq!(
            c.login("officer_a", "wrong password").await,
            StatusCode::UNAUTHORIZED,
            "attempt {i}"
        );
    }
    let mut c = app.client();
    assert_eq!(
        c.login("officer_a", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let form = c.get("/login").await.text();
    let resp = c
        .post_form(
            "/login",
            &[
                ("username", "officer_a"),
                ("password", PASSWORD),
                ("_csrf", &hidden(&form, "_csrf")),
            ],
        )
        .await;
    assert!(resp.headers.contains_key("retry-after"));
    assert!(resp.text().contains("分钟后再试"));
    // Other users are not locked out by someone else's failures.
    let mut other = app.client();
    assert_eq!(
        other.login("officer_b", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    // Unknown users fail the same way as a wrong password.
    assert_eq!(
        app.client().login("nobody", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
}
both!(login_is_throttled);

async fn sessions_expire_and_follow_the_user(app: TestApp) {
    app.seed().await;
    let mut c = app.login("officer_a").await;
    assert_eq!(c.get("/api/v1/me").await.json()["role"], "county_officer");
    // Age every session past its expiry.
    {
        let mut p = app.db().acquire().await.unwrap();
        let mut conn = p.conn();
        let past = chrono::Utc::now() - chrono::Duration::minutes(1);
        aftercare::on_conn!(&mut conn, |x| sqlx::query(
            "UPDATE sessions SET expires_at = $1"
        )
        .bind(past)
        .execute(x)
        .await
        .map(|_| ()))
        .unwrap();
    }
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(c.get("/enterprises").await.status, StatusCode::SEE_OTHER);

    // Deactivating a user ends their sessions at once.
    let mut c = app.login("ent_a").await;
    {
        let mut tx = app.db().begin().await.unwrap();
        let mut conn = tx.conn();
        let u = aftercare::auth::user::find(&mut conn, "ent_a")
            .await
            .unwrap()
            .unwrap();
        aftercare::auth::user::set_active(
            &mut conn,
            &aftercare::audit::Actor::system("test"),
            u.id,
            false,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.client().login("ent_a", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "inactive users cannot log in"
    );

    // Cookies are HTTP-only; the redirect after login never leaves the site.
    let mut c = app.client();
    let form = c.get("/login?next=//evil.example/x").await.text();
    assert!(form.contains("name=\"next\" value=\"/\""));
    let resp = c
        .post_form(
            "/login",
            &[
                ("username", "admin"),
                ("password", PASSWORD),
                ("_csrf", &hidden(&form, "_csrf")),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(resp.headers["location"], "/");
    let set_cookie: Vec<_> = resp
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(set_cookie
        .iter()
        .any(|c| c.starts_with("aftercare_session=")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Lax")));
}
both!(sessions_expire_and_follow_the_user);
