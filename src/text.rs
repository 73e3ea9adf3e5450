//! Normalizing what people type and what spreadsheets export: full-width characters, stray
//! spaces, the many ways a date is written, yes/no in Chinese. Imports of every kind use these.

use std::collections::HashSet;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::error::{Error, Result};

/// Full-width ASCII (U+FF01–U+FF5E) and the ideographic space to their half-width forms.
pub fn halfwidth(s: &str) -> String {
    s.chars().map(halfwidth_char).collect()
}

/// `halfwidth` of one character.
pub fn halfwidth_char(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// `halfwidth`, borrowing when the text has nothing full-width.
pub fn halfwidth_cow(s: &str) -> std::borrow::Cow<'_, str> {
    if has_fullwidth(s) {
        std::borrow::Cow::Owned(halfwidth(s))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Trimmed, inner runs of white space (the ideographic space too) folded to one space.
/// For names and addresses, which keep their official full-width punctuation such as （）.
pub fn tidy(s: &str) -> String {
    tidy_cow(s).into_owned()
}

/// `tidy`, borrowing when the text needs no change but trimming: most cells are already tidy
/// (imports call this for every cell of a million-row file).
pub fn tidy_cow(s: &str) -> std::borrow::Cow<'_, str> {
    let t = s.trim();
    if !needs_folding(t) {
        return std::borrow::Cow::Borrowed(t);
    }
    std::borrow::Cow::Owned(t.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Whether a trimmed text has white space other than single ASCII spaces. Reads the UTF-8
/// bytes of each Unicode White_Space character directly: imports call this for every cell,
/// and decoding Chinese text to chars was a tenth of a million-row import's parsing.
fn needs_folding(t: &str) -> bool {
    let b = t.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let exact = |i: usize| match at(i) {
        b'\t'..=b'\r' => true,
        b' ' => at(i + 1) == b' ',
        // U+0085, U+00A0
        0xC2 => matches!(at(i + 1), 0x85 | 0xA0),
        // U+1680
        0xE1 => at(i + 1) == 0x9A && at(i + 2) == 0x80,
        // U+2000–U+200A, U+2028, U+2029, U+202F, U+205F
        0xE2 => matches!(
            (at(i + 1), at(i + 2)),
            (0x80, 0x80..=0x8A | 0xA8 | 0xA9 | 0xAF) | (0x81, 0x9F)
        ),
        // U+3000
        0xE3 => at(i + 1) == 0x80 && at(i + 2) == 0x80,
        _ => false,
    };
    // Each of those starts with a byte ≤ 0x20 or in C2–E3; Chinese characters (lead bytes
    // E4–E9) and continuation bytes (80–BF) are neither. A branch-free test over a block
    // rules most blocks out; only a block with a candidate is read exactly.
    let candidate = |c: u8| c <= b' ' || c.wrapping_sub(0xC2) <= 0xE3 - 0xC2;
    let mut start = 0;
    for block in b.chunks(32) {
        if block.iter().fold(false, |any, &c| any | candidate(c))
            && (start..start + block.len()).any(exact)
        {
            return true;
        }
        start += block.len();
    }
    false
}

/// Whether `halfwidth` would change the text: U+3000 is E3 80 80 in UTF-8, U+FF01–U+FF5E
/// run from EF BC 81 to EF BD 9E.
fn has_fullwidth(s: &str) -> bool {
    let b = s.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    b.iter().enumerate().any(|(i, &c)| match c {
        0xE3 => at(i + 1) == 0x80 && at(i + 2) == 0x80,
        0xEF => matches!(
            (at(i + 1), at(i + 2)),
            (0xBC, 0x81..=0xBF) | (0xBD, 0x80..=0x9E)
        ),
        _ => false,
    })
}

/// Half-width, trimmed, inner runs of white space folded to one space. For codes, numbers,
/// dates and keywords.
pub fn clean(s: &str) -> String {
    clean_cow(s).into_owned()
}

/// `clean`, borrowing when the text needs no change but trimming.
pub fn clean_cow(s: &str) -> std::borrow::Cow<'_, str> {
    let t = s.trim();
    if !has_fullwidth(t) && !needs_folding(t) {
        return std::borrow::Cow::Borrowed(t);
    }
    std::borrow::Cow::Owned(
        halfwidth(s)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// A cell that may list several values: split on the separators people use in Chinese
/// spreadsheets, each value tidied, empty ones and repeats dropped, first occurrence first.
/// Linear in the length of the cell.
pub fn split_list(s: &str) -> Vec<String> {
    dedupe(s.split([';', ',', '、', '，', '；', '|', '/', '\n']))
}

/// Values tidied, empty ones and repeats dropped, in their first order.
pub fn dedupe<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .map(tidy)
        .filter(|v| !v.is_empty() && seen.insert(v.clone()))
        .collect()
}

/// Most aliases one enterprise or project may carry: enough for every way callers name it,
/// few enough that matching stays cheap.
pub const MAX_ALIASES: usize = 50;
/// Longest alias, in characters.
pub const MAX_ALIAS_CHARS: usize = 100;

/// An alias list as stored: tidied, without empties or repeats, and bounded; the error names
/// `field`.
pub fn aliases<'a>(items: impl IntoIterator<Item = &'a str>, field: &str) -> Result<Vec<String>> {
    let list = dedupe(items);
    if list.len() > MAX_ALIASES {
        return Err(Error::invalid(
            field,
            format!("别名最多{MAX_ALIASES}个，填写了{}个", list.len()),
        ));
    }
    if let Some(long) = list.iter().find(|a| a.chars().count() > MAX_ALIAS_CHARS) {
        let head: String = long.chars().take(20).collect();
        return Err(Error::invalid(
            field,
            format!("别名“{head}…”超过{MAX_ALIAS_CHARS}个字符"),
        ));
    }
    Ok(list)
}

/// Parses 是/否, 有/无, 开放/关闭, 本地/外地 style answers. `yes`/`no` list extra words.
pub fn parse_bool(s: &str, yes: &[&str], no: &[&str]) -> Option<bool> {
    // Borrowed unless something needs changing: two cells a ticket come through here.
    let v = clean_cow(s);
    let lower;
    let v: &str = if v.chars().any(char::is_uppercase) {
        lower = v.to_lowercase();
        &lower
    } else {
        &v
    };
    if ["是", "有", "true", "yes", "y", "1", "√"].contains(&v) || yes.contains(&v) {
        Some(true)
    } else if ["否", "无", "false", "no", "n", "0", "×"].contains(&v) || no.contains(&v) {
        Some(false)
    } else {
        None
    }
}

/// Excel stores dates as days since 1899-12-30 (the 1900 leap-year bug folded in).
pub fn excel_serial(serial: f64) -> Option<NaiveDateTime> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_time(NaiveTime::MIN);
    let millis = (serial * 86_400_000.0).round() as i64;
    base.checked_add_signed(Duration::milliseconds(millis))
}

/// A date as exports write it: `2024-01-05`, `2024/1/5`, `2024.1.5`, `2024年1月5日`,
/// `20240105`, with an optional time after it (ignored), or an Excel serial number.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    parse_datetime(s).map(|dt| dt.date())
}

/// A date with an optional time: `2024/1/5 9:03`, `2024-01-05 09:03:00`, `2024年1月5日 9时3分`,
/// or an Excel serial (`45296.377`). No time means midnight.
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    if let Some(fields) = full_datetime_fields(s.as_bytes()) {
        datetime_of(&fields)
    } else if is_plain_datetime(s.as_bytes()) {
        datetime_of_fields(s.as_bytes())
    } else {
        any_datetime(s)
    }
}

/// `parse_datetime` of any text.
fn any_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = clean_cow(s);
    if s.is_empty() {
        return None;
    }
    // A date with separators is never a number: skip the float parse for the usual case.
    if s.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        if let Ok(serial) = s.parse::<f64>() {
            // A bare 8-digit number is more likely 20240105 than a serial in the year 57000.
            if s.len() == 8 && !s.contains('.') {
                return NaiveDate::parse_from_str(&s, "%Y%m%d")
                    .ok()
                    .map(|d| d.and_time(NaiveTime::MIN));
            }
            return excel_serial(serial);
        }
    }
    datetime_of_fields(s.as_bytes())
}

/// How exports write times (`2024-01-05 09:03:00`, `2024/1/5 9:03`): ASCII digits and `-`,
/// `/`, `:`, `T` or spaces, digits first and last and not only digits. Cleaning such a text
/// changes nothing its fields are read from, and it is never a number, so its fields are read
/// straight away: an import reads five of these a ticket, and the general path's scans were a
/// tenth of its parsing.
fn is_plain_datetime(b: &[u8]) -> bool {
    let mut separated = false;
    for &c in b {
        match c {
            b'0'..=b'9' => {}
            b'-' | b'/' | b':' | b'T' | b' ' => separated = true,
            _ => return false,
        }
    }
    separated
        && b.first().is_some_and(u8::is_ascii_digit)
        && b.last().is_some_and(u8::is_ascii_digit)
}

/// The fields of `YYYY-MM-DD HH:MM:SS` (or with `/`, or `T`), the most common way exports
/// write a time, read by position; `None` for any other text.
fn full_datetime_fields(b: &[u8]) -> Option<[u32; 6]> {
    let b: &[u8; 19] = b.try_into().ok()?;
    let separated = matches!(b[4], b'-' | b'/')
        && b[7] == b[4]
        && matches!(b[10], b' ' | b'T')
        && b[13] == b':'
        && b[16] == b':';
    if !separated {
        return None;
    }
    let mut fields = [0u32; 6];
    for (field, (start, end)) in
        fields
            .iter_mut()
            .zip([(0, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 19)])
    {
        for &c in &b[start..end] {
            if !c.is_ascii_digit() {
                return None;
            }
            *field = *field * 10 + u32::from(c - b'0');
        }
    }
    Some(fields)
}

/// A date and time from its numbers, whatever separates them: 年/月/日/时/分/秒, '-', '/', '.',
/// ':', 'T', ' '. Read in place, without allocating: a file has millions of these. The bytes
/// of a cleaned text: its digits are ASCII, and no byte of a multi-byte character (年, 月…) is
/// an ASCII digit, so each of its bytes separates like the char.
fn datetime_of_fields(b: &[u8]) -> Option<NaiveDateTime> {
    let mut fields = [0u32; 7];
    let mut count = 0usize;
    let mut current: Option<u32> = None;
    for &c in b {
        if c.is_ascii_digit() {
            let d = u32::from(c - b'0');
            current = Some(current.unwrap_or(0).checked_mul(10)?.checked_add(d)?);
        } else if let Some(v) = current.take() {
            *fields.get_mut(count)? = v;
            count += 1;
        }
    }
    if let Some(v) = current {
        *fields.get_mut(count)? = v;
        count += 1;
    }
    datetime_of(&fields[..count])
}

/// Year, month, day and optionally hour, minute, second (a seventh number is ignored).
fn datetime_of(fields: &[u32]) -> Option<NaiveDateTime> {
    if fields.len() < 3 || fields.len() > 7 || fields[0] < 1900 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(fields[0]).ok()?, fields[1], fields[2])?;
    let hour = fields.get(3).copied().unwrap_or(0);
    let minute = fields.get(4).copied().unwrap_or(0);
    let second = fields.get(5).copied().unwrap_or(0);
    let time = NaiveTime::from_hms_opt(hour, minute, second)?;
    Some(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_shape() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 5).unwrap();
        for s in [
            "2024-01-05",
            "2024/1/5",
            "2024.1.5",
            "2024年1月5日",
            "２０２４年１月５日",
            "20240105",
            "45296",
            "2024/1/5 9:03",
        ] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        assert_eq!(
            parse_datetime("2024/1/5 9:03").unwrap().time(),
            NaiveTime::from_hms_opt(9, 3, 0).unwrap()
        );
        assert_eq!(
            parse_datetime("45296.5").unwrap().time(),
            NaiveTime::from_hms_opt(12, 0, 0).unwrap()
        );
        for bad in ["", "2024-13-01", "2024-02-30", "明天", "12/05", "1/5/2024"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn halfwidth_and_lists() {
        assert_eq!(clean("　ＡＢＣ　１２３ "), "ABC 123");
        assert_eq!(split_list("甲；乙、丙,甲"), vec!["甲", "乙", "丙"]);
    }

    #[test]
    fn aliases_are_bounded() {
        let many: Vec<String> = (0..=MAX_ALIASES).map(|i| format!("别名{i}")).collect();
        let err = aliases(many.iter().map(String::as_str), "aliases").unwrap_err();
        assert!(err.to_string().starts_with("aliases"), "{err}");
        let ok = aliases(many[..MAX_ALIASES].iter().map(String::as_str), "aliases").unwrap();
        assert_eq!(ok.len(), MAX_ALIASES);
        let long = "长".repeat(MAX_ALIAS_CHARS + 1);
        assert!(aliases([long.as_str()], "aliases").is_err());
        // Repeats do not count against the limit.
        let same = vec!["甲"; 10 * MAX_ALIASES];
        assert_eq!(aliases(same, "aliases").unwrap(), vec!["甲"]);
    }

    mod properties {
        use std::collections::HashSet;

        use chrono::{Datelike, NaiveDate, NaiveTime};
        use proptest::prelude::*;

        use super::super::*;

        fn date() -> impl Strategy<Value = NaiveDate> {
            (1900i32..=9999, 1u32..=12, 1u32..=31)
                .prop_filter_map("a real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
        }

        const SEPARATORS: &str = ";,、，；|/\n";

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn dates_never_panic(s in any::<String>()) {
                let _ = parse_date(&s);
                let _ = parse_datetime(&s);
            }

            #[test]
            fn date_shaped_text_never_panics(s in "[0-9０-９年月日时分秒/.:T -]{0,40}") {
                let _ = parse_datetime(&s);
            }

            /// The shortcut for export-shaped times reads them as the general path does.
            #[test]
            fn plain_times_read_as_any_time(s in "[0-9]{0,5}[-/:T 0-9]{0,20}") {
                prop_assert_eq!(parse_datetime(&s), any_datetime(&s), "{:?}", s);
            }

            #[test]
            fn full_times_read_as_any_time(
                s in "[0-9]{4}[-/][0-9]{2}[-/][0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}"
            ) {
                prop_assert_eq!(parse_datetime(&s), any_datetime(&s), "{:?}", s);
            }

            #[test]
            fn formatted_dates_parse_back(d in date()) {
                for format in ["%Y-%m-%d", "%Y/%-m/%-d", "%Y.%m.%d", "%Y年%-m月%-d日", "%Y%m%d"] {
                    let text = d.format(format).to_string();
                    prop_assert_eq!(parse_date(&text), Some(d), "{}", text);
                }
            }

            #[test]
            fn formatted_datetimes_parse_back(
                d in date(),
                secs in 0u32..86_400,
            ) {
                let t = NaiveTime::from_num_seconds_from_midnight_opt(secs, 0).unwrap();
                let dt = d.and_time(t);
                let text = dt.format("%Y-%m-%d %H:%M:%S").to_string();
                prop_assert_eq!(parse_datetime(&text), Some(dt));
                prop_assert_eq!(parse_date(&text).map(|x| x.year()), Some(d.year()));
            }

            #[test]
            fn split_list_is_deduplicated_and_bounded(s in "[甲乙丙a-c ;,、，；|/\n]{0,200}") {
                let out = split_list(&s);
                let unique: HashSet<&String> = out.iter().collect();
                prop_assert_eq!(unique.len(), out.len(), "repeats in {:?}", out);
                let pieces = s.chars().filter(|c| SEPARATORS.contains(*c)).count() + 1;
                prop_assert!(out.len() <= pieces);
                prop_assert!(out.iter().all(|v| !v.is_empty() && v.trim() == v));
                let chars: usize = out.iter().map(|v| v.chars().count()).sum();
                prop_assert!(chars <= s.chars().count());
            }

            #[test]
            fn fast_paths_agree_with_the_definitions(
                s in "[ 　\t\na-zＡ-Ｚ０-９甲乙,，\u{85}\u{A0}\u{1680}\u{2000}-\u{200B}\u{2028}\u{2029}\u{202F}\u{205F}\u{2010}\u{3001}\u{3002}\u{FF00}\u{FF5E}\u{FF5F}\u{FFE5}]{0,30}|\\PC{0,30}"
            ) {
                let folded = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
                prop_assert_eq!(tidy(&s), folded(&s));
                prop_assert_eq!(clean(&s), folded(&halfwidth(&s)));
            }

            #[test]
            fn split_list_never_panics(s in any::<String>()) {
                let _ = split_list(&s);
            }
        }
    }
}
