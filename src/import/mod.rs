//! The one import core shared by the registry (enterprises, projects) and the hotline imports:
//! options, limits, rejections, the summary counts, header matching and the rejected-row
//! report. A file imports in one transaction or not at all unless bad rows are skipped, and
//! every rejected row is reported with its line and reason.

pub mod header;
pub mod reports;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use header::{find_header, Column, Header, MissingField, UnusedColumn, HEADER_SEARCH_ROWS};

use crate::error::Result;
use crate::tabular::RawRow;

/// How much one file may hold; checked before its content is materialised.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Data rows (CSV records, sheet rows) a file may have.
    pub max_rows: usize,
    /// Decompressed bytes: the text of a CSV, the entries of a workbook's zip.
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 2_000_000,
            max_bytes: 512 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Import the good rows and only report the bad ones.
    pub skip_bad_rows: bool,
    /// Also write the rejected-row report as a file in this folder (the CLI does).
    pub report_dir: Option<PathBuf>,
    /// A county officer's import: rows of, or rows changing records of, any other county are
    /// rejected. `None` for the city administrator and the CLI.
    pub only_county: Option<i64>,
    pub limits: Limits,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rejection {
    pub line: usize,
    pub reason: String,
}

/// What an import did, in the same shape for every kind of file.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[schema(as = ImportSummary)]
pub struct Summary {
    pub file: String,
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    /// False when bad rows stopped the whole file: nothing was written.
    pub committed: bool,
    pub rejections: Vec<Rejection>,
    /// The rejected-row report, downloadable at `report_url` by whoever may see the import.
    pub report_id: Option<i64>,
    pub report_url: Option<String>,
    /// Header cells the import did not read (unknown, duplicate or ambiguous).
    pub unused_columns: Vec<UnusedColumn>,
    /// Optional fields the file had no column for: metrics that need them read unknown.
    pub missing_fields: Vec<MissingField>,
    /// The copy written to `Options::report_dir` (CLI only; never sent to clients).
    #[serde(skip)]
    pub report_file: Option<PathBuf>,
}

impl Summary {
    pub fn new(file_name: &str, header: &Header) -> Summary {
        Summary {
            file: file_label(file_name),
            unused_columns: header.unused_columns.clone(),
            missing_fields: header.missing_fields.clone(),
            ..Summary::default()
        }
    }

    pub fn reject(&mut self, line: usize, reason: impl Into<String>) {
        self.rejections.push(Rejection {
            line,
            reason: reason.into(),
        });
    }

    /// Sorts the rejections by line and counts them; true when the file must not commit.
    pub fn close_rejections(&mut self, opts: &Options) -> bool {
        self.rejections.sort_by_key(|r| r.line);
        self.rejected = self.rejections.len();
        self.rejected > 0 && !opts.skip_bad_rows
    }
}

/// The file's name without the folders of the path it came from.
pub fn file_label(name: &str) -> String {
    Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string())
}

/// Pairs each rejection with its source row. Both are in line order, so one walk over the
/// rows finds every rejected row (rejections × rows lookups made large files quadratic).
pub fn rejected_rows<'a, 'r>(
    rejections: &'a [Rejection],
    rows: impl IntoIterator<Item = &'r RawRow>,
) -> impl Iterator<Item = (&'a Rejection, Option<&'r RawRow>)> {
    let mut rows = rows.into_iter().peekable();
    rejections.iter().map(move |r| {
        while rows.peek().is_some_and(|row| row.line < r.line) {
            rows.next();
        }
        let row = rows.peek().copied().filter(|row| row.line == r.line);
        (r, row)
    })
}

/// The rejected rows — line, reason, then the row's original cells — as a UTF-8 CSV with BOM
/// (so Excel opens it correctly).
pub fn report_csv<'a, 'r>(
    headers: &[String],
    rows: impl Iterator<Item = (&'a Rejection, Option<&'r RawRow>)>,
) -> Result<Vec<u8>> {
    let mut out = Vec::from("\u{FEFF}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let csv_err = |e: csv::Error| crate::error::Error::Internal(e.to_string());
        let mut head = vec!["行号".to_string(), "原因".to_string()];
        head.extend(headers.iter().cloned());
        w.write_record(&head).map_err(csv_err)?;
        for (r, row) in rows {
            let mut rec = vec![r.line.to_string(), r.reason.clone()];
            rec.extend(row.iter().flat_map(|r| r.cells.iter().map(str::to_string)));
            w.write_record(&rec).map_err(csv_err)?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// Writes a copy of the report in `dir`, named after the time, the import kind and the file.
pub fn write_report_file(dir: &Path, kind: &str, file: &str, content: &[u8]) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let stem: String = Path::new(file)
        .file_stem()
        .map(|s| {
            s.to_string_lossy()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .unwrap_or_default();
    let path = dir.join(format!("{stamp}-{kind}-{stem}-rejected.csv"));
    std::fs::write(&path, content)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_rows_pairs_in_one_walk() {
        let rows: Vec<RawRow> = [2, 3, 5, 8]
            .map(|line| RawRow {
                line,
                cells: [line.to_string()].into_iter().collect(),
            })
            .to_vec();
        let rej: Vec<Rejection> = [1, 3, 8, 9]
            .map(|line| Rejection {
                line,
                reason: String::new(),
            })
            .to_vec();
        let found: Vec<Option<usize>> = rejected_rows(&rej, &rows)
            .map(|(_, r)| r.map(|r| r.line))
            .collect();
        assert_eq!(found, [None, Some(3), Some(8), None]);
    }
}
