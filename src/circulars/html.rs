//! HTML of a circular: the same content as the DOCX and PDF, charts as inline SVG (text stays
//! text). `body` goes into the portal's page; `document` is a standalone file for the CLI and
//! downloads.

use askama::Template;

use super::chart;
use super::content::{Block, Content};
use super::Stamp;
use crate::error::{Error, Result};

pub struct TableView {
    pub caption: String,
    pub headers: Vec<String>,
    /// Each cell with whether it is a figure (right-aligned).
    pub rows: Vec<Vec<(String, bool)>>,
    pub omitted: usize,
}

pub enum View {
    Heading(String),
    Paragraph(String),
    Table(TableView),
    /// SVG drawn by plotters, which escapes the text it writes.
    Chart(String),
}

pub struct DocView {
    pub issuer: String,
    pub number: String,
    pub title: String,
    pub addressee: String,
    pub blocks: Vec<View>,
    pub date: String,
    pub footer: String,
}

#[derive(Template)]
#[template(path = "circular_doc.html")]
struct Standalone<'a> {
    d: &'a DocView,
    /// The same layout the portal serves in its stylesheet.
    css: &'static str,
}

#[derive(Template)]
#[template(path = "circular_body.html")]
struct Body<'a> {
    d: &'a DocView,
}

pub fn view(c: &Content, stamp: &Stamp) -> Result<DocView> {
    let mut blocks = Vec::with_capacity(c.blocks.len());
    for b in &c.blocks {
        blocks.push(match b {
            Block::Heading { text } => View::Heading(text.clone()),
            Block::Paragraph { text } => View::Paragraph(text.clone()),
            Block::Table(t) => View::Table(TableView {
                caption: t.caption.clone(),
                headers: t.columns.iter().map(|c| c.header.clone()).collect(),
                rows: t
                    .rows
                    .iter()
                    .map(|r| {
                        r.iter()
                            .zip(&t.columns)
                            .map(|(cell, col)| (cell.clone(), col.numeric))
                            .collect()
                    })
                    .collect(),
                omitted: t.omitted,
            }),
            Block::Chart { chart: ch } => View::Chart(chart::svg(ch, 900, 420)?),
        });
    }
    Ok(DocView {
        issuer: c.issuer.clone(),
        number: stamp.number_text(),
        title: c.title.clone(),
        addressee: c.addressee.clone(),
        blocks,
        date: crate::notify::templates::cn_date(stamp.date),
        footer: c.sources.footer(),
    })
}

fn failed(e: askama::Error) -> Error {
    Error::Internal(format!("生成HTML失败：{e}"))
}

/// The circular's body, for a page that wraps it.
pub fn body(d: &DocView) -> Result<String> {
    Body { d }.render().map_err(failed)
}

/// The circular as a standalone HTML file.
pub fn document(c: &Content, stamp: &Stamp) -> Result<String> {
    let d = view(c, stamp)?;
    Standalone {
        d: &d,
        css: include_str!("../../assets/circular.css"),
    }
    .render()
    .map_err(failed)
}
