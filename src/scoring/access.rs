//! Who may do what with evaluation runs, decided once here.
//!
//! - City staff run, publicize and finalize evaluations, and see every result.
//! - County officers see the results of their county's enterprises and decide their
//!   objections; they do not run or publish evaluations.
//! - An enterprise sees its own result once a run is publicized (a draft does not exist for
//!   it) and files objections on its own items during the publicity window; it never
//!   decides one.

use super::run::{Run, RunStatus};
use crate::auth::{Principal, Role};
use crate::error::{Error, Result};

pub fn require_city(p: &Principal) -> Result<()> {
    match p.role {
        Role::CityAdmin => Ok(()),
        _ => Err(Error::Forbidden("年度信用评价由市级主管部门组织")),
    }
}

/// Whether `p` may see `run` at all: a draft only for officers.
pub fn require_run_visible(p: &Principal, run: &Run) -> Result<()> {
    match p.role {
        Role::Enterprise { .. } if run.status == RunStatus::Draft => Err(Error::NotFound("评价")),
        _ => Ok(()),
    }
}

/// Whether `p` may see the result of an enterprise in `county` (after [`require_run_visible`]).
pub fn require_result_visible(p: &Principal, enterprise_id: i64, county_id: i64) -> Result<()> {
    let ok = match p.role {
        Role::CityAdmin => true,
        Role::CountyOfficer { county_id: c } => c == county_id,
        Role::Enterprise { enterprise_id: e } => e == enterprise_id,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::NotFound("评价结果"))
    }
}

/// Only the enterprise itself objects to its result.
pub fn require_objector(p: &Principal, enterprise_id: i64) -> Result<()> {
    match p.role {
        Role::Enterprise { enterprise_id: e } if e == enterprise_id => Ok(()),
        _ => Err(Error::Forbidden("异议由被评价企业本身提出")),
    }
}

/// Officers of the enterprise's county (and the city) decide objections.
pub fn require_decider(p: &Principal, county_id: i64) -> Result<()> {
    if p.is_officer() && p.covers_county(county_id) {
        Ok(())
    } else {
        Err(Error::Forbidden("异议由企业所在县区或市级主管部门审核"))
    }
}
