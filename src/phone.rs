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

#[cfg(test)]
mod tests {
    use super::*;

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
