//! A circular's content: what every output (DOCX, PDF, HTML) draws, built once from the data
//! and stored whole, so an issued circular reads the same forever and its three files agree.

use serde::{Deserialize, Serialize};

use super::chart::Chart;
use super::period::Period;
use super::Kind;

/// Rows in one table of a circular. A named list longer than this says how many it left out
/// (and the officer exports the full list from the table pages); a document of more would not
/// be read, and each row costs layout in every output.
pub const MAX_TABLE_ROWS: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Content {
    pub kind: Kind,
    pub period: Period,
    /// The county a county circular covers; none for the city.
    pub county: Option<CountyRef>,
    /// 发文机关: the bureau issuing it, printed in red at the top (红头).
    pub issuer: String,
    pub title: String,
    /// 主送机关, ending with a colon.
    pub addressee: String,
    pub blocks: Vec<Block>,
    pub sources: Sources,
    /// Enterprises the circular names: it is listed in their portal once issued.
    pub named: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountyRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// 一、二、… headings.
    Heading {
        text: String,
    },
    Paragraph {
        text: String,
    },
    Table(Table),
    Chart {
        chart: Chart,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub caption: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
    /// Rows left out beyond [`MAX_TABLE_ROWS`]; said under the table.
    pub omitted: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub header: String,
    /// Share of the table's width, in parts of the sum over all columns.
    pub width: u32,
    /// Figures are right-aligned.
    pub numeric: bool,
}

impl Column {
    pub fn text(header: &str, width: u32) -> Column {
        Column {
            header: header.into(),
            width,
            numeric: false,
        }
    }

    pub fn number(header: &str, width: u32) -> Column {
        Column {
            header: header.into(),
            width,
            numeric: true,
        }
    }
}

impl Table {
    pub fn new(caption: impl Into<String>, columns: Vec<Column>) -> Table {
        Table {
            caption: caption.into(),
            columns,
            rows: Vec::new(),
            omitted: 0,
        }
    }

    /// Adds a row, or counts it as left out past [`MAX_TABLE_ROWS`].
    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.columns.len());
        if self.rows.len() < MAX_TABLE_ROWS {
            self.rows.push(row);
        } else {
            self.omitted += 1;
        }
    }
}

/// What the circular was built from, shown in every output's footer: the figures can be
/// traced back and checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sources {
    /// The first and last day covered.
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    /// When the data was read (Beijing time, `2026-11-30 14:05`).
    pub built_at: String,
    /// The evaluation run cited, for the evaluation circular.
    pub run: Option<RunRef>,
    /// The generation of the ticket facts the hotline figures were computed from.
    pub tickets_generation: Option<i64>,
    /// The rule set whose parameters set the thresholds applied.
    pub rule_set: Option<String>,
    /// SHA-256 of the content's blocks: equal blocks, equal hash.
    pub content_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRef {
    pub id: i64,
    pub year: i32,
    pub rules_hash: String,
    pub inputs_hash: String,
    pub results_hash: String,
}

impl Sources {
    /// One line for a footer: `数据来源：…`.
    pub fn footer(&self) -> String {
        let mut parts = vec![format!("统计期间 {} 至 {}", self.from, self.to)];
        if let Some(r) = &self.run {
            parts.push(format!(
                "评价批次 #{}（规则 {}，输入 {}，结果 {}）",
                r.id,
                short(&r.rules_hash),
                short(&r.inputs_hash),
                short(&r.results_hash)
            ));
        }
        if let Some(g) = self.tickets_generation {
            parts.push(format!("工单数据第{g}版"));
        }
        if let Some(r) = &self.rule_set {
            parts.push(format!("规则集 {r}"));
        }
        parts.push(format!("数据读取于 {}", self.built_at));
        parts.push(format!("内容校验 {}", short(&self.content_hash)));
        parts.join("；")
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// A count and its share, as the documents print it: `12（34.3%）`; no share of nothing.
pub fn count_pct(n: i64, of: i64) -> String {
    if of > 0 {
        format!("{n}（{:.1}%）", n as f64 * 100.0 / of as f64)
    } else {
        format!("{n}")
    }
}

/// A rate as a percentage with one decimal, or 无数据 when it is unknown (never 0).
pub fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(|| "无数据".into(), |r| format!("{:.1}%", r * 100.0))
}

/// A figure with two decimals, or 无数据.
pub fn dec2(v: Option<f64>) -> String {
    v.map_or_else(|| "无数据".into(), |v| format!("{v:.2}"))
}
