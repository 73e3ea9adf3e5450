//! Turning an export's rows into tickets to store: parse, refuse duplicates and rows outside
//! the importer's county, tell unchanged rows from updated ones, classify and attribute. It
//! runs on a blocking thread of its own, handing full batches to the writer, so that on two
//! cores the parsing of one batch overlaps with SQLite storing the one before.

use std::collections::HashMap;

use tokio::sync::mpsc;

use super::attribute::Attributor;
use super::classify::Classifier;
use super::facts::{self, Fact};
use super::row::{parse_row, Columns, Ticket};
use super::FastMap;
use super::Satisfaction;
use crate::error::{Error, Result};
use crate::import as core;
use crate::tabular::{RawRow, RowStream};
use crate::text;

/// The reason for a row a county officer may not import: the same whether the row resolves
/// to another county or names a ticket another county holds, so counts reveal nothing.
const OTHER_COUNTY: &str = "工单属于其他县区，无权导入";

/// What the import knows of a ticket already stored.
pub struct Existing {
    pub hash: String,
    pub county: Option<i64>,
    /// The enterprise an officer assigned it to, which a re-import keeps.
    pub manual: Option<i64>,
}

/// The inputs a producer reads rows with.
pub struct Producer {
    pub columns: Columns,
    pub source: String,
    pub source_fields: i64,
    pub only_county: Option<i64>,
    pub classifier: Classifier,
    pub attributor: Attributor,
    pub counties: HashMap<String, i64>,
    pub existing: FastMap<String, Existing>,
    /// Whether to collect the facts the import changes (for patching the facts copy).
    pub keep_facts: bool,
    pub batch: usize,
}

/// What a producer made of the file besides the tickets it handed on.
#[derive(Default)]
pub struct Produced {
    pub summary: core::Summary,
    pub unmatched: usize,
    pub rejected_rows: Vec<RawRow>,
    pub changes: Vec<Fact>,
}

impl Producer {
    /// Reads `head` and then the rest of `rows`, sending full batches to `to_writer`. Blocking:
    /// run it on a blocking thread. Stops early, without an error, when the writer has gone
    /// (it failed, and reports why).
    pub fn run(
        mut self,
        mut out: Produced,
        head: Vec<RawRow>,
        mut rows: RowStream,
        to_writer: mpsc::Sender<Vec<Ticket>>,
    ) -> Result<Produced> {
        let mut first_line: FastMap<String, usize> = FastMap::default();
        let mut batch: Vec<Ticket> = Vec::with_capacity(self.batch);
        let mut head = head.into_iter();
        loop {
            let row = match head.next() {
                Some(row) => row,
                None => match rows.next_blocking() {
                    Some(row) => row?,
                    None => break,
                },
            };
            out.summary.rows += 1;
            match self.ticket(&row, &mut first_line, &mut out) {
                Ok(Some(t)) => batch.push(t),
                Ok(None) => {}
                Err(reason) => {
                    out.summary.reject(row.line, reason);
                    out.rejected_rows.push(row);
                }
            }
            if batch.len() == self.batch {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(self.batch));
                if to_writer.blocking_send(full).is_err() {
                    return Ok(out);
                }
            }
        }
        if !batch.is_empty() {
            let _ = to_writer.blocking_send(batch);
        }
        Ok(out)
    }

    /// The ticket to store for a row; `None` when it is unchanged; `Err` with the reason to
    /// reject it.
    fn ticket(
        &mut self,
        row: &RawRow,
        first_line: &mut FastMap<String, usize>,
        out: &mut Produced,
    ) -> std::result::Result<Option<Ticket>, String> {
        let mut t = parse_row(&self.columns, row)?;
        if let Some(first) = first_line.get(&t.ticket_no) {
            return Err(format!("工单编号 {} 与第{first}行重复", t.ticket_no));
        }
        first_line.insert(t.ticket_no.clone(), row.line);
        let known = self.existing.get(&t.ticket_no);
        if let (
            Some(own),
            Some(Existing {
                county: Some(held), ..
            }),
        ) = (self.only_county, known)
        {
            if own != *held {
                return Err(OTHER_COUNTY.into());
            }
        }
        t.row_hash = t.source_hash();
        t.source_fields = self.source_fields;
        let is_update = match known {
            Some(k) if k.hash == t.row_hash => {
                out.summary.unchanged += 1;
                return Ok(None);
            }
            Some(_) => true,
            None => false,
        };
        let class = self
            .classifier
            .classify(&t.source_category, &t.content, t.group_petition);
        t.category = class.category;
        t.subcategory = class.subcategory;
        t.severity = class.severity.code();
        let m =
            self.attributor
                .attribute(&t.credit_code_text, &t.enterprise_text, &t.community_text);
        t.enterprise_id = m.enterprise_id;
        t.project_id = m.project_id;
        t.attribution = m.how.code();
        t.attribution_score = m.score;
        t.county_id = m
            .enterprise_id
            .and_then(|e| self.attributor.county_of.get(&e).copied())
            .or_else(|| self.counties.get(&text::clean(&t.district)).copied());
        if let (Some(own), Some(other)) = (self.only_county, t.county_id) {
            if own != other {
                return Err(OTHER_COUNTY.into());
            }
        }
        if is_update {
            out.summary.updated += 1;
        } else {
            out.summary.inserted += 1;
        }
        if m.enterprise_id.is_none() {
            out.unmatched += 1;
        }
        if self.keep_facts {
            let manual = known.and_then(|k| k.manual);
            out.changes.push(fact_of(&self.source, &t, manual));
        }
        Ok(Some(t))
    }
}

fn fact_of(source: &str, t: &Ticket, manual: Option<i64>) -> Fact {
    Fact {
        key: facts::key(source, &t.ticket_no),
        enterprise: manual.or(t.enterprise_id),
        received: t.received_at,
        forwarded: t.forwarded_at,
        responded: t.responded_at,
        closed: t.closed_at,
        revisited: t.revisited,
        revisited_at: t.revisited_at,
        sat: t.satisfaction.unwrap_or(Satisfaction::Unrated),
        group: t.group_petition,
        source_fields: t.source_fields,
        category: t.category.clone(),
    }
}

/// Runs a producer on a blocking thread.
pub async fn spawn(
    producer: Producer,
    out: Produced,
    head: Vec<RawRow>,
    rows: RowStream,
    to_writer: mpsc::Sender<Vec<Ticket>>,
) -> Result<Produced> {
    tokio::task::spawn_blocking(move || producer.run(out, head, rows, to_writer))
        .await
        .map_err(|e| Error::Internal(format!("解析工单的线程失败：{e}")))?
}
