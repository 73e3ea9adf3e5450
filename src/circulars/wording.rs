//! The circulars' wording, from TOML files under `reports/` that an officer edits without a
//! rebuild: one file per kind plus `common.toml`. Each value is text with `{name}`
//! placeholders the builder fills. A file missing from the configured folder falls back to
//! the copy shipped in the binary; a file present but wrong (bad TOML, a key missing, a
//! placeholder the builder does not know) is an error naming the file and the key, never a
//! document with a hole in it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};

/// The largest wording file read: text for a few paragraphs, not a document.
const MAX_BYTES: u64 = 256 * 1024;

const SHIPPED: [(&str, &str); 4] = [
    ("common", include_str!("../../reports/common.toml")),
    ("org", include_str!("../../reports/org.toml")),
    ("hotline", include_str!("../../reports/hotline.toml")),
    ("evaluation", include_str!("../../reports/evaluation.toml")),
];

/// One wording file, read.
#[derive(Debug, Clone)]
pub struct Wording {
    file: String,
    texts: BTreeMap<String, String>,
}

/// The values a builder offers to the placeholders of one text.
pub type Vars<'a> = &'a [(&'a str, String)];

impl Wording {
    /// `name.toml` from `dir` if it is there, else the shipped copy.
    pub fn load(dir: Option<&Path>, name: &str) -> Result<Wording> {
        let file = format!("{name}.toml");
        if let Some(path) = dir.map(|d| d.join(&file)).filter(|p| p.is_file()) {
            let shown = path.display().to_string();
            let len = std::fs::metadata(&path)?.len();
            if len > MAX_BYTES {
                return Err(Error::invalid(
                    shown,
                    format!("文件超过{}KB", MAX_BYTES / 1024),
                ));
            }
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Error::invalid(shown.clone(), format!("无法读取（应为UTF-8）：{e}"))
            })?;
            return Wording::parse(&shown, &text);
        }
        let shipped = SHIPPED
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| Error::Internal(format!("没有名为{name}的通报措辞文件")))?;
        Wording::parse(&format!("reports/{file}"), shipped.1)
    }

    pub fn parse(file: &str, text: &str) -> Result<Wording> {
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| Error::invalid(file, format!("不是有效的TOML：{}", e.message())))?;
        let mut texts = BTreeMap::new();
        for (key, value) in table {
            match value {
                toml::Value::String(s) => {
                    texts.insert(key, s);
                }
                _ => {
                    return Err(Error::invalid(
                        format!("{file}: {key}"),
                        "每一项应为一段文字（用引号括起）",
                    ))
                }
            }
        }
        Ok(Wording {
            file: file.into(),
            texts,
        })
    }

    /// The text under `key`, its placeholders filled from `vars`.
    pub fn text(&self, key: &str, vars: Vars<'_>) -> Result<String> {
        let at = format!("{}: {key}", self.file);
        let template = self
            .texts
            .get(key)
            .ok_or_else(|| Error::invalid(at.clone(), "缺少这一项"))?;
        fill(template, vars).map_err(|name| {
            let known: Vec<&str> = vars.iter().map(|(n, _)| *n).collect();
            Error::invalid(
                at,
                format!("未知的占位符{{{name}}}，可用：{}", known.join("、")),
            )
        })
    }
}

/// Replaces each `{name}` (ASCII letters, digits, `_`) by its value; any other brace is kept
/// as written. Returns the first unknown name.
fn fill(template: &str, vars: Vars<'_>) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}');
        let name = close
            .map(|c| &after[..c])
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        match (name, close) {
            (Some(name), Some(close)) => {
                let value = vars
                    .iter()
                    .find(|(n, _)| *n == name)
                    .ok_or_else(|| name.to_string())?;
                out.push_str(&value.1);
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_and_names_what_is_wrong() {
        let w = Wording::parse(
            "reports/x.toml",
            "a = \"截至{as_of}，共{n}家{ 不是占位符 }\"\nb = 3",
        )
        .unwrap_err();
        assert!(w.to_string().contains("reports/x.toml: b"), "{w}");
        let w = Wording::parse("reports/x.toml", "a = \"截至{as_of}，共{n}家{ 不是 }\"").unwrap();
        let vars = [("as_of", "2025-12-31".to_string()), ("n", "3".to_string())];
        assert_eq!(w.text("a", &vars).unwrap(), "截至2025-12-31，共3家{ 不是 }");
        let e = w.text("a", &vars[..1]).unwrap_err().to_string();
        assert!(e.contains("x.toml: a") && e.contains("{n}"), "{e}");
        assert!(w
            .text("missing", &vars)
            .unwrap_err()
            .to_string()
            .contains("缺少"));
    }

    #[test]
    fn shipped_files_parse() {
        for (name, _) in SHIPPED {
            Wording::load(None, name).unwrap();
        }
    }

    #[test]
    fn an_edited_file_wins_over_the_shipped_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("common.toml"), "issuer = \"某某市住建局\"").unwrap();
        let w = Wording::load(Some(dir.path()), "common").unwrap();
        assert_eq!(w.text("issuer", &[]).unwrap(), "某某市住建局");
        // The others still come from the binary.
        assert!(Wording::load(Some(dir.path()), "org").is_ok());
    }
}
