//! The period a circular covers: a calendar year (`2025`) or month (`2025-03`), in Beijing time.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The earliest year a circular may cover: the platform holds nothing older.
const FIRST_YEAR: i32 = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Period {
    Year(i32),
    Month(i32, u32),
}

impl Period {
    pub fn year(self) -> i32 {
        match self {
            Period::Year(y) | Period::Month(y, _) => y,
        }
    }

    pub fn month(self) -> Option<u32> {
        match self {
            Period::Year(_) => None,
            Period::Month(_, m) => Some(m),
        }
    }

    /// The first day of the period.
    pub fn first_day(self) -> NaiveDate {
        let (y, m) = (self.year(), self.month().unwrap_or(1));
        NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The last day of the period.
    pub fn last_day(self) -> NaiveDate {
        let next = match self {
            Period::Year(y) => NaiveDate::from_ymd_opt(y + 1, 1, 1),
            Period::Month(y, 12) => NaiveDate::from_ymd_opt(y + 1, 1, 1),
            Period::Month(y, m) => NaiveDate::from_ymd_opt(y, m + 1, 1),
        };
        next.and_then(|d| d.pred_opt()).unwrap_or(NaiveDate::MAX)
    }

    /// The period before: last year, or last month.
    pub fn previous(self) -> Option<Period> {
        match self {
            Period::Year(y) if y > FIRST_YEAR => Some(Period::Year(y - 1)),
            Period::Month(y, 1) if y > FIRST_YEAR => Some(Period::Month(y - 1, 12)),
            Period::Month(y, m) if m > 1 => Some(Period::Month(y, m - 1)),
            _ => None,
        }
    }

    /// `2025年` or `2025年3月`: how the documents name it.
    pub fn label(self) -> String {
        match self {
            Period::Year(y) => format!("{y}年"),
            Period::Month(y, m) => format!("{y}年{m}月"),
        }
    }

    /// The last month that has ended on `today`.
    pub fn last_full_month(today: NaiveDate) -> Period {
        match today.month() {
            1 => Period::Month(today.year() - 1, 12),
            m => Period::Month(today.year(), m - 1),
        }
    }

    /// Refuses a period that has not begun on `today`: nothing could be reported for it.
    pub fn check_started(self, today: NaiveDate) -> Result<Period> {
        if self.first_day() > today {
            return Err(Error::invalid(
                "period",
                format!("{}尚未开始，不能通报", self.label()),
            ));
        }
        Ok(self)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(y) => write!(f, "{y}"),
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
        }
    }
}

impl FromStr for Period {
    type Err = Error;

    fn from_str(s: &str) -> Result<Period> {
        let bad = || Error::invalid("period", "期间应为年份（如2025）或年月（如2025-03）");
        let s = s.trim();
        if s.len() > 7 {
            return Err(bad());
        }
        let (y, m) = match s.split_once('-') {
            Some((y, m)) => (y, Some(m)),
            None => (s, None),
        };
        if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        if !(FIRST_YEAR..=9998).contains(&year) {
            return Err(Error::invalid(
                "period",
                format!("年份应在{FIRST_YEAR}年之后"),
            ));
        }
        match m {
            None => Ok(Period::Year(year)),
            Some(m) if m.len() == 2 && m.bytes().all(|b| b.is_ascii_digit()) => {
                let month: u32 = m.parse().map_err(|_| bad())?;
                if (1..=12).contains(&month) {
                    Ok(Period::Month(year, month))
                } else {
                    Err(Error::invalid("period", "月份应为01–12"))
                }
            }
            Some(_) => Err(bad()),
        }
    }
}

impl TryFrom<String> for Period {
    type Error = Error;
    fn try_from(s: String) -> Result<Period> {
        s.parse()
    }
}

impl From<Period> for String {
    fn from(p: Period) -> String {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_years_and_months() {
        assert_eq!("2025".parse::<Period>().unwrap(), Period::Year(2025));
        assert_eq!("2025-03".parse::<Period>().unwrap(), Period::Month(2025, 3));
        for bad in [
            "",
            "25",
            "2025-3",
            "2025-13",
            "2025-00",
            "1999",
            "2025-03-01",
            "２０２５",
        ] {
            let e = bad.parse::<Period>().unwrap_err();
            assert!(e.to_string().contains("period"), "{bad}: {e}");
        }
    }

    #[test]
    fn days_and_neighbours() {
        let feb = Period::Month(2024, 2);
        assert_eq!(
            feb.last_day(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        assert_eq!(
            Period::Month(2025, 1).previous(),
            Some(Period::Month(2024, 12))
        );
        assert_eq!(Period::Year(2025).last_day().to_string(), "2025-12-31");
        let today = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        assert_eq!(Period::last_full_month(today), Period::Month(2025, 12));
        assert!(Period::Month(2026, 2).check_started(today).is_err());
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(s in "\\PC{0,12}") {
            if let Ok(p) = s.parse::<Period>() {
                prop_assert_eq!(p.to_string().parse::<Period>().unwrap(), p);
                prop_assert!(p.first_day() <= p.last_day());
            }
        }
    }
}
