//! Reading the spreadsheets bureaus actually exchange: CSV in UTF-8 (with or without BOM),
//! GBK/GB18030 or UTF-16, and Excel workbooks (XLSX/XLS, first sheet). Title rows above the
//! header are skipped by finding the row that names the expected columns; every data row keeps
//! the line number a person would see in Excel or a text editor, so rejections can name it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader};

use crate::error::{Error, Result};
use crate::text;

/// One non-blank row of the source with its 1-based line (CSV) or row (Excel) number.
#[derive(Debug, Clone)]
pub struct RawRow {
    pub line: usize,
    pub cells: Vec<String>,
}

/// A column an import expects, with the header names sources use for it.
pub struct Column<'a> {
    pub key: &'a str,
    pub synonyms: &'a [&'a str],
    pub required: bool,
}

/// The data rows under a recognized header row.
pub struct Sheet {
    pub header_line: usize,
    pub headers: Vec<String>,
    index: HashMap<String, usize>,
    pub rows: Vec<RawRow>,
}

impl Sheet {
    pub fn has(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// The tidied cell of `key` in `row`; empty when the column or cell is missing.
    pub fn cell(&self, row: &RawRow, key: &str) -> String {
        self.index
            .get(key)
            .and_then(|&i| row.cells.get(i))
            .map(|s| text::tidy(s))
            .unwrap_or_default()
    }
}

/// Reads a file's rows, whatever its format, sniffed from the bytes rather than the name.
pub fn read_rows(bytes: &[u8]) -> Result<Vec<RawRow>> {
    if is_workbook(bytes) {
        read_workbook(bytes)
    } else {
        csv_rows(&decode(bytes)).collect()
    }
}

pub fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

/// Text of a CSV in any encoding Chinese exports use. A BOM decides; otherwise valid UTF-8
/// is UTF-8 (and borrowed, not copied) and anything else is read as GB18030, the superset of
/// GBK and GB2312.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc.decode_without_bom_handling(&bytes[bom..]).0;
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => encoding_rs::GB18030.decode_without_bom_handling(bytes).0,
    }
}

/// The non-blank records of a CSV text, one at a time, with the line each starts on.
pub fn csv_rows(content: &str) -> impl Iterator<Item = Result<RawRow>> + Send + '_ {
    let first = content.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = if first.matches('\t').count() > first.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(content.as_bytes());
    // Line numbers are counted from byte offsets: a quoted cell may span lines, and the line
    // a person sees in an editor is where the record starts.
    let bytes = content.as_bytes();
    let (mut counted_to, mut line) = (0usize, 1usize);
    let mut line_at = move |offset: usize| {
        // A record's position may point at the terminator of the line before it (the `\n`
        // of a CRLF) or at skipped blank lines: the record starts at the next other byte.
        let mut offset = offset.min(bytes.len());
        while offset < bytes.len() && matches!(bytes[offset], b'\r' | b'\n') {
            offset += 1;
        }
        if offset > counted_to {
            line += bytes[counted_to..offset]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            counted_to = offset;
        }
        line
    };
    reader
        .into_records()
        .filter_map(move |record| match record {
            Err(e) => {
                let line = e
                    .position()
                    .map(|p| line_at(p.byte() as usize))
                    .unwrap_or(0);
                Some(Err(Error::invalid(
                    format!("第{line}行"),
                    format!("CSV 格式错误：{e}"),
                )))
            }
            Ok(record) => {
                if record.iter().all(|c| c.trim().is_empty()) {
                    return None;
                }
                let line = record
                    .position()
                    .map(|p| line_at(p.byte() as usize))
                    .unwrap_or(0);
                Some(Ok(RawRow {
                    line,
                    cells: record.iter().map(str::to_string).collect(),
                }))
            }
        })
}

fn read_workbook(bytes: &[u8]) -> Result<Vec<RawRow>> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| Error::invalid("file", format!("无法读取 Excel 文件：{e}")))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| Error::invalid("file", "Excel 文件中没有工作表"))?
        .map_err(|e| Error::invalid("file", format!("无法读取第一个工作表：{e}")))?;
    let first_row = range.start().map(|(r, _)| r as usize).unwrap_or(0);
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        if cells.iter().any(|c| !c.trim().is_empty()) {
            rows.push(RawRow {
                line: first_row + i + 1,
                cells,
            });
        }
    }
    Ok(rows)
}

/// A cell as the text a person would read in it: whole numbers without `.0`, dates as ISO.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        Data::DateTime(dt) => match text::excel_serial(dt.as_f64()) {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => dt.as_f64().to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// How header cells are compared: half-width, no spaces, no required-field asterisks.
fn header_key(s: &str) -> String {
    text::halfwidth(s)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*')
        .collect()
}

fn strip_notes(s: &str) -> String {
    // "统一社会信用代码(必填)" → "统一社会信用代码"; only a trailing note is dropped, so
    // "县(市、区)" still matches its own synonym first.
    match s.rfind('(') {
        Some(i) if s.ends_with(')') && i > 0 => s[..i].to_string(),
        _ => s.to_string(),
    }
}

fn match_column<'a>(header: &str, columns: &[Column<'a>]) -> Option<&'a str> {
    let key = header_key(header);
    if key.is_empty() {
        return None;
    }
    let stripped = strip_notes(&key);
    columns
        .iter()
        .find(|c| c.synonyms.iter().any(|s| header_key(s) == key))
        .or_else(|| {
            columns
                .iter()
                .find(|c| c.synonyms.iter().any(|s| header_key(s) == stripped))
        })
        .map(|c| c.key)
}

/// How many leading rows may be titles, notes or blank before the header.
pub const HEADER_SEARCH_ROWS: usize = 30;

/// A recognized header row: which cell holds which column.
pub struct Header {
    pub line: usize,
    pub headers: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    pub fn matched(&self) -> usize {
        self.index.len()
    }
}

/// Finds, among the first rows, the one that names every required column (or, failing that,
/// the best candidate, for the error). `Err` lists the headers found and the ones missing.
pub fn find_header(
    rows: &[RawRow],
    columns: &[Column<'_>],
) -> std::result::Result<(usize, Header), String> {
    let mut best: Option<(usize, HashMap<String, usize>)> = None;
    for (pos, row) in rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        let mut index = HashMap::new();
        for (i, cell) in row.cells.iter().enumerate() {
            if let Some(key) = match_column(cell, columns) {
                index.entry(key.to_string()).or_insert(i);
            }
        }
        let complete = columns
            .iter()
            .all(|c| !c.required || index.contains_key(c.key));
        if complete {
            best = Some((pos, index));
            break;
        }
        if best.as_ref().is_none_or(|(_, b)| index.len() > b.len()) {
            best = Some((pos, index));
        }
    }
    let Some((pos, index)) = best else {
        return Err("文件为空：没有任何数据行".into());
    };
    let headers: Vec<String> = rows[pos].cells.iter().map(|c| text::clean(c)).collect();
    let missing: Vec<String> = columns
        .iter()
        .filter(|c| c.required && !index.contains_key(c.key))
        .map(|c| c.synonyms.join("/"))
        .collect();
    if !missing.is_empty() {
        let found: Vec<&str> = headers
            .iter()
            .map(String::as_str)
            .filter(|h| !h.is_empty())
            .collect();
        return Err(format!(
            "找不到所需的表头列：缺少 {}；第{}行的列为：{}",
            missing.join("，"),
            rows[pos].line,
            found.join("，")
        ));
    }
    Ok((
        pos,
        Header {
            line: rows[pos].line,
            headers,
            index,
        },
    ))
}

impl Header {
    pub fn has(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// The raw cell of `key` in `row`; empty when the column or cell is missing.
    pub fn raw<'r>(&self, row: &'r RawRow, key: &str) -> &'r str {
        self.index
            .get(key)
            .and_then(|&i| row.cells.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Finds the header row among the first rows and maps its columns, keeping all rows below.
pub fn map_columns(rows: Vec<RawRow>, columns: &[Column<'_>]) -> Result<Sheet> {
    let (pos, header) = find_header(&rows, columns).map_err(|m| Error::invalid("file", m))?;
    let data = rows.into_iter().skip(pos + 1).collect();
    Ok(Sheet {
        header_line: header.line,
        headers: header.headers,
        index: header.index,
        rows: data,
    })
}

/// Writes rejected rows — line, reason, then the row's original cells — as a UTF-8 CSV with
/// BOM (so Excel opens it correctly) in `dir`, named after the time, the import kind and the
/// file. Returns the report's path.
pub fn write_rejections<'r>(
    dir: &std::path::Path,
    kind: &str,
    file: &str,
    headers: &[String],
    rows: impl Iterator<Item = (usize, &'r str, Option<&'r RawRow>)>,
) -> Result<String> {
    std::fs::create_dir_all(dir)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let stem: String = std::path::Path::new(file)
        .file_stem()
        .map(|s| {
            s.to_string_lossy()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .unwrap_or_default();
    let path = dir.join(format!("{stamp}-{kind}-{stem}-rejected.csv"));
    let mut out = Vec::from("\u{FEFF}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let csv_err = |e: csv::Error| Error::Internal(e.to_string());
        let mut head = vec!["行号".to_string(), "原因".to_string()];
        head.extend(headers.iter().cloned());
        w.write_record(&head).map_err(csv_err)?;
        for (line, reason, row) in rows {
            let mut rec = vec![line.to_string(), reason.to_string()];
            rec.extend(row.iter().flat_map(|r| r.cells.iter().cloned()));
            w.write_record(&rec).map_err(csv_err)?;
        }
        w.flush()?;
    }
    std::fs::write(&path, out)?;
    Ok(path.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_lines_are_editor_lines() {
        let rows: Vec<_> = super::csv_rows("a,b\r\n1,2\r\n\r\n\"x\ny\",3\r\n4,5\r\n")
            .collect::<Result<_, _>>()
            .unwrap();
        let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![1, 2, 4, 6]);
    }
}
