//! What a review tells the enterprise: the facts of the decision, put into the typed messages
//! whose wording lives in `src/notify/templates/filing_*`.

use std::collections::BTreeMap;

use super::Filing;
use crate::notify::templates::{FieldReason, FilingApproved, FilingReturned};
use crate::registry::enterprise::Enterprise;

/// `设立备案（第12号）`: how a message names the filing.
fn what(f: &Filing) -> String {
    format!("{}（第{}号）", f.kind.label(), f.id)
}

/// "Approved", noting a change that was filed late (Art. 6).
pub(super) fn approved(e: &Enterprise, f: &Filing, reviewer: &str, late: bool) -> FilingApproved {
    FilingApproved {
        enterprise: e.name.clone(),
        filing: what(f),
        late,
        reviewer: reviewer.to_string(),
    }
}

/// "Returned", with the reviewer's reason for each field.
pub(super) fn rejected(
    e: &Enterprise,
    f: &Filing,
    reviewer: &str,
    reasons: &BTreeMap<String, String>,
) -> FilingReturned {
    FilingReturned {
        enterprise: e.name.clone(),
        filing: what(f),
        reasons: reasons
            .iter()
            .map(|(k, v)| FieldReason {
                field: f.kind.field_label(k).unwrap_or("其他").to_string(),
                reason: v.clone(),
            })
            .collect(),
        reviewer: reviewer.to_string(),
    }
}
