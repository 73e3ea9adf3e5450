//! Who may do what with circulars, decided once here.
//!
//! - City staff build and issue circulars for the city or any county, and see them all.
//! - A county officer builds and issues its own county's circulars, and sees those and the
//!   city's issued ones; never another county's, never the city's drafts.
//! - An enterprise sees an issued circular that names it, nothing else.

use crate::auth::Role;
use crate::error::{Error, Result};

/// The county a request from `role` covers: a county officer's own when it names none, and only
/// that one.
pub fn creation_scope(role: Role, county: Option<i64>) -> Result<Option<i64>> {
    match (role, county) {
        (Role::CityAdmin, c) => Ok(c),
        (Role::CountyOfficer { county_id }, None) => Ok(Some(county_id)),
        (Role::CountyOfficer { county_id }, Some(c)) if c == county_id => Ok(Some(c)),
        (Role::CountyOfficer { .. }, Some(_)) => {
            Err(Error::Forbidden("只能为本县（市、区）生成通报"))
        }
        (Role::Enterprise { .. }, _) => Err(Error::Forbidden("通报由主管部门生成和印发")),
    }
}

/// Issuing: the officers of the circular's county, or the city.
pub fn require_issuer(role: Role, county: Option<i64>) -> Result<()> {
    match (role, county) {
        (Role::CityAdmin, _) => Ok(()),
        (Role::CountyOfficer { county_id }, Some(c)) if c == county_id => Ok(()),
        (Role::CountyOfficer { .. }, _) => Err(Error::Forbidden("只能印发本县（市、区）的通报")),
        (Role::Enterprise { .. }, _) => Err(Error::Forbidden("通报由主管部门生成和印发")),
    }
}

/// Seeing one circular; `names_caller` says whether it names the caller's enterprise. What
/// may not be seen does not exist.
pub fn require_visible(
    role: Role,
    county: Option<i64>,
    issued: bool,
    names_caller: bool,
) -> Result<()> {
    let ok = match role {
        Role::CityAdmin => true,
        Role::CountyOfficer { county_id } => match county {
            Some(c) => c == county_id,
            None => issued,
        },
        Role::Enterprise { .. } => issued && names_caller,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::NotFound("通报"))
    }
}
