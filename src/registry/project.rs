//! Projects and communities (项目 / 小区): where homes were sold and delivered. Art. 12
//! requires notice boards at every open sales site and every community delivered in the last
//! five years; hotline callers name communities, not companies, so aliases matter.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::visibility::{unknown_link, PROJECT_VISIBLE};
use super::{like_pattern, Page, Paging, Saved};
use crate::audit::{self, Actor};
use crate::db::{Conn, Counts, Generations};
use crate::error::{Error, Result};
use crate::on_conn;
use crate::scope::Scope;

#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct Project {
    pub id: i64,
    pub enterprise_id: i64,
    pub county_id: i64,
    pub name: String,
    pub address: String,
    /// Whether the project's sales site (商品房销售场所) is open.
    pub sales_site_open: bool,
    /// Delivery (交付) date, if delivered.
    pub delivery_date: Option<NaiveDate>,
    pub units_delivered: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct ProjectListItem {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub project: Project,
    pub enterprise_name: String,
    pub county_name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectDetail {
    #[serde(flatten)]
    pub project: Project,
    pub aliases: Vec<String>,
    pub enterprise_name: String,
    pub county_name: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ProjectInput {
    pub enterprise_id: i64,
    pub county_id: i64,
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub sales_site_open: bool,
    pub delivery_date: Option<NaiveDate>,
    #[serde(default)]
    pub units_delivered: i64,
    /// Replaces the alias list when given.
    pub aliases: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProjectFields {
    pub enterprise_id: i64,
    pub county_id: i64,
    pub name: String,
    pub address: String,
    pub sales_site_open: bool,
    pub delivery_date: Option<NaiveDate>,
    pub units_delivered: i64,
    pub aliases: Option<Vec<String>>,
}

pub fn check_fields(f: &ProjectFields) -> Result<()> {
    if let Some(a) = &f.aliases {
        crate::text::aliases(a.iter().map(String::as_str), "aliases")?;
    }
    if f.name.is_empty() {
        return Err(Error::invalid("name", "项目名称不能为空"));
    }
    if f.name.chars().count() > 100 {
        return Err(Error::invalid("name", "项目名称不能超过100个字符"));
    }
    if f.units_delivered < 0 {
        return Err(Error::invalid("units_delivered", "交付套数不能为负数"));
    }
    if f.units_delivered > 0 && f.delivery_date.is_none() {
        return Err(Error::invalid(
            "delivery_date",
            "已交付套数大于0时必须填写交付日期",
        ));
    }
    Ok(())
}

impl ProjectInput {
    pub async fn validate(&self, conn: &mut Conn<'_>) -> Result<ProjectFields> {
        super::enterprise::get(conn, self.enterprise_id)
            .await
            .map_err(|_| unknown_link("enterprise_id", "开发企业"))?;
        super::jurisdiction::get(conn, self.county_id)
            .await
            .ok()
            .filter(|j| j.kind == "county")
            .ok_or_else(|| Error::invalid("county_id", "所属县区不存在"))?;
        let fields = ProjectFields {
            enterprise_id: self.enterprise_id,
            county_id: self.county_id,
            name: crate::text::tidy(&self.name),
            address: crate::text::tidy(&self.address),
            sales_site_open: self.sales_site_open,
            delivery_date: self.delivery_date,
            units_delivered: self.units_delivered,
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
    /// Matches project name, alias or address.
    pub q: Option<String>,
    pub county_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// What a list adds to [`PROJECT_VISIBLE`] (which takes `$1`, `$2`).
/// `{ENTERPRISE}` is the enterprise filter, see [`list`].
const LIST_FILTER: &str = "AND ($3 IS NULL OR p.county_id = $3)
      AND {ENTERPRISE}
      AND ($5 IS NULL OR p.name LIKE $5 ESCAPE '\\' OR p.address LIKE $5 ESCAPE '\\'
           OR EXISTS (SELECT 1 FROM project_aliases a WHERE a.project_id = p.id AND a.alias LIKE $5 ESCAPE '\\'))";

/// A page of the projects `scope` may see; the total is kept in `counts` per generation.
pub async fn list(
    conn: &mut Conn<'_>,
    counts: &Counts,
    scope: Scope,
    filter: &Filter,
) -> Result<Page<ProjectListItem>> {
    let paging = Paging::new(filter.page, filter.per_page)?;
    let q = filter
        .q
        .as_deref()
        .filter(|q| !q.trim().is_empty())
        .map(like_pattern);
    // One enterprise's projects (its page lists them) are an index lookup, not a scan of
    // every project with `$4 IS NULL OR …`.
    let list_filter = LIST_FILTER.replace(
        "{ENTERPRISE}",
        if filter.enterprise_id.is_some() {
            "p.enterprise_id = $4"
        } else {
            "$4 IS NULL"
        },
    );
    let count_sql =
        format!("SELECT COUNT(*) FROM projects p WHERE {PROJECT_VISIBLE} {list_filter}");
    let generations = Generations::read(conn).await?;
    let key = format!(
        "{count_sql}\n{:?}",
        (
            scope.county(),
            scope.enterprise(),
            filter.county_id,
            filter.enterprise_id,
            &q
        )
    );
    let total = counts
        .total(generations, key, async {
            Ok(on_conn!(conn, |c| sqlx::query_scalar(&count_sql)
                .bind(scope.county())
                .bind(scope.enterprise())
                .bind(filter.county_id)
                .bind(filter.enterprise_id)
                .bind(&q)
                .fetch_one(c)
                .await)?)
        })
        .await?;
    // As for enterprises: counties in code order, each county's projects in name order from
    // the (county_id, name) index, so a page needs no sort. One enterprise's few projects are
    // found by enterprise and sorted instead.
    let from = if filter.enterprise_id.is_some() {
        "projects p JOIN jurisdictions j ON j.id = p.county_id"
    } else {
        "jurisdictions j CROSS JOIN projects p"
    };
    let items = on_conn!(conn, |c| sqlx::query_as::<_, ProjectListItem>(&format!(
        "SELECT p.*, e.name AS enterprise_name, j.name AS county_name
         FROM {from}
         JOIN enterprises e ON e.id = p.enterprise_id
         WHERE p.county_id = j.id AND {PROJECT_VISIBLE} {list_filter}
         ORDER BY j.code, p.name LIMIT $6 OFFSET $7"
    ))
    .bind(scope.county())
    .bind(scope.enterprise())
    .bind(filter.county_id)
    .bind(filter.enterprise_id)
    .bind(&q)
    .bind(paging.per_page)
    .bind(paging.offset())
    .fetch_all(c)
    .await)?;
    Ok(paging.wrap(items, total))
}

pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Project> {
    on_conn!(conn, |c| sqlx::query_as::<_, Project>(
        "SELECT * FROM projects WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("项目"))
}

pub async fn find(conn: &mut Conn<'_>, enterprise_id: i64, name: &str) -> Result<Option<Project>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, Project>(
        "SELECT * FROM projects WHERE enterprise_id = $1 AND name = $2"
    )
    .bind(enterprise_id)
    .bind(name)
    .fetch_optional(c)
    .await)?)
}

pub async fn aliases(conn: &mut Conn<'_>, id: i64) -> Result<Vec<String>> {
    Ok(on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT alias FROM project_aliases WHERE project_id = $1 ORDER BY id"
    )
    .bind(id)
    .fetch_all(c)
    .await)?)
}

pub async fn detail(conn: &mut Conn<'_>, id: i64) -> Result<ProjectDetail> {
    let project = get(conn, id).await?;
    let aliases = aliases(conn, id).await?;
    let enterprise_name = super::enterprise::get(conn, project.enterprise_id)
        .await?
        .name;
    let county_name = super::jurisdiction::get(conn, project.county_id)
        .await?
        .name;
    Ok(ProjectDetail {
        project,
        aliases,
        enterprise_name,
        county_name,
    })
}

#[derive(Serialize)]
struct Snapshot<'a> {
    #[serde(flatten)]
    project: &'a Project,
    aliases: &'a [String],
}

/// Stores a new project without asking who may: requests go through
/// [`super::access::create_project`]; this is for the CLI, the demo and the imports.
pub async fn insert(conn: &mut Conn<'_>, actor: &Actor, f: &ProjectFields) -> Result<Project> {
    check_fields(f)?;
    let now = Utc::now();
    let id: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "INSERT INTO projects (enterprise_id, county_id, name, address, sales_site_open,
             delivery_date, units_delivered, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id"
    )
    .bind(f.enterprise_id)
    .bind(f.county_id)
    .bind(&f.name)
    .bind(&f.address)
    .bind(f.sales_site_open)
    .bind(f.delivery_date)
    .bind(f.units_delivered)
    .bind(now)
    .fetch_one(c)
    .await)
    .map_err(|e| Error::on_unique(e, format!("该企业已有名为“{}”的项目", f.name)))?;
    if let Some(a) = &f.aliases {
        replace_aliases(conn, id, a).await?;
    }
    let created = get(conn, id).await?;
    let aliases = aliases(conn, id).await?;
    let snap = Snapshot {
        project: &created,
        aliases: &aliases,
    };
    audit::record(
        conn,
        actor,
        "create",
        "project",
        Some(id),
        None::<&()>,
        Some(&snap),
    )
    .await?;
    Ok(created)
}

/// Unchecked, like [`insert`]: requests go through [`super::access::update_project`].
pub async fn update(
    conn: &mut Conn<'_>,
    actor: &Actor,
    id: i64,
    f: &ProjectFields,
) -> Result<Saved> {
    check_fields(f)?;
    let before = get(conn, id).await?;
    let before_aliases = aliases(conn, id).await?;
    let same_row = before.enterprise_id == f.enterprise_id
        && before.county_id == f.county_id
        && before.name == f.name
        && before.address == f.address
        && before.sales_site_open == f.sales_site_open
        && before.delivery_date == f.delivery_date
        && before.units_delivered == f.units_delivered;
    let same_aliases = f.aliases.as_ref().is_none_or(|a| *a == before_aliases);
    if same_row && same_aliases {
        return Ok(Saved::Unchanged(id));
    }
    if !same_row {
        on_conn!(conn, |c| sqlx::query(
            "UPDATE projects SET enterprise_id = $1, county_id = $2, name = $3, address = $4,
                 sales_site_open = $5, delivery_date = $6, units_delivered = $7, updated_at = $8
             WHERE id = $9"
        )
        .bind(f.enterprise_id)
        .bind(f.county_id)
        .bind(&f.name)
        .bind(&f.address)
        .bind(f.sales_site_open)
        .bind(f.delivery_date)
        .bind(f.units_delivered)
        .bind(Utc::now())
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| Error::on_unique(e, format!("该企业已有名为“{}”的项目", f.name)))?;
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
        "project",
        Some(id),
        Some(&Snapshot {
            project: &before,
            aliases: &before_aliases,
        }),
        Some(&Snapshot {
            project: &after,
            aliases: &after_aliases,
        }),
    )
    .await?;
    Ok(Saved::Updated(id))
}

/// Inserts or updates by (enterprise, name): what a re-import does.
pub async fn upsert(conn: &mut Conn<'_>, actor: &Actor, f: &ProjectFields) -> Result<Saved> {
    match find(conn, f.enterprise_id, &f.name).await? {
        Some(existing) => update(conn, actor, existing.id, f).await,
        None => Ok(Saved::Inserted(insert(conn, actor, f).await?.id)),
    }
}

async fn replace_aliases(conn: &mut Conn<'_>, id: i64, aliases: &[String]) -> Result<()> {
    on_conn!(conn, |c| sqlx::query(
        "DELETE FROM project_aliases WHERE project_id = $1"
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
            "INSERT INTO project_aliases (project_id, alias) VALUES ($1, $2)"
        )
        .bind(id)
        .bind(a)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}
