//! Who may do what with a filing. Outside the caller's scope a filing does not exist (404);
//! inside it, a role without the capability is told so (403).

use crate::auth::{Principal, Role};
use crate::error::{Error, Result};
use crate::registry::enterprise::Enterprise;

pub(super) fn require_visible(p: &Principal, e: &Enterprise) -> Result<()> {
    if p.can_view_enterprise(e) {
        Ok(())
    } else {
        Err(Error::NotFound("备案"))
    }
}

/// Only the enterprise itself files; an officer who can see it is told so, anyone else sees
/// nothing.
pub(super) fn require_owner(p: &Principal, e: &Enterprise) -> Result<()> {
    require_visible(p, e)?;
    match p.role {
        Role::Enterprise { enterprise_id } if enterprise_id == e.id => Ok(()),
        _ => Err(Error::Forbidden("备案由企业本身填报")),
    }
}

/// Reviews belong to the officers of the enterprise's county (and the city).
pub(super) fn require_reviewer(p: &Principal, e: &Enterprise) -> Result<()> {
    require_visible(p, e)?;
    if p.is_officer() && p.covers_county(e.county_id) {
        Ok(())
    } else {
        Err(Error::Forbidden("备案由企业所在县区的主管部门审核"))
    }
}
