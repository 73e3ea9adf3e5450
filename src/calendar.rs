//! China's official working-day calendar (工作日), as data.
//!
//! The State Council publishes each year which days are public holidays and which weekend
//! days are working days instead (调休). A deadline in working days — a rectification order's
//! "10个工作日", a hotline export's "3个工作日", Qingdao's "三个工作日内" — is counted on that
//! calendar. Each year is a file `scoring-rules/calendars/cn-YYYY.toml` naming the notice it
//! comes from; the shipped files are embedded, and a bureau can add next year's under
//! `<data-dir>/calendars/` without a new release. A date in a year without a file is an error
//! that names the year: guessing would put a deadline on a holiday.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

const SHIPPED: &[&str] = &[
    include_str!("../scoring-rules/calendars/cn-2021.toml"),
    include_str!("../scoring-rules/calendars/cn-2022.toml"),
    include_str!("../scoring-rules/calendars/cn-2023.toml"),
    include_str!("../scoring-rules/calendars/cn-2024.toml"),
    include_str!("../scoring-rules/calendars/cn-2025.toml"),
    include_str!("../scoring-rules/calendars/cn-2026.toml"),
];

/// The longest span a deadline may have: ten years. A longer one is a typing error.
pub const MAX_SPAN_DAYS: u16 = 3650;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "{0}年的工作日历尚未收录（需要 calendars/cn-{0}.toml，依据国务院办公厅当年的节假日安排通知），无法按工作日计算期限"
    )]
    MissingYear(i32),
    #[error("工作日历 {file}：{message}")]
    Invalid { file: String, message: String },
    #[error("期限超出可表示的日期范围")]
    OutOfRange,
}

/// One year's file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    notice: String,
    source: String,
    #[serde(default)]
    holidays: Vec<Holiday>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Holiday {
    name: String,
    #[serde(default)]
    off: Vec<NaiveDate>,
    #[serde(default)]
    work: Vec<NaiveDate>,
}

/// Where a year's exceptions come from, shown wherever a working-day deadline is explained.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Notice {
    pub year: i32,
    pub notice: String,
    pub source: String,
}

#[derive(Debug, Clone)]
struct Exception {
    off: bool,
    /// The year whose file listed it, so that replacing a year's file replaces its days.
    listed_in: i32,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    years: BTreeMap<i32, Notice>,
    exceptions: HashMap<NaiveDate, Exception>,
}

static OFFICIAL: OnceLock<Calendar> = OnceLock::new();

impl Calendar {
    /// The calendar shipped in the binary.
    pub fn shipped() -> Calendar {
        let mut c = Calendar::default();
        for (i, text) in SHIPPED.iter().enumerate() {
            // The shipped files are tested (`shipped_calendars_parse`); a broken one is a
            // build defect, so it is skipped with a log line rather than taking the server down.
            if let Err(e) = c.add(&format!("shipped #{i}"), text) {
                tracing::error!("{e}");
            }
        }
        c
    }

    /// The calendar every deadline is counted on: the shipped years plus any installed with
    /// [`Calendar::install`].
    pub fn official() -> &'static Calendar {
        OFFICIAL.get_or_init(Calendar::shipped)
    }

    /// Adds the `cn-*.toml` files of `dir` (if it exists) to the shipped years and makes the
    /// result the official calendar. Called once at start, before any deadline is counted.
    pub fn install(dir: &Path) -> Result<Vec<i32>, CalendarError> {
        let mut c = Calendar::shipped();
        let mut added = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut paths: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("cn-") && n.ends_with(".toml"))
                })
                .collect();
            paths.sort();
            for p in paths {
                let name = p.display().to_string();
                let text = std::fs::read_to_string(&p).map_err(|e| CalendarError::Invalid {
                    file: name.clone(),
                    message: e.to_string(),
                })?;
                added.push(c.add(&name, &text)?);
            }
        }
        if OFFICIAL.set(c).is_err() {
            tracing::warn!("the working-day calendar was already in use; files in {} apply from the next start", dir.display());
        }
        Ok(added)
    }

    /// Parses one year's file and adds it; a later file for the same year replaces it
    /// (a bureau's corrected file overrides the shipped one).
    pub fn add(&mut self, file: &str, text: &str) -> Result<i32, CalendarError> {
        let bad = |message: String| CalendarError::Invalid {
            file: file.to_string(),
            message,
        };
        let y: YearFile = toml::from_str(text).map_err(|e| bad(e.message().to_string()))?;
        if !(2000..=2100).contains(&y.year) {
            return Err(bad(format!("year = {} 不是有效年份", y.year)));
        }
        if y.notice.trim().is_empty() || y.source.trim().is_empty() {
            return Err(bad("应写明所依据的通知（notice）及其出处（source）".into()));
        }
        self.exceptions.retain(|_, e| e.listed_in != y.year);
        for h in &y.holidays {
            for (days, off) in [(&h.off, true), (&h.work, false)] {
                for d in days {
                    // 元旦 may begin on 31 December of the year before; nothing further away.
                    if (d.year() - y.year).abs() > 1 {
                        return Err(bad(format!("{}（{}）不在 {} 年前后", d, h.name, y.year)));
                    }
                    let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
                    if !off && !weekend {
                        // A "work" day on a weekday says nothing new; it is almost surely a typo.
                        return Err(bad(format!(
                            "{}（{}）是工作日，无需列为调休上班",
                            d, h.name
                        )));
                    }
                    self.exceptions.insert(
                        *d,
                        Exception {
                            off,
                            listed_in: y.year,
                        },
                    );
                }
            }
        }
        self.years.insert(
            y.year,
            Notice {
                year: y.year,
                notice: y.notice,
                source: y.source,
            },
        );
        Ok(y.year)
    }

    pub fn years(&self) -> impl Iterator<Item = &Notice> {
        self.years.values()
    }

    pub fn notice(&self, year: i32) -> Option<&Notice> {
        self.years.get(&year)
    }

    pub fn is_working_day(&self, d: NaiveDate) -> Result<bool, CalendarError> {
        if !self.years.contains_key(&d.year()) {
            return Err(CalendarError::MissingYear(d.year()));
        }
        Ok(match self.exceptions.get(&d) {
            Some(e) => !e.off,
            None => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        })
    }

    /// The `n`-th working day after `start` (the day of `start` itself is not counted, as
    /// in "自受理之日起3个工作日内"); `start` itself when `n` is 0.
    pub fn add_working_days(&self, start: NaiveDate, n: u16) -> Result<NaiveDate, CalendarError> {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d = d.succ_opt().ok_or(CalendarError::OutOfRange)?;
            if self.is_working_day(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }

    /// The last day of `span` counted from `start`.
    pub fn due(&self, start: NaiveDate, span: Span) -> Result<NaiveDate, CalendarError> {
        match span {
            Span::Days(n) => start
                .checked_add_signed(Duration::days(i64::from(n)))
                .ok_or(CalendarError::OutOfRange),
            Span::WorkingDays(n) => self.add_working_days(start, n),
        }
    }
}

/// A deadline's length, which always says whether it counts calendar or working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "unit", content = "count", rename_all = "snake_case")]
pub enum Span {
    /// Calendar days (日/天).
    Days(u16),
    /// Working days on the official calendar (工作日).
    WorkingDays(u16),
}

impl Span {
    pub fn count(self) -> u16 {
        match self {
            Span::Days(n) | Span::WorkingDays(n) => n,
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Span::Days(n) => write!(f, "{n}日"),
            Span::WorkingDays(n) => write!(f, "{n}个工作日"),
        }
    }
}

/// `3日`, `3天`, `3个工作日`, `3工作日`; full-width digits and spaces are the caller's to tidy.
impl FromStr for Span {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let s = raw.trim();
        let (num, working) = if let Some(n) = s
            .strip_suffix("个工作日")
            .or_else(|| s.strip_suffix("工作日"))
        {
            (n, true)
        } else if let Some(n) = s.strip_suffix('天').or_else(|| s.strip_suffix('日')) {
            (n, false)
        } else {
            return Err(format!("期限“{raw}”应写成天数，如 30日 或 10个工作日"));
        };
        let n = num
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|n| *n <= MAX_SPAN_DAYS)
            .ok_or_else(|| format!("期限“{raw}”应为 0–{MAX_SPAN_DAYS} 天"))?;
        Ok(if working {
            Span::WorkingDays(n)
        } else {
            Span::Days(n)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn shipped_calendars_parse() {
        let mut c = Calendar::default();
        for (i, text) in SHIPPED.iter().enumerate() {
            c.add(&format!("#{i}"), text).unwrap();
        }
        let years: Vec<i32> = c.years().map(|n| n.year).collect();
        assert_eq!(years, (2021..=2026).collect::<Vec<_>>());
    }

    #[test]
    fn holidays_and_adjusted_weekends() {
        let c = Calendar::shipped();
        // 2025 National Day: 1–8 October off, Saturday 11 October worked.
        assert!(!c.is_working_day(d("2025-10-08")).unwrap());
        assert!(c.is_working_day(d("2025-10-11")).unwrap());
        assert!(c.is_working_day(d("2025-10-09")).unwrap());
        assert!(!c.is_working_day(d("2025-10-12")).unwrap());
        // 2023 New Year began on 31 December 2022, listed in the 2023 notice.
        assert!(!c.is_working_day(d("2022-12-31")).unwrap());
        assert_eq!(
            c.is_working_day(d("2027-01-04")),
            Err(CalendarError::MissingYear(2027))
        );
        assert!(CalendarError::MissingYear(2027)
            .to_string()
            .contains("2027年"));
    }

    #[test]
    fn working_days_skip_holidays_and_count_adjusted_saturdays() {
        let c = Calendar::shipped();
        // Forwarded Tue 30 Sep 2025: 1–8 Oct off, Thu 9, Fri 10, Sat 11 (调休) are working days.
        assert_eq!(
            c.add_working_days(d("2025-09-30"), 3).unwrap(),
            d("2025-10-11")
        );
        assert_eq!(
            c.add_working_days(d("2025-09-30"), 4).unwrap(),
            d("2025-10-13")
        );
        assert_eq!(
            c.add_working_days(d("2025-09-30"), 0).unwrap(),
            d("2025-09-30")
        );
        assert_eq!(
            c.due(d("2025-09-30"), Span::Days(3)).unwrap(),
            d("2025-10-03")
        );
        // Across the year's end into a year that has no calendar: named, never guessed.
        assert_eq!(
            c.add_working_days(d("2026-12-30"), 5),
            Err(CalendarError::MissingYear(2027))
        );
    }

    #[test]
    fn spans_parse_and_print() {
        assert_eq!("3个工作日".parse(), Ok(Span::WorkingDays(3)));
        assert_eq!("10工作日".parse(), Ok(Span::WorkingDays(10)));
        assert_eq!(" 30日".parse(), Ok(Span::Days(30)));
        assert_eq!("7天".parse(), Ok(Span::Days(7)));
        assert!("3周".parse::<Span>().is_err());
        assert!("3651天".parse::<Span>().is_err());
        assert!("-1天".parse::<Span>().is_err());
        assert_eq!(Span::WorkingDays(5).to_string(), "5个工作日");
    }

    #[test]
    fn a_bureau_file_is_checked() {
        let mut c = Calendar::default();
        let err = c
            .add(
                "cn-2027.toml",
                "year = 2027\nnotice = \"\"\nsource = \"x\"\n",
            )
            .unwrap_err();
        assert!(err.to_string().contains("notice"));
        let err = c
            .add(
                "cn-2027.toml",
                "year = 2027\nnotice = \"n\"\nsource = \"s\"\n[[holidays]]\nname = \"元旦\"\noff = [\"2027-01-01\"]\nwork = [\"2027-01-05\"]\n",
            )
            .unwrap_err();
        assert!(err.to_string().contains("2027-01-05"));
        assert!(c.add("x", "year = ").is_err());
    }
}
