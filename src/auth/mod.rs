//! Accounts and access. Three roles (DESIGN §1): the city administrator sees and changes
//! everything; a county officer acts within one county; an enterprise user sees only its own
//! enterprise. [`Principal`] answers what a role may do; which rows it may see and change is
//! decided in the domain (`registry::access`, `registry::visibility`), which takes the
//! principal. This module needs nothing of the registry: [`Scope`] lives in the leaf
//! `crate::scope` and is re-exported here.

pub mod admin;
pub mod password;
pub mod session;
pub mod throttle;
pub mod token;
pub mod touch;
pub mod user;

use serde::Serialize;

use crate::audit::Actor;
use crate::error::{Error, Result};
pub use crate::scope::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    CityAdmin,
    CountyOfficer { county_id: i64 },
    Enterprise { enterprise_id: i64 },
}

impl Role {
    pub fn code(&self) -> &'static str {
        match self {
            Role::CityAdmin => "city_admin",
            Role::CountyOfficer { .. } => "county_officer",
            Role::Enterprise { .. } => "enterprise",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Role::CityAdmin => "市局管理员",
            Role::CountyOfficer { .. } => "县区主管部门",
            Role::Enterprise { .. } => "企业用户",
        }
    }

    /// Rebuilds a role from its stored columns; `None` when they disagree.
    pub fn from_columns(
        code: &str,
        county_id: Option<i64>,
        enterprise_id: Option<i64>,
    ) -> Option<Role> {
        match (code, county_id, enterprise_id) {
            ("city_admin", None, None) => Some(Role::CityAdmin),
            ("county_officer", Some(county_id), None) => Some(Role::CountyOfficer { county_id }),
            ("enterprise", None, Some(enterprise_id)) => Some(Role::Enterprise { enterprise_id }),
            _ => None,
        }
    }
}

/// The signed-in user (by session or API token) a request acts for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    #[serde(flatten)]
    pub role: Role,
}

impl Principal {
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::CityAdmin => Scope::City,
            Role::CountyOfficer { county_id } => Scope::County(county_id),
            Role::Enterprise { enterprise_id } => Scope::Enterprise(enterprise_id),
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::user(self.user_id, &self.username)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::CityAdmin
    }

    pub fn is_officer(&self) -> bool {
        matches!(self.role, Role::CityAdmin | Role::CountyOfficer { .. })
    }

    pub fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden("仅市局管理员可以执行"))
        }
    }

    pub fn require_officer(&self) -> Result<()> {
        if self.is_officer() {
            Ok(())
        } else {
            Err(Error::Forbidden("仅主管部门工作人员可以执行"))
        }
    }

    /// May this principal see records of `county_id`? (Officers only; enterprises are
    /// scoped by enterprise, not county.)
    pub fn covers_county(&self, county_id: i64) -> bool {
        match self.role {
            Role::CityAdmin => true,
            Role::CountyOfficer { county_id: own } => own == county_id,
            Role::Enterprise { .. } => false,
        }
    }
}
