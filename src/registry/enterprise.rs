//! Enterprises (房地产开发企业): keyed by credit code, with aliases (the names callers and
//! hotline operators actually use), a parent for Art. 7 hand-over, and a county.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::visibility::{unknown_link, ENTERPRISE_VISIBLE};
use super::{like_pattern, CreditCode, Grade, Page, Paging, Saved, Status};
use crate::audit::{self, Actor};
use crate::db::{Conn, Counts, Generations};
use crate::error::{Error, Result};
use crate::on_conn;
use crate::scope::Scope;

#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct Enterprise {
    pub id: i64,
    #[schema(value_type = String, example = "91370800MA3C5N2Y0Q")]
    pub credit_code: CreditCode,
    pub name: String,
    /// 法定代表人: the first responsible person for after-sales service (Art. 5).
    pub legal_rep: String,
    pub grade: Grade,
    /// Registered in this city (本地) or an out-of-town developer filed here (外地来济备案).
    pub is_local: bool,
    /// Where an out-of-town developer is registered.
    pub origin: String,
    pub parent_id: Option<i64>,
    pub status: Status,
    /// Date of revocation or cancellation; absent while active.
    pub status_date: Option<NaiveDate>,
    pub county_id: i64,
    pub phone: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A list row: the enterprise with its county's name and how many projects it has.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct EnterpriseListItem {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub enterprise: Enterprise,
    pub county_name: String,
    pub project_count: i64,
}

/// A short reference to another enterprise (parent, subsidiary).
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct EnterpriseRef {
    pub id: i64,
    pub name: String,
    pub credit_code: String,
    pub county_id: i64,
    pub status: Status,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnterpriseDetail {
    #[serde(flatten)]
    pub enterprise: Enterprise,
    pub aliases: Vec<String>,
    pub county_name: String,
    pub parent: Option<EnterpriseRef>,
    pub subsidiaries: Vec<EnterpriseRef>,
}

/// What the API accepts to create or replace an enterprise.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct EnterpriseInput {
    pub credit_code: String,
    pub name: String,
    #[serde(default)]
    pub legal_rep: String,
    pub grade: Grade,
    #[serde(default = "yes")]
    pub is_local: bool,
    #[serde(default)]
    pub origin: String,
    /// Credit code of the parent enterprise (Art. 7), if any.
    pub parent_credit_code: Option<String>,
    #[serde(default = "active")]
    pub status: Status,
    pub status_date: Option<NaiveDate>,
    pub county_id: i64,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    /// Replaces the alias list when given.
    pub aliases: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

fn active() -> Status {
    Status::Active
}

/// Validated fields of an enterprise, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct EnterpriseFields {
    pub credit_code: CreditCode,
    pub name: String,
    pub legal_rep: String,
    pub grade: Grade,
    pub is_local: bool,
    pub origin: String,
    pub parent_id: Option<i64>,
    pub status: Status,
    pub status_date: Option<NaiveDate>,
    pub county_id: i64,
    pub phone: String,
    pub email: String,
    /// `None` leaves the stored aliases as they are.
    pub aliases: Option<Vec<String>>,
}

/// Checks the parts that need no database: name, status date, e-mail.
pub fn check_fields(f: &EnterpriseFields) -> Result<()> {
    if let Some(a) = &f.aliases {
        crate::text::aliases(a.iter().map(String::as_str), "aliases")?;
    }
    if f.name.is_empty() {
        return Err(Error::invalid("name", "企业名称不能为空"));
    }
    if f.name.chars().count() > 100 {
        return Err(Error::invalid("name", "企业名称不能超过100个字符"));
    }
    match (f.status, f.status_date) {
        (Status::Active, Some(_)) => {
            return Err(Error::invalid(
                "status_date",
                "正常状态的企业不应有吊销/注销日期",
            ))
        }
        (Status::Revoked | Status::Cancelled, None) => {
            return Err(Error::invalid(
                "status_date",
                "资质吊销或注销的企业必须填写吊销/注销日期",
            ))
        }
        _ => {}
    }
    if !f.email.is_empty() && !looks_like_email(&f.email) {
        return Err(Error::invalid("email", "电子邮箱格式不正确"));
    }
    Ok(())
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

impl EnterpriseInput {
    pub async fn validate(&self, conn: &mut Conn<'_>) -> Result<EnterpriseFields> {
        let credit_code = CreditCode::parse(&self.credit_code)
            .map_err(|e| Error::invalid("credit_code", e.to_string()))?;
        let parent_id = match self.parent_credit_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => {
                let code = CreditCode::parse(code)
                    .map_err(|e| Error::invalid("parent_credit_code", e.to_string()))?;
                let parent = find_by_code(conn, &code)
                    .await?
                    .ok_or_else(|| unknown_link("parent_credit_code", "母公司"))?;
                Some(parent.id)
            }
        };
        let county = super::jurisdiction::get(conn, self.county_id)
            .await
            .ok()
            .filter(|j| j.kind == "county")
            .ok_or_else(|| Error::invalid("county_id", "所属县区不存在"))?;
        let fields = EnterpriseFields {
            credit_code,
            name: crate::text::tidy(&self.name),
            legal_rep: crate::text::tidy(&self.legal_rep),
            grade: self.grade,
            is_local: self.is_local,
            origin: crate::text::tidy(&self.origin),
            parent_id,
            status: self.status,
            status_date: self.status_date,
            county_id: county.id,
            phone: crate::text::clean(&self.phone),
            email: crate::text::clean(&self.email),
            aliases: self
                .aliases
                .as_ref()
                .map(|a| crate::text::dedupe(a.iter().map(String::as_str))),
        };
        check_fields(&fields)?;
        Ok(fields)
    }
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// Matches name, credit code or alias.
    pub q: Option<String>,
    pub county_id: Option<i64>,
    pub status: Option<Status>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// `$5` searches credit codes (stored upper-case), `$6` names and aliases.
/// What a list adds to [`ENTERPRISE_VISIBLE`] (which takes `$1`, `$2`).
const LIST_FILTER: &str = "AND ($3 IS NULL OR e.county_id = $3)
      AND ($4 IS NULL OR e.status = $4)
      AND ($5 IS NULL OR e.credit_code LIKE $5 ESCAPE '\\' OR e.name LIKE $6 ESCAPE '\\'
           OR EXISTS (SELECT 1 FROM enterprise_aliases a
                      WHERE a.enterprise_id = e.id AND a.alias LIKE $6 ESCAPE '\\'))";

/// A page of the enterprises `scope` may see; the total is kept in `counts` per generation.
pub async fn list(
    conn: &mut Conn<'_>,
    counts: &Counts,
    scope: Scope,
    filter: &Filter,
) -> Result<Page<EnterpriseListItem>> {
    let paging = Paging::new(filter.page, filter.per_page)?;
    let q_name = filter
        .q
        .as_deref()
        .filter(|q| !q.trim().is_empty())
        .map(like_pattern);
    let q = q_name.as_deref().map(str::to_uppercase);
    let status = filter.status.map(Status::code);
    let sql_count =
        format!("SELECT COUNT(*) FROM enterprises e WHERE {ENTERPRISE_VISIBLE} {LIST_FILTER}");
    let generations = Generations::read(conn).await?;
    let key = format!(
        "{sql_count}\n{:?}",
        (
            scope.county(),
            scope.enterprise(),
            filter.county_id,
            status,
            &q,
            &q_name
        )
    );
    let total = counts
        .total(generations, key, async {
            Ok(on_conn!(conn, |c| sqlx::query_scalar(&sql_count)
                .bind(scope.county())
                .bind(scope.enterprise())
                .bind(filter.county_id)
                .bind(status)
                .bind(&q)
                .bind(&q_name)
                .fetch_one(c)
                .await)?)
        })
        .await?;
    // Counties in code order, each county's enterprises read in name order from the
    // (county_id, name) index: SQLite keeps a CROSS JOIN's order, so a page needs no sort.
    let sql = format!(
        "SELECT e.*, j.name AS county_name,
                (SELECT COUNT(*) FROM projects p WHERE p.enterprise_id = e.id) AS project_count
         FROM jurisdictions j CROSS JOIN enterprises e
         WHERE e.county_id = j.id AND {ENTERPRISE_VISIBLE} {LIST_FILTER}
         ORDER BY j.code, e.name LIMIT $7 OFFSET $8"
    );
    let items = on_conn!(conn, |c| sqlx::query_as::<_, EnterpriseListItem>(&sql)
        .bind(scope.county())
        .bind(scope.enterprise())
        .bind(filter.county_id)
        .bind(status)
        .bind(&q)
        .bind(&q_name)
        .bind(paging.per_page)
        .bind(paging.offset())
        .fetch_all(c)
        .await)?;
    Ok(paging.wrap(items, total))
}

pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Enterprise> {
    on_conn!(conn, |c| sqlx::query_as::<_, Enterprise>(
        "SELECT * FROM enterprises WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("企业"))
}

pub async fn find_by_code(conn: &mut Conn<'_>, code: &CreditCode) -> Result<Option<Enterprise>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, Enterprise>(
        "SELECT * FROM enterprises WHERE credit_code = $1"
    )
    .bind(code.as_str())
    .fetch_optional(c)
    .await)?)
}

/// Enterprises whose exact name is `name`; several may share one.
pub async fn find_by_name(conn: &mut Conn<'_>, name: &str) -> Result<Vec<Enterprise>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, Enterprise>(
        "SELECT * FROM enterprises WHERE name = $1 ORDER BY id"
    )
    .bind(name)
    .fetch_all(c)
    .await)?)
}

pub async fn aliases(conn: &mut Conn<'_>, id: i64) -> Result<Vec<String>> {
    Ok(on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT alias FROM enterprise_aliases WHERE enterprise_id = $1 ORDER BY id"
    )
    .bind(id)
    .fetch_all(c)
    .await)?)
}

pub async fn detail(conn: &mut Conn<'_>, id: i64) -> Result<EnterpriseDetail> {
    let enterprise = get(conn, id).await?;
    let county_name = super::jurisdiction::get(conn, enterprise.county_id)
        .await?
        .name;
    let aliases = aliases(conn, id).await?;
    let parent = match enterprise.parent_id {
        Some(pid) => on_conn!(conn, |c| sqlx::query_as::<_, EnterpriseRef>(
            "SELECT id, name, credit_code, county_id, status FROM enterprises WHERE id = $1"
        )
        .bind(pid)
        .fetch_optional(c)
        .await)?,
        None => None,
    };
    let subsidiaries = on_conn!(conn, |c| {
        sqlx::query_as::<_, EnterpriseRef>(
        "SELECT id, name, credit_code, county_id, status FROM enterprises WHERE parent_id = $1 ORDER BY name"
    )
    .bind(id)
    .fetch_all(c)
    .await
    })?;
    Ok(EnterpriseDetail {
        enterprise,
        aliases,
        county_name,
        parent,
        subsidiaries,
    })
}

#[derive(Serialize)]
struct Snapshot<'a> {
    #[serde(flatten)]
    enterprise: &'a Enterprise,
    aliases: &'a [String],
}

/// Refuses a parent that would make the ownership chain loop back to `id`.
async fn check_parent(conn: &mut Conn<'_>, id: Option<i64>, parent_id: Option<i64>) -> Result<()> {
    let mut cursor = parent_id;
    let mut depth = 0;
    while let Some(p) = cursor {
        if Some(p) == id {
            return Err(Error::invalid(
                "parent_credit_code",
                "母公司关系不能形成循环",
            ));
        }
        depth += 1;
        if depth > 32 {
            break;
        }
        cursor = on_conn!(conn, |c| sqlx::query_scalar::<_, Option<i64>>(
            "SELECT parent_id FROM enterprises WHERE id = $1"
        )
        .bind(p)
        .fetch_optional(c)
        .await)?
        .flatten();
    }
    Ok(())
}

/// Stores a new enterprise without asking who may: requests go through
/// [`super::access::create_enterprise`]; this is for the CLI, the demo and the imports.
pub async fn insert(
    conn: &mut Conn<'_>,
    actor: &Actor,
    f: &EnterpriseFields,
) -> Result<Enterprise> {
    check_fields(f)?;
    let now = Utc::now();
    let id: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO enterprises (credit_code, name, legal_rep, grade, is_local, origin, parent_id,
             status, status_date, county_id, phone, email, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id"
    )
    .bind(f.credit_code.as_str())
    .bind(&f.name)
    .bind(&f.legal_rep)
    .bind(f.grade.code())
    .bind(f.is_local)
    .bind(&f.origin)
    .bind(f.parent_id)
    .bind(f.status.code())
    .bind(f.status_date)
    .bind(f.county_id)
    .bind(&f.phone)
    .bind(&f.email)
    .bind(now)
    .fetch_one(c)
    .await
    })
    .map_err(|e| Error::on_unique(e, format!("统一社会信用代码 {} 已登记", f.credit_code)))?;
    if let Some(aliases) = &f.aliases {
        replace_aliases(conn, id, aliases).await?;
    }
    let created = get(conn, id).await?;
    let aliases = aliases(conn, id).await?;
    let snap = Snapshot {
        enterprise: &created,
        aliases: &aliases,
    };
    audit::record(
        conn,
        actor,
        "create",
        "enterprise",
        Some(id),
        None::<&()>,
        Some(&snap),
    )
    .await?;
    Ok(created)
}

/// Replaces the stored fields of enterprise `id`; records nothing when nothing changed.
/// Unchecked, like [`insert`]: requests go through [`super::access::update_enterprise`].
pub async fn update(
    conn: &mut Conn<'_>,
    actor: &Actor,
    id: i64,
    f: &EnterpriseFields,
) -> Result<Saved> {
    check_fields(f)?;
    check_parent(conn, Some(id), f.parent_id).await?;
    let before = get(conn, id).await?;
    let before_aliases = aliases(conn, id).await?;
    let same_row = before.credit_code == f.credit_code
        && before.name == f.name
        && before.legal_rep == f.legal_rep
        && before.grade == f.grade
        && before.is_local == f.is_local
        && before.origin == f.origin
        && before.parent_id == f.parent_id
        && before.status == f.status
        && before.status_date == f.status_date
        && before.county_id == f.county_id
        && before.phone == f.phone
        && before.email == f.email;
    let same_aliases = f.aliases.as_ref().is_none_or(|a| *a == before_aliases);
    if same_row && same_aliases {
        return Ok(Saved::Unchanged(id));
    }
    if !same_row {
        on_conn!(conn, |c| sqlx::query(
            "UPDATE enterprises SET credit_code = $1, name = $2, legal_rep = $3, grade = $4,
                 is_local = $5, origin = $6, parent_id = $7, status = $8, status_date = $9,
                 county_id = $10, phone = $11, email = $12, updated_at = $13
             WHERE id = $14"
        )
        .bind(f.credit_code.as_str())
        .bind(&f.name)
        .bind(&f.legal_rep)
        .bind(f.grade.code())
        .bind(f.is_local)
        .bind(&f.origin)
        .bind(f.parent_id)
        .bind(f.status.code())
        .bind(f.status_date)
        .bind(f.county_id)
        .bind(&f.phone)
        .bind(&f.email)
        .bind(Utc::now())
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| Error::on_unique(e, format!("统一社会信用代码 {} 已登记", f.credit_code)))?;
    }
    if let Some(a) = &f.aliases {
        replace_aliases(conn, id, a).await?;
    }
    let after = get(conn, id).await?;
    let after_aliases = aliases(conn, id).await?;
    audit::record(
        conn,
        actor,
        "update",
        "enterprise",
        Some(id),
        Some(&Snapshot {
            enterprise: &before,
            aliases: &before_aliases,
        }),
        Some(&Snapshot {
            enterprise: &after,
            aliases: &after_aliases,
        }),
    )
    .await?;
    Ok(Saved::Updated(id))
}

/// Inserts or updates by credit code: what a re-import does.
pub async fn upsert(conn: &mut Conn<'_>, actor: &Actor, f: &EnterpriseFields) -> Result<Saved> {
    match find_by_code(conn, &f.credit_code).await? {
        Some(existing) => update(conn, actor, existing.id, f).await,
        None => Ok(Saved::Inserted(insert(conn, actor, f).await?.id)),
    }
}

async fn replace_aliases(conn: &mut Conn<'_>, id: i64, aliases: &[String]) -> Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "DELETE FROM enterprise_aliases WHERE enterprise_id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let mut seen = std::collections::HashSet::with_capacity(aliases.len());
    for a in aliases {
        if !seen.insert(a.as_str()) {
            continue;
        }
        on_conn!(conn, |c| sqlx::query(
            "INSERT INTO enterprise_aliases (enterprise_id, alias) VALUES ($1, $2)"
        )
        .bind(id)
        .bind(a)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Sets only the parent, after all rows of an import exist.
pub async fn set_parent(
    conn: &mut Conn<'_>,
    actor: &Actor,
    id: i64,
    parent_id: Option<i64>,
) -> Result<bool> {
    let before = get(conn, id).await?;
    if before.parent_id == parent_id {
        return Ok(false);
    }
    check_parent(conn, Some(id), parent_id).await?;
    on_conn!(conn, |c| sqlx::query(
        "UPDATE enterprises SET parent_id = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(parent_id)
    .bind(Utc::now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let after = get(conn, id).await?;
    audit::record(
        conn,
        actor,
        "update",
        "enterprise",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    Ok(true)
}
