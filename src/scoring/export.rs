//! A run's results as a file for the bureau's main credit system: CSV (UTF-8 with a byte-order
//! mark, which Excel needs to read Chinese) or XLSX, one row per enterprise within the
//! caller's scope, with the totals as they stand after objections.

use rust_xlsxwriter::{Format, Workbook};

use super::results::{table, Filter, ResultRow, Sort};
use super::run::Run;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{Error, Result};

const HEADERS: [&str; 10] = [
    "统一社会信用代码",
    "企业名称",
    "县区",
    "资质等级",
    "计算得分",
    "最终得分",
    "不得参评2A级以上",
    "上年得分",
    "待审核异议",
    "评价",
];

/// Every row of the run `p` may see, in name order.
pub async fn rows(conn: &mut Conn<'_>, p: &Principal, run: &Run) -> Result<Vec<ResultRow>> {
    let mut out = Vec::new();
    for page in 1.. {
        let f = Filter {
            sort: Some(Sort::Name),
            page: Some(page),
            per_page: Some(500),
            ..Default::default()
        };
        let got = table(conn, p, run, &f).await?;
        let done = got.items.len() < 500;
        out.extend(got.items);
        if done {
            break;
        }
    }
    Ok(out)
}

fn cells(run: &Run, r: &ResultRow) -> [String; 10] {
    let grade =
        crate::registry::Grade::parse(&r.grade).map_or(r.grade.clone(), |g| g.label().into());
    [
        r.credit_code.clone(),
        r.name.clone(),
        r.county_name.clone(),
        grade,
        r.total.to_string(),
        r.final_total.to_string(),
        if r.final_no_2a { "是" } else { "否" }.into(),
        r.prev_total.map(|t| t.to_string()).unwrap_or_default(),
        r.open_objections.to_string(),
        format!("{}（{}）", run.number(), run.status.label()),
    ]
}

pub fn csv(run: &Run, rows: &[ResultRow]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let bad = |e: csv::Error| Error::Internal(e.to_string());
    w.write_record(HEADERS).map_err(bad)?;
    for r in rows {
        w.write_record(cells(run, r)).map_err(bad)?;
    }
    w.into_inner().map_err(|e| Error::Internal(e.to_string()))
}

pub fn xlsx(run: &Run, rows: &[ResultRow]) -> Result<Vec<u8>> {
    let bad = |e: rust_xlsxwriter::XlsxError| Error::Internal(e.to_string());
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(format!("{}年度", run.year)).map_err(bad)?;
    let bold = Format::new().set_bold();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(bad)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = u32::try_from(i + 1).map_err(|_| Error::Internal("行数超出范围".into()))?;
        for (c, v) in cells(run, r).iter().enumerate() {
            // Scores as numbers, so the credit system (and Excel) can sum and sort them.
            match (c, v.parse::<f64>()) {
                (4..=8, Ok(n)) => sheet.write_number(row, c as u16, n).map(|_| ()),
                _ => sheet.write_string(row, c as u16, v).map(|_| ()),
            }
            .map_err(bad)?;
        }
    }
    sheet.set_column_width(0, 22).map_err(bad)?;
    sheet.set_column_width(1, 36).map_err(bad)?;
    sheet.set_column_width(9, 28).map_err(bad)?;
    book.save_to_buffer().map_err(bad)
}
