//! Who may do what with a case, decided once here. Outside the caller's scope a case does not
//! exist (404, like a missing one); inside it, a role without the capability is told so (403).
//!
//! - Officers of the enterprise's county (and the city) open cases, interview, order, verify
//!   and close.
//! - The enterprise itself, and only it, submits its rectification; it cannot verify it.

use super::machine::Step;
use crate::auth::{Principal, Role};
use crate::error::{Error, Result};
use crate::registry::enterprise::Enterprise;

pub fn require_visible(p: &Principal, e: &Enterprise) -> Result<()> {
    if p.can_view_enterprise(e) {
        Ok(())
    } else {
        Err(Error::NotFound("案件"))
    }
}

/// Officers of `e`'s county act on its cases.
pub fn require_officer_of(p: &Principal, e: &Enterprise) -> Result<()> {
    if p.is_officer() && p.covers_county(e.county_id) {
        Ok(())
    } else {
        Err(Error::Forbidden("案件由企业所在县区的主管部门办理"))
    }
}

/// The enterprise's own users.
pub fn require_owner(p: &Principal, e: &Enterprise) -> Result<()> {
    match p.role {
        Role::Enterprise { enterprise_id } if enterprise_id == e.id => Ok(()),
        _ => Err(Error::Forbidden("整改材料由企业本身提交")),
    }
}

/// Whether `p` may record `step` on a case of `e` (after [`require_visible`]).
pub fn require_step(p: &Principal, e: &Enterprise, step: Step) -> Result<()> {
    match step {
        Step::Submission => require_owner(p, e),
        Step::Overdue => Err(Error::Forbidden("逾期由系统在期限届满后自动记录")),
        Step::Interview | Step::Order | Step::Verification { .. } | Step::Close => {
            require_officer_of(p, e)
        }
    }
}

/// Whether `p` may act as an officer on cases of `e` (for pages: which forms to show).
pub fn is_officer_of(p: &Principal, e: &Enterprise) -> bool {
    require_officer_of(p, e).is_ok()
}

pub fn is_owner(p: &Principal, e: &Enterprise) -> bool {
    require_owner(p, e).is_ok()
}
