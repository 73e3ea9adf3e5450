//! Which rows a principal may see, as a value the data layer can filter by. A leaf: it
//! imports nothing of the crate, so `auth` (who is asking) and `registry` (what is asked
//! for) can both use it without depending on each other.

/// Which rows a principal may see: a filter every list query applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    City,
    County(i64),
    Enterprise(i64),
}

impl Scope {
    pub fn county(self) -> Option<i64> {
        match self {
            Scope::County(id) => Some(id),
            _ => None,
        }
    }

    pub fn enterprise(self) -> Option<i64> {
        match self {
            Scope::Enterprise(id) => Some(id),
            _ => None,
        }
    }
}
