//! A run's results as a file for the bureau's main credit system: CSV (UTF-8 with a byte-order
//! mark, which Excel needs to read Chinese) or XLSX, one row per enterprise within the
//! caller's scope, with the totals as they stand after objections.

use super::results::{table, Filter, ResultRow, Sort};
use super::run::Run;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::sheet::{self, col, Cell, Column};

const WIDTHS: [f64; 10] = [22.0, 36.0, 10.0, 10.0, 10.0, 10.0, 16.0, 10.0, 10.0, 28.0];

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
    let filter = Filter {
        sort: Some(Sort::Name),
        ..Default::default()
    };
    Ok(crate::every_page!(filter, |f| table(conn, p, run, &f).await?))
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
        format!(
            "{}（{}{}）",
            run.number(),
            run.status.label(),
            if run.forced {
                "，超出规则集有效期强制评价"
            } else {
                ""
            }
        ),
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
    let columns: Vec<Column> = HEADERS.iter().zip(WIDTHS).map(|(h, w)| col(h, w)).collect();
    let rows = rows
        .iter()
        .map(|r| {
            cells(run, r)
                .into_iter()
                .enumerate()
                // Scores as numbers, so the credit system (and Excel) can sum and sort them.
                .map(|(c, v)| match (c, v.parse::<i64>()) {
                    (4..=8, Ok(n)) => Cell::Int(n),
                    _ => Cell::Text(v),
                })
                .collect()
        })
        .collect();
    sheet::workbook(&format!("{}年度", run.year), &columns, rows)
}
