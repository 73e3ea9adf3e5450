//! The wording of the messages a review sends the enterprise. Kept apart from the workflow
//! so the text can be read (and changed) in one place.

use std::collections::BTreeMap;

use super::Filing;
use crate::notify::Message;
use crate::registry::enterprise::Enterprise;

/// "Approved", noting a change that was filed late (Art. 6).
pub(super) fn approved<'a>(
    e: &'a Enterprise,
    f: &Filing,
    reviewer: &str,
    late: bool,
) -> Message<'a> {
    let note = if late {
        "（该变更报备逾期，已记录）"
    } else {
        ""
    };
    decision(
        e,
        f,
        reviewer,
        "通过",
        "filing_approved",
        &format!("已审核通过{note}。"),
    )
}

/// "Returned", with the reviewer's reason for each field.
pub(super) fn rejected<'a>(
    e: &'a Enterprise,
    f: &Filing,
    reviewer: &str,
    reasons: &BTreeMap<String, String>,
) -> Message<'a> {
    let lines: Vec<String> = reasons
        .iter()
        .map(|(k, v)| format!("- {}：{v}", f.kind.field_label(k).unwrap_or("其他")))
        .collect();
    let message = format!(
        "被退回，请按以下意见修改后重新提交：\n\n{}",
        lines.join("\n")
    );
    decision(e, f, reviewer, "退回", "filing_rejected", &message)
}

fn decision<'a>(
    e: &'a Enterprise,
    f: &Filing,
    reviewer: &str,
    outcome: &str,
    kind: &'static str,
    message: &str,
) -> Message<'a> {
    let what = format!("{}（第{}号）", f.kind.label(), f.id);
    Message {
        recipient: &e.email,
        subject: format!("【备案{outcome}】{what}"),
        body: format!(
            "{}：\n\n贵单位提交的{what}{message}\n\n审核人：{reviewer}\n",
            e.name
        ),
        kind,
    }
}
