//! Notice boards (公示牌, Art. 12): where one stands, what it must show, and its size as a
//! bounded length, so that a size typed by a person cannot overflow what is computed from it.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a notice board stands (Art. 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Place {
    OrgOffice,
    SalesSite { project_id: i64 },
    Community { project_id: i64 },
}

impl Place {
    pub fn kind_code(self) -> &'static str {
        match self {
            Place::OrgOffice => "org_office",
            Place::SalesSite { .. } => "sales_site",
            Place::Community { .. } => "community",
        }
    }

    pub fn project_id(self) -> Option<i64> {
        match self {
            Place::OrgOffice => None,
            Place::SalesSite { project_id } | Place::Community { project_id } => Some(project_id),
        }
    }

    pub fn from_columns(kind: Option<&str>, project_id: Option<i64>) -> Option<Place> {
        match (kind?, project_id) {
            ("org_office", _) => Some(Place::OrgOffice),
            ("sales_site", Some(project_id)) => Some(Place::SalesSite { project_id }),
            ("community", Some(project_id)) => Some(Place::Community { project_id }),
            _ => None,
        }
    }
}

/// The five contents Art. 12 requires on a board.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BoardContents {
    pub service_content: bool,
    pub responsible_person: bool,
    pub office_address: bool,
    pub service_phone: bool,
    pub guidance_phone: bool,
}

impl BoardContents {
    pub const LABELS: [&'static str; 5] = [
        "售后服务内容",
        "负责人姓名",
        "办公地址",
        "售后服务电话",
        "主管部门指导电话",
    ];

    pub fn flags(&self) -> [bool; 5] {
        [
            self.service_content,
            self.responsible_person,
            self.office_address,
            self.service_phone,
            self.guidance_phone,
        ]
    }

    pub fn missing(&self) -> Vec<&'static str> {
        self.flags()
            .iter()
            .zip(Self::LABELS)
            .filter(|(f, _)| !**f)
            .map(|(_, l)| l)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeBoard {
    pub place: Place,
    /// As filed; checked into a [`BoardCm`] before anything is computed from it.
    #[serde(deserialize_with = "width_cm")]
    pub width_cm: i64,
    #[serde(deserialize_with = "height_cm")]
    pub height_cm: i64,
    pub contents: BoardContents,
}

impl NoticeBoard {
    /// A board of the Art. 12 size (1.2 m × 0.9 m) showing everything the article lists.
    pub fn standard(place: Place) -> NoticeBoard {
        NoticeBoard {
            place,
            width_cm: 120,
            height_cm: 90,
            contents: BoardContents {
                service_content: true,
                responsible_person: true,
                office_address: true,
                service_phone: true,
                guidance_phone: true,
            },
        }
    }
}

impl NoticeBoard {
    /// Width and height as bounded lengths; the error names the side that is out of range.
    pub fn size(&self) -> Result<(BoardCm, BoardCm)> {
        let side = |field: &str, cm: i64| {
            BoardCm::new(cm).ok_or_else(|| Error::invalid(field, BoardCm::range_message(cm)))
        };
        Ok((
            side("width_cm", self.width_cm)?,
            side("height_cm", self.height_cm)?,
        ))
    }
}

// A side too large even for an i64 fails in the JSON itself; the payload is a tagged enum,
// so serde cannot say where. These name the field in the message.
fn width_cm<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    side_cm(d, "width_cm")
}

fn height_cm<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    side_cm(d, "height_cm")
}

fn side_cm<'de, D: serde::Deserializer<'de>>(
    d: D,
    field: &str,
) -> std::result::Result<i64, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    v.as_i64().ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{field}: 应为 1–{} 之间的整数厘米，填写的是 {v}",
            BoardCm::MAX
        ))
    })
}

/// One side of a notice board in whole centimetres, 1 cm to 100 m: anything a person could
/// have measured, so arithmetic on it cannot overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BoardCm(u16);

impl BoardCm {
    pub const MAX: u16 = 10_000;

    pub fn new(cm: i64) -> Option<BoardCm> {
        u16::try_from(cm)
            .ok()
            .filter(|cm| (1..=Self::MAX).contains(cm))
            .map(BoardCm)
    }

    /// A length as typed in a form: whole centimetres, full-width digits allowed.
    pub fn parse(s: &str) -> std::result::Result<BoardCm, String> {
        let s = crate::text::clean(s);
        if s.is_empty() {
            return Err("请填写尺寸（厘米）".into());
        }
        if !s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return Err(format!("“{s}”不是整数厘米"));
        }
        match s.parse::<i64>() {
            Ok(cm) => BoardCm::new(cm).ok_or_else(|| Self::range_message(cm)),
            Err(_) => Err(format!("“{s}”超出 1–{} 厘米的范围", Self::MAX)),
        }
    }

    fn range_message(cm: i64) -> String {
        format!("尺寸应在 1–{} 厘米之间，填写的是 {cm}", Self::MAX)
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

impl std::fmt::Display for BoardCm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_sizes_are_bounded() {
        assert_eq!(BoardCm::parse("120").map(BoardCm::get), Ok(120));
        assert_eq!(BoardCm::parse("１２０").map(BoardCm::get), Ok(120));
        for bad in [
            "",
            "0",
            "-120",
            "10001",
            "-9223372036854775688",
            "1e3",
            "12.5",
            "abc",
        ] {
            assert!(BoardCm::parse(bad).is_err(), "{bad}");
        }
        assert!(BoardCm::new(i64::MIN).is_none() && BoardCm::new(i64::MAX).is_none());
        let board = NoticeBoard {
            place: Place::OrgOffice,
            width_cm: -9_223_372_036_854_775_688,
            height_cm: 90,
            contents: BoardContents::default(),
        };
        match board.size() {
            Err(Error::Invalid(inv)) => assert_eq!(inv.field, "width_cm"),
            other => panic!("{other:?}"),
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn board_size_parse_never_panics(s in any::<String>()) {
                let _ = BoardCm::parse(&s);
            }

            #[test]
            fn any_integer_is_bounded_or_refused(cm in any::<i64>()) {
                match BoardCm::new(cm) {
                    Some(b) => prop_assert!((1..=i64::from(BoardCm::MAX)).contains(&b.get()) && b.get() == cm),
                    None => prop_assert!(!(1..=i64::from(BoardCm::MAX)).contains(&cm)),
                }
                prop_assert_eq!(BoardCm::parse(&cm.to_string()).ok(), BoardCm::new(cm));
            }

            #[test]
            fn valid_sizes_round_trip(cm in 1i64..=10_000) {
                let b = BoardCm::parse(&cm.to_string()).unwrap();
                prop_assert_eq!(b.get(), cm);
                prop_assert_eq!(BoardCm::parse(&b.to_string()), Ok(b));
            }
        }
    }
}
