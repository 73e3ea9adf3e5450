//! Account pages: the city administrator's user list (create, disable, enable, reset a
//! password, see and revoke a user's tokens) and every user's own account page (change the
//! password, create and revoke API tokens). Access is decided by `auth::admin` and
//! `auth::token`; a form's mistake comes back on the same page naming the field.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::{render, Nav};
use crate::auth::admin::{self, UserListItem};
use crate::auth::token::{self, TokenInfo};
use crate::error::Error;
use crate::registry::jurisdiction::{self, Jurisdiction};
use crate::registry::{enterprise, CreditCode};
use crate::web::error::PageError;
use crate::web::extract::PageUser;
use crate::web::AppState;

type PageResult = Result<Response, PageError>;

/// What a form page shows after a post: a message, or an error with the field it is about.
#[derive(Default)]
struct Outcome {
    message: String,
    error: String,
    error_field: String,
}

impl Outcome {
    fn done(message: impl Into<String>) -> Outcome {
        Outcome {
            message: message.into(),
            ..Default::default()
        }
    }

    /// A mistake the user can fix becomes an outcome; anything else stays an error page.
    fn from_error(e: Error, rename: &[(&str, &str)]) -> Result<Outcome, PageError> {
        match e {
            Error::Invalid(i) => {
                let field = rename
                    .iter()
                    .find(|(from, _)| *from == i.field)
                    .map(|(_, to)| to.to_string())
                    .unwrap_or(i.field);
                Ok(Outcome {
                    error: i.message,
                    error_field: field,
                    ..Default::default()
                })
            }
            Error::Conflict(m) => Ok(Outcome {
                error: m,
                error_field: "username".into(),
                ..Default::default()
            }),
            other => Err(other.into()),
        }
    }

    fn status(&self) -> StatusCode {
        if self.error.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

fn with_status(mut resp: Response, status: StatusCode) -> Response {
    *resp.status_mut() = status;
    resp
}

#[derive(Deserialize, Default)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    county_id: String,
    #[serde(default)]
    enterprise_code: String,
    #[serde(default)]
    email: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersTemplate {
    nav: Nav,
    /// The administrator's own id: no disable button on their own row.
    me: i64,
    users: Vec<UserListItem>,
    counties: Vec<Jurisdiction>,
    form: NewUserForm,
    outcome: Outcome,
}

async fn users_page(
    state: &AppState,
    user: &PageUser,
    form: NewUserForm,
    outcome: Outcome,
) -> PageResult {
    user.principal.require_admin()?;
    let nav = Nav::new(state, user).await?;
    let (users, counties) = {
        let mut c = state.db.acquire().await?;
        let mut conn = c.conn();
        let users = admin::list_users(&mut conn, &user.principal).await?;
        let counties = jurisdiction::list(&mut conn)
            .await?
            .into_iter()
            .filter(|j| j.kind == "county")
            .collect();
        (users, counties)
    };
    let status = outcome.status();
    let resp = render(&UsersTemplate {
        nav,
        me: user.principal.user_id,
        users,
        counties,
        form,
        outcome,
    })?;
    Ok(with_status(resp, status))
}

pub async fn users(State(state): State<AppState>, user: PageUser) -> PageResult {
    users_page(&state, &user, NewUserForm::default(), Outcome::default()).await
}

pub async fn create_user(
    State(state): State<AppState>,
    user: PageUser,
    Form(form): Form<NewUserForm>,
) -> PageResult {
    user.principal.require_admin()?;
    let outcome = match create(&state, &user, &form).await {
        Ok(name) => {
            let done = Outcome::done(format!("已创建用户 {name}"));
            return users_page(&state, &user, NewUserForm::default(), done).await;
        }
        Err(e) => Outcome::from_error(
            e,
            &[
                ("county_id", "county_id"),
                ("enterprise_id", "enterprise_code"),
            ],
        )?,
    };
    // The password is not sent back into the form.
    let form = NewUserForm {
        password: String::new(),
        ..form
    };
    users_page(&state, &user, form, outcome).await
}

async fn create(
    state: &AppState,
    user: &PageUser,
    form: &NewUserForm,
) -> crate::error::Result<String> {
    let mut tx = state.db.begin().await?;
    let mut conn = tx.conn();
    // Only the link the chosen role needs is read, so a value left in the other field of the
    // form does not make the role invalid.
    let county_id = match (form.role.as_str(), form.county_id.trim()) {
        ("county_officer", s) if !s.is_empty() => Some(
            s.parse::<i64>()
                .map_err(|_| Error::invalid("county_id", "请选择县区"))?,
        ),
        _ => None,
    };
    let enterprise_id = match (form.role.as_str(), form.enterprise_code.trim()) {
        ("enterprise", s) if !s.is_empty() => {
            let code = CreditCode::parse(s)
                .map_err(|e| Error::invalid("enterprise_code", e.to_string()))?;
            let e = enterprise::find_by_code(&mut conn, &code)
                .await?
                .ok_or_else(|| Error::invalid("enterprise_code", format!("企业 {code} 未登记")))?;
            Some(e.id)
        }
        _ => None,
    };
    let created = admin::create_user(
        &mut conn,
        &user.principal,
        admin::UserInput {
            username: form.username.clone(),
            display_name: form.display_name.clone(),
            password: form.password.clone(),
            role: form.role.clone(),
            county_id,
            enterprise_id,
            email: form.email.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(created.username)
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserTemplate {
    nav: Nav,
    item: UserListItem,
    tokens: Vec<TokenInfo>,
    is_self: bool,
    outcome: Outcome,
}

async fn user_page(state: &AppState, user: &PageUser, id: i64, outcome: Outcome) -> PageResult {
    user.principal.require_admin()?;
    let nav = Nav::new(state, user).await?;
    let (item, tokens) = {
        let mut c = state.db.acquire().await?;
        let mut conn = c.conn();
        let item = admin::get_user(&mut conn, &user.principal, id).await?;
        let tokens = token::list_for(&mut conn, &user.principal, id).await?;
        (item, tokens)
    };
    let status = outcome.status();
    let resp = render(&UserTemplate {
        nav,
        is_self: item.user.id == user.principal.user_id,
        item,
        tokens,
        outcome,
    })?;
    Ok(with_status(resp, status))
}

pub async fn user_detail(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    user_page(&state, &user, id, Outcome::default()).await
}

async fn set_active(state: &AppState, user: &PageUser, id: i64, active: bool) -> PageResult {
    let mut tx = state.db.begin().await?;
    let result = admin::set_active(&mut tx.conn(), &user.principal, id, active).await;
    let outcome = match result {
        Ok(()) => {
            tx.commit().await?;
            Outcome::done(if active {
                "已启用该用户"
            } else {
                "已停用该用户：其会话已全部结束，API 令牌已全部撤销"
            })
        }
        Err(e) => Outcome::from_error(e, &[])?,
    };
    user_page(state, user, id, outcome).await
}

pub async fn disable_user(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    set_active(&state, &user, id, false).await
}

pub async fn enable_user(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    set_active(&state, &user, id, true).await
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
}

pub async fn reset_password(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<ResetForm>,
) -> PageResult {
    let mut tx = state.db.begin().await?;
    let result = admin::reset_password(&mut tx.conn(), &user.principal, id, form.password).await;
    let outcome = match result {
        Ok(()) => {
            tx.commit().await?;
            Outcome::done("已重置密码：该用户的会话已全部结束，请将新密码告知本人")
        }
        Err(e) => Outcome::from_error(e, &[])?,
    };
    user_page(&state, &user, id, outcome).await
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountTemplate {
    nav: Nav,
    username: String,
    tokens: Vec<TokenInfo>,
    /// A token's secret, right after it was created: shown this once.
    new_secret: String,
    token_name: String,
    outcome: Outcome,
}

async fn account_page(
    state: &AppState,
    user: &PageUser,
    outcome: Outcome,
    new_secret: String,
    token_name: String,
) -> PageResult {
    let nav = Nav::new(state, user).await?;
    let tokens = {
        let mut c = state.db.acquire().await?;
        token::list_for(&mut c.conn(), &user.principal, user.principal.user_id).await?
    };
    let status = outcome.status();
    let resp = render(&AccountTemplate {
        nav,
        username: user.principal.username.clone(),
        tokens,
        new_secret,
        token_name,
        outcome,
    })?;
    Ok(with_status(resp, status))
}

pub async fn account(State(state): State<AppState>, user: PageUser) -> PageResult {
    account_page(
        &state,
        &user,
        Outcome::default(),
        String::new(),
        String::new(),
    )
    .await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    user: PageUser,
    Form(form): Form<PasswordForm>,
) -> PageResult {
    let outcome = if form.new_password != form.confirm_password {
        Outcome::from_error(
            Error::invalid("confirm_password", "两次输入的新密码不一致"),
            &[],
        )?
    } else {
        let mut tx = state.db.begin().await?;
        let result = admin::change_own_password(
            &mut tx.conn(),
            &user.principal,
            form.current_password,
            form.new_password,
            Some(user.session_id),
        )
        .await;
        match result {
            Ok(()) => {
                tx.commit().await?;
                Outcome::done("密码已修改：其他设备上的会话已结束")
            }
            Err(e) => Outcome::from_error(e, &[])?,
        }
    };
    account_page(&state, &user, outcome, String::new(), String::new()).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    /// Days until expiry; empty for a token that does not expire.
    #[serde(default)]
    expires_in_days: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    user: PageUser,
    Form(form): Form<TokenForm>,
) -> PageResult {
    let created = async {
        let days = match form.expires_in_days.trim() {
            "" => None,
            s => Some(
                s.parse::<i64>()
                    .map_err(|_| Error::invalid("expires_in_days", "有效天数应为整数"))?,
            ),
        };
        let expires_at = token::expiry(days, None, chrono::Utc::now())?;
        let mut tx = state.db.begin().await?;
        let p = &user.principal;
        let made = token::create_for(&mut tx.conn(), p, p.user_id, &form.name, expires_at).await?;
        tx.commit().await?;
        Ok::<_, Error>(made)
    }
    .await;
    match created {
        Ok((info, secret)) => {
            let done = Outcome::done(format!("已创建令牌“{}”", info.name));
            account_page(&state, &user, done, secret, String::new()).await
        }
        Err(e) => {
            let outcome = Outcome::from_error(e, &[])?;
            account_page(&state, &user, outcome, String::new(), form.name).await
        }
    }
}

/// Revokes a token: the owner's from their account page, anyone's from the administrator's
/// user page; back to the page it came from.
pub async fn revoke_token(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let mut tx = state.db.begin().await?;
    let info = token::revoke_for(&mut tx.conn(), &user.principal, id).await?;
    tx.commit().await?;
    if info.user_id == user.principal.user_id {
        account_page(
            &state,
            &user,
            Outcome::done(format!("已撤销令牌“{}”", info.name)),
            String::new(),
            String::new(),
        )
        .await
    } else {
        Ok(Redirect::to(&format!("/users/{}", info.user_id)).into_response())
    }
}

/// For the templates: the error message when it is about `field`.
fn field_error<'a>(outcome: &'a Outcome, field: &str) -> &'a str {
    if outcome.error_field == field {
        &outcome.error
    } else {
        ""
    }
}

impl UsersTemplate {
    fn err(&self, field: &str) -> &str {
        field_error(&self.outcome, field)
    }
}

impl UserTemplate {
    fn err(&self, field: &str) -> &str {
        field_error(&self.outcome, field)
    }
}

impl AccountTemplate {
    fn err(&self, field: &str) -> &str {
        field_error(&self.outcome, field)
    }
}
