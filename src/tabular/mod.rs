//! Reading the spreadsheets bureaus actually exchange: CSV in UTF-8 (with or without BOM),
//! GBK/GB18030 or UTF-16, and Excel workbooks (XLSX/XLS, first sheet). Every row keeps the
//! line number a person would see in Excel or a text editor, so rejections can name it.
//!
//! Input is bounded before it is materialised: a CSV's bytes and rows, a workbook's
//! decompressed size (from the zip's central directory, which the zip reader enforces), its
//! rows and its columns. An XLSX sheet is read cell by cell, so a sheet declaring A1:XFD1048576
//! costs what its cells cost, not rows × columns. Parsing runs on a blocking thread.

use std::borrow::Cow;
use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, DataRef, Reader};
use tokio::sync::mpsc;

use crate::error::{Error, Result};
pub use crate::import::Limits;
use crate::text;

mod cells;
pub use cells::Cells;

/// One non-blank row of the source with its 1-based line (CSV) or row (Excel) number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    pub line: usize,
    pub cells: Cells,
}

/// Columns a row may span: exports have dozens; a cell far beyond is a malformed sheet.
pub const MAX_COLUMNS: usize = 1024;

/// Rows handed from the reading thread to the importer at a time.
const CHUNK: usize = 512;

fn too_many_rows(limits: &Limits) -> Error {
    Error::invalid(
        "file",
        format!(
            "文件超过 {} 行的上限（max_import_rows），请拆分后导入",
            limits.max_rows
        ),
    )
}

fn too_large(limits: &Limits) -> Error {
    Error::invalid(
        "file",
        format!(
            "文件解压后超过 {} 字节的上限（max_import_bytes）",
            limits.max_bytes
        ),
    )
}

fn too_wide(line: usize, column: usize) -> Error {
    Error::invalid(
        format!("第{line}行"),
        format!("第{column}列超出 {MAX_COLUMNS} 列的上限：工作表范围异常"),
    )
}

/// A NUL character: SQLite would keep it, but PostgreSQL refuses it in text, which failed the
/// whole import with a database error instead of naming the cell.
fn has_nul(line: usize, column: usize) -> Error {
    Error::invalid(
        format!("第{line}行"),
        format!("第{column}列含有空字符（NUL，0x00），数据库无法保存：请删去后重新导入"),
    )
}

/// Reads a file's rows, whatever its format (sniffed from the bytes, not the name), calling
/// `each` in line order until it returns false. Blocking: call it off the async workers.
pub fn read_each(
    bytes: &[u8],
    limits: &Limits,
    each: &mut dyn FnMut(RawRow) -> bool,
) -> Result<()> {
    let mut count = 0usize;
    let mut counted = |row: RawRow| -> Result<bool> {
        count += 1;
        if count > limits.max_rows {
            return Err(too_many_rows(limits));
        }
        if row.cells.len() > MAX_COLUMNS {
            return Err(too_wide(row.line, row.cells.len()));
        }
        // One scan of the row's text; the cell is looked for only once one is there.
        if row.cells.joined().contains('\0') {
            let c = row.cells.iter().position(|c| c.contains('\0')).unwrap_or(0);
            return Err(has_nul(row.line, c + 1));
        }
        Ok(each(row))
    };
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes, limits, &mut counted)
    } else if bytes.starts_with(&OLE) {
        read_xls(bytes, &mut counted)
    } else {
        if bytes.len() as u64 > limits.max_bytes {
            return Err(too_large(limits));
        }
        for row in csv_rows(&decode(bytes)) {
            if !counted(row?)? {
                break;
            }
        }
        Ok(())
    }
}

/// Every row of a file, read here (blocking).
pub fn read_rows(bytes: &[u8], limits: &Limits) -> Result<Vec<RawRow>> {
    let mut rows = Vec::new();
    read_each(bytes, limits, &mut |row| {
        rows.push(row);
        true
    })?;
    Ok(rows)
}

/// Every row of a file, read on a blocking thread.
pub async fn read_all(bytes: &[u8], limits: Limits) -> Result<Vec<RawRow>> {
    let bytes: Arc<[u8]> = Arc::from(bytes);
    tokio::task::spawn_blocking(move || read_rows(&bytes, &limits))
        .await
        .map_err(|e| Error::Internal(format!("读取文件的线程失败：{e}")))?
}

/// Rows read on a blocking thread and handed over in chunks, so decoding and parsing overlap
/// with the importer's own work without holding a whole file's rows.
pub struct RowStream {
    rx: mpsc::Receiver<Result<Vec<RawRow>>>,
    chunk: std::vec::IntoIter<RawRow>,
}

impl RowStream {
    pub fn spawn(bytes: Arc<Vec<u8>>, limits: Limits) -> RowStream {
        let (tx, rx) = mpsc::channel(4);
        tokio::task::spawn_blocking(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            let result = read_each(&bytes, &limits, &mut |row| {
                chunk.push(row);
                if chunk.len() < CHUNK {
                    return true;
                }
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                tx.blocking_send(Ok(full)).is_ok()
            });
            // A closed channel means the importer stopped: nobody to tell.
            let _ = match result {
                Ok(()) if chunk.is_empty() => Ok(()),
                Ok(()) => tx.blocking_send(Ok(chunk)),
                Err(e) => tx.blocking_send(Err(e)),
            };
        });
        RowStream {
            rx,
            chunk: Vec::new().into_iter(),
        }
    }

    /// `next`, from a blocking thread.
    pub fn next_blocking(&mut self) -> Option<Result<RawRow>> {
        loop {
            if let Some(row) = self.chunk.next() {
                return Some(Ok(row));
            }
            match self.rx.blocking_recv()? {
                Ok(chunk) => self.chunk = chunk.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }

    pub async fn next(&mut self) -> Option<Result<RawRow>> {
        loop {
            if let Some(row) = self.chunk.next() {
                return Some(Ok(row));
            }
            match self.rx.recv().await? {
                Ok(chunk) => self.chunk = chunk.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

const OLE: [u8; 4] = [0xD0, 0xCF, 0x11, 0xE0];

pub fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&OLE)
}

/// Text of a CSV in any encoding Chinese exports use. A BOM decides; otherwise valid UTF-8
/// is UTF-8 (and borrowed, not copied) and anything else is read as GB18030, the superset of
/// GBK and GB2312.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc.decode_without_bom_handling(&bytes[bom..]).0;
    }
    // SIMD: the standard library's check took half a second over a million rows of Chinese.
    match simdutf8::basic::from_utf8(bytes) {
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
    let mut reader = csv::ReaderBuilder::new()
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
    // One record read into again and again: a fresh one per row grew its buffers from empty.
    let mut record = csv::ByteRecord::new();
    std::iter::from_fn(move || loop {
        match reader.read_byte_record(&mut record) {
            Err(e) => {
                let line = e
                    .position()
                    .map(|p| line_at(p.byte() as usize))
                    .unwrap_or(0);
                return Some(Err(Error::invalid(
                    format!("第{line}行"),
                    format!("CSV 格式错误：{e}"),
                )));
            }
            Ok(false) => return None,
            Ok(true) => {
                let line = record
                    .position()
                    .map(|p| line_at(p.byte() as usize))
                    .unwrap_or(0);
                // The text is UTF-8 and records split at ASCII bytes: a refusal here is a bug,
                // still named by its line rather than a panic.
                let Some(cells) = Cells::from_record(&record) else {
                    return Some(Err(Error::invalid(
                        format!("第{line}行"),
                        "不是有效的 UTF-8 文本",
                    )));
                };
                if cells.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                return Some(Ok(RawRow { line, cells }));
            }
        }
    })
}

/// The decompressed size the zip declares for its entries; the zip reader refuses to inflate
/// an entry past its declared size, so this bounds what calamine can be made to read.
fn check_zip(bytes: &[u8], limits: &Limits) -> Result<()> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| Error::invalid("file", format!("无法读取 Excel 文件（zip）：{e}")))?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| Error::invalid("file", format!("无法读取 Excel 文件（zip）：{e}")))?;
        total = total.saturating_add(entry.size());
        if total > limits.max_bytes {
            return Err(too_large(limits));
        }
    }
    Ok(())
}

fn read_xlsx(
    bytes: &[u8],
    limits: &Limits,
    each: &mut dyn FnMut(RawRow) -> Result<bool>,
) -> Result<()> {
    check_zip(bytes, limits)?;
    let bad = |e: calamine::XlsxError| Error::invalid("file", format!("无法读取 Excel 文件：{e}"));
    let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(Cursor::new(bytes)).map_err(bad)?;
    let name = book
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| Error::invalid("file", "Excel 文件中没有工作表"))?;
    let mut cells = book.worksheet_cells_reader(&name).map_err(bad)?;
    // Cells arrive row by row; a row is complete when the next row's first cell arrives.
    let mut current: Option<(u32, Vec<String>)> = None;
    while let Some(cell) = cells.next_cell().map_err(bad)? {
        let (r, c) = cell.get_position();
        let value = cell_ref_text(cell.get_value());
        if value.trim().is_empty() {
            continue;
        }
        let c = c as usize;
        if c >= MAX_COLUMNS {
            return Err(too_wide(r as usize + 1, c + 1));
        }
        if let Some((row, _)) = &current {
            if *row > r {
                return Err(Error::invalid(
                    format!("第{}行", r + 1),
                    "工作表的行顺序异常，请在 Excel 中另存后再导入",
                ));
            }
        }
        if current.as_ref().is_none_or(|(row, _)| *row != r) {
            if let Some((row, done)) = current.take() {
                if !each(RawRow {
                    line: row as usize + 1,
                    cells: done.into(),
                })? {
                    return Ok(());
                }
            }
            current = Some((r, Vec::new()));
        }
        if let Some((_, row_cells)) = &mut current {
            if row_cells.len() <= c {
                row_cells.resize(c + 1, String::new());
            }
            if let Some(slot) = row_cells.get_mut(c) {
                *slot = value;
            }
        }
    }
    if let Some((row, done)) = current {
        each(RawRow {
            line: row as usize + 1,
            cells: done.into(),
        })?;
    }
    Ok(())
}

/// The old binary format: at most 65,536 × 256 cells by its own limits, read as a range.
fn read_xls(bytes: &[u8], each: &mut dyn FnMut(RawRow) -> Result<bool>) -> Result<()> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| Error::invalid("file", format!("无法读取 Excel 文件：{e}")))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| Error::invalid("file", "Excel 文件中没有工作表"))?
        .map_err(|e| Error::invalid("file", format!("无法读取第一个工作表：{e}")))?;
    let first_row = range.start().map(|(r, _)| r as usize).unwrap_or(0);
    for (i, row) in range.rows().enumerate() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        if cells.iter().any(|c| !c.trim().is_empty())
            && !each(RawRow {
                line: first_row + i + 1,
                cells: cells.into(),
            })?
        {
            break;
        }
    }
    Ok(())
}

fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

fn date_text(dt: &calamine::ExcelDateTime) -> String {
    match text::excel_serial(dt.as_f64()) {
        Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => dt.as_f64().to_string(),
    }
}

/// A cell as the text a person would read in it: whole numbers without `.0`, dates as ISO.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        Data::DateTime(dt) => date_text(dt),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn cell_ref_text(cell: &DataRef<'_>) -> String {
    match cell {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => s.to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        DataRef::DateTime(dt) => date_text(dt),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn csv_lines_are_editor_lines() {
        let rows: Vec<_> = super::csv_rows("a,b\r\n1,2\r\n\r\n\"x\ny\",3\r\n4,5\r\n")
            .collect::<Result<_, _>>()
            .unwrap();
        let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![1, 2, 4, 6]);
    }

    /// A minimal workbook whose only sheet is `sheet` (worksheet XML).
    fn workbook(sheet: &str) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
        let files = [
            ("[Content_Types].xml".to_string(), r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>"#.to_string()),
            ("_rels/.rels".into(), format!(r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rels}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#)),
            ("xl/workbook.xml".into(), format!(r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{rels}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#)),
            ("xl/_rels/workbook.xml.rels".into(), format!(r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rels}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#)),
            ("xl/worksheets/sheet1.xml".into(), sheet.to_string()),
        ];
        for (name, body) in files {
            zip.start_file(name, opts).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    fn sheet(cells: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData>{cells}</sheetData></worksheet>"#
        )
    }

    #[test]
    fn a_dimension_bomb_is_refused_cheaply() {
        let bomb = workbook(&sheet(
            r#"<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>y</t></is></c></row>"#,
        ));
        assert!(bomb.len() < 4096);
        let err = read_rows(&bomb, &Limits::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("列的上限"), "{err}");
        // Far-apart rows cost what their cells cost.
        let tall = workbook(&sheet(
            r#"<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row><row r="1048576"><c r="B1048576"><v>7</v></c></row>"#,
        ));
        let rows = read_rows(&tall, &Limits::default()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].line, 1_048_576);
        assert_eq!(rows[1].cells, ["", "7"]);
    }

    #[test]
    fn a_zip_over_the_byte_limit_is_refused() {
        let book = workbook(&sheet(r#"<row r="1"><c r="A1"><v>1</v></c></row>"#));
        let limits = Limits {
            max_rows: 10,
            max_bytes: 100,
        };
        let err = read_rows(&book, &limits).unwrap_err().to_string();
        assert!(err.contains("max_import_bytes"), "{err}");
    }

    #[test]
    fn rows_over_the_limit_are_refused() {
        let limits = Limits {
            max_rows: 2,
            max_bytes: 1 << 20,
        };
        assert!(read_rows(b"a\nb\n", &limits).is_ok());
        let err = read_rows(b"a\nb\nc\n", &limits).unwrap_err().to_string();
        assert!(err.contains("max_import_rows"), "{err}");
    }

    fn grid() -> impl Strategy<Value = Vec<Vec<String>>> {
        let cell = "[ab1 ,\"\n中文字]{0,6}";
        let row = prop::collection::vec(cell, 1..5).prop_filter("blank rows are skipped", |r| {
            r.iter().any(|c| !c.trim().is_empty())
        });
        prop::collection::vec(row, 1..6)
    }

    fn write_csv(grid: &[Vec<String>]) -> String {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        for row in grid {
            w.write_record(row).unwrap();
        }
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn any_bytes_read_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_rows(&bytes, &Limits::default());
            let mut zipish = b"PK\x03\x04".to_vec();
            zipish.extend(&bytes);
            let _ = read_rows(&zipish, &Limits::default());
        }

        #[test]
        fn any_sheet_xml_reads_or_fails_cleanly(xml in ".{0,200}", cells in "[<>/=\"a-z0-9 ]{0,120}") {
            let _ = read_rows(&workbook(&xml), &Limits::default());
            let _ = read_rows(&workbook(&sheet(&cells)), &Limits::default());
        }

        #[test]
        fn csv_round_trips_in_utf8_and_gbk(grid in grid()) {
            let text = write_csv(&grid);
            let read = |bytes: &[u8]| -> Vec<Vec<String>> {
                read_rows(bytes, &Limits::default())
                    .unwrap()
                    .into_iter()
                    .map(|r| r.cells.iter().map(str::to_string).collect())
                    .collect()
            };
            prop_assert_eq!(&read(text.as_bytes()), &grid);
            let mut bom = "\u{FEFF}".as_bytes().to_vec();
            bom.extend(text.as_bytes());
            prop_assert_eq!(&read(&bom), &grid);
            let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
            prop_assert!(!unmappable);
            prop_assert_eq!(&read(&gbk), &grid);
        }
    }
}
