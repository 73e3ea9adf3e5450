//! Files on a case's events: interview minutes, the order as sent, the enterprise's
//! rectification evidence, the officer's verification record.

use super::store::{visible, CaseFile};
use crate::auth::Principal;
use crate::blobs::{self, BlobStore, Limits};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;

/// Files one event may carry.
const MAX_FILES: i64 = 10;

/// Attaches a file to event `event_id` of case `case_id`. Only the user who recorded the event
/// attaches to it, and only while it is the case's latest: the timeline is not edited after
/// the fact.
#[allow(clippy::too_many_arguments)]
pub async fn attach(
    conn: &mut Conn<'_>,
    store: &dyn BlobStore,
    limits: Limits,
    p: &Principal,
    case_id: i64,
    event_id: i64,
    original_name: &str,
    bytes: Vec<u8>,
) -> Result<CaseFile> {
    visible(conn, p, case_id).await?;
    let row: Option<(i64, String, Option<i64>)> = on_conn!(conn, |c| {
        sqlx::query_as(
        "SELECT id, kind, actor_user_id FROM case_events WHERE case_id = $1 ORDER BY id DESC LIMIT 1"
    )
    .bind(case_id)
    .fetch_optional(c)
    .await
    })?;
    let Some((latest, kind, actor)) = row else {
        return Err(Error::NotFound("案件事件"));
    };
    if latest != event_id {
        return Err(Error::Conflict("只能为案件的最新一条记录上传文件".into()));
    }
    if actor != Some(p.user_id) {
        return Err(Error::Forbidden("只能为本人记录的事件上传文件"));
    }
    if !matches!(
        kind.as_str(),
        "interview" | "order" | "submission" | "verification"
    ) {
        return Err(Error::invalid("file", "该记录不需要上传文件"));
    }
    let n: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM case_files WHERE event_id = $1"
    )
    .bind(event_id)
    .fetch_one(c)
    .await)?;
    if n >= MAX_FILES {
        return Err(Error::invalid(
            "file",
            format!("每条记录最多上传{MAX_FILES}个文件"),
        ));
    }
    let (name, stored) = blobs::accept(conn, store, limits, "file", original_name, bytes).await?;
    let id: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "INSERT INTO case_files (event_id, sha256, original_name, content_type, size)
         VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(event_id)
    .bind(&stored.sha256)
    .bind(&name)
    .bind(stored.file_type.content_type())
    .bind(stored.size)
    .fetch_one(c)
    .await)?;
    Ok(CaseFile {
        id,
        event_id,
        sha256: stored.sha256,
        original_name: name,
        content_type: stored.file_type.content_type().to_string(),
        size: stored.size,
    })
}

/// A file of case `case_id`, if `p` may see the case.
pub async fn file_for(
    conn: &mut Conn<'_>,
    p: &Principal,
    case_id: i64,
    file_id: i64,
) -> Result<CaseFile> {
    visible(conn, p, case_id).await?;
    on_conn!(conn, |c| sqlx::query_as::<_, CaseFile>(
        "SELECT f.* FROM case_files f JOIN case_events ev ON ev.id = f.event_id
         WHERE f.id = $1 AND ev.case_id = $2"
    )
    .bind(file_id)
    .bind(case_id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("文件"))
}
