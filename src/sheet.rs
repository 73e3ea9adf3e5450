//! Lists as XLSX workbooks for the bureau's own spreadsheets and systems: Chinese headers, the
//! header row frozen, widths set for Chinese text (autofit undercounts CJK), dates and times
//! as real dates (Beijing time), numbers as numbers. Every list export goes through here.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use crate::error::{Error, Result};

/// At most this many rows in one export: past it, narrow the filters (a million tickets are
/// for the database, not a spreadsheet).
pub const MAX_ROWS: usize = 100_000;

pub enum Cell {
    Text(String),
    Int(i64),
    Num(f64),
    Date(NaiveDate),
    /// Shown in Beijing time.
    Time(DateTime<Utc>),
    Bool(bool),
    Empty,
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Int(n)
    }
}

impl From<bool> for Cell {
    fn from(b: bool) -> Cell {
        Cell::Bool(b)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Cell {
        v.map_or(Cell::Empty, Into::into)
    }
}

impl From<NaiveDate> for Cell {
    fn from(d: NaiveDate) -> Cell {
        Cell::Date(d)
    }
}

impl From<DateTime<Utc>> for Cell {
    fn from(t: DateTime<Utc>) -> Cell {
        Cell::Time(t)
    }
}

/// A column: its header and its width in characters (a Chinese character counts two).
pub struct Column {
    pub header: &'static str,
    pub width: f64,
}

pub const fn col(header: &'static str, width: f64) -> Column {
    Column { header, width }
}

fn bad(e: XlsxError) -> Error {
    Error::Internal(format!("生成 XLSX 失败：{e}"))
}

fn excel_date(d: NaiveDate) -> std::result::Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
}

/// One sheet named `name` with `columns` and `rows`.
pub fn workbook(name: &str, columns: &[Column], rows: Vec<Vec<Cell>>) -> Result<Vec<u8>> {
    check_total(rows.len() as i64)?;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(name).map_err(bad)?;
    let head = Format::new().set_bold().set_background_color("EDF2F7");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let time = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    for (c, column) in columns.iter().enumerate() {
        let c = c as u16;
        sheet
            .write_string_with_format(0, c, column.header, &head)
            .map_err(bad)?;
        sheet.set_column_width(c, column.width).map_err(bad)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(bad)?;
    for (r, row) in rows.into_iter().enumerate() {
        let r = (r + 1) as u32;
        for (c, cell) in row.into_iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => sheet.write_string(r, c, s).map(|_| ()),
                Cell::Int(n) => sheet.write_number(r, c, n as f64).map(|_| ()),
                Cell::Num(n) => sheet.write_number(r, c, n).map(|_| ()),
                Cell::Bool(b) => sheet
                    .write_string(r, c, if b { "是" } else { "否" })
                    .map(|_| ()),
                Cell::Date(d) => excel_date(d)
                    .and_then(|d| sheet.write_datetime_with_format(r, c, d, &date).map(|_| ())),
                Cell::Time(t) => {
                    let t = t.with_timezone(&crate::time::china());
                    excel_date(t.date_naive())
                        .and_then(|d| {
                            d.and_hms(t.hour() as u16, t.minute() as u8, t.second() as f64)
                        })
                        .and_then(|d| sheet.write_datetime_with_format(r, c, d, &time).map(|_| ()))
                }
                Cell::Empty => Ok(()),
            }
            .map_err(bad)?;
        }
    }
    book.save_to_buffer().map_err(bad)
}

/// Refuses an export of more than [`MAX_ROWS`] rows before any is read past the first page.
pub fn check_total(total: i64) -> Result<()> {
    if total > MAX_ROWS as i64 {
        return Err(Error::invalid(
            "filter",
            format!("导出最多{MAX_ROWS}行，当前筛选有{total}行，请缩小筛选范围"),
        ));
    }
    Ok(())
}

/// Rows a page of an export holds (the lists' largest page).
pub const PAGE: i64 = 500;

/// Every page of a paged list, with the filter's own conditions: `$list` is evaluated with
/// `$f` bound to a copy of `$filter` set to each page in turn.
#[macro_export]
macro_rules! every_page {
    ($filter:expr, |$f:ident| $list:expr) => {{
        let mut out = Vec::new();
        for n in 1.. {
            let $f = {
                let mut f = $filter.clone();
                f.page = Some(n);
                f.per_page = Some($crate::sheet::PAGE);
                f
            };
            let got = $list;
            $crate::sheet::check_total(got.total)?;
            let done = (got.items.len() as i64) < $crate::sheet::PAGE;
            out.extend(got.items);
            if done {
                break;
            }
        }
        out
    }};
}
