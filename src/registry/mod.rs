//! The registry: jurisdictions (a city and its counties), enterprises keyed by their credit
//! code (DESIGN §2; legal representative per Art. 5, parent enterprise per Art. 7) and their
//! projects / communities (the places Art. 12 notice boards must cover).

pub mod access;
pub mod credit_code;
pub mod enterprise;
pub mod import;
pub mod jurisdiction;
pub mod project;
pub mod visibility;

pub use access::{visible_enterprise, visible_project};
pub use credit_code::CreditCode;

use serde::{Deserialize, Serialize};

/// A page of a list, with the total for paging.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Paging parameters as they arrive from a query string: `per_page` clamped to sane bounds,
/// `page` refused beyond [`Paging::MAX_PAGE`] so that the offset cannot overflow.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl Paging {
    /// Far past the last page of any list here (a million pages of up to 500 rows).
    pub const MAX_PAGE: i64 = 1_000_000;

    pub fn new(page: Option<i64>, per_page: Option<i64>) -> crate::error::Result<Self> {
        let page = page.unwrap_or(1).max(1);
        if page > Self::MAX_PAGE {
            return Err(crate::error::Error::invalid(
                "page",
                format!("页码应在 1–{} 之间", Self::MAX_PAGE),
            ));
        }
        Ok(Paging {
            page,
            per_page: per_page.unwrap_or(50).clamp(1, 500),
        })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    pub fn wrap<T>(&self, items: Vec<T>, total: i64) -> Page<T> {
        Page {
            items,
            total,
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// Builds a LIKE pattern for a free-text search, escaping the wildcards the user typed.
pub fn like_pattern(q: &str) -> String {
    let mut p = String::from("%");
    for c in crate::text::clean(q).chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// What a save did, for import summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Inserted(i64),
    Updated(i64),
    Unchanged(i64),
}

impl Saved {
    pub fn id(self) -> i64 {
        match self {
            Saved::Inserted(id) | Saved::Updated(id) | Saved::Unchanged(id) => id,
        }
    }
}

/// Qualification grade (资质等级) of a developer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    First,
    Second,
    Third,
    Fourth,
    Provisional,
}

impl Grade {
    pub const ALL: [Grade; 5] = [
        Grade::First,
        Grade::Second,
        Grade::Third,
        Grade::Fourth,
        Grade::Provisional,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Grade::First => "first",
            Grade::Second => "second",
            Grade::Third => "third",
            Grade::Fourth => "fourth",
            Grade::Provisional => "provisional",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Grade::First => "一级",
            Grade::Second => "二级",
            Grade::Third => "三级",
            Grade::Fourth => "四级",
            Grade::Provisional => "暂定",
        }
    }

    /// Accepts the code, the Chinese label and the usual spellings (`二级`, `贰级`, `2级`, `2`,
    /// `暂定资质`).
    pub fn parse(s: &str) -> Option<Grade> {
        let s = crate::text::clean(s)
            .replace("资质", "")
            .replace("等级", "")
            .to_lowercase();
        let s = s.trim_end_matches('级');
        Some(match s {
            "first" | "一" | "壹" | "1" => Grade::First,
            "second" | "二" | "贰" | "2" => Grade::Second,
            "third" | "三" | "叁" | "3" => Grade::Third,
            "fourth" | "四" | "肆" | "4" => Grade::Fourth,
            "provisional" | "暂定" | "暂" => Grade::Provisional,
            _ => return None,
        })
    }
}

crate::text_column!(Grade, Grade::parse);

/// Whether the enterprise still exists (Art. 7 turns on revocation and cancellation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Revoked,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Active, Status::Revoked, Status::Cancelled];

    pub fn code(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Revoked => "revoked",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Active => "正常",
            Status::Revoked => "资质吊销",
            Status::Cancelled => "已注销",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        let s = crate::text::clean(s).to_lowercase();
        Some(match s.as_str() {
            "" | "active" | "正常" | "存续" | "在业" | "开业" | "有效" => Status::Active,
            "revoked" | "吊销" | "资质吊销" | "已吊销" | "被吊销" => Status::Revoked,
            "cancelled" | "注销" | "已注销" | "资质注销" => Status::Cancelled,
            _ => return None,
        })
    }
}

crate::text_column!(Status, Status::parse);
crate::text_column!(CreditCode, |s| CreditCode::parse(s).ok());

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Paging;
    use crate::error::Error;

    #[test]
    fn page_past_the_limit_names_the_field() {
        match Paging::new(Some(i64::MAX), None) {
            Err(Error::Invalid(inv)) => assert_eq!(inv.field, "page"),
            other => panic!("{other:?}"),
        }
        assert_eq!(Paging::new(Some(-5), Some(0)).unwrap().offset(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn offsets_never_overflow(page in any::<Option<i64>>(), per_page in any::<Option<i64>>()) {
            if let Ok(p) = Paging::new(page, per_page) {
                prop_assert!((1..=Paging::MAX_PAGE).contains(&p.page));
                prop_assert!((1..=500).contains(&p.per_page));
                prop_assert_eq!(p.offset(), (p.page - 1) * p.per_page);
            } else {
                prop_assert!(page.is_some_and(|p| p > Paging::MAX_PAGE));
            }
        }
    }
}
