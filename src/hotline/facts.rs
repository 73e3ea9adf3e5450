//! A columnar copy of the ticket facts the metrics read, so that a year's metrics scan a few
//! arrays instead of decoding a million rows through the database driver (DESIGN §4: the
//! database stays the source of truth; this is a cache of it).
//!
//! The copy is one file per database, `<data-dir>/facts/tickets-<database id>.facts` (a data
//! directory may serve the demo and a real database in turn), stamped with the ticket
//! generation: a counter every transaction that changes tickets bumps (an import, an
//! assignment). The process that made the change patches the file in place of the old one;
//! any other instance, or this one after a restart or a failed patch, sees a file whose stamp
//! is not the database's and rebuilds it from the tickets table once. A stale file is never
//! read, so every instance computes the same figures from the same data. [`FactStore`]
//! (`facts_store.rs`) keeps the file and the current table in memory.

use std::collections::HashMap;

use futures_util::TryStreamExt;

use super::Satisfaction;
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

pub use super::facts_store::{FactStore, Writing};

const MAGIC: &[u8; 8] = b"ACFACTS1";
/// The columns, in file order, each `rows` little-endian i64 (`NULL` for a missing time).
const COLUMNS: usize = 13;
pub const NULL: i64 = i64::MIN;

/// One ticket as the metrics see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact<'a> {
    pub key: (u64, u64),
    pub enterprise: Option<i64>,
    pub received: i64,
    pub forwarded: Option<i64>,
    pub responded: Option<i64>,
    pub closed: Option<i64>,
    pub revisited: bool,
    pub revisited_at: Option<i64>,
    pub sat: Satisfaction,
    pub group: bool,
    pub source_fields: i64,
    pub category: &'a str,
}

/// A ticket's identity in the copy: a 128-bit digest of (source, ticket number), XXH3-128, a
/// fixed specification. The file records a probe value and is rebuilt if it differs: a copy
/// keyed by an earlier build's SipHash is rebuilt once.
pub fn key(source: &str, ticket_no: &str) -> (u64, u64) {
    // The number hashed with the source's own hash as the seed: two one-shot hashes, where
    // the streaming hasher's per-call cost was several times theirs.
    let seed = xxhash_rust::xxh3::xxh3_64(source.as_bytes());
    let digest = xxhash_rust::xxh3::xxh3_128_with_seed(ticket_no.as_bytes(), seed);
    ((digest >> 64) as u64, digest as u64)
}

fn probe() -> u64 {
    key("aftercare", "facts").0
}

fn opt(v: i64) -> Option<i64> {
    (v != NULL).then_some(v)
}

fn sat_code(s: Satisfaction) -> i64 {
    match s {
        Satisfaction::Satisfied => 0,
        Satisfaction::Basically => 1,
        Satisfaction::Dissatisfied => 2,
        Satisfaction::Unrated => 3,
    }
}

pub(super) fn sat_from(code: i64) -> Satisfaction {
    match code {
        0 => Satisfaction::Satisfied,
        1 => Satisfaction::Basically,
        2 => Satisfaction::Dissatisfied,
        _ => Satisfaction::Unrated,
    }
}

/// The facts of every ticket, column by column.
#[derive(Debug, Default, Clone)]
pub struct Table {
    pub generation: i64,
    cols: [Vec<i64>; COLUMNS],
    pub categories: Vec<String>,
}

/// Column positions.
const KEY_HI: usize = 0;
const KEY_LO: usize = 1;
pub const ENTERPRISE: usize = 2;
pub const RECEIVED: usize = 3;
pub const FORWARDED: usize = 4;
pub const RESPONDED: usize = 5;
pub const CLOSED: usize = 6;
pub const REVISITED: usize = 7;
pub const REVISITED_AT: usize = 8;
pub const SAT: usize = 9;
pub const GROUP: usize = 10;
pub const SOURCE_FIELDS: usize = 11;
pub const CATEGORY: usize = 12;

impl Table {
    pub fn rows(&self) -> usize {
        self.cols[0].len()
    }

    pub fn col(&self, c: usize) -> &[i64] {
        &self.cols[c]
    }

    pub fn opt(&self, c: usize, row: usize) -> Option<i64> {
        opt(self.cols[c][row])
    }

    fn category_code(&mut self, index: &mut HashMap<String, i64>, name: &str) -> i64 {
        if let Some(code) = index.get(name) {
            return *code;
        }
        let code = self.categories.len() as i64;
        self.categories.push(name.to_string());
        index.insert(name.to_string(), code);
        code
    }

    fn category_index(&self) -> HashMap<String, i64> {
        self.categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i as i64))
            .collect()
    }

    fn values(&mut self, f: &Fact, index: &mut HashMap<String, i64>) -> [i64; COLUMNS] {
        let o = |v: Option<i64>| v.unwrap_or(NULL);
        [
            f.key.0 as i64,
            f.key.1 as i64,
            o(f.enterprise),
            f.received,
            o(f.forwarded),
            o(f.responded),
            o(f.closed),
            i64::from(f.revisited),
            o(f.revisited_at),
            sat_code(f.sat),
            i64::from(f.group),
            f.source_fields,
            self.category_code(index, f.category),
        ]
    }

    pub fn push(&mut self, f: &Fact) {
        let mut index = self.category_index();
        let v = self.values(f, &mut index);
        for (col, x) in self.cols.iter_mut().zip(v) {
            col.push(x);
        }
    }

    /// Replaces the facts of tickets already present (by key) and appends the others. An
    /// empty table (a first load) takes the changes' columns as they are.
    pub fn apply(&mut self, changes: Changes) {
        let new = changes.table;
        if self.rows() == 0 {
            self.cols = new.cols;
            self.categories = new.categories;
            return;
        }
        let mut index = self.category_index();
        let codes: Vec<i64> = new
            .categories
            .iter()
            .map(|c| self.category_code(&mut index, c))
            .collect();
        // Sized once for every key it may hold: a million-ticket import grows it in one step.
        let mut at: super::FastMap<(u64, u64), usize> = super::FastMap::default();
        at.reserve(self.rows() + new.rows());
        at.extend((0..self.rows()).map(|r| {
            (
                (self.cols[KEY_HI][r] as u64, self.cols[KEY_LO][r] as u64),
                r,
            )
        }));
        for r in 0..new.rows() {
            let mut v: [i64; COLUMNS] = std::array::from_fn(|c| new.cols[c][r]);
            // Codes of `new` always index its own categories (`Changes::push`).
            v[CATEGORY] = codes[v[CATEGORY] as usize];
            let key = (v[KEY_HI] as u64, v[KEY_LO] as u64);
            match at.get(&key) {
                Some(&row) => {
                    for (col, x) in self.cols.iter_mut().zip(v) {
                        col[row] = x;
                    }
                }
                None => {
                    at.insert(key, self.rows());
                    for (col, x) in self.cols.iter_mut().zip(v) {
                        col.push(x);
                    }
                }
            }
        }
    }

    /// Re-attributes tickets (by key) after an officer's assignment.
    pub fn reassign(&mut self, keys: &[(u64, u64)], enterprise: i64) {
        let wanted: std::collections::HashSet<(u64, u64)> = keys.iter().copied().collect();
        for r in 0..self.rows() {
            let k = (self.cols[KEY_HI][r] as u64, self.cols[KEY_LO][r] as u64);
            if wanted.contains(&k) {
                self.cols[ENTERPRISE][r] = enterprise;
            }
        }
    }

    pub fn fact(&self, r: usize) -> Fact<'_> {
        Fact {
            key: (self.cols[KEY_HI][r] as u64, self.cols[KEY_LO][r] as u64),
            enterprise: self.opt(ENTERPRISE, r),
            received: self.cols[RECEIVED][r],
            forwarded: self.opt(FORWARDED, r),
            responded: self.opt(RESPONDED, r),
            closed: self.opt(CLOSED, r),
            revisited: self.cols[REVISITED][r] != 0,
            revisited_at: self.opt(REVISITED_AT, r),
            sat: sat_from(self.cols[SAT][r]),
            group: self.cols[GROUP][r] != 0,
            source_fields: self.cols[SOURCE_FIELDS][r],
            category: self
                .categories
                .get(self.cols[CATEGORY][r] as usize)
                .map_or("", String::as_str),
        }
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        let rows = self.rows();
        let mut out = Vec::with_capacity(64 + rows * COLUMNS * 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&probe().to_le_bytes());
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&(rows as u64).to_le_bytes());
        out.extend_from_slice(&(self.categories.len() as u64).to_le_bytes());
        for c in &self.categories {
            out.extend_from_slice(&(c.len() as u64).to_le_bytes());
            out.extend_from_slice(c.as_bytes());
        }
        for col in &self.cols {
            for v in col {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// `None` for a file this build did not write or that is cut short.
    #[cfg(test)]
    fn decode(bytes: &[u8]) -> Option<Table> {
        Table::read(&mut &bytes[..], bytes.len() as u64)
    }

    /// Reads a file of `len` bytes written by [`Table::encode`] straight into the columns, a
    /// block at a time: a whole file's copy beside the table would double the memory a
    /// computation touches, which a virtual machine pays for page by page. `None` for a file
    /// this build did not write, cut short or longer than its header says.
    pub(super) fn read(r: &mut impl std::io::Read, len: u64) -> Option<Table> {
        let mut r = Input { r, left: len };
        if r.take(8)? != MAGIC || r.u64()? != probe() {
            return None;
        }
        let generation = r.u64()? as i64;
        let rows = usize::try_from(r.u64()?).ok()?;
        let n_cat = usize::try_from(r.u64()?).ok()?;
        let mut categories = Vec::with_capacity(n_cat.min(4096));
        for _ in 0..n_cat {
            let len = usize::try_from(r.u64()?).ok()?;
            categories.push(String::from_utf8(r.take(len)?).ok()?);
        }
        // Checked before anything is allocated for the rows the header claims.
        let col_bytes = rows.checked_mul(8)?;
        if u64::try_from(col_bytes.checked_mul(COLUMNS)?).ok()? != r.left {
            return None;
        }
        let mut block = vec![0u8; (64 << 10).min(col_bytes.max(8))];
        let mut cols: [Vec<i64>; COLUMNS] = Default::default();
        for col in cols.iter_mut() {
            col.reserve_exact(rows);
            let mut need = col_bytes;
            while need > 0 {
                let n = need.min(block.len());
                r.r.read_exact(&mut block[..n]).ok()?;
                col.extend(
                    block[..n]
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
                );
                need -= n;
            }
        }
        Some(Table {
            generation,
            cols,
            categories,
        })
    }
}

/// A file being read, with the bytes it has left.
struct Input<'a, R> {
    r: &'a mut R,
    left: u64,
}

impl<R: std::io::Read> Input<'_, R> {
    fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        let n64 = u64::try_from(n).ok()?;
        self.left = self.left.checked_sub(n64)?;
        let mut out = vec![0; n];
        self.r.read_exact(&mut out).ok()?;
        Some(out)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// The facts an import changes, column by column as it decides them, with their own list of
/// categories: no per-ticket value survives the row, and a first load's columns become the
/// copy's as they are ([`Table::apply`]). Each key at most once: an import refuses a ticket
/// number its file repeats, and a file has one source.
#[derive(Debug, Default)]
pub struct Changes {
    table: Table,
    index: HashMap<String, i64>,
}

impl Changes {
    /// Room for `rows` changes, reserved (not touched) at once.
    pub fn with_capacity(rows: usize) -> Changes {
        let mut table = Table::default();
        for col in table.cols.iter_mut() {
            col.reserve(rows);
        }
        Changes {
            table,
            index: HashMap::new(),
        }
    }

    pub fn push(&mut self, f: &Fact) {
        let v = self.table.values(f, &mut self.index);
        for (col, x) in self.table.cols.iter_mut().zip(v) {
            col.push(x);
        }
    }

    pub fn len(&self) -> usize {
        self.table.rows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The database's id and ticket generation.
pub async fn generation(conn: &mut Conn<'_>) -> Result<(String, i64)> {
    Ok(on_conn!(conn, |c| sqlx::query_as(
        "SELECT db_id, tickets FROM generations WHERE id = 1"
    )
    .fetch_one(c)
    .await)?)
}

/// One committed change of the tickets: which database, and the generations around it.
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub db: String,
    pub from: i64,
    pub to: i64,
}

/// Moves the ticket generation on, inside the caller's transaction.
pub async fn bump(conn: &mut Conn<'_>) -> Result<Step> {
    let (db, to): (String, i64) = on_conn!(conn, |c| sqlx::query_as(
        "UPDATE generations SET tickets = tickets + 1 WHERE id = 1 RETURNING db_id, tickets"
    )
    .fetch_one(c)
    .await)?;
    Ok(Step {
        db,
        from: to - 1,
        to,
    })
}

type Row = (
    String,
    String,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    bool,
    Option<i64>,
    Satisfaction,
    bool,
    i64,
    String,
);

/// Reads every ticket's facts from the database: the slow path, once per generation.
pub(super) async fn rebuild(conn: &mut Conn<'_>, generation: i64) -> Result<Table> {
    let mut t = Table {
        generation,
        ..Table::default()
    };
    let mut index = HashMap::new();
    let sql = "SELECT source, ticket_no, enterprise_id, received_at, forwarded_at, responded_at, closed_at,
                      revisited, revisited_at, satisfaction, group_petition, source_fields, category
               FROM tickets";
    on_conn!(conn, |c| {
        let mut rows = sqlx::query_as::<_, Row>(sql).fetch(c);
        while let Some((src, no, e, rec, fwd, resp, closed, rev, rev_at, sat, group, fields, cat)) =
            rows.try_next().await?
        {
            let f = Fact {
                key: key(&src, &no),
                enterprise: e,
                received: rec,
                forwarded: fwd,
                responded: resp,
                closed,
                revisited: rev,
                revisited_at: rev_at,
                sat,
                group,
                source_fields: fields,
                category: &cat,
            };
            let v = t.values(&f, &mut index);
            for (col, x) in t.cols.iter_mut().zip(v) {
                col.push(x);
            }
        }
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact<'a>(no: &str, e: Option<i64>, cat: &'a str) -> Fact<'a> {
        Fact {
            key: key("12345", no),
            enterprise: e,
            received: 1_700_000_000,
            forwarded: Some(1_700_000_100),
            responded: None,
            closed: Some(1_700_100_000),
            revisited: true,
            revisited_at: None,
            sat: Satisfaction::Basically,
            group: false,
            source_fields: 0b101,
            category: cat,
        }
    }

    #[test]
    fn encode_decode_round_trips_and_patches_by_key() {
        let mut t = Table {
            generation: 7,
            ..Table::default()
        };
        t.push(&fact("A1", Some(3), "质量"));
        t.push(&fact("A2", None, "物业"));
        let back = Table::decode(&t.encode()).expect("decodes");
        assert_eq!(back.generation, 7);
        assert_eq!(back.fact(0), fact("A1", Some(3), "质量"));
        assert_eq!(back.fact(1), fact("A2", None, "物业"));

        let mut t = back;
        let mut changes = Changes::with_capacity(2);
        changes.push(&fact("A2", Some(9), "质量"));
        changes.push(&fact("A3", Some(4), "其他"));
        t.apply(changes);
        assert_eq!(t.rows(), 3);
        assert_eq!(t.fact(1).enterprise, Some(9));
        t.reassign(&[key("12345", "A3")], 5);
        assert_eq!(t.fact(2).enterprise, Some(5));
        assert_eq!(t.categories, vec!["质量", "物业", "其他"]);
    }

    #[test]
    fn a_first_load_takes_the_changes_as_they_are() {
        let facts = [
            fact("A1", Some(3), "其他"),
            fact("A2", None, "质量"),
            fact("A3", Some(4), "其他"),
        ];
        let mut changes = Changes::with_capacity(1);
        let mut one_by_one = Table::default();
        for f in &facts {
            changes.push(f);
            one_by_one.push(f);
        }
        assert_eq!(changes.len(), 3);
        let mut t = Table::default();
        t.apply(changes);
        assert_eq!(t.encode(), one_by_one.encode());

        // A later import's categories are mapped onto the table's own codes.
        let mut later = Changes::default();
        later.push(&fact("A4", Some(5), "质量"));
        later.push(&fact("A1", Some(6), "物业"));
        t.apply(later);
        assert_eq!(t.rows(), 4);
        assert_eq!(t.fact(0), fact("A1", Some(6), "物业"));
        assert_eq!(t.fact(3), fact("A4", Some(5), "质量"));
        assert_eq!(t.categories, vec!["其他", "质量", "物业"]);
    }

    #[test]
    fn truncated_or_foreign_files_are_not_read() {
        let mut t = Table::default();
        t.push(&fact("A1", Some(3), "质量"));
        let bytes = t.encode();
        assert!(Table::decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(Table::decode(b"not a facts file").is_none());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Table::decode(&longer).is_none());
    }
}
