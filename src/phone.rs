//! Phone numbers as the measures use them: the manager's and staff's mobiles, and the org's
//! public service hotline (a landline with area code, a 400 number or a mobile).

use std::fmt;

use serde::{Deserialize, Serialize};

fn digits_only(input: &str) -> Result<String, String> {
    let s: String = crate::text::halfwidth(input)
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+'))
        .collect();
    if s.is_empty() {
        return Err("电话号码为空".into());
    }
    if !s.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("电话号码“{}”含有非数字字符", input.trim()));
    }
    Ok(s)
}

/// A mainland mobile number: 11 digits starting 13–19.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "13905371234")]
pub struct Mobile(String);

impl Mobile {
    pub fn parse(input: &str) -> Result<Mobile, String> {
        let s = digits_only(input)?;
        let s = s
            .strip_prefix("86")
            .filter(|r| r.len() == 11)
            .map(str::to_string)
            .unwrap_or(s);
        if s.len() == 11 && s.starts_with('1') && matches!(s.as_bytes()[1], b'3'..=b'9') {
            Ok(Mobile(s))
        } else {
            Err(format!("手机号“{}”应为以13–19开头的11位数字", input.trim()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A public service hotline: `0537-2345678`, `4001234567`, or a mobile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "0537-2345678")]
pub struct Hotline(String);

impl Hotline {
    pub fn parse(input: &str) -> Result<Hotline, String> {
        let s = digits_only(input)?;
        if let Ok(m) = Mobile::parse(&s) {
            return Ok(Hotline(m.0));
        }
        if (s.starts_with("400") || s.starts_with("800")) && s.len() == 10 {
            return Ok(Hotline(format!("{}-{}-{}", &s[..3], &s[3..6], &s[6..])));
        }
        if s.starts_with('0') && (10..=12).contains(&s.len()) {
            // Area codes are 3 digits for 010/02x, 4 otherwise (0537 is Jining).
            let split = if s.starts_with("01") || s.starts_with("02") {
                3
            } else {
                4
            };
            let local = &s[split..];
            if (7..=8).contains(&local.len()) {
                return Ok(Hotline(format!("{}-{local}", &s[..split])));
            }
        }
        Err(format!(
            "服务电话“{}”应为带区号的固定电话（如0537-2345678）、400电话或手机号",
            input.trim()
        ))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! deserialize_by_parse {
    ($ty:ty) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$ty>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
deserialize_by_parse!(Mobile);
deserialize_by_parse!(Hotline);

/// When the hotline answers: days a week (1–7) and hours a day (1–24). A developer's handbook
/// (seed 002) promises 7 days × at least 10 h; a rule set may ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "RawHours")]
pub struct ServiceHours {
    days_per_week: u8,
    hours_per_day: u8,
}

#[derive(Deserialize)]
struct RawHours {
    days_per_week: i64,
    hours_per_day: i64,
}

impl TryFrom<RawHours> for ServiceHours {
    type Error = String;
    fn try_from(r: RawHours) -> Result<Self, String> {
        ServiceHours::new(r.days_per_week, r.hours_per_day)
    }
}

impl ServiceHours {
    pub fn new(days_per_week: i64, hours_per_day: i64) -> Result<ServiceHours, String> {
        let days = u8::try_from(days_per_week)
            .ok()
            .filter(|d| (1..=7).contains(d))
            .ok_or_else(|| format!("每周服务天数应为 1–7，而不是 {days_per_week}"))?;
        let hours = u8::try_from(hours_per_day)
            .ok()
            .filter(|h| (1..=24).contains(h))
            .ok_or_else(|| format!("每天服务小时数应为 1–24，而不是 {hours_per_day}"))?;
        Ok(ServiceHours {
            days_per_week: days,
            hours_per_day: hours,
        })
    }

    pub fn days_per_week(self) -> u8 {
        self.days_per_week
    }

    pub fn hours_per_day(self) -> u8 {
        self.hours_per_day
    }
}

impl fmt::Display for ServiceHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "每周{}天，每天{}小时",
            self.days_per_week, self.hours_per_day
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_hours_are_bounded() {
        assert_eq!(
            ServiceHours::new(7, 10).unwrap().to_string(),
            "每周7天，每天10小时"
        );
        assert!(ServiceHours::new(8, 10).is_err());
        assert!(ServiceHours::new(7, 0).is_err());
        assert!(ServiceHours::new(7, 300).is_err());
        let bad: Result<ServiceHours, _> =
            serde_json::from_str(r#"{"days_per_week": 0, "hours_per_day": 10}"#);
        assert!(bad.unwrap_err().to_string().contains("1–7"));
    }

    #[test]
    fn phones() {
        assert_eq!(
            Mobile::parse("139 0537 1234").unwrap().as_str(),
            "13905371234"
        );
        assert_eq!(
            Mobile::parse("+86 139-0537-1234").unwrap().as_str(),
            "13905371234"
        );
        assert!(Mobile::parse("12905371234").is_err());
        assert!(Mobile::parse("1390537123").is_err());
        assert_eq!(
            Hotline::parse("0537-2345678").unwrap().as_str(),
            "0537-2345678"
        );
        assert_eq!(
            Hotline::parse("（0537）2345678").unwrap().as_str(),
            "0537-2345678"
        );
        assert_eq!(
            Hotline::parse("4001234567").unwrap().as_str(),
            "400-123-4567"
        );
        assert_eq!(
            Hotline::parse("010-12345678").unwrap().as_str(),
            "010-12345678"
        );
        assert!(Hotline::parse("2345678").is_err());
        assert!(Hotline::parse("电话").is_err());
    }
}
