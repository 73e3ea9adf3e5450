//! Files attached to a filing (board photos, Art. 11 documents, delegation agreements).

use chrono::Utc;

use super::access::require_visible;
use super::lifecycle::owned_editable;
use super::{files, get, FileRef};
use crate::audit;
use crate::auth::Principal;
use crate::blobs::{self, BlobStore, Limits};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::enterprise;

/// How many photos one board filing may carry.
const MAX_PHOTOS: i64 = 10;

/// Attaches an uploaded file to a slot. Document and agreement slots hold one file (a new
/// upload replaces it); the photo slot holds several.
#[allow(clippy::too_many_arguments)]
pub async fn attach(
    conn: &mut Conn<'_>,
    store: &dyn BlobStore,
    limits: Limits,
    p: &Principal,
    id: i64,
    slot: &str,
    original_name: &str,
    bytes: Vec<u8>,
) -> Result<FileRef> {
    let (f, _) = owned_editable(conn, p, id).await?;
    if !f.kind.file_slots().iter().any(|(s, _)| *s == slot) {
        let allowed: Vec<&str> = f.kind.file_slots().iter().map(|(s, _)| *s).collect();
        return Err(Error::invalid(
            "slot",
            if allowed.is_empty() {
                format!("{}不需要上传文件", f.kind.label())
            } else {
                format!("文件位置应为 {}", allowed.join("、"))
            },
        ));
    }
    let name = blobs::display_name(original_name);
    // The cheap refusal first: a full board filing decodes nothing.
    if slot == "photo" {
        let n: i64 = on_conn!(conn, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM filing_files WHERE filing_id = $1 AND slot = 'photo'"
        )
        .bind(id)
        .fetch_one(c)
        .await)?;
        if n >= MAX_PHOTOS {
            return Err(Error::invalid(
                slot,
                format!("每份公示牌备案最多{MAX_PHOTOS}张照片"),
            ));
        }
    }
    // What the file is decides where it may go, before anything is written.
    let checked = blobs::inspect_blocking(bytes, limits, slot, &name).await?;
    if slot == "photo" {
        if !checked.file_type().is_image() {
            return Err(Error::invalid(slot, "公示牌照片应为 JPEG 或 PNG 图片"));
        }
    } else {
        on_conn!(conn, |c| sqlx::query(
            "DELETE FROM filing_files WHERE filing_id = $1 AND slot = $2"
        )
        .bind(id)
        .bind(slot)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    let stored = blobs::store(conn, store, &checked).await?;
    let file_id: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO filing_files (filing_id, slot, sha256, original_name, content_type, size, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
    )
    .bind(id)
    .bind(slot)
    .bind(&stored.sha256)
    .bind(if name.is_empty() { "upload".to_string() } else { name })
    .bind(stored.file_type.content_type())
    .bind(stored.size)
    .bind(Utc::now())
    .fetch_one(c)
    .await
    })?;
    on_conn!(conn, |c| sqlx::query(
        "UPDATE filings SET updated_at = $1 WHERE id = $2"
    )
    .bind(Utc::now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let file = files(conn, id)
        .await?
        .into_iter()
        .find(|x| x.id == file_id)
        .ok_or(Error::NotFound("文件"))?;
    audit::record(
        conn,
        &p.actor(),
        "attach_file",
        "filing",
        Some(id),
        None::<&()>,
        Some(&file),
    )
    .await?;
    Ok(file)
}

pub async fn detach(conn: &mut Conn<'_>, p: &Principal, id: i64, file_id: i64) -> Result<()> {
    owned_editable(conn, p, id).await?;
    let file = files(conn, id)
        .await?
        .into_iter()
        .find(|x| x.id == file_id)
        .ok_or(Error::NotFound("文件"))?;
    on_conn!(conn, |c| sqlx::query(
        "DELETE FROM filing_files WHERE id = $1"
    )
    .bind(file_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(
        conn,
        &p.actor(),
        "detach_file",
        "filing",
        Some(id),
        Some(&file),
        None::<&()>,
    )
    .await?;
    Ok(())
}

/// A file of a filing the caller may see: a current one, or one an earlier revision carried
/// (replaced files stay in the blob store, so the history can still show them).
pub async fn file_for(
    conn: &mut Conn<'_>,
    p: &Principal,
    filing_id: i64,
    file_id: i64,
) -> Result<FileRef> {
    let f = get(conn, filing_id).await?;
    let e = enterprise::get(conn, f.enterprise_id).await?;
    require_visible(p, &e)?;
    if let Some(file) = files(conn, filing_id)
        .await?
        .into_iter()
        .find(|x| x.id == file_id)
    {
        return Ok(file);
    }
    let snapshots: Vec<String> = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT files FROM filing_revisions WHERE filing_id = $1"
    )
    .bind(filing_id)
    .fetch_all(c)
    .await)?;
    snapshots
        .iter()
        .filter_map(|s| serde_json::from_str::<Vec<FileRef>>(s).ok())
        .flatten()
        .find(|x| x.id == file_id)
        .ok_or(Error::NotFound("文件"))
}
