//! Demo enforcement: a case in every state — one overdue in 2025 (the evaluation year the
//! demo's evaluation reads), one rectified in time, one whose verification failed and got a
//! new deadline (counting down on the enterprise's portal) — and the follow-up of some group
//! petitions, on time and late. Built through the same functions the pages call, with the
//! timeline dated to when each step happened.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::auth::Principal;
use crate::calendar::Calendar;
use crate::db::{Conn, Db};
use crate::enforcement::deadline::DeadlineInput;
use crate::enforcement::petitions::{self, FollowUpInput};
use crate::enforcement::{self, tick, EventInput, Ground, OpenInput};
use crate::error::{Error, Result};
use crate::on_conn;
use crate::time;

/// (county index, position in county) of the enterprise each case is against; see
/// `demo::filings` for what each position's org looks like.
pub struct Cast {
    pub officers: Vec<Principal>,
    /// Enterprise user per (county, position).
    pub members: Vec<(usize, usize, i64, Principal)>,
}

impl Cast {
    fn member(&self, county: usize, position: usize) -> Result<(i64, &Principal)> {
        self.members
            .iter()
            .find(|(c, p, ..)| *c == county && *p == position)
            .map(|(_, _, id, u)| (*id, u))
            .ok_or_else(|| Error::Internal(format!("demo member {county}/{position}")))
    }
}

fn at(d: NaiveDate, hour: u32) -> DateTime<Utc> {
    let t = NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or(NaiveTime::MIN);
    time::china()
        .from_local_datetime(&d.and_time(t))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

fn day(y: i32, m: u32, d: u32) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| Error::Internal("demo date".into()))
}

/// Dates the last event of case `id` (and the case's opening, for the first).
async fn dated(conn: &mut Conn<'_>, id: i64, when: DateTime<Utc>) -> Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
        "UPDATE case_events SET at = $1 WHERE id = (SELECT MAX(id) FROM case_events WHERE case_id = $2)"
    )
    .bind(when)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    on_conn!(conn, |c| sqlx::query(
        "UPDATE cases SET opened_at = $1 WHERE id = $2 AND opened_at > $1"
    )
    .bind(when)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// One step of a demo case, recorded as of `on` and dated then.
async fn step(db: &Db, p: &Principal, id: i64, input: EventInput, on: NaiveDate) -> Result<()> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    enforcement::record(&mut conn, p, Calendar::official(), id, &input, on).await?;
    dated(&mut conn, id, at(on, 10)).await?;
    tx.commit().await
}

async fn open(
    db: &Db,
    p: &Principal,
    enterprise_id: i64,
    ground: Ground,
    text: &str,
    on: NaiveDate,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let case = enforcement::open(
        &mut conn,
        p,
        &OpenInput {
            enterprise_id,
            ground,
            ground_text: text.into(),
            suggestion: (ground == Ground::NoOrg).then(|| "no_org".to_string()),
        },
    )
    .await?;
    dated(&mut conn, case.id, at(on, 9)).await?;
    tx.commit().await?;
    Ok(case.id)
}

fn interview(on: NaiveDate, officer: &Principal) -> EventInput {
    EventInput::Interview {
        held_on: on,
        place: format!("{}会议室", officer.display_name),
        attendees: format!(
            "{}工作人员2名；企业法定代表人、售后服务负责人",
            officer.display_name
        ),
        minutes: "告知《管理办法》第四条、第二十二条要求；企业表示将于期限内整改。".into(),
    }
}

fn order(
    no: &str,
    requirements: &str,
    issued_on: NaiveDate,
    deadline: DeadlineInput,
) -> EventInput {
    EventInput::Order {
        document_no: no.into(),
        requirements: requirements.into(),
        issued_on: Some(issued_on),
        deadline,
    }
}

fn span(s: &str) -> DeadlineInput {
    DeadlineInput {
        on: None,
        span: Some(s.into()),
    }
}

pub async fn build(db: &Db, cast: &Cast) -> Result<()> {
    let today = time::today();
    let officer = |c: usize| {
        cast.officers
            .get(c)
            .ok_or_else(|| Error::Internal("demo officer".into()))
    };

    // 任城区: no org, ordered in November 2025, never rectified: overdue, counts for 2025.
    let (e, _) = cast.member(0, 5)?;
    let o = officer(0)?;
    let id = open(db, o, e, Ground::NoOrg, "", day(2025, 10, 20)?).await?;
    step(
        db,
        o,
        id,
        interview(day(2025, 10, 28)?, o),
        day(2025, 10, 28)?,
    )
    .await?;
    step(
        db,
        o,
        id,
        order(
            "任住建整改〔2025〕12号",
            "设立售后服务机构，配备不少于2名专职人员，并向主管部门报备。",
            day(2025, 11, 3)?,
            span("20个工作日"),
        ),
        day(2025, 11, 3)?,
    )
    .await?;
    tick::run(db, at(day(2025, 12, 2)?, 0)).await?;

    // 兖州区: no org, rectified in time and verified: rectified.
    let (e, u) = cast.member(1, 5)?;
    let o = officer(1)?;
    let id = open(db, o, e, Ground::NoOrg, "", day(2025, 5, 26)?).await?;
    step(
        db,
        o,
        id,
        order(
            "兖住建整改〔2025〕4号",
            "设立售后服务机构并报备，公布投诉电话。",
            day(2025, 6, 2)?,
            span("30日"),
        ),
        day(2025, 6, 2)?,
    )
    .await?;
    step(
        db,
        u,
        id,
        EventInput::Submission {
            text: "已设立客户服务部，专职3人，已提交设立备案。".into(),
        },
        day(2025, 6, 20)?,
    )
    .await?;
    step(
        db,
        o,
        id,
        EventInput::Verification {
            passed: true,
            reasons: "备案已审核通过，现场核实人员到岗。".into(),
            new_deadline: None,
        },
        day(2025, 6, 25)?,
    )
    .await?;

    // 曲阜市: not functioning, rectified and closed.
    let (e, u) = cast.member(2, 4)?;
    let o = officer(2)?;
    let id = open(db, o, e, Ground::NotFunctioning, "", day(2025, 3, 10)?).await?;
    step(
        db,
        o,
        id,
        interview(day(2025, 3, 14)?, o),
        day(2025, 3, 14)?,
    )
    .await?;
    step(
        db,
        o,
        id,
        order(
            "曲住建整改〔2025〕2号",
            "转办件3日内反馈处理方案；建立回访台账。",
            day(2025, 3, 17)?,
            span("15个工作日"),
        ),
        day(2025, 3, 17)?,
    )
    .await?;
    step(
        db,
        u,
        id,
        EventInput::Submission {
            text: "已建立转办件台账和回访制度，3月以来转办件均在3日内反馈。".into(),
        },
        day(2025, 4, 3)?,
    )
    .await?;
    step(
        db,
        o,
        id,
        EventInput::Verification {
            passed: true,
            reasons: String::new(),
            new_deadline: None,
        },
        day(2025, 4, 8)?,
    )
    .await?;
    step(
        db,
        o,
        id,
        EventInput::Close {
            note: "整改到位，结案。".into(),
        },
        day(2025, 4, 9)?,
    )
    .await?;

    // 任城区, the out-of-town developer of the tour (qiye3): failed verification, new deadline
    // counting down.
    let (e, u) = cast.member(0, 7)?;
    let o = officer(0)?;
    let start = today - Duration::days(40);
    let id = open(
        db,
        o,
        e,
        Ground::Other,
        "在售项目未按第十二条设置公示牌",
        start,
    )
    .await?;
    step(
        db,
        o,
        id,
        order(
            "任住建整改〔2026〕5号",
            "在售及近5年交付项目按规格设置售后服务公示牌，并上传照片备案。",
            start + Duration::days(2),
            span("20日"),
        ),
        start + Duration::days(2),
    )
    .await?;
    step(
        db,
        u,
        id,
        EventInput::Submission {
            text: "已在两个项目设置公示牌。".into(),
        },
        start + Duration::days(15),
    )
    .await?;
    step(
        db,
        o,
        id,
        EventInput::Verification {
            passed: false,
            reasons: "第三个项目未设置公示牌；已设置的规格不足1.2米×0.9米。".into(),
            new_deadline: Some(span("25日")),
        },
        today - Duration::days(7),
    )
    .await?;

    // 邹城市: order running, the enterprise submitted, awaiting verification.
    let (e, u) = cast.member(3, 5)?;
    let o = officer(3)?;
    let id = open(db, o, e, Ground::NoOrg, "", today - Duration::days(20)).await?;
    step(
        db,
        o,
        id,
        order(
            "邹住建整改〔2026〕8号",
            "设立售后服务机构并报备。",
            today - Duration::days(18),
            span("30日"),
        ),
        today - Duration::days(18),
    )
    .await?;
    step(
        db,
        u,
        id,
        EventInput::Submission {
            text: "已设立售后服务中心，设立备案已提交待审。".into(),
        },
        today - Duration::days(2),
    )
    .await?;

    // 金乡县: interviewed; 嘉祥县: just opened.
    let (e, _) = cast.member(4, 3)?;
    let o = officer(4)?;
    let id = open(
        db,
        o,
        e,
        Ground::NotFunctioning,
        "",
        today - Duration::days(6),
    )
    .await?;
    step(
        db,
        o,
        id,
        interview(today - Duration::days(3), o),
        today - Duration::days(3),
    )
    .await?;
    let (e, _) = cast.member(5, 5)?;
    open(
        db,
        officer(5)?,
        e,
        Ground::NoOrg,
        "",
        today - Duration::days(1),
    )
    .await?;

    petitions(db, cast).await
}

/// Follow-ups of the first petitions of the 2025 export in 任城区: on time, late, none.
async fn petitions(db: &Db, cast: &Cast) -> Result<()> {
    let o = cast
        .officers
        .first()
        .ok_or_else(|| Error::Internal("demo officer".into()))?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let found: Vec<(i64, i64)> = on_conn!(&mut conn, |c| {
        sqlx::query_as(
        "SELECT id, received_at FROM tickets WHERE group_petition AND county_id = $1 AND enterprise_id IS NOT NULL
         ORDER BY received_at LIMIT 3"
    )
    .bind(match o.role {
        crate::auth::Role::CountyOfficer { county_id } => county_id,
        _ => 0,
    })
    .fetch_all(c)
    .await
    })?;
    for (i, (ticket, received)) in found.into_iter().enumerate() {
        let received = DateTime::from_timestamp(received, 0)
            .unwrap_or_default()
            .with_timezone(&time::china());
        let late = i == 1;
        let input = FollowUpInput {
            manager_name: "售后服务部经理".into(),
            manager_on_site_at: Some((received + Duration::hours(2)).naive_local()),
            reported_on: Some(received.date_naive() + Duration::days(if late { 6 } else { 2 })),
            note: if late {
                "面复逾期，已提醒。"
            } else {
                "已面复处理情况。"
            }
            .into(),
        };
        petitions::record(&mut conn, o, ticket, &input).await?;
    }
    tx.commit().await
}
