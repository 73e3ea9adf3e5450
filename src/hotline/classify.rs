//! Classification into the complaint taxonomy of seeds/004 and its severity tiers, by keyword
//! rules kept in `hotline/taxonomy.toml` (data, so the bureau can tune them). The source's
//! own category is kept beside ours.

use aho_corasick::automaton::Automaton;
use aho_corasick::{dfa::DFA, Input, MatchKind};
use serde::Deserialize;

use super::Severity;
use crate::error::{Error, Result};

const SHIPPED: &str = include_str!("../../hotline/taxonomy.toml");

#[derive(Debug, Clone, Deserialize)]
struct File {
    category: Vec<CategoryDef>,
    severity: SeverityDef,
}

#[derive(Debug, Clone, Deserialize)]
struct CategoryDef {
    code: String,
    label: String,
    keywords: Vec<String>,
    #[serde(default)]
    sub: Vec<SubDef>,
}

#[derive(Debug, Clone, Deserialize)]
struct SubDef {
    code: String,
    label: String,
    keywords: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct SeverityDef {
    special_amount_yuan: i64,
    important_amount_yuan: i64,
    special_keywords: Vec<String>,
    important_keywords: Vec<String>,
}

/// Top-level categories a taxonomy may have (the shipped one has six).
const MAX_CATEGORIES: usize = 64;

/// Which keyword list a pattern belongs to.
#[derive(Debug, Clone, Copy)]
enum Owner {
    Category(usize),
    Sub(usize, usize),
    Special,
    Important,
}

pub struct Classifier {
    categories: Vec<CategoryDef>,
    severity: SeverityDef,
    matcher: DFA,
    owners: Vec<Owner>,
}

/// Codes borrowed from the taxonomy: two allocations a ticket fewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class<'a> {
    pub category: &'a str,
    pub subcategory: &'a str,
    pub severity: Severity,
}

impl Classifier {
    pub fn shipped() -> Result<Classifier> {
        Classifier::parse(SHIPPED)
    }

    /// The shipped taxonomy, parsed once per process: pages only need its labels, and parsing
    /// the rules and building the matcher cost more than the rest of a ticket page.
    pub fn shared() -> Result<&'static Classifier> {
        static SHARED: std::sync::OnceLock<std::result::Result<Classifier, String>> =
            std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| Classifier::shipped().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::Internal(e.clone()))
    }

    pub fn parse(text: &str) -> Result<Classifier> {
        let file: File = toml::from_str(text)
            .map_err(|e| Error::invalid("taxonomy", format!("分类规则有误：{e}")))?;
        if file.category.len() > MAX_CATEGORIES {
            return Err(Error::invalid(
                "taxonomy",
                format!("分类规则最多 {MAX_CATEGORIES} 个大类"),
            ));
        }
        if !file.category.iter().any(|c| c.code == "other") {
            return Err(Error::invalid("taxonomy", "分类规则须包含 other（其他）类"));
        }
        let mut patterns: Vec<&str> = Vec::new();
        let mut owners = Vec::new();
        for (ci, c) in file.category.iter().enumerate() {
            for k in &c.keywords {
                patterns.push(k);
                owners.push(Owner::Category(ci));
            }
            for (si, s) in c.sub.iter().enumerate() {
                for k in &s.keywords {
                    patterns.push(k);
                    owners.push(Owner::Sub(ci, si));
                }
            }
        }
        for k in &file.severity.special_keywords {
            patterns.push(k);
            owners.push(Owner::Special);
        }
        for k in &file.severity.important_keywords {
            patterns.push(k);
            owners.push(Owner::Important);
        }
        // Overlapping search: the same text may be evidence for several lists.
        // A few hundred keywords: a DFA is small and scans each ticket's text fastest, and
        // used as its own type (not behind `AhoCorasick`'s dynamic dispatch) each step of the
        // scan is inlined: a seventh of a million-row import's parsing before.
        let matcher = aho_corasick::dfa::Builder::new()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| Error::invalid("taxonomy", format!("分类关键词有误：{e}")))?;
        Ok(Classifier {
            categories: file.category.clone(),
            severity: file.severity,
            matcher,
            owners,
        })
    }

    pub fn label<'a>(&'a self, code: &'a str) -> &'a str {
        self.categories
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.label.as_str())
            .unwrap_or(code)
    }

    pub fn sub_label<'a>(&'a self, code: &'a str) -> &'a str {
        self.categories
            .iter()
            .flat_map(|c| &c.sub)
            .find(|s| s.code == code)
            .map(|s| s.label.as_str())
            .unwrap_or(code)
    }

    /// Category codes and labels in taxonomy order.
    pub fn categories(&self) -> Vec<(String, String)> {
        self.categories
            .iter()
            .map(|c| (c.code.clone(), c.label.clone()))
            .collect()
    }

    /// Classifies a ticket from the source's category, its text and whether it is a group
    /// petition (a wide-impact matter, so at least important).
    pub fn classify(
        &self,
        source_category: &str,
        content: &str,
        group_petition: bool,
    ) -> Class<'_> {
        // On the stack: two vectors a ticket were two of its allocations.
        let mut hits = [0usize; MAX_CATEGORIES];
        let mut sub_hit: [Option<usize>; MAX_CATEGORIES] = [None; MAX_CATEGORIES];
        let (mut special, mut important) = (false, false);
        // The source category counts double: an operator already read the ticket.
        for (text, weight) in [(source_category, 2), (content, 1)] {
            // Overlapping search fails only for leftmost match kinds; this one is standard.
            let Ok(found) = self.matcher.try_find_overlapping_iter(Input::new(text)) else {
                continue;
            };
            for m in found {
                match self.owners[m.pattern().as_usize()] {
                    Owner::Category(c) => hits[c] += weight,
                    Owner::Sub(c, s) => {
                        hits[c] += weight;
                        if sub_hit[c].is_none_or(|prev| s < prev) {
                            sub_hit[c] = Some(s);
                        }
                    }
                    Owner::Special => special = true,
                    Owner::Important => important = true,
                }
            }
        }
        let best = hits
            .iter()
            .enumerate()
            .filter(|(_, h)| **h > 0)
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
            .map(|(i, _)| i);
        let (category, subcategory) = match best {
            Some(i) => {
                let c = &self.categories[i];
                (
                    c.code.as_str(),
                    sub_hit[i].map_or("", |s| c.sub[s].code.as_str()),
                )
            }
            None => ("other", ""),
        };
        let amount = largest_amount_yuan(content);
        let severity = if special || amount >= self.severity.special_amount_yuan {
            Severity::Special
        } else if important || group_petition || amount >= self.severity.important_amount_yuan {
            Severity::Important
        } else {
            Severity::General
        };
        Class {
            category,
            subcategory,
            severity,
        }
    }
}

/// The largest money amount in a text: `3000元`, `2.5万元`, `2万`, `人民币50000元`. Reads the
/// bytes in place (it runs on every ticket): a full-width digit, point or comma (EF BC xx) is
/// read as its half-width form where it stands, since nearly every Chinese text has a
/// full-width comma and a half-width copy of each cost an allocation and a second pass. Only
/// a number followed by a unit is parsed.
pub fn largest_amount_yuan(text: &str) -> i64 {
    let b = text.as_bytes();
    let mut best = 0i64;
    let mut i = 0;
    while i < b.len() {
        if !numeric_at(b, i).is_some_and(|(c, _)| c.is_ascii_digit()) {
            i += 1;
            continue;
        }
        let start = i;
        while let Some((_, width)) = numeric_at(b, i) {
            i += width;
        }
        let multiplier = match text.get(i..).and_then(|rest| rest.chars().next()) {
            Some('万') => 10_000.0,
            Some('元' | '块') => 1.0,
            _ => continue,
        };
        let mut number = String::with_capacity(i - start);
        let mut at = start;
        while let Some((c, width)) = numeric_at(b, at) {
            if c != b',' {
                number.push(char::from(c));
            }
            at += width;
        }
        let value = number.parse::<f64>().unwrap_or(0.0);
        best = best.max((value * multiplier) as i64);
    }
    best
}

/// The digit, `.` or `,` starting at `b[i]`, half-width, and its width in bytes: ASCII, or
/// U+FF10–U+FF19 (EF BC 90–99), U+FF0E (EF BC 8E), U+FF0C (EF BC 8C). Never inside another
/// character: ASCII bytes and EF only lead.
fn numeric_at(b: &[u8], i: usize) -> Option<(u8, usize)> {
    match *b.get(i)? {
        c @ (b'0'..=b'9' | b'.' | b',') => Some((c, 1)),
        0xEF if b.get(i + 1) == Some(&0xBC) => match *b.get(i + 2)? {
            c @ 0x90..=0x99 => Some((c - 0x90 + b'0', 3)),
            0x8E => Some((b'.', 3)),
            0x8C => Some((b',', 3)),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_real_looking_texts() {
        let c = Classifier::shipped().unwrap();
        let cases = [
            (
                "",
                "卫生间楼板漏水，楼下天花板渗水严重，已报修多次无人处理",
                "quality",
                "leak",
                Severity::General,
            ),
            (
                "住建类",
                "厨房下水道堵塞，污水返水到地面",
                "quality",
                "blockage",
                Severity::General,
            ),
            (
                "质量投诉",
                "客厅墙面大面积空鼓开裂",
                "quality",
                "crack",
                Severity::General,
            ),
            (
                "",
                "开发商延期交房已经半年，合同约定2024年6月交房",
                "contract",
                "delayed_delivery",
                Severity::General,
            ),
            (
                "",
                "交房三年了还没有办理不动产证",
                "contract",
                "delayed_certificate",
                Severity::General,
            ),
            (
                "",
                "售楼时宣传有幼儿园，现在配套没有建设",
                "planning",
                "promise_mismatch",
                Severity::General,
            ),
            (
                "",
                "售后客服态度恶劣，打电话推诿扯皮",
                "service",
                "staff_attitude",
                Severity::General,
            ),
            (
                "",
                "多次反映问题，一个月了还没人管",
                "service",
                "process",
                Severity::Important,
            ),
            (
                "物业管理",
                "物业乱收费，停车费一年涨了两次",
                "property",
                "fees",
                Severity::General,
            ),
            (
                "",
                "维修费用需要业主自己承担3500元，不合理",
                "quality",
                "",
                Severity::Important,
            ),
            (
                "",
                "房屋质量问题已向法院起诉，要求赔偿",
                "quality",
                "",
                Severity::Special,
            ),
            (
                "",
                "装修损失约2.5万元要求开发商赔偿",
                "other",
                "",
                Severity::Special,
            ),
            ("咨询", "咨询公积金贷款政策", "other", "", Severity::General),
        ];
        for (cat, text, category, sub, severity) in cases {
            let got = c.classify(cat, text, false);
            assert_eq!(
                (got.category, got.subcategory, got.severity),
                (category, sub, severity),
                "{text}"
            );
        }
        assert_eq!(
            c.classify("", "电梯经常停运", true).severity,
            Severity::Important,
            "group petitions are important"
        );
    }

    #[test]
    fn a_taxonomy_is_bounded() {
        let mut text = String::new();
        for i in 0..=MAX_CATEGORIES {
            let code = if i == 0 {
                "other".to_string()
            } else {
                format!("c{i}")
            };
            text.push_str(&format!(
                "[[category]]\ncode = \"{code}\"\nlabel = \"类{i}\"\nkeywords = [\"词{i}\"]\n"
            ));
        }
        text.push_str(
            "[severity]\nspecial_amount_yuan = 1\nimportant_amount_yuan = 1\nspecial_keywords = []\nimportant_keywords = []\n",
        );
        let err = Classifier::parse(&text)
            .err()
            .expect("65 categories refused");
        assert!(err.to_string().contains("最多 64 个大类"), "{err}");
    }

    #[test]
    fn amounts() {
        assert_eq!(largest_amount_yuan("损失3000元和2.5万元"), 25_000);
        assert_eq!(largest_amount_yuan("２万"), 20_000);
        assert_eq!(largest_amount_yuan("2024年6月"), 0);
        assert_eq!(largest_amount_yuan("赔偿1,200元"), 1_200);
        assert_eq!(largest_amount_yuan("赔偿１，２００．５元，另２万"), 20_000);
        assert_eq!(largest_amount_yuan("约1，500块"), 1_500);
        assert_eq!(largest_amount_yuan("第３号楼，共1.元"), 1);
    }

    /// The definition the in-place reading must agree with: every char decoded.
    fn amount_by_chars(text: &str) -> i64 {
        let chars: Vec<char> = crate::text::halfwidth(text).chars().collect();
        let (mut best, mut i) = (0i64, 0);
        while i < chars.len() {
            if !chars[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || matches!(chars[i], '.' | ',')) {
                i += 1;
            }
            let number: String = chars[start..i].iter().filter(|c| **c != ',').collect();
            let value = number.parse::<f64>().unwrap_or(0.0);
            let yuan = match chars.get(i) {
                Some('万') => value * 10_000.0,
                Some('元' | '块') => value,
                _ => 0.0,
            };
            best = best.max(yuan as i64);
        }
        best
    }

    proptest::proptest! {
        #[test]
        fn amounts_agree_with_the_definition(s in "[0-9０-９.,，．万元块损失约的a 　]{0,40}|\\PC{0,40}") {
            proptest::prop_assert_eq!(largest_amount_yuan(&s), amount_by_chars(&s));
        }
    }
}
