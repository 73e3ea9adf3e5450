//! Recognizing a file's header row by meaning. Real exports name columns in their own words
//! (`承办单位答复时间`, `开发单位统一社会信用代码`), so after normalising, an exact synonym wins,
//! else a header *containing* one field's synonym maps to it (the longest contained synonym
//! deciding). A tie between fields is ambiguous and reported, never guessed; and every header
//! that maps to nothing is reported too, so no column is lost in silence.

use std::collections::HashMap;

use serde::Serialize;

use crate::tabular::{Cells, RawRow};
use crate::text;

/// A column an import expects, with the header names sources use for it.
pub struct Column<'a> {
    pub key: &'a str,
    pub synonyms: &'a [&'a str],
    pub required: bool,
}

/// A header cell the import did not use, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UnusedColumn {
    pub header: String,
    /// 未识别 / 重复 / 含义不明确, with the fields concerned.
    pub reason: String,
}

/// An optional field the file had no column for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MissingField {
    pub field: String,
    /// The field's first header name, for people.
    pub label: String,
}

/// How header cells are compared: half-width, no spaces, no required-field asterisks.
pub fn header_key(s: &str) -> String {
    text::halfwidth(s)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*')
        .collect()
}

/// "统一社会信用代码(必填)" → "统一社会信用代码"; only a trailing note is dropped, so
/// "县(市、区)" still matches its own synonym first.
fn strip_notes(s: &str) -> &str {
    match s.rfind('(') {
        Some(i) if s.ends_with(')') && i > 0 => &s[..i],
        _ => s,
    }
}

/// What one header cell means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    /// Equal to a synonym of this column (by index).
    Exact(usize),
    /// Contains a synonym of this column, longer than any other column's it contains.
    Contains(usize),
    /// Its longest contained synonyms belong to several columns.
    Ambiguous(Vec<usize>),
    None,
}

/// The columns' synonyms, normalised once per file.
pub struct Matcher<'c, 'a> {
    columns: &'c [Column<'a>],
    synonyms: Vec<Vec<String>>,
}

impl<'c, 'a> Matcher<'c, 'a> {
    pub fn new(columns: &'c [Column<'a>]) -> Self {
        let synonyms = columns
            .iter()
            .map(|c| {
                c.synonyms
                    .iter()
                    .map(|s| header_key(s))
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .collect();
        Matcher { columns, synonyms }
    }

    pub fn meaning(&self, header: &str) -> Meaning {
        let key = header_key(header);
        if key.is_empty() {
            return Meaning::None;
        }
        let stripped = strip_notes(&key);
        for candidate in [key.as_str(), stripped] {
            if let Some(i) = self
                .synonyms
                .iter()
                .position(|syns| syns.iter().any(|s| s == candidate))
            {
                return Meaning::Exact(i);
            }
        }
        let mut best = 0usize;
        let mut at: Vec<usize> = Vec::new();
        for (i, syns) in self.synonyms.iter().enumerate() {
            let longest = syns
                .iter()
                .filter(|s| stripped.contains(s.as_str()))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0);
            if longest == 0 || longest < best {
                continue;
            }
            if longest > best {
                best = longest;
                at.clear();
            }
            at.push(i);
        }
        match at.len() {
            0 => Meaning::None,
            1 => Meaning::Contains(at[0]),
            _ => Meaning::Ambiguous(at),
        }
    }

    fn key(&self, i: usize) -> &'a str {
        self.columns[i].key
    }

    /// Maps one candidate header row: exact matches claim their columns first, then headers
    /// that contain a synonym; within each, the first header wins and later ones are unused.
    fn map_row(&self, cells: &Cells) -> Mapping {
        let meanings: Vec<Meaning> = cells.iter().map(|c| self.meaning(c)).collect();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut used_by: HashMap<usize, usize> = HashMap::new();
        for exact in [true, false] {
            for (pos, m) in meanings.iter().enumerate() {
                let col = match (m, exact) {
                    (Meaning::Exact(i), true) | (Meaning::Contains(i), false) => *i,
                    _ => continue,
                };
                if let std::collections::hash_map::Entry::Vacant(v) =
                    index.entry(self.key(col).to_string())
                {
                    v.insert(pos);
                    used_by.insert(pos, col);
                }
            }
        }
        let mut unused = Vec::new();
        for (pos, m) in meanings.iter().enumerate() {
            if used_by.contains_key(&pos) {
                continue;
            }
            let header = text::clean(cells.get(pos).unwrap_or(""));
            let reason = match m {
                Meaning::None => "未识别".to_string(),
                Meaning::Exact(i) | Meaning::Contains(i) => {
                    let first = index
                        .get(self.key(*i))
                        .and_then(|p| cells.get(*p))
                        .map(text::clean)
                        .unwrap_or_default();
                    format!("重复：已使用“{first}”列作为 {}", self.key(*i))
                }
                Meaning::Ambiguous(cols) => format!(
                    "含义不明确：可能是 {}",
                    cols.iter()
                        .map(|i| self.key(*i))
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            };
            if !header.is_empty() {
                unused.push(UnusedColumn { header, reason });
            }
        }
        Mapping { index, unused }
    }
}

struct Mapping {
    index: HashMap<String, usize>,
    unused: Vec<UnusedColumn>,
}

/// How many leading rows may be titles, notes or blank before the header.
pub const HEADER_SEARCH_ROWS: usize = 30;

/// A recognized header row: which cell holds which column, and what was left over.
#[derive(Debug, Clone)]
pub struct Header {
    pub line: usize,
    pub headers: Vec<String>,
    index: HashMap<String, usize>,
    pub unused_columns: Vec<UnusedColumn>,
    pub missing_fields: Vec<MissingField>,
}

impl Header {
    pub fn matched(&self) -> usize {
        self.index.len()
    }

    pub fn has(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Which cell holds `key`.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// The raw cell of `key` in `row`; empty when the column or cell is missing.
    pub fn raw<'r>(&self, row: &'r RawRow, key: &str) -> &'r str {
        self.index
            .get(key)
            .and_then(|&i| row.cells.get(i))
            .unwrap_or("")
    }

    /// The tidied cell of `key` in `row`; empty when the column or cell is missing.
    pub fn cell(&self, row: &RawRow, key: &str) -> String {
        text::tidy(self.raw(row, key))
    }
}

/// Finds, among the first rows, the one that names every required column (or, failing that,
/// the best candidate, for the error). `Err` lists the headers found and the ones missing.
pub fn find_header(
    rows: &[RawRow],
    columns: &[Column<'_>],
) -> std::result::Result<(usize, Header), String> {
    let matcher = Matcher::new(columns);
    let mut best: Option<(usize, Mapping)> = None;
    for (pos, row) in rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        let mapping = matcher.map_row(&row.cells);
        let complete = columns
            .iter()
            .all(|c| !c.required || mapping.index.contains_key(c.key));
        if complete {
            best = Some((pos, mapping));
            break;
        }
        if best
            .as_ref()
            .is_none_or(|(_, b)| mapping.index.len() > b.index.len())
        {
            best = Some((pos, mapping));
        }
    }
    let Some((pos, mapping)) = best else {
        return Err("文件为空：没有任何数据行".into());
    };
    let Some(row) = rows.get(pos) else {
        return Err("文件为空：没有任何数据行".into());
    };
    let headers: Vec<String> = row.cells.iter().map(text::clean).collect();
    let missing: Vec<String> = columns
        .iter()
        .filter(|c| c.required && !mapping.index.contains_key(c.key))
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
            row.line,
            found.join("，")
        ));
    }
    let missing_fields = columns
        .iter()
        .filter(|c| !c.required && !mapping.index.contains_key(c.key))
        .map(|c| MissingField {
            field: c.key.to_string(),
            label: c.synonyms.first().copied().unwrap_or(c.key).to_string(),
        })
        .collect();
    Ok((
        pos,
        Header {
            line: row.line,
            headers,
            index: mapping.index,
            unused_columns: mapping.unused,
            missing_fields,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[Column] = &[
        Column {
            key: "responded_at",
            synonyms: &["企业答复时间", "答复时间", "反馈时间"],
            required: false,
        },
        Column {
            key: "closed_at",
            synonyms: &["办结时间", "结案时间"],
            required: false,
        },
        Column {
            key: "enterprise_code",
            synonyms: &["统一社会信用代码", "信用代码"],
            required: false,
        },
        Column {
            key: "enterprise_name",
            synonyms: &["开发单位", "开发企业"],
            required: false,
        },
    ];

    #[test]
    fn headers_by_meaning() {
        let m = Matcher::new(COLS);
        assert_eq!(m.meaning("承办单位答复时间"), Meaning::Contains(0));
        assert_eq!(m.meaning("企业反馈时间"), Meaning::Contains(0));
        assert_eq!(m.meaning(" 办结时间（必填） "), Meaning::Exact(1));
        assert_eq!(m.meaning("开发单位统一社会信用代码"), Meaning::Contains(2));
        assert_eq!(
            m.meaning("答复时间/结案时间"),
            Meaning::Ambiguous(vec![0, 1])
        );
        assert_eq!(m.meaning("序号"), Meaning::None);
    }

    #[test]
    fn exact_beats_contains_and_duplicates_are_reported() {
        let row = RawRow {
            line: 1,
            cells: [
                "承办单位答复时间",
                "序号",
                "答复时间",
                "答复时间",
                "答复时间/办结时间",
            ]
            .into_iter()
            .collect(),
        };
        let (_, h) = find_header(std::slice::from_ref(&row), COLS).unwrap();
        assert_eq!(h.raw(&row, "responded_at"), "答复时间");
        let unused: Vec<&str> = h.unused_columns.iter().map(|u| u.header.as_str()).collect();
        assert_eq!(
            unused,
            ["承办单位答复时间", "序号", "答复时间", "答复时间/办结时间"]
        );
        assert!(h.unused_columns[3].reason.contains("含义不明确"));
        let missing: Vec<&str> = h.missing_fields.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(missing, ["closed_at", "enterprise_code", "enterprise_name"]);
    }

    mod props {
        use proptest::prelude::*;

        use super::super::*;
        use crate::hotline::profile::Profile;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// A header built as noise + synonym + noise maps to the synonym's field, unless
            /// the header is reported as ambiguous between that field and another.
            #[test]
            fn noise_around_a_synonym_keeps_its_field(
                pick in any::<prop::sample::Index>(),
                before in "[甲乙丙丁戊xyz#0-9]{0,4}",
                after in "[甲乙丙丁戊xyz#0-9]{0,4}",
            ) {
                let profiles = Profile::all(None).unwrap();
                let p = &profiles[0];
                let synonyms: Vec<(String, Vec<&str>)> = p
                    .fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.iter().map(String::as_str).collect()))
                    .collect();
                let columns: Vec<Column> = synonyms
                    .iter()
                    .map(|(key, names)| Column { key, synonyms: names, required: false })
                    .collect();
                let all: Vec<(usize, &str)> = columns
                    .iter()
                    .enumerate()
                    .flat_map(|(i, c)| c.synonyms.iter().map(move |s| (i, *s)))
                    .collect();
                let (field, synonym) = all[pick.index(all.len())];
                let m = Matcher::new(&columns);
                match m.meaning(&format!("{before}{synonym}{after}")) {
                    Meaning::Exact(i) | Meaning::Contains(i) => prop_assert_eq!(i, field),
                    Meaning::Ambiguous(fields) => prop_assert!(fields.contains(&field)),
                    Meaning::None => prop_assert!(false, "{synonym} not recognized"),
                }
            }
        }
    }
}
