//! The wording of every message, one plain-data struct per kind, rendered from the files
//! under `src/notify/templates/<kind>/` (`subject.txt`, `body.txt`, `body.html`) so the text
//! can be read and changed in one place. askama escapes everything in the `.html` files
//! (user text such as a reviewer's reason cannot inject markup) and nothing in the `.txt`
//! files, whose output is the plain-text part, readable as it stands.
//!
//! The structs hold only strings, dates and numbers, so any module (filings today, the
//! enforcement cases next) fills them from its own rows.

use askama::Template;
use chrono::{Datelike, NaiveDate};

use super::digest::DigestSection;
use crate::error::{Error, Result};

/// One kind of message.
pub trait Mail {
    /// Stored with the message (`outbox.kind`), e.g. `filing_approved`.
    const KIND: &'static str;
    fn render(&self) -> Result<Rendered>;
}

/// A message's three parts, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// `2026年12月10日`: how dates read in the messages.
pub fn cn_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// Generates `Mail` for a struct from its three template files. Each template sees the
/// struct as `m`. The subject is cut to one line (a header cannot hold a line break); the
/// text part ends with a line break (askama drops a file's last one).
macro_rules! mail {
    ($ty:ident, $kind:tt, $subject:tt, $text:tt, $html:tt) => {
        impl Mail for $ty {
            const KIND: &'static str = $kind;

            fn render(&self) -> Result<Rendered> {
                #[derive(Template)]
                #[template(path = $subject)]
                struct Subject<'a> {
                    m: &'a $ty,
                }
                #[derive(Template)]
                #[template(path = $text)]
                struct Text<'a> {
                    m: &'a $ty,
                }
                #[derive(Template)]
                #[template(path = $html)]
                struct Html<'a> {
                    m: &'a $ty,
                }
                let subject = Subject { m: self }.render().map_err(failed)?;
                let mut text = Text { m: self }.render().map_err(failed)?;
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                Ok(Rendered {
                    subject: one_line(&subject),
                    text,
                    html: Html { m: self }.render().map_err(failed)?,
                })
            }
        }
    };
}

fn failed(e: askama::Error) -> Error {
    Error::Internal(format!("邮件模板渲染失败：{e}"))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A filing approved (Art. 4–7, 11, 12), noting a change filed late (Art. 6).
#[derive(Debug, Clone)]
pub struct FilingApproved {
    pub enterprise: String,
    /// What was filed, e.g. `设立备案（第12号）`.
    pub filing: String,
    pub late: bool,
    pub reviewer: String,
}
mail!(
    FilingApproved,
    "filing_approved",
    "filing_approved/subject.txt",
    "filing_approved/body.txt",
    "filing_approved/body.html"
);

/// One field an officer objects to, with the reason.
#[derive(Debug, Clone)]
pub struct FieldReason {
    /// The field's label, e.g. `专职工作人员`.
    pub field: String,
    pub reason: String,
}

/// A filing returned for correction, with a reason per field.
#[derive(Debug, Clone)]
pub struct FilingReturned {
    pub enterprise: String,
    pub filing: String,
    pub reasons: Vec<FieldReason>,
    pub reviewer: String,
}
mail!(
    FilingReturned,
    "filing_rejected",
    "filing_returned/subject.txt",
    "filing_returned/body.txt",
    "filing_returned/body.html"
);

/// A rectification order (责令限期整改, Art. 22).
#[derive(Debug, Clone)]
pub struct RectificationOrder {
    pub enterprise: String,
    pub case_no: String,
    /// 文号, e.g. `济住建整改〔2026〕3号`.
    pub document_no: String,
    pub requirements: Vec<String>,
    pub deadline: NaiveDate,
    /// How the deadline was set, e.g. `10个工作日` or `30日`.
    pub deadline_basis: String,
    /// The county bureau that issued it.
    pub bureau: String,
}
mail!(
    RectificationOrder,
    "rectification_order",
    "rectification_order/subject.txt",
    "rectification_order/body.txt",
    "rectification_order/body.html"
);

impl RectificationOrder {
    pub fn deadline_cn(&self) -> String {
        cn_date(self.deadline)
    }
}

/// A rectification deadline coming up (3 days or 1 day left).
#[derive(Debug, Clone)]
pub struct DeadlineReminder {
    pub enterprise: String,
    pub case_no: String,
    pub document_no: String,
    pub deadline: NaiveDate,
    pub days_left: i64,
}
mail!(
    DeadlineReminder,
    "deadline_reminder",
    "deadline_reminder/subject.txt",
    "deadline_reminder/body.txt",
    "deadline_reminder/body.html"
);

impl DeadlineReminder {
    pub fn deadline_cn(&self) -> String {
        cn_date(self.deadline)
    }
}

/// A rectification deadline passed without a passed verification: −20 points and no 2A
/// grade in the evaluation of `evaluation_year` (Art. 22).
#[derive(Debug, Clone)]
pub struct OverdueNotice {
    pub enterprise: String,
    pub case_no: String,
    pub document_no: String,
    pub deadline: NaiveDate,
    pub evaluation_year: i32,
}
mail!(
    OverdueNotice,
    "overdue_notice",
    "overdue_notice/subject.txt",
    "overdue_notice/body.txt",
    "overdue_notice/body.html"
);

impl OverdueNotice {
    pub fn deadline_cn(&self) -> String {
        cn_date(self.deadline)
    }
}

/// An evaluation run is publicized: the enterprise's total and until when it may object.
#[derive(Debug, Clone)]
pub struct EvaluationPublicized {
    pub enterprise: String,
    pub run: String,
    pub year: i32,
    pub total: i64,
    pub no_2a: bool,
    pub ends: NaiveDate,
}
mail!(
    EvaluationPublicized,
    "evaluation_publicized",
    "evaluation_publicized/subject.txt",
    "evaluation_publicized/body.txt",
    "evaluation_publicized/body.html"
);

impl EvaluationPublicized {
    pub fn ends_cn(&self) -> String {
        cn_date(self.ends)
    }
}

/// An objection to an item of the evaluation was decided.
#[derive(Debug, Clone)]
pub struct ObjectionDecided {
    pub enterprise: String,
    pub run: String,
    pub item: String,
    pub upheld: bool,
    pub reason: String,
    pub total: i64,
}
mail!(
    ObjectionDecided,
    "objection_decided",
    "objection_decided/subject.txt",
    "objection_decided/body.txt",
    "objection_decided/body.html"
);

/// The officer's verification of a rectification.
#[derive(Debug, Clone)]
pub struct VerificationResult {
    pub enterprise: String,
    pub case_no: String,
    pub document_no: String,
    pub passed: bool,
    pub reasons: Vec<String>,
    /// A new deadline, when a failed verification grants one.
    pub new_deadline: Option<NaiveDate>,
}
mail!(
    VerificationResult,
    "verification_result",
    "verification_result/subject.txt",
    "verification_result/body.txt",
    "verification_result/body.html"
);

impl VerificationResult {
    pub fn new_deadline_cn(&self) -> Option<String> {
        self.new_deadline.map(cn_date)
    }
}

/// A group petition (群体上访) on a ticket: the org's head reports face to face to the bureau
/// within 3 days (Art. 16).
#[derive(Debug, Clone)]
pub struct GroupPetitionFollowUp {
    pub enterprise: String,
    pub ticket_no: String,
    pub petition_date: NaiveDate,
    pub report_due: NaiveDate,
    pub bureau: String,
}
mail!(
    GroupPetitionFollowUp,
    "group_petition_follow_up",
    "group_petition/subject.txt",
    "group_petition/body.txt",
    "group_petition/body.html"
);

impl GroupPetitionFollowUp {
    pub fn petition_date_cn(&self) -> String {
        cn_date(self.petition_date)
    }
    pub fn report_due_cn(&self) -> String {
        cn_date(self.report_due)
    }
}

/// The daily digest: what is due or overdue for one recipient, in sections.
#[derive(Debug, Clone)]
pub struct DailyDigest {
    pub recipient: String,
    pub day: NaiveDate,
    /// Where the links point, e.g. `https://aftercare.example.cn` (no trailing slash).
    pub base_url: String,
    pub sections: Vec<DigestSection>,
}
mail!(
    DailyDigest,
    "daily_digest",
    "daily_digest/subject.txt",
    "daily_digest/body.txt",
    "daily_digest/body.html"
);

impl DailyDigest {
    pub fn day_cn(&self) -> String {
        cn_date(self.day)
    }
    pub fn item_count(&self) -> usize {
        self.sections.iter().map(|s| s.items.len() + s.more).sum()
    }
    pub fn overdue_count(&self) -> usize {
        self.sections
            .iter()
            .flat_map(|s| &s.items)
            .filter(|i| i.overdue)
            .count()
    }
}

/// A circular naming the enterprise was issued.
#[derive(Debug, Clone)]
pub struct CircularIssued {
    pub enterprise: String,
    pub issuer: String,
    pub title: String,
    pub number: String,
    pub date: NaiveDate,
}
mail!(
    CircularIssued,
    "circular_issued",
    "circular_issued/subject.txt",
    "circular_issued/body.txt",
    "circular_issued/body.html"
);

impl CircularIssued {
    pub fn date_cn(&self) -> String {
        cn_date(self.date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::digest::DigestItem;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn user_text_is_escaped_in_html_and_kept_in_text() {
        let r = FilingReturned {
            enterprise: "济宁甲置业有限公司".into(),
            filing: "设立备案（第3号）".into(),
            reasons: vec![FieldReason {
                field: "专职工作人员".into(),
                reason: "<script>alert(1)</script> & 不足2人".into(),
            }],
            reviewer: "王科长".into(),
        }
        .render()
        .expect("render");
        assert_eq!(r.subject, "【备案退回】设立备案（第3号）");
        assert!(r
            .text
            .contains("- 专职工作人员：<script>alert(1)</script> & 不足2人"));
        assert!(!r.html.contains("<script>"));
        assert!(r.html.contains("&#60;script&#62;") || r.html.contains("&lt;script&gt;"));
        assert!(r.text.ends_with('\n'));
    }

    #[test]
    fn every_kind_renders_its_facts() {
        let order = RectificationOrder {
            enterprise: "甲公司".into(),
            case_no: "AJ-2026-001".into(),
            document_no: "济住建整改〔2026〕3号".into(),
            requirements: vec!["设立售后服务机构".into(), "公示服务电话".into()],
            deadline: d(2026, 12, 10),
            deadline_basis: "10个工作日".into(),
            bureau: "任城区住房和城乡建设局".into(),
        }
        .render()
        .expect("order");
        for part in [&order.text, &order.html] {
            assert!(part.contains("2026年12月10日"), "{part}");
            assert!(part.contains("10个工作日"));
            assert!(part.contains("济住建整改〔2026〕3号"));
            assert!(part.contains("公示服务电话"));
        }
        let overdue = OverdueNotice {
            enterprise: "甲公司".into(),
            case_no: "AJ-2026-001".into(),
            document_no: "文号1".into(),
            deadline: d(2026, 12, 10),
            evaluation_year: 2026,
        }
        .render()
        .expect("overdue");
        assert!(overdue.text.contains("扣20分"));
        assert!(overdue.text.contains("2026年度"));
        let reminder = DeadlineReminder {
            enterprise: "甲公司".into(),
            case_no: "AJ-1".into(),
            document_no: "文号1".into(),
            deadline: d(2026, 12, 10),
            days_left: 3,
        }
        .render()
        .expect("reminder");
        assert!(reminder.subject.contains("3天"));
        let failed = VerificationResult {
            enterprise: "甲公司".into(),
            case_no: "AJ-1".into(),
            document_no: "文号1".into(),
            passed: false,
            reasons: vec!["公示牌尺寸不符".into()],
            new_deadline: Some(d(2027, 1, 5)),
        }
        .render()
        .expect("verification");
        assert!(failed.subject.contains("未通过"));
        assert!(failed.text.contains("2027年1月5日"));
        let petition = GroupPetitionFollowUp {
            enterprise: "甲公司".into(),
            ticket_no: "T004".into(),
            petition_date: d(2026, 3, 4),
            report_due: d(2026, 3, 7),
            bureau: "任城区住房和城乡建设局".into(),
        }
        .render()
        .expect("petition");
        assert!(petition.text.contains("2026年3月7日"));
        let digest = DailyDigest {
            recipient: "officer".into(),
            day: d(2026, 3, 9),
            base_url: "https://ac.example.cn".into(),
            sections: vec![DigestSection {
                title: "待审核备案".into(),
                items: vec![DigestItem {
                    title: "甲公司 设立备案".into(),
                    due: Some(d(2026, 3, 8)),
                    overdue: true,
                    link: "/filings/3".into(),
                }],
                more: 2,
            }],
        }
        .render()
        .expect("digest");
        assert!(digest.text.contains("https://ac.example.cn/filings/3"));
        assert!(digest.text.contains("已逾期"));
        assert!(digest.text.contains("另有2项"));
        assert!(digest
            .html
            .contains("href=\"https://ac.example.cn/filings/3\""));
    }
}
