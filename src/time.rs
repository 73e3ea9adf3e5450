//! Time: stored in UTC, shown and reasoned about in China Standard Time. China has had no
//! daylight saving since 1991, so a fixed +08:00 offset is exact and needs no tz database.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"))
}

/// `2026-11-22 14:05` in Beijing time.
pub fn local(t: &DateTime<Utc>) -> String {
    t.with_timezone(&china())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Today's date in Beijing time.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&china()).date_naive()
}
