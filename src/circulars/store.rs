//! Circulars kept: a draft holds the content built from the data; issuing numbers it
//! (济建房字〔2026〕N号), dates it and freezes it — no statement here changes an issued row.
//! The enterprises a circular names are kept beside it for their portals and its mail.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use super::access;
use super::content::Content;
use super::wording::Wording;
use super::{Context, Kind, Request, Stamp};
use crate::audit::{self, Actor};
use crate::auth::{Principal, Role};
use crate::db::{Conn, Db};
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::{Page, Paging};

crate::text_column!(Kind, Kind::from_code);

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Circular {
    pub id: i64,
    #[schema(value_type = String)]
    pub kind: Kind,
    /// `2025` or `2025-03`.
    pub period: String,
    pub county_id: Option<i64>,
    pub county_name: Option<String>,
    pub title: String,
    /// `draft` or `issued`.
    pub status: String,
    /// 济建房字〔2026〕3号, once issued.
    pub doc_number: Option<String>,
    pub issued_on: Option<NaiveDate>,
    pub issued_by: Option<String>,
    pub issued_at: Option<DateTime<Utc>>,
    pub content_hash: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl Circular {
    pub fn issued(&self) -> bool {
        self.status == "issued"
    }

    pub fn status_label(&self) -> &'static str {
        if self.issued() {
            "已印发"
        } else {
            "草稿"
        }
    }

    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }

    pub fn created_local(&self) -> String {
        crate::time::local(&self.created_at)
    }

    /// The number and date printed on it: a draft says it is one.
    pub fn stamp(&self, today: NaiveDate) -> Stamp {
        Stamp {
            number: self.doc_number.clone(),
            date: self.issued_on.unwrap_or(today),
        }
    }
}

const COLUMNS: &str = "c.id, c.kind, c.period, c.county_id, j.name AS county_name, c.title, c.status,
    c.doc_number, c.issued_on, c.issued_by, c.issued_at, c.content_hash, c.created_by, c.created_at";
const FROM: &str = "FROM circulars c LEFT JOIN jurisdictions j ON j.id = c.county_id";

/// Builds a circular from the data as it stands and keeps it as a draft.
pub async fn create(
    db: &Db,
    role: Role,
    actor: &Actor,
    ctx: &Context,
    req: Request,
) -> Result<Circular> {
    let county = access::creation_scope(role, req.county_id)?;
    let req = Request {
        county_id: county,
        ..req
    };
    let content = {
        let mut pooled = db.acquire().await?;
        let mut conn = pooled.conn();
        super::build(&mut conn, ctx, req).await?
    };
    let json = serde_json::to_string(&content).map_err(|e| Error::Internal(e.to_string()))?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let id: i64 = on_conn!(&mut conn, |c| sqlx::query_scalar(
        "INSERT INTO circulars (kind, period, county_id, title, status, content, content_hash,
                                created_by_user, created_by, created_at)
         VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $9) RETURNING id"
    )
    .bind(req.kind.code())
    .bind(req.period.to_string())
    .bind(county)
    .bind(&content.title)
    .bind(&json)
    .bind(&content.sources.content_hash)
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(ctx.now)
    .fetch_one(c)
    .await)?;
    // 500 to a statement: a named list may hold thousands.
    for chunk in content.named.chunks(500) {
        let values: Vec<String> = chunk.iter().map(|e| format!("({id}, {e})")).collect();
        let sql = format!(
            "INSERT INTO circular_enterprises (circular_id, enterprise_id) VALUES {}",
            values.join(", ")
        );
        on_conn!(&mut conn, |c| sqlx::query(&sql)
            .execute(c)
            .await
            .map(|_| ()))?;
    }
    let made = get_row(&mut conn, id).await?;
    audit::record(
        &mut conn,
        actor,
        "circular.create",
        "circular",
        Some(id),
        None::<&()>,
        Some(&made),
    )
    .await?;
    tx.commit().await?;
    Ok(made)
}

async fn get_row(conn: &mut Conn<'_>, id: i64) -> Result<Circular> {
    on_conn!(conn, |c| sqlx::query_as::<_, Circular>(&format!(
        "SELECT {COLUMNS} {FROM} WHERE c.id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("通报"))
}

async fn names(conn: &mut Conn<'_>, id: i64, enterprise: i64) -> Result<bool> {
    Ok(on_conn!(conn, |c| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM circular_enterprises WHERE circular_id = $1 AND enterprise_id = $2"
    )
    .bind(id)
    .bind(enterprise)
    .fetch_one(c)
    .await)?
        > 0)
}

/// One circular and its content, for whoever may see it.
pub async fn get(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<(Circular, Content)> {
    let row = get_row(conn, id).await?;
    let names_caller = match p.role {
        Role::Enterprise { enterprise_id } => names(conn, id, enterprise_id).await?,
        _ => false,
    };
    access::require_visible(p.role, row.county_id, row.issued(), names_caller)?;
    Ok((row, content_of(conn, id).await?))
}

/// The stored content of a circular, whoever asks (callers decide access first).
pub(super) async fn content_of(conn: &mut Conn<'_>, id: i64) -> Result<Content> {
    let json: String = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT content FROM circulars WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("通报"))?;
    serde_json::from_str(&json).map_err(|e| Error::Internal(format!("通报内容无法读取：{e}")))
}

/// The circulars `p` may see, newest first.
pub async fn list(
    conn: &mut Conn<'_>,
    p: &Principal,
    kind: Option<Kind>,
    paging: Paging,
) -> Result<Page<Circular>> {
    let (county, enterprise, city) = match p.role {
        Role::CityAdmin => (None, None, true),
        Role::CountyOfficer { county_id } => (Some(county_id), None, false),
        Role::Enterprise { enterprise_id } => (None, Some(enterprise_id), false),
    };
    let filter = "WHERE ($1 OR ($2 IS NOT NULL AND (c.county_id = $2 OR (c.county_id IS NULL AND c.status = 'issued')))
           OR ($3 IS NOT NULL AND c.status = 'issued' AND EXISTS (
               SELECT 1 FROM circular_enterprises n WHERE n.circular_id = c.id AND n.enterprise_id = $3)))
         AND ($4 IS NULL OR c.kind = $4)";
    let kind = kind.map(Kind::code);
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) {FROM} {filter}"
    ))
    .bind(city)
    .bind(county)
    .bind(enterprise)
    .bind(kind)
    .fetch_one(c)
    .await)?;
    let items = on_conn!(conn, |c| sqlx::query_as::<_, Circular>(&format!(
        "SELECT {COLUMNS} {FROM} {filter} ORDER BY c.id DESC LIMIT $5 OFFSET $6"
    ))
    .bind(city)
    .bind(county)
    .bind(enterprise)
    .bind(kind)
    .bind(paging.per_page)
    .bind(paging.offset())
    .fetch_all(c)
    .await)?;
    Ok(paging.wrap(items, total))
}

/// A circular's stored content, read by the CLI that just made it.
pub async fn content(db: &Db, id: i64) -> Result<Content> {
    let mut pooled = db.acquire().await?;
    content_of(&mut pooled.conn(), id).await
}

/// An issued circular as the public page lists it: no officer's name.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PublicCircular {
    pub id: i64,
    #[schema(value_type = String)]
    pub kind: Kind,
    pub period: String,
    pub county_name: Option<String>,
    pub title: String,
    pub doc_number: Option<String>,
    pub issued_on: Option<NaiveDate>,
}

/// Issued circulars, newest first: what the public page lists.
pub async fn issued(conn: &mut Conn<'_>, paging: Paging) -> Result<Page<PublicCircular>> {
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM circulars WHERE status = 'issued'"
    )
    .fetch_one(c)
    .await)?;
    let items = on_conn!(conn, |c| sqlx::query_as::<_, PublicCircular>(&format!(
        "SELECT c.id, c.kind, c.period, j.name AS county_name, c.title, c.doc_number, c.issued_on
         {FROM} WHERE c.status = 'issued' ORDER BY c.issued_at DESC, c.id DESC LIMIT $1 OFFSET $2"
    ))
    .bind(paging.per_page)
    .bind(paging.offset())
    .fetch_all(c)
    .await)?;
    Ok(paging.wrap(items, total))
}

/// An issued circular's content, for the public page: nothing of a draft.
pub async fn issued_content(conn: &mut Conn<'_>, id: i64) -> Result<(Circular, Content)> {
    let row = get_row(conn, id).await?;
    if !row.issued() {
        return Err(Error::NotFound("通报"));
    }
    Ok((row, content_of(conn, id).await?))
}

/// Issues a draft: the next number of the issuer's sequence for this year, today's date, a
/// mail to every enterprise it names. Two officers issuing at once: one wins, the other gets
/// a conflict.
pub async fn issue(
    db: &Db,
    role: Role,
    actor: &Actor,
    id: i64,
    wording_dir: Option<&std::path::Path>,
    now: DateTime<Utc>,
) -> Result<Circular> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let before = get_row(&mut conn, id).await?;
    access::require_visible(role, before.county_id, before.issued(), false)?;
    access::require_issuer(role, before.county_id)?;
    if before.issued() {
        return Err(Error::Conflict(format!(
            "该通报已于{}印发（{}），不能再次印发",
            before.issued_on.unwrap_or_default(),
            before.doc_number.clone().unwrap_or_default()
        )));
    }
    let common = Wording::load(wording_dir, "common")?;
    let prefix = match &before.county_name {
        None => common.text("doc_prefix", &[])?,
        Some(c) => common.text("county_doc_prefix", &[("county", c.clone())])?,
    };
    let today = now.with_timezone(&crate::time::china()).date_naive();
    let year = today.year();
    let last: Option<i64> = on_conn!(&mut conn, |c| sqlx::query_scalar(
        "SELECT MAX(doc_seq) FROM circulars WHERE doc_prefix = $1 AND doc_year = $2"
    )
    .bind(&prefix)
    .bind(year)
    .fetch_one(c)
    .await)?;
    let seq = last.unwrap_or(0).saturating_add(1);
    let number = format!("{prefix}〔{year}〕{seq}号");
    let moved = on_conn!(&mut conn, |c| sqlx::query(
        "UPDATE circulars SET status = 'issued', doc_prefix = $1, doc_year = $2, doc_seq = $3,
                doc_number = $4, issued_on = $5, issued_by_user = $6, issued_by = $7, issued_at = $8
         WHERE id = $9 AND status = 'draft'"
    )
    .bind(&prefix)
    .bind(year)
    .bind(seq)
    .bind(&number)
    .bind(today)
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .map_err(|e| Error::on_unique(e, format!("文号{number}刚被占用，请重试")))?;
    if moved == 0 {
        return Err(Error::Conflict("通报状态已被他人更改，请刷新后重试".into()));
    }
    let after = get_row(&mut conn, id).await?;
    audit::record(
        &mut conn,
        actor,
        "circular.issue",
        "circular",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    super::mail::issued(&mut conn, &after).await?;
    tx.commit().await?;
    Ok(after)
}
