//! Normalizing what people type and what spreadsheets export: full-width characters, stray
//! spaces, the many ways a date is written, yes/no in Chinese. Imports of every kind use these.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// Full-width ASCII (U+FF01–U+FF5E) and the ideographic space to their half-width forms.
pub fn halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Trimmed, inner runs of white space (the ideographic space too) folded to one space.
/// For names and addresses, which keep their official full-width punctuation such as （）.
pub fn tidy(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Half-width, trimmed, inner runs of white space folded to one space. For codes, numbers,
/// dates and keywords.
pub fn clean(s: &str) -> String {
    halfwidth(s)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A cell that may list several values: split on the separators people use in Chinese
/// spreadsheets.
pub fn split_list(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split([';', ',', '、', '，', '；', '|', '/', '\n']) {
        let part = tidy(part);
        if !part.is_empty() && !out.contains(&part) {
            out.push(part);
        }
    }
    out
}

/// Parses 是/否, 有/无, 开放/关闭, 本地/外地 style answers. `yes`/`no` list extra words.
pub fn parse_bool(s: &str, yes: &[&str], no: &[&str]) -> Option<bool> {
    let v = clean(s).to_lowercase();
    if ["是", "有", "true", "yes", "y", "1", "√"].contains(&v.as_str()) || yes.contains(&v.as_str())
    {
        Some(true)
    } else if ["否", "无", "false", "no", "n", "0", "×"].contains(&v.as_str())
        || no.contains(&v.as_str())
    {
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
    let s = clean(s);
    if s.is_empty() {
        return None;
    }
    if let Ok(serial) = s.parse::<f64>() {
        // A bare 8-digit number is more likely 20240105 than a serial in the year 57000.
        if s.len() == 8 && !s.contains('.') {
            return NaiveDate::parse_from_str(&s, "%Y%m%d")
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN));
        }
        return excel_serial(serial);
    }
    // Everything that is not a digit separates fields: 年/月/日/时/分/秒, '-', '/', '.', ':', 'T', ' '.
    let mut fields: Vec<u32> = Vec::with_capacity(6);
    let mut current = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            current.push(c);
        } else if !current.is_empty() {
            fields.push(current.parse().ok()?);
            current.clear();
        }
    }
    if !current.is_empty() {
        fields.push(current.parse().ok()?);
    }
    if fields.len() < 3 || fields.len() > 7 || fields[0] < 1900 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(fields[0] as i32, fields[1], fields[2])?;
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
}
