//! Mapping profiles: which header of a source's export holds which ticket field. Profiles
//! are TOML files: the ones shipped under `hotline/profiles/` are embedded, and a bureau adds
//! its own in `<data-dir>/hotline-profiles/` (or names one file on the command line). A file
//! is read with the profile that recognizes all of its required fields and the most others.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::import::{find_header, Column, Header};
use crate::tabular::RawRow;

const SHIPPED: &[&str] = &[include_str!("../../hotline/profiles/12345-default.toml")];

/// Every field a profile may map; `ticket_no`, `received_at` and `content` are always needed.
pub const FIELDS: &[&str] = &[
    "ticket_no",
    "received_at",
    "channel",
    "district",
    "community",
    "enterprise",
    "credit_code",
    "category",
    "content",
    "forwarded_at",
    "deadline_at",
    "responded_at",
    "closed_at",
    "satisfaction",
    "revisited",
    "revisited_at",
    "group_petition",
];

/// Bit `i` set when the file had a column for `FIELDS[i]`: stored with every ticket, so the
/// metrics can tell a missing column from a zero.
pub fn field_mask(header: &Header) -> i64 {
    FIELDS
        .iter()
        .enumerate()
        .filter(|(_, f)| header.has(f))
        .fold(0, |mask, (i, _)| mask | (1 << i))
}

/// The bit of one field in [`field_mask`].
pub fn field_bit(field: &str) -> i64 {
    FIELDS
        .iter()
        .position(|f| *f == field)
        .map(|i| 1 << i)
        .unwrap_or(0)
}

/// The fields the file had a column for, as a comma list (kept per import).
pub fn field_list(header: &Header) -> String {
    FIELDS
        .iter()
        .filter(|f| header.has(f))
        .copied()
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub source: String,
    #[serde(default)]
    pub required: Vec<String>,
    pub fields: BTreeMap<String, Vec<String>>,
}

impl Profile {
    pub fn parse(text: &str, origin: &str) -> Result<Profile> {
        let mut p: Profile = toml::from_str(text)
            .map_err(|e| Error::invalid("profile", format!("映射配置 {origin} 有误：{e}")))?;
        if let Some(unknown) = p.fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(Error::invalid(
                "profile",
                format!(
                    "映射配置 {origin} 含未知字段“{unknown}”，可用：{}",
                    FIELDS.join("、")
                ),
            ));
        }
        for must in ["ticket_no", "received_at", "content"] {
            if !p.fields.contains_key(must) {
                return Err(Error::invalid(
                    "profile",
                    format!("映射配置 {origin} 缺少必需字段 {must}"),
                ));
            }
            if !p.required.iter().any(|r| r == must) {
                p.required.push(must.to_string());
            }
        }
        if p.source.trim().is_empty() {
            return Err(Error::invalid(
                "profile",
                format!("映射配置 {origin} 的 source 为空"),
            ));
        }
        Ok(p)
    }

    pub fn load_file(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(
                "profile",
                format!("无法读取映射配置 {}：{e}", path.display()),
            )
        })?;
        Profile::parse(&text, &path.display().to_string())
    }

    /// The shipped profiles and every `*.toml` in `dir` (when it exists).
    pub fn all(dir: Option<&Path>) -> Result<Vec<Profile>> {
        let mut out = Vec::new();
        for text in SHIPPED {
            out.push(Profile::parse(text, "内置")?);
        }
        if let Some(dir) = dir.filter(|d| d.is_dir()) {
            let mut paths: Vec<_> = std::fs::read_dir(dir)?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            paths.sort();
            for p in paths {
                out.push(Profile::load_file(&p)?);
            }
        }
        Ok(out)
    }

    fn columns<'a>(&'a self, synonyms: &'a [(String, Vec<&'a str>)]) -> Vec<Column<'a>> {
        synonyms
            .iter()
            .map(|(key, names)| Column {
                key,
                synonyms: names,
                required: self.required.iter().any(|r| r == key),
            })
            .collect()
    }

    /// Tries to read `rows` (the first rows of a file) with this profile.
    pub fn recognize(&self, rows: &[RawRow]) -> std::result::Result<(usize, Header), String> {
        let synonyms: Vec<(String, Vec<&str>)> = self
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(String::as_str).collect()))
            .collect();
        find_header(rows, &self.columns(&synonyms))
    }
}

/// Picks the profile that recognizes the file's header: all required fields, most matches.
/// With none, the error lists the headers found and what the closest profile misses.
pub fn choose<'p>(
    profiles: &'p [Profile],
    rows: &[RawRow],
) -> Result<(&'p Profile, usize, Header)> {
    let mut best: Option<(&Profile, usize, Header)> = None;
    let mut errors = Vec::new();
    for p in profiles {
        match p.recognize(rows) {
            Ok((pos, h)) => {
                if best
                    .as_ref()
                    .is_none_or(|(_, _, b)| h.matched() > b.matched())
                {
                    best = Some((p, pos, h));
                }
            }
            Err(e) => errors.push(format!("{}（{}）：{e}", p.name, p.id)),
        }
    }
    best.ok_or_else(|| {
        Error::invalid(
            "file",
            format!("没有映射配置能识别此文件的表头。{}", errors.join("；")),
        )
    })
}
