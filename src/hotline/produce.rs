//! Turning an export's rows into tickets to store: parse, refuse duplicates and rows outside
//! the importer's county, tell unchanged rows from updated ones, classify and attribute. It
//! runs in two stages on threads of their own, handing full batches to the writer, so that
//! on two cores reading, parsing, attributing and storing overlap: the first stage parses,
//! hashes and classifies each row (work that needs nothing but the row), the second decides
//! in file order what becomes of it (duplicates, county, unchanged, attribution, counts).

use std::collections::HashMap;

use tokio::sync::mpsc;

use super::attribute::{Attributor, Registry};
use super::classify::Classifier;
use super::facts::{self, Changes, Fact};
use super::row::{parse_row, Columns, Text, Ticket};
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
    pub classifier: &'static Classifier,
    /// Indexed on the deciding stage's thread while the first rows are parsed.
    pub registry: Registry,
    pub counties: HashMap<String, i64>,
    pub existing: FastMap<String, Existing>,
    /// Whether to collect the facts the import changes (for patching the facts copy).
    pub keep_facts: bool,
    pub batch: usize,
    /// About how many rows the file has, to size what grows with them.
    pub expected_rows: usize,
}

/// What a producer made of the file besides the tickets it handed on.
#[derive(Default)]
pub struct Produced {
    pub summary: core::Summary,
    pub unmatched: usize,
    pub rejected_rows: Vec<RawRow>,
    pub changes: Changes,
}

/// Rows handed from the parsing stage to the deciding stage at a time.
const PARSED_CHUNK: usize = 256;

/// Chunks the parsing stage may run ahead of the deciding stage: ~65,000 rows, ~50 MB. Ahead
/// by this much, it parses while the deciding stage indexes the registry (~0.2 s for 30,000
/// projects) instead of waiting for it with a core idle.
const PARSED_AHEAD: usize = 256;

/// A row after the first stage: the ticket it parsed to (hashed, and classified unless it is
/// unchanged), or why it cannot be one.
struct Parsed {
    row: RawRow,
    ticket: std::result::Result<Ticket, String>,
}

/// The first stage's inputs: all read-only, shared with the second stage.
struct Parse<'a> {
    columns: &'a Columns,
    source_fields: i64,
    classifier: &'static Classifier,
    existing: &'a FastMap<String, Existing>,
}

impl Parse<'_> {
    fn parse(&self, row: RawRow) -> Parsed {
        let ticket = parse_row(self.columns, &row).map(|mut t| {
            let stored = self.existing.get(t.ticket_no()).map(|k| &k.hash);
            t.row_hash = match stored {
                Some(digest) => t.digest_like(digest),
                None => t.source_hash(),
            };
            t.source_fields = self.source_fields;
            // An unchanged ticket is not stored: no need to classify it.
            if stored != Some(&t.row_hash) {
                let class = self.classifier.classify(
                    t.text(Text::SourceCategory),
                    t.text(Text::Content),
                    t.group_petition,
                );
                t.category = class.category;
                t.subcategory = class.subcategory;
                t.severity = class.severity.code();
            }
            t
        });
        Parsed { row, ticket }
    }

    /// Parses `head` and then the rest of `rows`, in order, until the receiver hangs up.
    fn run(
        &self,
        head: Vec<RawRow>,
        rows: &mut RowStream,
        to_decide: &std::sync::mpsc::SyncSender<Result<Vec<Parsed>>>,
    ) {
        let mut chunk = Vec::with_capacity(PARSED_CHUNK);
        let mut head = head.into_iter();
        loop {
            let row = match head.next() {
                Some(row) => row,
                None => match rows.next_blocking() {
                    Some(Ok(row)) => row,
                    Some(Err(e)) => {
                        let _ = to_decide.send(Ok(chunk));
                        let _ = to_decide.send(Err(e));
                        return;
                    }
                    None => break,
                },
            };
            chunk.push(self.parse(row));
            if chunk.len() == PARSED_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(PARSED_CHUNK));
                if to_decide.send(Ok(full)).is_err() {
                    return;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = to_decide.send(Ok(chunk));
        }
    }
}

impl Producer {
    /// Reads `head` and then the rest of `rows`, sending full batches to `to_writer`. Blocking:
    /// run it on a blocking thread (it starts the parsing stage on another). Stops early,
    /// without an error, when the writer has gone (it failed, and reports why).
    pub fn run(
        self,
        mut out: Produced,
        head: Vec<RawRow>,
        mut rows: RowStream,
        to_writer: mpsc::Sender<Vec<Ticket>>,
    ) -> Result<Produced> {
        let Producer {
            columns,
            source,
            source_fields,
            only_county,
            classifier,
            registry,
            counties,
            existing,
            keep_facts,
            batch,
            expected_rows,
        } = self;
        if keep_facts {
            out.changes = Changes::with_capacity(expected_rows);
        }
        let parse = Parse {
            columns: &columns,
            source_fields,
            classifier,
            existing: &existing,
        };
        let (to_decide, parsed) =
            std::sync::mpsc::sync_channel::<Result<Vec<Parsed>>>(PARSED_AHEAD);
        let (parse, rows) = (&parse, &mut rows);
        std::thread::scope(|scope| {
            // The sender moves into the stage: the deciding loop ends when the stage does.
            let parsing = std::thread::Builder::new()
                .name("import-parse".into())
                .spawn_scoped(scope, move || parse.run(head, rows, &to_decide))
                .map_err(|e| Error::Internal(format!("无法启动解析工单的线程：{e}")))?;
            let mut decide = Decide {
                expected_rows,
                source,
                only_county,
                attributor: registry.index(),
                counties,
                keep_facts,
                batch,
            };
            let decided = decide.all(&mut out, &parsed, &existing, &to_writer);
            // Hanging up stops the parsing stage if deciding stopped first.
            drop(parsed);
            parsing
                .join()
                .map_err(|_| Error::Internal("解析工单的线程失败".into()))?;
            decided
        })?;
        Ok(out)
    }
}

/// The second stage's inputs.
struct Decide {
    expected_rows: usize,
    source: String,
    only_county: Option<i64>,
    attributor: Attributor,
    counties: HashMap<String, i64>,
    keep_facts: bool,
    batch: usize,
}

impl Decide {
    /// Takes parsed rows in file order and batches the tickets to store.
    fn all(
        &mut self,
        out: &mut Produced,
        parsed: &std::sync::mpsc::Receiver<Result<Vec<Parsed>>>,
        existing: &FastMap<String, Existing>,
        to_writer: &mpsc::Sender<Vec<Ticket>>,
    ) -> Result<()> {
        // By the facts' key of the ticket number: no copy of each number.
        let mut first_line: FastMap<(u64, u64), usize> = FastMap::default();
        first_line.reserve(self.expected_rows);
        let mut batch: Vec<Ticket> = Vec::with_capacity(self.batch);
        for chunk in parsed.iter() {
            for Parsed { row, ticket } in chunk? {
                out.summary.rows += 1;
                // Decided in place: a ticket is a few hundred bytes, moved once, into the batch.
                let decided = ticket.and_then(|mut t| {
                    self.ticket(&mut t, &row, existing, &mut first_line, out)
                        .map(|store| store.then_some(t))
                });
                match decided {
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
                        return Ok(());
                    }
                }
            }
        }
        if !batch.is_empty() {
            let _ = to_writer.blocking_send(batch);
        }
        Ok(())
    }

    /// Completes a parsed row's ticket and tells whether to store it (not when unchanged);
    /// `Err` with the reason to reject it.
    fn ticket(
        &mut self,
        t: &mut Ticket,
        row: &RawRow,
        existing: &FastMap<String, Existing>,
        first_line: &mut FastMap<(u64, u64), usize>,
        out: &mut Produced,
    ) -> std::result::Result<bool, String> {
        let key = facts::key(&self.source, t.ticket_no());
        if let Some(first) = first_line.get(&key) {
            return Err(format!("工单编号 {} 与第{first}行重复", t.ticket_no()));
        }
        first_line.insert(key, row.line);
        let known = existing.get(t.ticket_no());
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
        let is_update = match known {
            Some(k) if k.hash == t.row_hash => {
                out.summary.unchanged += 1;
                return Ok(false);
            }
            Some(_) => true,
            None => false,
        };
        let m = self.attributor.attribute(
            t.text(Text::CreditCode),
            t.text(Text::Enterprise),
            t.text(Text::Community),
        );
        t.enterprise_id = m.enterprise_id;
        t.project_id = m.project_id;
        t.attribution = m.how.code();
        t.attribution_score = m.score;
        t.county_id = m
            .enterprise_id
            .and_then(|e| self.attributor.county_of.get(&e).copied())
            .or_else(|| {
                self.counties
                    .get(text::clean_cow(t.text(Text::District)).as_ref())
                    .copied()
            });
        if let (Some(own), Some(other)) = (self.only_county, t.county_id) {
            if own != other {
                return Err(OTHER_COUNTY.into());
            }
        }
        t.stored = is_update;
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
            out.changes.push(&fact_of(key, t, manual));
        }
        Ok(true)
    }
}

fn fact_of(key: (u64, u64), t: &Ticket, manual: Option<i64>) -> Fact<'static> {
    Fact {
        key,
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
        category: t.category,
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
