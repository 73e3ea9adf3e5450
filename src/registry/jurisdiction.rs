//! Jurisdictions: one city and its counties (县、市、区). Every enterprise and project
//! belongs to exactly one county; county officers act only within theirs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::audit::{self, Actor};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;

#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Jurisdiction {
    pub id: i64,
    /// Administrative division code (行政区划代码), six digits.
    pub code: String,
    pub name: String,
    /// `city` or `county`.
    pub kind: String,
    pub parent_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct JurisdictionInput {
    pub code: String,
    pub name: String,
    /// The city this county belongs to; absent for the city itself.
    pub parent_id: Option<i64>,
}

impl JurisdictionInput {
    fn validate(&self) -> Result<(String, String)> {
        let code = crate::text::clean(&self.code);
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("code", "行政区划代码应为6位数字"));
        }
        let name = crate::text::clean(&self.name);
        if name.is_empty() {
            return Err(Error::invalid("name", "名称不能为空"));
        }
        Ok((code, name))
    }
}

pub async fn list(conn: &mut Conn<'_>) -> Result<Vec<Jurisdiction>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, Jurisdiction>(
        "SELECT * FROM jurisdictions ORDER BY parent_id IS NOT NULL, code"
    )
    .fetch_all(c)
    .await)?)
}

pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Jurisdiction> {
    on_conn!(conn, |c| sqlx::query_as::<_, Jurisdiction>(
        "SELECT * FROM jurisdictions WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("行政区"))
}

/// A county by its code or its name, as import files and the CLI name them.
pub async fn find_county(conn: &mut Conn<'_>, code_or_name: &str) -> Result<Option<Jurisdiction>> {
    let key = crate::text::clean(code_or_name);
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, Jurisdiction>(
        "SELECT * FROM jurisdictions WHERE kind = 'county' AND (code = $1 OR name = $1)"
    )
    .bind(&key)
    .fetch_optional(c)
    .await)?)
}

pub async fn create(
    conn: &mut Conn<'_>,
    actor: &Actor,
    input: &JurisdictionInput,
) -> Result<Jurisdiction> {
    let (code, name) = input.validate()?;
    let kind = if let Some(parent) = input.parent_id {
        let p = get(conn, parent)
            .await
            .map_err(|_| Error::invalid("parent_id", "上级行政区不存在"))?;
        if p.kind != "city" {
            return Err(Error::invalid("parent_id", "上级行政区必须是市"));
        }
        "county"
    } else {
        "city"
    };
    let now = Utc::now();
    let id: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "INSERT INTO jurisdictions (code, name, kind, parent_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id"
    )
    .bind(&code)
    .bind(&name)
    .bind(kind)
    .bind(input.parent_id)
    .bind(now)
    .fetch_one(c)
    .await)
    .map_err(|e| Error::on_unique(e, format!("行政区代码 {code} 或名称 {name} 已存在")))?;
    let created = get(conn, id).await?;
    audit::record(
        conn,
        actor,
        "create",
        "jurisdiction",
        Some(id),
        None::<&()>,
        Some(&created),
    )
    .await?;
    Ok(created)
}

pub async fn update(
    conn: &mut Conn<'_>,
    actor: &Actor,
    id: i64,
    input: &JurisdictionInput,
) -> Result<Jurisdiction> {
    let before = get(conn, id).await?;
    let (code, name) = input.validate()?;
    if input.parent_id != before.parent_id {
        return Err(Error::invalid("parent_id", "不能更改行政区的上级"));
    }
    on_conn!(conn, |c| sqlx::query(
        "UPDATE jurisdictions SET code = $1, name = $2, updated_at = $3 WHERE id = $4"
    )
    .bind(&code)
    .bind(&name)
    .bind(Utc::now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .map_err(|e| Error::on_unique(e, format!("行政区代码 {code} 或名称 {name} 已存在")))?;
    let after = get(conn, id).await?;
    audit::record(
        conn,
        actor,
        "update",
        "jurisdiction",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    Ok(after)
}
