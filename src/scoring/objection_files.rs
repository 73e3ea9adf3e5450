//! Evidence on an objection (异议材料): photos or PDFs the enterprise attaches while its
//! objection is open, read by whoever may see the result.

use serde::Serialize;

use super::access::{require_objector, require_result_visible};
use super::objection::{get, Status};
use super::results::{result_county, visible_run};
use crate::auth::Principal;
use crate::blobs::{self, BlobStore, Limits};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;

/// Files one objection may carry.
const MAX_FILES: i64 = 10;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ObjectionFile {
    pub id: i64,
    pub objection_id: i64,
    pub sha256: String,
    pub original_name: String,
    pub content_type: String,
    pub size: i64,
}

impl ObjectionFile {
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

/// The objection, if `p` may see the result it is on.
async fn visible(
    conn: &mut Conn<'_>,
    p: &Principal,
    objection_id: i64,
) -> Result<super::objection::Objection> {
    let o = get(conn, objection_id).await?;
    visible_run(conn, p, o.run_id).await?;
    let county = result_county(conn, o.run_id, o.enterprise_id).await?;
    require_result_visible(p, o.enterprise_id, county).map_err(|_| Error::NotFound("异议"))?;
    Ok(o)
}

/// Attaches a file (JPEG, PNG or PDF, checked from its bytes) to an open objection; only the
/// enterprise that filed it.
pub async fn attach(
    conn: &mut Conn<'_>,
    store: &dyn BlobStore,
    limits: Limits,
    p: &Principal,
    objection_id: i64,
    original_name: &str,
    bytes: Vec<u8>,
) -> Result<ObjectionFile> {
    let o = visible(conn, p, objection_id).await?;
    require_objector(p, o.enterprise_id)?;
    if o.status != Status::Open {
        return Err(Error::Conflict("异议已审核，不能再补充材料".into()));
    }
    let n: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM objection_files WHERE objection_id = $1"
    )
    .bind(objection_id)
    .fetch_one(c)
    .await)?;
    if n >= MAX_FILES {
        return Err(Error::invalid(
            "file",
            format!("每件异议最多上传{MAX_FILES}个文件"),
        ));
    }
    let (name, stored) = blobs::accept(conn, store, limits, "file", original_name, bytes).await?;
    let id: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "INSERT INTO objection_files (objection_id, sha256, original_name, content_type, size)
         VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(objection_id)
    .bind(&stored.sha256)
    .bind(&name)
    .bind(stored.file_type.content_type())
    .bind(stored.size)
    .fetch_one(c)
    .await)?;
    Ok(ObjectionFile {
        id,
        objection_id,
        sha256: stored.sha256,
        original_name: name,
        content_type: stored.file_type.content_type().to_string(),
        size: stored.size,
    })
}

/// The files of the objections on one result, oldest first.
pub async fn of_result(
    conn: &mut Conn<'_>,
    run_id: i64,
    enterprise_id: i64,
) -> Result<Vec<ObjectionFile>> {
    Ok(on_conn!(conn, |c| sqlx::query_as::<_, ObjectionFile>(
        "SELECT f.id, f.objection_id, f.sha256, f.original_name, f.content_type, f.size
         FROM objection_files f JOIN objections o ON o.id = f.objection_id
         WHERE o.run_id = $1 AND o.enterprise_id = $2 ORDER BY f.id"
    )
    .bind(run_id)
    .bind(enterprise_id)
    .fetch_all(c)
    .await)?)
}

/// One file of an objection, if `p` may see the result.
pub async fn file_for(
    conn: &mut Conn<'_>,
    p: &Principal,
    objection_id: i64,
    file_id: i64,
) -> Result<ObjectionFile> {
    visible(conn, p, objection_id).await?;
    on_conn!(conn, |c| sqlx::query_as::<_, ObjectionFile>(
        "SELECT id, objection_id, sha256, original_name, content_type, size
         FROM objection_files WHERE id = $1 AND objection_id = $2"
    )
    .bind(file_id)
    .bind(objection_id)
    .fetch_optional(c)
    .await)?
    .ok_or(Error::NotFound("文件"))
}
