//! Accounts: API token list / revoke / expiry, the administrator's user pages, the own
//! account page, disabling a user, the login redirect and concurrent login throttling.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::support::{code, hidden, Client, TestApp, PASSWORD};

const NEW_PASSWORD: &str = "Other-Passw0rd#";

async fn user_id(app: &TestApp, username: &str) -> i64 {
    let mut p = app.db().acquire().await.expect("acquire");
    aftercare::auth::user::find(&mut p.conn(), username)
        .await
        .expect("find")
        .expect("user exists")
        .id
}

/// One integer from the database, for a query with a single integer parameter.
async fn scalar(app: &TestApp, sql: &str, arg: i64) -> i64 {
    let mut p = app.db().acquire().await.expect("acquire");
    let mut conn = p.conn();
    aftercare::on_conn!(&mut conn, |c| sqlx::query_scalar::<_, i64>(sql)
        .bind(arg)
        .fetch_one(c)
        .await)
    .expect("scalar")
}

async fn live_tokens(app: &TestApp, user: i64) -> i64 {
    scalar(
        app,
        "SELECT COUNT(*) FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL",
        user,
    )
    .await
}

async fn sessions_of(app: &TestApp, user: i64) -> i64 {
    scalar(
        app,
        "SELECT COUNT(*) FROM sessions WHERE user_id = $1",
        user,
    )
    .await
}

async fn is_active(app: &TestApp, user: i64) -> bool {
    scalar(
        app,
        "SELECT COUNT(*) FROM users WHERE id = $1 AND active = TRUE",
        user,
    )
    .await
        == 1
}

/// Creates a token through the API with the client's session; returns (id, secret).
async fn new_token(c: &mut Client<'_>, body: Value) -> (i64, String) {
    let resp = c.send_json(Method::POST, "/api/v1/tokens", &body).await;
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.text());
    let v = resp.json();
    (
        v["id"].as_i64().expect("id"),
        v["token"].as_str().expect("secret").to_string(),
    )
}

async fn bearer_status(app: &TestApp, secret: &str) -> StatusCode {
    let mut c = app.client();
    c.bearer = Some(secret.to_string());
    c.get("/api/v1/me").await.status
}

/// The field a form page's error is about.
fn form_error(html: &str) -> String {
    hidden_attr(html, "data-field")
}

fn hidden_attr(html: &str, attr: &str) -> String {
    let marker = format!("{attr}=\"");
    let start = html
        .find(&marker)
        .map(|i| i + marker.len())
        .unwrap_or_else(|| panic!("no {attr} in page"));
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn tokens_are_listed_and_revoked(app: TestApp) {
    app.seed().await;
    let ent_a = user_id(&app, "ent_a").await;
    let mut a = app.login("ent_a").await;
    let mut b = app.login("ent_b").await;
    let (a_id, a_secret) = new_token(&mut a, json!({"name": "甲的 CRM"})).await;
    let (b_id, b_secret) = new_token(&mut b, json!({"name": "丙的 CRM"})).await;

    let list = a.get("/api/v1/tokens").await;
    assert_eq!(list.status, StatusCode::OK);
    let items = list.json();
    let items = items.as_array().expect("array");
    assert_eq!(items.len(), 1, "only the caller's own tokens");
    assert_eq!(items[0]["id"], a_id);
    assert_eq!(items[0]["name"], "甲的 CRM");
    assert!(items[0]["revoked_at"].is_null());
    assert!(
        items[0].get("token").is_none(),
        "the secret is never listed"
    );

    // Another enterprise's token is not found, and stays live.
    let resp = a
        .request(
            Method::DELETE,
            &format!("/api/v1/tokens/{b_id}"),
            None,
            vec![],
            true,
        )
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    assert_eq!(bearer_status(&app, &b_secret).await, StatusCode::OK);
    assert_eq!(
        app.audit("api_token").await.len(),
        2,
        "only the two creations"
    );

    // The owner revokes their own; the token stops working at once.
    assert_eq!(bearer_status(&app, &a_secret).await, StatusCode::OK);
    let resp = a
        .request(
            Method::DELETE,
            &format!("/api/v1/tokens/{a_id}"),
            None,
            vec![],
            true,
        )
        .await;
    assert_eq!(resp.status, StatusCode::NO_CONTENT);
    assert_eq!(
        bearer_status(&app, &a_secret).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(live_tokens(&app, ent_a).await, 0);
    let listed = a.get("/api/v1/tokens").await.json();
    assert!(
        !listed[0]["revoked_at"].is_null(),
        "revoked tokens stay listed"
    );
    let revokes: Vec<_> = app
        .audit("api_token")
        .await
        .into_iter()
        .filter(|e| e.action == "revoke")
        .collect();
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0].entity_id, Some(a_id));

    // The administrator lists anyone's tokens and may revoke them; officers may not list.
    let mut admin = app.login("admin").await;
    let ent_b = user_id(&app, "ent_b").await;
    let resp = admin.get(&format!("/api/v1/users/{ent_b}/tokens")).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.json()[0]["id"], b_id);
    assert_eq!(
        admin.get("/api/v1/users/999999/tokens").await.status,
        StatusCode::NOT_FOUND
    );
    let mut officer = app.login("officer_b").await;
    assert_eq!(
        officer
            .get(&format!("/api/v1/users/{ent_b}/tokens"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let resp = admin
        .request(
            Method::DELETE,
            &format!("/api/v1/tokens/{b_id}"),
            None,
            vec![],
            true,
        )
        .await;
    assert_eq!(resp.status, StatusCode::NO_CONTENT);
    assert_eq!(
        bearer_status(&app, &b_secret).await,
        StatusCode::UNAUTHORIZED
    );

    // A token can revoke itself (no session, no CSRF token needed).
    let (c_id, c_secret) = new_token(&mut a, json!({"name": "临时"})).await;
    let mut t = app.client();
    t.bearer = Some(c_secret.clone());
    let resp = t
        .request(
            Method::DELETE,
            &format!("/api/v1/tokens/{c_id}"),
            None,
            vec![],
            false,
        )
        .await;
    assert_eq!(resp.status, StatusCode::NO_CONTENT);
    assert_eq!(
        bearer_status(&app, &c_secret).await,
        StatusCode::UNAUTHORIZED
    );

    // The routes are in the OpenAPI document.
    let doc = app.client().get("/api/openapi.json").await.json();
    for path in [
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/users/{id}/tokens",
        "/api/v1/users/{id}/disable",
        "/api/v1/users/{id}/enable",
        "/api/v1/users/{id}/password",
        "/api/v1/me/password",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    assert!(doc["paths"]["/api/v1/tokens/{id}"].get("delete").is_some());
}
both!(tokens_are_listed_and_revoked);

async fn tokens_expire(app: TestApp) {
    app.seed().await;
    let mut a = app.login("ent_a").await;
    let before = app.count("api_tokens").await;
    for (body, field) in [
        (
            json!({"name": "x", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"name": "x", "expires_in_days": 3651}),
            "expires_in_days",
        ),
        (
            json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"name": "x", "expires_at": "2999-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"name": "x", "expires_in_days": 5, "expires_at": "2999-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (json!({"name": "  "}), "name"),
    ] {
        let resp = a.send_json(Method::POST, "/api/v1/tokens", &body).await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(resp.json()["error"]["field"], field, "{body}");
    }
    assert_eq!(app.count("api_tokens").await, before, "nothing created");

    let (id, secret) = new_token(&mut a, json!({"name": "30天", "expires_in_days": 30})).await;
    let listed = a.get("/api/v1/tokens").await.json();
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(listed[0]["expires_at"].clone()).expect("expires_at");
    let days = (expires - chrono::Utc::now()).num_hours();
    assert!((29 * 24..=30 * 24).contains(&days), "{days} hours");
    assert_eq!(bearer_status(&app, &secret).await, StatusCode::OK);

    // Once its expiry has passed, the token no longer authenticates.
    {
        let mut p = app.db().acquire().await.unwrap();
        let mut conn = p.conn();
        let past = chrono::Utc::now() - chrono::Duration::minutes(1);
        aftercare::on_conn!(&mut conn, |c| sqlx::query(
            "UPDATE api_tokens SET expires_at = $1 WHERE id = $2"
        )
        .bind(past)
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
        .unwrap();
    }
    assert_eq!(bearer_status(&app, &secret).await, StatusCode::UNAUTHORIZED);
    let page = a.get("/account").await.text();
    assert!(page.contains("已过期"), "the account page shows the state");

    let at = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let (_, secret) = new_token(&mut a, json!({"name": "到期日", "expires_at": at})).await;
    assert_eq!(bearer_status(&app, &secret).await, StatusCode::OK);
}
both!(tokens_expire);

async fn disabling_a_user_ends_tokens_and_sessions(app: TestApp) {
    app.seed().await;
    let ent_a = user_id(&app, "ent_a").await;
    let mut a = app.login("ent_a").await;
    let (_, secret) = new_token(&mut a, json!({"name": "CRM"})).await;
    let (_, secret2) = new_token(&mut a, json!({"name": "CRM2", "expires_in_days": 9})).await;
    assert_eq!(sessions_of(&app, ent_a).await, 1);

    let mut admin = app.login("admin").await;
    let csrf = admin.csrf.clone().unwrap();
    let resp = admin
        .post_form(&format!("/users/{ent_a}/disable"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    assert!(resp.text().contains("已停用"));
    assert!(!is_active(&app, ent_a).await);
    assert_eq!(sessions_of(&app, ent_a).await, 0);
    assert_eq!(live_tokens(&app, ent_a).await, 0);
    assert_eq!(a.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    for s in [&secret, &secret2] {
        assert_eq!(bearer_status(&app, s).await, StatusCode::UNAUTHORIZED);
    }
    let audit = app.audit("user").await;
    let last = audit.last().expect("audit");
    assert_eq!(last.action, "deactivate");
    assert_eq!(last.entity_id, Some(ent_a));
    assert!(last
        .after_json
        .as_deref()
        .unwrap_or("")
        .contains("\"tokens_revoked\":2"));

    // Enabling restores the account, not its old tokens.
    let resp = admin
        .post_form(&format!("/users/{ent_a}/enable"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert!(is_active(&app, ent_a).await);
    assert_eq!(bearer_status(&app, &secret).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.client().login("ent_a", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert!(app
        .audit("user")
        .await
        .iter()
        .any(|e| e.action == "activate" && e.entity_id == Some(ent_a)));

    // The administrator cannot disable their own account.
    let me = user_id(&app, "admin").await;
    let resp = admin
        .post_form(&format!("/users/{me}/disable"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(is_active(&app, me).await);
    // And through the API the same rules hold.
    let resp = admin
        .request(
            Method::POST,
            &format!("/api/v1/users/{ent_a}/disable"),
            None,
            vec![],
            true,
        )
        .await;
    assert_eq!(resp.status, StatusCode::NO_CONTENT);
    assert!(!is_active(&app, ent_a).await);
    let resp = admin
        .request(
            Method::POST,
            "/api/v1/users/999999/disable",
            None,
            vec![],
            true,
        )
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
}
both!(disabling_a_user_ends_tokens_and_sessions);

async fn user_administration_is_for_the_admin(app: TestApp) {
    let s = app.seed().await;
    let ent_b = user_id(&app, "ent_b").await;
    let users_before = app.count("users").await;
    for who in ["officer_a", "ent_a"] {
        let mut c = app.login(who).await;
        let csrf = c.csrf.clone().unwrap();
        assert_eq!(c.get("/users").await.status, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(
            c.get(&format!("/users/{ent_b}")).await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
        let resp = c
            .post_form(
                "/users",
                &[
                    ("_csrf", &csrf),
                    ("username", "sneaky"),
                    ("display_name", "x"),
                    ("password", PASSWORD),
                    ("role", "city_admin"),
                ],
            )
            .await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{who}");
        for action in ["disable", "enable"] {
            let resp = c
                .post_form(&format!("/users/{ent_b}/{action}"), &[("_csrf", &csrf)])
                .await;
            assert_eq!(resp.status, StatusCode::FORBIDDEN, "{who} {action}");
        }
        let resp = c
            .post_form(
                &format!("/users/{ent_b}/password"),
                &[("_csrf", &csrf), ("password", NEW_PASSWORD)],
            )
            .await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(
            c.get("/api/v1/users").await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
        let resp = c
            .send_json(
                Method::POST,
                "/api/v1/users",
                &json!({"username": "sneaky", "display_name": "x", "password": PASSWORD, "role": "county_officer", "county_id": s.county_a}),
            )
            .await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{who}");
        let resp = c
            .send_json(
                Method::POST,
                &format!("/api/v1/users/{ent_b}/password"),
                &json!({"password": NEW_PASSWORD}),
            )
            .await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{who}");
        let page = c.get("/account").await.text();
        assert!(!page.contains("href=\"/users\""), "no user-admin link");
    }
    assert_eq!(app.count("users").await, users_before);
    assert!(is_active(&app, ent_b).await);
    assert_eq!(
        app.client().login("ent_b", PASSWORD).await,
        StatusCode::SEE_OTHER,
        "password unchanged"
    );
    // Not signed in: to the login page.
    assert_eq!(
        app.client().get("/users").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.client().get("/account").await.status,
        StatusCode::SEE_OTHER
    );
}
both!(user_administration_is_for_the_admin);

async fn admin_manages_users_through_pages(app: TestApp) {
    let s = app.seed().await;
    let mut admin = app.login("admin").await;
    let csrf = admin.csrf.clone().unwrap();
    let page = admin.get("/users").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    for expected in [
        "officer_a",
        "任城区",
        "济宁甲置业有限公司",
        "县区主管部门",
        "从未登录",
        "href=\"/users\"",
        "href=\"/account\"",
    ] {
        assert!(html.contains(expected), "{expected}");
    }

    // Mistakes come back on the form, naming the field; nothing is created.
    let before = app.count("users").await;
    let county = s.county_b.to_string();
    let ent_code = code("91370812MA0000003");
    for (pairs, field) in [
        (
            vec![
                ("username", "newofficer"),
                ("display_name", "新县区"),
                ("password", PASSWORD),
                ("role", "county_officer"),
            ],
            "county_id",
        ),
        (
            vec![
                ("username", "newofficer"),
                ("display_name", "新县区"),
                ("password", "short"),
                ("role", "county_officer"),
                ("county_id", county.as_str()),
            ],
            "password",
        ),
        (
            vec![
                ("username", "newent"),
                ("display_name", "新企业"),
                ("password", PASSWORD),
                ("role", "enterprise"),
                ("enterprise_code", "91370812MA0000099"),
            ],
            "enterprise_code",
        ),
        (
            vec![
                ("username", "officer_a"),
                ("display_name", "重名"),
                ("password", PASSWORD),
                ("role", "city_admin"),
            ],
            "username",
        ),
        (
            vec![
                ("username", "x"),
                ("display_name", "短"),
                ("password", PASSWORD),
                ("role", "city_admin"),
            ],
            "username",
        ),
        (
            vec![
                ("username", "nobody2"),
                ("display_name", "无角色"),
                ("password", PASSWORD),
                ("role", "superuser"),
            ],
            "role",
        ),
    ] {
        let mut form = vec![("_csrf", csrf.as_str())];
        form.extend(pairs.iter().copied());
        let resp = admin.post_form("/users", &form).await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(form_error(&resp.text()), field);
        assert!(
            !resp.text().contains(PASSWORD),
            "the password is not echoed"
        );
    }
    assert_eq!(app.count("users").await, before);

    // A county officer and an enterprise user are created.
    let resp = admin
        .post_form(
            "/users",
            &[
                ("_csrf", &csrf),
                ("username", "NewOfficer"),
                ("display_name", "兖州区新officer"),
                ("password", PASSWORD),
                ("role", "county_officer"),
                ("county_id", &county),
                ("enterprise_code", "ignored for this role"),
            ],
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    assert!(resp.text().contains("已创建用户 newofficer"));
    let resp = admin
        .post_form(
            "/users",
            &[
                ("_csrf", &csrf),
                ("username", "newent"),
                ("display_name", "丙企业二号"),
                ("password", PASSWORD),
                ("role", "enterprise"),
                ("enterprise_code", ent_code.as_str()),
            ],
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", form_error(&resp.text()));
    assert_eq!(app.count("users").await, before + 2);
    let mut officer = app.login("newofficer").await;
    let me = officer.get("/api/v1/me").await.json();
    assert_eq!(me["role"], "county_officer");
    assert_eq!(me["county_id"], s.county_b);
    let mut ent = app.login("newent").await;
    assert_eq!(ent.get("/api/v1/me").await.json()["enterprise_id"], s.ent_b);
    let creates = app
        .audit("user")
        .await
        .into_iter()
        .filter(|e| e.action == "create" && e.actor == "admin")
        .count();
    assert_eq!(creates, 2);

    // The list shows the last login now.
    let html = admin.get("/users").await.text();
    assert!(html.contains("newofficer"));
    let officer_id = user_id(&app, "newofficer").await;
    let detail = admin.get(&format!("/users/{officer_id}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.text().contains("兖州区"));
    assert!(!detail.text().contains("从未登录"));
    assert_eq!(
        admin.get("/users/999999").await.status,
        StatusCode::NOT_FOUND
    );

    // Reset: a weak password is refused naming the field; a good one ends their sessions.
    let resp = admin
        .post_form(
            &format!("/users/{officer_id}/password"),
            &[("_csrf", &csrf), ("password", "alllowercase")],
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(form_error(&resp.text()), "password");
    assert_eq!(officer.get("/api/v1/me").await.status, StatusCode::OK);
    let resp = admin
        .post_form(
            &format!("/users/{officer_id}/password"),
            &[("_csrf", &csrf), ("password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert!(resp.text().contains("已重置密码"));
    assert_eq!(
        officer.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.client().login("newofficer", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.client().login("newofficer", NEW_PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let audit = app.audit("user").await;
    assert!(audit
        .iter()
        .any(|e| e.action == "set_password" && e.entity_id == Some(officer_id)));
}
both!(admin_manages_users_through_pages);

async fn users_change_their_own_password(app: TestApp) {
    app.seed().await;
    let ent_a = user_id(&app, "ent_a").await;
    let mut other_device = app.login("ent_a").await;
    let mut a = app.login("ent_a").await;
    let csrf = a.csrf.clone().unwrap();
    let page = a.get("/account").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("修改密码"));

    for (current, new, confirm, field) in [
        (
            "wrong-Passw0rd!",
            NEW_PASSWORD,
            NEW_PASSWORD,
            "current_password",
        ),
        (PASSWORD, NEW_PASSWORD, "Different-1!", "confirm_password"),
        (PASSWORD, "weakweakweak", "weakweakweak", "new_password"),
        (PASSWORD, PASSWORD, PASSWORD, "new_password"),
    ] {
        let resp = a
            .post_form(
                "/account/password",
                &[
                    ("_csrf", &csrf),
                    ("current_password", current),
                    ("new_password", new),
                    ("confirm_password", confirm),
                ],
            )
            .await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(form_error(&resp.text()), field);
    }
    assert!(!app
        .audit("user")
        .await
        .iter()
        .any(|e| e.action == "set_password"));

    let resp = a
        .post_form(
            "/account/password",
            &[
                ("_csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert!(resp.text().contains("密码已修改"));
    // This session stays; the one on the other device ends.
    assert_eq!(a.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(
        other_device.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(sessions_of(&app, ent_a).await, 1);
    assert_eq!(
        app.client().login("ent_a", NEW_PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let audit = app.audit("user").await;
    assert!(audit
        .iter()
        .any(|e| e.action == "set_password" && e.actor == "ent_a"));

    // The API does the same, naming the field.
    let resp = a
        .send_json(
            Method::POST,
            "/api/v1/me/password",
            &json!({"current_password": PASSWORD, "new_password": "Third-Passw0rd!"}),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resp.json()["error"]["field"], "current_password");
}
both!(users_change_their_own_password);

async fn account_page_manages_own_tokens(app: TestApp) {
    app.seed().await;
    let mut a = app.login("ent_a").await;
    let csrf = a.csrf.clone().unwrap();
    let resp = a
        .post_form(
            "/account/tokens",
            &[
                ("_csrf", &csrf),
                ("name", "客服系统"),
                ("expires_in_days", "90"),
            ],
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    let html = resp.text();
    let start = html.find("act_").expect("secret shown");
    let secret: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert_eq!(bearer_status(&app, &secret).await, StatusCode::OK);
    let again = a.get("/account").await.text();
    assert!(again.contains("客服系统"));
    assert!(!again.contains(&secret), "the secret is shown once");

    let resp = a
        .post_form(
            "/account/tokens",
            &[("_csrf", &csrf), ("name", "x"), ("expires_in_days", "4000")],
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(form_error(&resp.text()), "expires_in_days");

    let token_id = a.get("/api/v1/tokens").await.json()[0]["id"]
        .as_i64()
        .unwrap();
    // Another enterprise's user cannot revoke it.
    let mut b = app.login("ent_b").await;
    let b_csrf = b.csrf.clone().unwrap();
    let resp = b
        .post_form(&format!("/tokens/{token_id}/revoke"), &[("_csrf", &b_csrf)])
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    assert_eq!(bearer_status(&app, &secret).await, StatusCode::OK);
    // The owner can.
    let resp = a
        .post_form(&format!("/tokens/{token_id}/revoke"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert!(resp.text().contains("已撤销令牌"));
    assert_eq!(bearer_status(&app, &secret).await, StatusCode::UNAUTHORIZED);
}
both!(account_page_manages_own_tokens);

async fn account_forms_need_the_csrf_token(app: TestApp) {
    app.seed().await;
    let ent_a = user_id(&app, "ent_a").await;
    let mut a = app.login("ent_a").await;
    let (token_id, secret) = new_token(&mut a, json!({"name": "CRM"})).await;
    let mut admin = app.login("admin").await;
    let users_before = app.count("users").await;
    let tokens_before = app.count("api_tokens").await;
    for forged in [None, Some("0000")] {
        let with = |mut pairs: Vec<(&'static str, String)>| {
            if let Some(f) = forged {
                pairs.push(("_csrf", f.to_string()));
            }
            pairs
        };
        for (path, pairs) in [
            (
                "/users".to_string(),
                with(vec![
                    ("username", "csrfuser".into()),
                    ("display_name", "x".into()),
                    ("password", PASSWORD.into()),
                    ("role", "city_admin".into()),
                ]),
            ),
            (format!("/users/{ent_a}/disable"), with(vec![])),
            (
                format!("/users/{ent_a}/password"),
                with(vec![("password", NEW_PASSWORD.into())]),
            ),
            (format!("/tokens/{token_id}/revoke"), with(vec![])),
        ] {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let resp = admin.post_form(&path, &pairs).await;
            assert_eq!(resp.status, StatusCode::FORBIDDEN, "admin {path}");
        }
        for (path, pairs) in [
            (
                "/account/password",
                with(vec![
                    ("current_password", PASSWORD.into()),
                    ("new_password", NEW_PASSWORD.into()),
                    ("confirm_password", NEW_PASSWORD.into()),
                ]),
            ),
            ("/account/tokens", with(vec![("name", "csrf".into())])),
        ] {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let resp = a.post_form(path, &pairs).await;
            assert_eq!(resp.status, StatusCode::FORBIDDEN, "ent {path}");
        }
    }
    assert_eq!(app.count("users").await, users_before);
    assert_eq!(app.count("api_tokens").await, tokens_before);
    assert!(is_active(&app, ent_a).await);
    assert_eq!(bearer_status(&app, &secret).await, StatusCode::OK);
    assert_eq!(a.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(
        app.client().login("ent_a", PASSWORD).await,
        StatusCode::SEE_OTHER,
        "password unchanged"
    );
}
both!(account_forms_need_the_csrf_token);

async fn login_never_redirects_off_site(app: TestApp) {
    app.seed().await;
    for bad in [
        "/%09/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "/%5Cevil.example",
        "/\t/evil.example",
    ] {
        let mut c = app.client();
        let query = serde_urlencoded::to_string([("next", bad)]).unwrap();
        let form = c.get(&format!("/login?{query}")).await.text();
        assert_eq!(hidden(&form, "next"), "/", "{bad:?} on the form");
        let resp = c
            .post_form(
                "/login",
                &[
                    ("username", "admin"),
                    ("password", PASSWORD),
                    ("_csrf", &hidden(&form, "_csrf")),
                    ("next", bad),
                ],
            )
            .await;
        assert_eq!(resp.status, StatusCode::SEE_OTHER, "{bad:?}");
        assert_eq!(resp.headers["location"], "/", "{bad:?}");
    }
    // A path of the site is kept.
    let mut c = app.client();
    let form = c.get("/login?next=%2Fprojects%3Fq%3D1").await.text();
    assert_eq!(hidden(&form, "next"), "/projects?q=1");
    let resp = c
        .post_form(
            "/login",
            &[
                ("username", "admin"),
                ("password", PASSWORD),
                ("_csrf", &hidden(&form, "_csrf")),
                ("next", "/projects?q=1"),
            ],
        )
        .await;
    assert_eq!(resp.headers["location"], "/projects?q=1");
}
both!(login_never_redirects_off_site);

async fn parallel_wrong_passwords_are_throttled(app: TestApp) {
    app.seed().await;
    assert_eq!(app.state.config.login_max_failures, 5);
    let mut clients = Vec::new();
    let mut tokens = Vec::new();
    for _ in 0..8 {
        let mut c = app.client();
        let form = c.get("/login").await.text();
        tokens.push(hidden(&form, "_csrf"));
        clients.push(c);
    }
    let forms: Vec<[(&str, &str); 3]> = tokens
        .iter()
        .map(|t| {
            [
                ("username", "officer_a"),
                ("password", "Wrong-Passw0rd!"),
                ("_csrf", t.as_str()),
            ]
        })
        .collect();
    let attempts = clients
        .iter_mut()
        .zip(&forms)
        .map(|(c, form)| c.post_form("/login", form));
    let results = futures_util::future::join_all(attempts).await;
    let wrong = results
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = results
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(wrong, 5, "exactly the limit is evaluated");
    assert_eq!(throttled, 3);
    assert_eq!(app.count("login_failures").await, 5);
    // Now even the right password waits.
    assert_eq!(
        app.client().login("officer_a", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A successful login withdraws its own attempt and clears the user's failures.
    assert_eq!(
        app.client().login("officer_b", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.count("login_failures").await, 5);
}
both!(parallel_wrong_passwords_are_throttled);

/// Posts the login form as a browser behind our proxy would arrive: with the proxy's
/// `X-Forwarded-For`.
async fn login_via_proxy(app: &TestApp, xff: &str, username: &str, password: &str) -> StatusCode {
    use axum::body::Body;
    use axum::http::{header, Request};
    let get = Request::get("/login").body(Body::empty()).expect("request");
    let (_, headers, body) = app.send(get).await;
    let cookie = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.starts_with("aftercare_login_csrf="))
        .expect("login form cookie")
        .to_string();
    let token = hidden(&String::from_utf8_lossy(&body), "_csrf");
    let form = serde_urlencoded::to_string([
        ("username", username),
        ("password", password),
        ("_csrf", token.as_str()),
    ])
    .expect("form");
    let post = Request::post("/login")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-for", xff)
        .body(Body::from(form))
        .expect("request");
    app.send(post).await.0
}

async fn throttling_by_address_uses_the_proxy_hop(mut app: TestApp) {
    app.seed().await;
    let mut config = (*app.state.config).clone();
    config.trust_forwarded_for = true;
    config.login_max_failures_per_ip = 3;
    app.state.config = std::sync::Arc::new(config);
    app.router = aftercare::web::router(app.state.clone());

    // A guesser at 203.0.113.9 varies the user name and the entry it writes itself.
    for i in 0..3 {
        let status = login_via_proxy(
            &app,
            &format!("10.0.0.{i}, 203.0.113.9"),
            &format!("nobody{i}"),
            "Wrong-Passw0rd!",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let status = login_via_proxy(&app, "192.0.2.1, 203.0.113.9", "officer_a", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the address is locked"
    );
    let recorded = {
        let mut p = app.db().acquire().await.expect("acquire");
        let mut conn = p.conn();
        aftercare::on_conn!(&mut conn, |c| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM login_failures WHERE ip = '203.0.113.9'"
        )
        .fetch_one(c)
        .await)
        .expect("count")
    };
    assert_eq!(recorded, 3, "failures are kept under the proxy's hop");
    // Another client is not locked out by that address.
    let status = login_via_proxy(&app, "203.0.113.10", "officer_a", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}
both!(throttling_by_address_uses_the_proxy_hop);
