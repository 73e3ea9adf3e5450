//! The one visibility rule of the registry, as SQL every query of enterprises and projects
//! carries (lists, a single row, link checks). Each predicate expects the caller's scope bound
//! as `$1` (the officer's county, NULL otherwise) and `$2` (the enterprise user's enterprise,
//! NULL otherwise): bind `scope.county()` then `scope.enterprise()` first.
//!
//! - The city sees everything.
//! - A county officer sees the enterprises registered in the county; and the projects located
//!   in the county (whoever developed them) plus every project of an enterprise registered in
//!   the county (the officer supervises that enterprise's org, and its Art. 12 notice-board
//!   duty covers all its projects, wherever they stand).
//! - An enterprise user sees its own enterprise and its own projects.

use crate::error::Error;

/// Enterprises, aliased `e`.
pub const ENTERPRISE_VISIBLE: &str =
    "($1 IS NULL OR e.county_id = $1) AND ($2 IS NULL OR e.id = $2)";

/// Projects, aliased `p`.
pub const PROJECT_VISIBLE: &str = "($1 IS NULL OR p.county_id = $1
           OR EXISTS (SELECT 1 FROM enterprises dev
                      WHERE dev.id = p.enterprise_id AND dev.county_id = $1))
      AND ($2 IS NULL OR p.enterprise_id = $2)";

/// The answer to a link (parent, developer, assignment target) that names an enterprise or
/// project the caller may not see: the same 422 as for one that does not exist, so a link
/// cannot be used to probe another county's ids or codes.
pub fn unknown_link(field: &str, what: &str) -> Error {
    Error::invalid(field, format!("{what}不存在或不在您的管辖范围内"))
}
