//! Reading filings: one, a page of them, an enterprise's approved ones, and the projects
//! whose notice boards it answers for.

use chrono::{DateTime, NaiveDate, Utc};

use super::access::require_visible;
use super::{FileRef, Filing, FilingDetail, Filter, ListItem, Review, Revision, Row};
use crate::auth::{Principal, Scope};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::filings::state::BoardProject;
use crate::filings::{Kind, Status};
use crate::on_conn;
use crate::registry::enterprise;
use crate::registry::project::Project;
use crate::registry::{Page, Paging};

pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Filing> {
    let row = on_conn!(conn, |c| sqlx::query_as::<_, Row>(
        "SELECT * FROM filings WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("备案"))?;
    row.try_into()
}

pub async fn files(conn: &mut Conn<'_>, filing_id: i64) -> Result<Vec<FileRef>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, FileRef>(
        "SELECT * FROM filing_files WHERE filing_id = $1 ORDER BY slot, id"
    )
    .bind(filing_id)
    .fetch_all(c)
    .await)?)
}

/// A filing the caller may see, with its files, reviews and submitted revisions.
pub async fn detail(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<FilingDetail> {
    let filing = get(conn, id).await?;
    let e = enterprise::get(conn, filing.enterprise_id).await?;
    require_visible(p, &e)?;
    let files = files(conn, id).await?;
    let review_rows: Vec<(i64, String, String, String, DateTime<Utc>)> =
        on_conn!(conn, |c| sqlx::query_as(
            "SELECT r.revision, u.display_name, r.decision, r.reasons, r.at FROM filing_reviews r
         JOIN users u ON u.id = r.reviewer_id WHERE r.filing_id = $1 ORDER BY r.id"
        )
        .bind(id)
        .fetch_all(c)
        .await)?;
    let reviews = review_rows
        .into_iter()
        .map(|(revision, reviewer, decision, reasons, at)| Review {
            revision,
            reviewer,
            decision,
            reasons: serde_json::from_str(&reasons).unwrap_or_default(),
            at,
        })
        .collect();
    let revision_rows: Vec<(i64, String, String, DateTime<Utc>)> = on_conn!(conn, |c| {
        sqlx::query_as(
        "SELECT revision, payload, files, submitted_at FROM filing_revisions WHERE filing_id = $1 ORDER BY revision"
    )
    .bind(id)
    .fetch_all(c)
    .await
    })?;
    let mut revisions = Vec::new();
    for (revision, payload, files, submitted_at) in revision_rows {
        revisions.push(Revision {
            revision,
            payload: serde_json::from_str(&payload).map_err(|e| Error::Internal(e.to_string()))?,
            files: serde_json::from_str(&files).unwrap_or_default(),
            submitted_at,
        });
    }
    Ok(FilingDetail {
        filing,
        enterprise_name: e.name,
        county_id: e.county_id,
        files,
        reviews,
        revisions,
    })
}

const LIST_WHERE: &str = "WHERE ($1 IS NULL OR e.county_id = $1)
      AND ($2 IS NULL OR f.enterprise_id = $2)
      AND ($3 IS NULL OR f.enterprise_id = $3)
      AND ($4 IS NULL OR f.status = $4)
      AND ($5 IS NULL OR f.kind = $5)";

pub async fn list(conn: &mut Conn<'_>, scope: Scope, filter: &Filter) -> Result<Page<ListItem>> {
    let paging = Paging::new(filter.page, filter.per_page)?;
    let status = filter.status.map(Status::code);
    let kind = filter.kind.map(Kind::code);
    let total: i64 = on_conn!(conn, |c| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM filings f JOIN enterprises e ON e.id = f.enterprise_id {LIST_WHERE}"
    ))
    .bind(scope.county())
    .bind(scope.enterprise())
    .bind(filter.enterprise_id)
    .bind(status)
    .bind(kind)
    .fetch_one(c)
    .await)?;
    let items = on_conn!(conn, |c| {
        sqlx::query_as::<_, ListItem>(&format!(
        "SELECT f.id, f.enterprise_id, e.name AS enterprise_name, e.county_id, j.name AS county_name, f.kind, f.status,
                f.revision, f.late, f.submitted_at, f.decided_at, f.updated_at
         FROM filings f JOIN enterprises e ON e.id = f.enterprise_id JOIN jurisdictions j ON j.id = e.county_id
         {LIST_WHERE}
         ORDER BY f.updated_at DESC, f.id DESC LIMIT $6 OFFSET $7"
    ))
    .bind(scope.county())
    .bind(scope.enterprise())
    .bind(filter.enterprise_id)
    .bind(status)
    .bind(kind)
    .bind(paging.per_page)
    .bind(paging.offset())
    .fetch_all(c)
    .await
    })?;
    Ok(paging.wrap(items, total))
}

/// Approved filings of an enterprise with their files, in the order they took effect.
pub async fn approved(
    conn: &mut Conn<'_>,
    enterprise_id: i64,
) -> Result<Vec<(Filing, Vec<FileRef>)>> {
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, Row>(
        "SELECT * FROM filings WHERE enterprise_id = $1 AND status = 'approved' ORDER BY decided_at, id"
    )
    .bind(enterprise_id)
    .fetch_all(c)
    .await
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let f: Filing = r.try_into()?;
        let fs = files(conn, f.id).await?;
        out.push((f, fs));
    }
    out.sort_by_key(|(f, _)| (f.payload.effective_on(), f.decided_at, f.id));
    Ok(out)
}

/// [`approved`] for every enterprise at once (the annual evaluation): two statements
/// however many enterprises there are, each enterprise's filings in the same order.
pub async fn approved_all(
    conn: &mut Conn<'_>,
) -> Result<std::collections::HashMap<i64, Vec<(Filing, Vec<FileRef>)>>> {
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, Row>("SELECT * FROM filings WHERE status = 'approved'")
            .fetch_all(c)
            .await
    })?;
    let mut files: std::collections::HashMap<i64, Vec<FileRef>> = Default::default();
    for f in on_conn!(conn, |c| sqlx::query_as::<_, FileRef>(
        "SELECT ff.* FROM filing_files ff JOIN filings f ON f.id = ff.filing_id
         WHERE f.status = 'approved' ORDER BY ff.slot, ff.id"
    )
    .fetch_all(c)
    .await)?
    {
        files.entry(f.filing_id).or_default().push(f);
    }
    let mut out: std::collections::HashMap<i64, Vec<(Filing, Vec<FileRef>)>> = Default::default();
    for r in rows {
        let f: Filing = r.try_into()?;
        let fs = files.remove(&f.id).unwrap_or_default();
        out.entry(f.enterprise_id).or_default().push((f, fs));
    }
    for list in out.values_mut() {
        list.sort_by_key(|(f, _)| (f.payload.effective_on(), f.decided_at, f.id));
    }
    Ok(out)
}

/// Projects whose notice boards an enterprise answers for: its own, and from the date of
/// their revocation or cancellation those of its subsidiaries (Art. 7).
pub async fn answerable_projects(
    conn: &mut Conn<'_>,
    enterprise_id: i64,
    as_of: NaiveDate,
) -> Result<Vec<Project>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as::<_, Project>(
        // Both sides name the project's enterprise, so each is an index lookup (a condition
        // on a joined enterprise would scan every project).
        "SELECT p.* FROM projects p
         WHERE p.enterprise_id = $1
            OR p.enterprise_id IN (SELECT id FROM enterprises
                                   WHERE parent_id = $1 AND status <> 'active' AND status_date <= $2)
         ORDER BY p.name, p.id"
    )
    .bind(enterprise_id)
    .bind(as_of)
    .fetch_all(c)
    .await
    })?)
}

/// [`answerable_projects`] for every enterprise of a county (or the city) at once: each
/// project with the enterprises that answer for it — its owner, and from the date of the
/// owner's revocation or cancellation the owner's parent — in the order the per-enterprise
/// query lists them.
pub async fn answerable_projects_in(
    conn: &mut Conn<'_>,
    county: Option<i64>,
    as_of: NaiveDate,
) -> Result<Vec<(BoardProject, Option<i64>)>> {
    #[derive(sqlx::FromRow)]
    struct Answerable {
        #[sqlx(flatten)]
        project: BoardProject,
        parent_id: Option<i64>,
        handed_over: Option<bool>,
    }
    let rows = on_conn!(conn, |c| sqlx::query_as::<_, Answerable>(
        "SELECT p.id, p.enterprise_id, p.name, p.sales_site_open, p.delivery_date, e.parent_id,
                (e.status <> 'active' AND e.status_date <= $2) AS handed_over
         FROM projects p JOIN enterprises e ON e.id = p.enterprise_id
         WHERE $1 IS NULL OR e.county_id = $1
            OR e.parent_id IN (SELECT id FROM enterprises WHERE county_id = $1)
         ORDER BY p.name, p.id"
    )
    .bind(county)
    .bind(as_of)
    .fetch_all(c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let parent = r.parent_id.filter(|_| r.handed_over == Some(true));
            (r.project, parent)
        })
        .collect())
}

/// [`answerable_projects_in`] grouped per answering enterprise (the owner, and the parent of
/// a revoked owner), each list in the order the per-enterprise query gives.
pub async fn answerable_by_enterprise(
    conn: &mut Conn<'_>,
    county: Option<i64>,
    as_of: NaiveDate,
) -> Result<std::collections::HashMap<i64, Vec<BoardProject>>> {
    let mut out: std::collections::HashMap<i64, Vec<BoardProject>> = Default::default();
    for (project, parent) in answerable_projects_in(conn, county, as_of).await? {
        if let Some(parent) = parent.filter(|p| *p != project.enterprise_id) {
            out.entry(parent).or_default().push(project.clone());
        }
        out.entry(project.enterprise_id).or_default().push(project);
    }
    Ok(out)
}

/// Approved notice boards of every enterprise whose boards can count in a county (its own
/// and its enterprises' subsidiaries'), as (filing id, place) per filing enterprise, in the
/// order [`approved`] lists them.
pub async fn approved_boards_in(
    conn: &mut Conn<'_>,
    county: Option<i64>,
) -> Result<crate::filings::state::BoardsByOwner> {
    let mut rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, (i64, i64, String, Option<DateTime<Utc>>)>(
            "SELECT f.id, f.enterprise_id, f.payload, f.decided_at
         FROM filings f JOIN enterprises e ON e.id = f.enterprise_id
         WHERE f.status = 'approved' AND f.kind = 'notice_board'
           AND ($1 IS NULL OR e.county_id = $1
                OR e.parent_id IN (SELECT id FROM enterprises WHERE county_id = $1))",
        )
        .bind(county)
        .fetch_all(c)
        .await
    })?;
    rows.sort_by_key(|(id, _, _, decided_at)| (*decided_at, *id));
    let mut out = crate::filings::state::BoardsByOwner::new();
    for (id, enterprise_id, payload, _) in rows {
        let payload: crate::filings::Payload = serde_json::from_str(&payload)
            .map_err(|e| Error::Internal(format!("备案 {id} 的内容无法读取：{e}")))?;
        if let Some(place) = payload.place() {
            out.entry(enterprise_id).or_default().push((id, place));
        }
    }
    Ok(out)
}
