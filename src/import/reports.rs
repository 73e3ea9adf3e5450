//! Rejected-row reports, kept in the database and served by id: clients never learn a server
//! path, and several instances serve the same report. A report is visible to the user who
//! imported, the city administrator, and officers of the importing officer's county.

use std::path::Path;

use super::{report_csv, write_report_file, Options, Summary};
use crate::audit::Actor;
use crate::auth::{Principal, Role};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::tabular::RawRow;

/// One stored report, ready to download.
pub struct Report {
    pub id: i64,
    pub kind: String,
    pub file_name: String,
    pub content: Vec<u8>,
}

pub fn url(id: i64) -> String {
    format!("/api/v1/imports/reports/{id}")
}

/// Stores the report of `summary`'s rejections (if any) and notes its id and URL in the
/// summary; also writes a file copy when the options ask for one. `rows` are the source rows
/// in line order (all of them, or just the rejected ones).
pub async fn save<'r>(
    conn: &mut Conn<'_>,
    actor: &Actor,
    opts: &Options,
    kind: &str,
    summary: &mut Summary,
    headers: &[String],
    rows: impl IntoIterator<Item = &'r RawRow>,
) -> Result<()> {
    if summary.rejections.is_empty() {
        return Ok(());
    }
    let content = report_csv(headers, super::rejected_rows(&summary.rejections, rows))?;
    let id: i64 = on_conn!(conn, |c| sqlx::query_scalar(
        "INSERT INTO import_reports (kind, file_name, user_id, county_id, created_at, content)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
    )
    .bind(kind)
    .bind(&summary.file)
    .bind(actor.user_id)
    .bind(opts.only_county)
    .bind(chrono::Utc::now())
    .bind(&content)
    .fetch_one(c)
    .await)?;
    summary.report_id = Some(id);
    summary.report_url = Some(url(id));
    if let Some(dir) = &opts.report_dir {
        summary.report_file = Some(write_report_file(dir, kind, &summary.file, &content)?);
    }
    Ok(())
}

/// A report the principal may see; any other id answers as missing.
pub async fn get(conn: &mut Conn<'_>, p: &Principal, id: i64) -> Result<Report> {
    type Row = (i64, String, String, Option<i64>, Option<i64>, Vec<u8>);
    let row: Option<Row> = on_conn!(conn, |c| {
        sqlx::query_as(
        "SELECT id, kind, file_name, user_id, county_id, content FROM import_reports WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await
    })?;
    let Some((id, kind, file_name, user_id, county_id, content)) = row else {
        return Err(Error::NotFound("导入报告"));
    };
    let visible = user_id == Some(p.user_id)
        || match p.role {
            Role::CityAdmin => true,
            Role::CountyOfficer { county_id: own } => county_id == Some(own),
            Role::Enterprise { .. } => false,
        };
    if !visible {
        return Err(Error::NotFound("导入报告"));
    }
    Ok(Report {
        id,
        kind,
        file_name,
        content,
    })
}

impl Report {
    /// A download name that is safe in a header: the kind, the id and the source file's stem.
    pub fn download_name(&self) -> String {
        let stem: String = Path::new(&self.file_name)
            .file_stem()
            .map(|s| {
                s.to_string_lossy()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect()
            })
            .unwrap_or_default();
        format!("{}-{}-{stem}-rejected.csv", self.kind, self.id)
    }
}
