//! The Unified Social Credit Code (统一社会信用代码, GB 32100-2015): 18 characters from a
//! 31-character alphabet (digits and upper-case letters without I, O, S, V, Z), the last one a
//! check character over the first 17. Enterprises are keyed by it (DESIGN §2), so a
//! [`CreditCode`] can only be built by parsing, and parsing normalizes what people actually
//! type: lower case, full-width characters, stray spaces.

use std::fmt;

use serde::{Deserialize, Serialize};

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// 3^(i) mod 31 for positions 1..=17.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CreditCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("统一社会信用代码为空")]
    Empty,
    #[error("统一社会信用代码应为18位，实际为{0}位")]
    Length(usize),
    #[error("统一社会信用代码第{position}位“{found}”不是允许的字符（数字及除 I、O、S、V、Z 外的大写字母）")]
    Character { position: usize, found: char },
    #[error("统一社会信用代码校验位错误：第18位应为“{expected}”，实际为“{found}”")]
    CheckCharacter { expected: char, found: char },
}

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first 17 characters (which must be in the alphabet).
pub fn check_character(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (b, w) in bytes.iter().zip(WEIGHTS) {
        sum += value_of(*b)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize] as char)
}

impl CreditCode {
    pub fn parse(input: &str) -> Result<Self, CreditCodeError> {
        let normalized: String = crate::text::halfwidth(input)
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if normalized.is_empty() {
            return Err(CreditCodeError::Empty);
        }
        let count = normalized.chars().count();
        if count != 18 {
            return Err(CreditCodeError::Length(count));
        }
        for (i, c) in normalized.chars().enumerate() {
            if !c.is_ascii() || value_of(c as u8).is_none() {
                return Err(CreditCodeError::Character {
                    position: i + 1,
                    found: c,
                });
            }
        }
        let expected = check_character(&normalized[..17]).ok_or(CreditCodeError::Empty)?;
        let found = normalized.as_bytes()[17] as char;
        if expected != found {
            return Err(CreditCodeError::CheckCharacter { expected, found });
        }
        Ok(CreditCode(normalized))
    }

    /// Completes 17 characters with their check character; used to generate demo data.
    pub fn complete(first17: &str) -> Result<Self, CreditCodeError> {
        let check = check_character(first17).ok_or(CreditCodeError::Length(first17.len()))?;
        Self::parse(&format!("{first17}{check}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The administrative division (positions 3–8) where the code was issued.
    pub fn division(&self) -> &str {
        &self.0[2..8]
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CreditCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CreditCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_validate() {
        for code in ["91350100M000100Y43", "91370800MA3C5N2Y0Q"] {
            let first17 = &code[..17];
            let c = CreditCode::complete(first17).unwrap();
            assert_eq!(c.as_str().len(), 18);
        }
        assert!(CreditCode::parse("91350100M000100Y43").is_ok());
    }

    #[test]
    fn wrong_check_character_names_expected() {
        let err = CreditCode::parse("91350100M000100Y44").unwrap_err();
        assert_eq!(
            err,
            CreditCodeError::CheckCharacter {
                expected: '3',
                found: '4'
            }
        );
    }

    #[test]
    fn normalizes_case_fullwidth_and_spaces() {
        let c = CreditCode::parse(" ９１３５０１００ｍ０００１００ｙ４３ ").unwrap();
        assert_eq!(c.as_str(), "91350100M000100Y43");
    }

    #[test]
    fn rejects_forbidden_letters_and_length() {
        assert_eq!(
            CreditCode::parse("91350100O000100Y43").unwrap_err(),
            CreditCodeError::Character {
                position: 9,
                found: 'O'
            }
        );
        assert_eq!(
            CreditCode::parse("9135010").unwrap_err(),
            CreditCodeError::Length(7)
        );
        assert_eq!(CreditCode::parse("  ").unwrap_err(), CreditCodeError::Empty);
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        const FIRST17: &str = "[0-9A-HJ-NP-RTUWXY]{17}";

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn parse_never_panics(s in any::<String>()) {
                let _ = CreditCode::parse(&s);
            }

            #[test]
            fn parse_never_panics_on_near_codes(s in "[0-9A-Za-z０-９Ａ-Ｚ 　]{0,24}") {
                let _ = CreditCode::parse(&s);
            }

            #[test]
            fn completed_codes_round_trip(first17 in FIRST17) {
                let code = CreditCode::complete(&first17).unwrap();
                prop_assert_eq!(&code.as_str()[..17], first17.as_str());
                let again = CreditCode::parse(&code.to_string()).unwrap();
                prop_assert_eq!(again, code);
            }

            #[test]
            fn one_changed_character_is_rejected(
                first17 in FIRST17,
                position in 0usize..18,
                shift in 1usize..31,
            ) {
                let code = CreditCode::complete(&first17).unwrap();
                let mut bytes = code.as_str().as_bytes().to_vec();
                let at = ALPHABET.iter().position(|&a| a == bytes[position]).unwrap();
                // Another character of the alphabet: the weights are non-zero modulo the prime
                // 31, so any single substitution changes the check sum.
                bytes[position] = ALPHABET[(at + shift) % 31];
                let changed = String::from_utf8(bytes).unwrap();
                prop_assert!(CreditCode::parse(&changed).is_err(), "{} accepted", changed);
            }
        }
    }
}
