//! What a filing must satisfy beyond its shape: required text, dates not in the future,
//! bounded and duplicate-free staff lists, board size and contents against the rule set, the
//! project a board stands at, and who may be a delegate.

use chrono::NaiveDate;

use super::{BoardCm, Payload, StaffMember};
use crate::error::{Error, Result};
use crate::registry::enterprise::Enterprise;
use crate::registry::project::Project;
use crate::rules::RuleSet;

/// What validating a payload needs to know.
pub struct Context<'a> {
    pub enterprise: &'a Enterprise,
    /// Projects whose boards this enterprise answers for (its own and handed-over ones).
    pub projects: &'a [Project],
    pub rules: &'a RuleSet,
    pub today: NaiveDate,
    /// The delegate named by a delegation, when it is registered.
    pub delegate: Option<&'a Enterprise>,
}

fn required(field: &str, value: &str, label: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::invalid(field, format!("{label}不能为空")))
    } else {
        Ok(())
    }
}

fn not_future(field: &str, date: NaiveDate, today: NaiveDate) -> Result<()> {
    if date > today {
        Err(Error::invalid(
            field,
            format!("日期 {date} 晚于今天，请填写实际生效日期"),
        ))
    } else {
        Ok(())
    }
}

/// Most full-time staff one org may list; far above any real org, low enough that checking a
/// list stays cheap.
pub const MAX_STAFF: usize = 500;

fn check_staff(staff: &[StaffMember]) -> Result<()> {
    if staff.len() > MAX_STAFF {
        return Err(Error::invalid(
            "staff",
            format!("专职工作人员最多{MAX_STAFF}名，填写了{}名", staff.len()),
        ));
    }
    let mut mobiles = std::collections::HashSet::with_capacity(staff.len());
    for (i, m) in staff.iter().enumerate() {
        if m.name.trim().is_empty() {
            return Err(Error::invalid(
                "staff",
                format!("第{}名工作人员的姓名为空", i + 1),
            ));
        }
        if !mobiles.insert(m.mobile.as_str()) {
            return Err(Error::invalid(
                "staff",
                format!("工作人员手机号 {} 重复", m.mobile),
            ));
        }
    }
    Ok(())
}

impl Payload {
    /// Checks what the form cannot: dates, required text, board size and contents against
    /// the rule set, the project a board stands at, the delegate.
    pub fn check(&self, ctx: &Context<'_>) -> Result<()> {
        match self {
            Payload::Establishment(e) => {
                required("manager_name", &e.manager_name, "机构经理姓名")?;
                required("office_address", &e.office_address, "办公场所地址")?;
                check_staff(&e.staff)?;
                if e.fund_fen < 0 {
                    return Err(Error::invalid("fund_fen", "专项资金不能为负数"));
                }
                not_future("established_on", e.established_on, ctx.today)?;
                if !e.independent_department {
                    return Err(Error::invalid(
                        "independent_department",
                        "售后服务机构须为独立于企业其他部门的职能部门（第四条），请确认",
                    ));
                }
            }
            Payload::ManagerChange(c) => {
                required("manager_name", &c.manager_name, "新任经理姓名")?;
                not_future("effective_on", c.effective_on, ctx.today)?;
            }
            Payload::OfficeChange(c) => {
                required("office_address", &c.office_address, "新办公场所地址")?;
                not_future("effective_on", c.effective_on, ctx.today)?;
            }
            Payload::HotlineChange(c) => not_future("effective_on", c.effective_on, ctx.today)?,
            Payload::StaffChange(c) => {
                check_staff(&c.staff)?;
                not_future("effective_on", c.effective_on, ctx.today)?;
            }
            Payload::Documents(_) => {}
            Payload::NoticeBoard(b) => {
                if let Some(pid) = b.place.project_id() {
                    if !ctx.projects.iter().any(|p| p.id == pid) {
                        return Err(Error::invalid("place", "所选项目不属于本企业"));
                    }
                }
                let (w, h) = b.size()?;
                let width = ctx.rules.value("board_width_cm", ctx.today, None).value;
                let height = ctx.rules.value("board_height_cm", ctx.today, None).value;
                // Boards are measured by hand: a few centimetres either way is the same board.
                // The rule set's values are data too, hence the checked difference.
                const TOLERANCE_CM: i64 = 5;
                let off = |filed: BoardCm, rule: i64| {
                    filed
                        .get()
                        .checked_sub(rule)
                        .is_none_or(|d| d.abs() > TOLERANCE_CM)
                };
                if off(w, width) || off(h, height) {
                    return Err(Error::invalid(
                        "size",
                        format!("公示牌规格应为 {width}cm × {height}cm（第十二条），填写的是 {}cm × {}cm", b.width_cm, b.height_cm),
                    ));
                }
                let missing = b.contents.missing();
                if !missing.is_empty() {
                    return Err(Error::invalid(
                        "contents",
                        format!("公示牌缺少第十二条要求的内容：{}", missing.join("、")),
                    ));
                }
            }
            Payload::Delegation(d) => {
                if ctx.rules.value("delegation_allowed", ctx.today, None).value == 0 {
                    return Err(Error::invalid(
                        "delegate_credit_code",
                        format!(
                            "现行规则（{}）不允许委托其他企业的售后服务机构",
                            ctx.rules.title
                        ),
                    ));
                }
                if ctx.enterprise.is_local {
                    return Err(Error::invalid(
                        "delegate_credit_code",
                        "只有外地开发企业可以委托本地企业的售后服务机构",
                    ));
                }
                let delegate = ctx.delegate.ok_or_else(|| {
                    Error::invalid(
                        "delegate_credit_code",
                        format!("受托企业 {} 未登记", d.delegate_credit_code),
                    )
                })?;
                if delegate.id == ctx.enterprise.id
                    || !delegate.is_local
                    || delegate.status != crate::registry::Status::Active
                {
                    return Err(Error::invalid(
                        "delegate_credit_code",
                        "受托企业须为状态正常的本地开发企业",
                    ));
                }
                if d.valid_to.is_some_and(|to| to <= d.valid_from) {
                    return Err(Error::invalid("valid_to", "委托截止日期须晚于起始日期"));
                }
            }
        }
        Ok(())
    }
}
