//! Demo filings in every state: complete orgs, an org short of staff, pending reviews, a
//! rejected-and-resubmitted filing, partial notice-board coverage, a late change, an
//! enterprise with no org at all, with generated photos and PDF documents.

use std::collections::BTreeMap;
use std::io::Cursor;

use chrono::{Duration, NaiveDate};

use crate::auth::Principal;
use crate::blobs::BlobStore;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::filings::{
    state, store, Documents, Establishment, HotlineChange, ManagerChange, NoticeBoard, Payload,
    Place, StaffMember, DOCUMENT_SLOTS,
};
use crate::phone::{Hotline, Mobile, ServiceHours};
use crate::registry::enterprise::Enterprise;
use crate::rules::RuleSet;

use super::names::{self, Rng};

pub struct Member {
    pub enterprise: Enterprise,
    pub user: Principal,
    pub county: usize,
    /// Position of the enterprise within its county (0 = the group parent).
    pub position: usize,
}

const LIMITS: crate::blobs::Limits = crate::blobs::Limits {
    max_bytes: 10 * 1024 * 1024,
    max_pixels: 40_000_000,
};

/// A notice board photographed: a coloured board with a title band and text lines.
fn board_photo(seed: u64, jpeg: bool) -> Result<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let (w, h) = (480u32, 360u32);
    let base = [
        20 + rng.below(40) as u8,
        80 + rng.below(60) as u8,
        140 + rng.below(80) as u8,
    ];
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let board = (40..440).contains(&x) && (50..320).contains(&y);
        let band = board && (60..100).contains(&y);
        let line = board && y > 120 && (y - 120) % 28 < 6 && (70..410 - (y % 97)).contains(&x);
        if band || line {
            image::Rgb([245, 245, 240])
        } else if board {
            image::Rgb(base)
        } else {
            // A wall behind the board, with a little texture so photos differ.
            let n = ((x * 7 + y * 13) % 23) as u8;
            image::Rgb([200 - n, 196 - n, 188 - n])
        }
    });
    let mut out = Cursor::new(Vec::new());
    let format = if jpeg {
        image::ImageFormat::Jpeg
    } else {
        image::ImageFormat::Png
    };
    img.write_to(&mut out, format)
        .map_err(|e| Error::Internal(format!("演示图片生成失败：{e}")))?;
    Ok(out.into_inner())
}

/// A one-page PDF with a line of text, with a correct cross-reference table.
fn pdf(title: &str) -> Vec<u8> {
    let text = format!("BT /F1 20 Tf 72 760 Td ({title}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{o}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for off in offsets {
        out.push_str(&format!("{off:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

struct Ctx<'a, 'c> {
    conn: &'a mut Conn<'c>,
    blobs: &'a dyn BlobStore,
    rules: RuleSet,
}

impl Ctx<'_, '_> {
    async fn draft(
        &mut self,
        m: &Member,
        payload: Payload,
        files: Vec<(&str, Vec<u8>, String)>,
    ) -> Result<i64> {
        let f = store::create(self.conn, &m.user, &self.rules, m.enterprise.id, &payload).await?;
        for (slot, bytes, name) in files {
            store::attach(
                self.conn, self.blobs, LIMITS, &m.user, f.id, slot, &name, bytes,
            )
            .await?;
        }
        Ok(f.id)
    }

    async fn submitted(
        &mut self,
        m: &Member,
        payload: Payload,
        files: Vec<(&str, Vec<u8>, String)>,
    ) -> Result<i64> {
        let id = self.draft(m, payload, files).await?;
        store::submit(self.conn, &m.user, &self.rules, id).await?;
        Ok(id)
    }

    async fn approved(
        &mut self,
        m: &Member,
        officer: &Principal,
        payload: Payload,
        files: Vec<(&str, Vec<u8>, String)>,
    ) -> Result<i64> {
        let id = self.submitted(m, payload, files).await?;
        store::approve(self.conn, officer, &self.rules, id).await?;
        Ok(id)
    }
}

fn establishment(
    rng: &mut Rng,
    m: &Member,
    staff: usize,
    fund_yuan: i64,
    on: NaiveDate,
) -> Result<Payload> {
    let mobile = |rng: &mut Rng| Mobile::parse(&names::mobile(rng)).map_err(Error::Internal);
    let roles = ["客服专员", "维修协调员", "回访专员", "档案管理员"];
    let mut members = Vec::new();
    for i in 0..staff {
        members.push(StaffMember {
            name: names::person_name(rng),
            role: roles[i % roles.len()].into(),
            mobile: mobile(rng)?,
        });
    }
    let county = names::COUNTIES[m.county].1;
    Ok(Payload::Establishment(Establishment {
        manager_name: names::person_name(rng),
        manager_mobile: mobile(rng)?,
        office_address: format!("{}售后服务中心", names::address(rng, county)),
        hotline: Hotline::parse(&format!("0537-{}", 2_000_000 + rng.below(7_000_000)))
            .map_err(Error::Internal)?,
        staff: members,
        fund_fen: fund_yuan * 100,
        established_on: on,
        independent_department: true,
        // Most promise the handbook's 7 days × 10 h or more; some file office hours only, some nothing.
        service_hours: match rng.below(6) {
            0 => None,
            1 => Some(ServiceHours::new(5, 8).map_err(Error::Internal)?),
            _ => Some(ServiceHours::new(7, 10 + rng.below(3) as i64).map_err(Error::Internal)?),
        },
    }))
}

fn documents(slots: &[&str], name: &str) -> Vec<(&'static str, Vec<u8>, String)> {
    DOCUMENT_SLOTS
        .iter()
        .filter(|(slot, _)| slots.contains(slot))
        .map(|(slot, label)| {
            (
                *slot,
                pdf(&format!("After-sales service: {slot}")),
                format!("{name}-{label}.pdf"),
            )
        })
        .collect()
}

fn board(place: Place) -> Payload {
    Payload::NoticeBoard(NoticeBoard::standard(place))
}

/// Files and reviews the demo's filings. `officers[i]` reviews county `i`.
pub async fn build(
    conn: &mut Conn<'_>,
    blobs: &dyn BlobStore,
    members: &[Member],
    officers: &[Principal],
) -> Result<()> {
    let rules = RuleSet::shipped("jining-2021")?;
    let today = crate::time::today();
    let mut ctx = Ctx { conn, blobs, rules };
    let mut rng = Rng::new(7);
    let mut photo_seed = 1u64;
    for m in members
        .iter()
        .filter(|m| m.enterprise.status == crate::registry::Status::Active)
    {
        let officer = &officers[m.county];
        let set_up = NaiveDate::from_ymd_opt(
            2021 + (m.position % 4) as i32,
            1 + (m.position * 2 % 12) as u32,
            10,
        )
        .unwrap_or(today);
        let short = &m.enterprise.name;
        let (staff, docs, boards): (usize, &[&str], usize) = match m.position {
            0 | 6 => (
                3,
                &["functions", "duties", "commitment", "workflow"],
                usize::MAX,
            ),
            1 => (2, &["functions", "duties", "commitment", "workflow"], 1),
            2 => (1, &["functions", "duties"], 2),
            7 => (2, &["functions", "duties", "commitment", "workflow"], 1),
            9 | 10 => (2, &[], 0),
            3 => {
                let p = establishment(&mut rng, m, 2, 50_000, set_up)?;
                ctx.submitted(m, p, vec![]).await?;
                continue;
            }
            4 => {
                // Rejected for too few staff, corrected and resubmitted: waiting again.
                let p = establishment(&mut rng, m, 1, 0, set_up)?;
                let id = ctx.submitted(m, p, vec![]).await?;
                let reasons = BTreeMap::from([
                    (
                        "staff".to_string(),
                        "专职工作人员不足2人（第五条）".to_string(),
                    ),
                    ("fund_fen".to_string(), "未设立专项资金".to_string()),
                ]);
                store::reject(ctx.conn, officer, id, &reasons).await?;
                let fixed = establishment(&mut rng, m, 2, 30_000, set_up)?;
                store::update(ctx.conn, &m.user, &ctx.rules, id, &fixed).await?;
                store::submit(ctx.conn, &m.user, &ctx.rules, id).await?;
                continue;
            }
            8 => {
                let p = establishment(&mut rng, m, 2, 20_000, set_up)?;
                ctx.draft(m, p, vec![]).await?;
                continue;
            }
            _ => continue, // position 5: no org at all
        };
        let fund = if staff >= 2 {
            100_000 + 50_000 * (m.position as i64 % 3)
        } else {
            0
        };
        let p = establishment(&mut rng, m, staff, fund, set_up)?;
        ctx.approved(m, officer, p, vec![]).await?;
        if !docs.is_empty() {
            ctx.approved(
                m,
                officer,
                Payload::Documents(Documents {
                    note: "已在办公场所悬挂并在企业网站公开".into(),
                }),
                documents(docs, short),
            )
            .await?;
        }
        if boards > 0 {
            let coverage = state::coverage(ctx.conn, &m.enterprise, &ctx.rules, today).await?;
            for place in coverage.places.iter().map(|p| p.place).take(boards) {
                photo_seed += 1;
                let photos = vec![(
                    "photo",
                    board_photo(photo_seed, photo_seed % 2 == 0)?,
                    format!("公示牌-{photo_seed}.jpg"),
                )];
                ctx.approved(m, officer, board(place), photos).await?;
            }
        }
        if m.position == 1 {
            // A board filed with the wrong size and returned: waiting for the enterprise.
            let coverage = state::coverage(ctx.conn, &m.enterprise, &ctx.rules, today).await?;
            let first_gap = coverage.uncovered().next().map(|p| p.place);
            if let Some(place) = first_gap {
                photo_seed += 1;
                let photos = vec![(
                    "photo",
                    board_photo(photo_seed, false)?,
                    "公示牌.png".to_string(),
                )];
                let id = ctx.submitted(m, board(place), photos).await?;
                let reasons = BTreeMap::from([(
                    "photo".to_string(),
                    "照片未能看清公示内容，请近距离重拍".to_string(),
                )]);
                store::reject(ctx.conn, officer, id, &reasons).await?;
            }
        }
        if m.position == 6 {
            // A manager changed 40 days ago and only filed now: approved, marked late (Art. 6).
            let change = Payload::ManagerChange(ManagerChange {
                manager_name: names::person_name(&mut rng),
                manager_mobile: Mobile::parse(&names::mobile(&mut rng)).map_err(Error::Internal)?,
                effective_on: today - Duration::days(40),
            });
            ctx.approved(m, officer, change, vec![]).await?;
            let hotline = Payload::HotlineChange(HotlineChange {
                hotline: Hotline::parse("400-600-5370").map_err(Error::Internal)?,
                service_hours: Some(ServiceHours::new(7, 12).map_err(Error::Internal)?),
                effective_on: today - Duration::days(2),
            });
            ctx.submitted(m, hotline, vec![]).await?;
        }
    }
    age_pending(ctx.conn).await?;
    backdate_setup(ctx.conn, today).await
}

/// The demo is built in a second, but its orgs were set up years ago: each enterprise's
/// establishment, documents and boards are dated as approved a week or more after the org
/// was established (never later than a month ago), so the 2025 evaluation, which counts only
/// what was approved by 31 December, sees them. Changes keep today's dates (the late one is
/// late now).
async fn backdate_setup(conn: &mut Conn<'_>, today: NaiveDate) -> Result<()> {
    let rows: Vec<(i64, i64, String, String)> = crate::on_conn!(conn, |c| sqlx::query_as(
        "SELECT id, enterprise_id, kind, payload FROM filings
         WHERE status = 'approved' AND kind IN ('establishment', 'documents', 'notice_board')
         ORDER BY enterprise_id, id"
    )
    .fetch_all(c)
    .await)?;
    let mut established: std::collections::HashMap<i64, NaiveDate> = Default::default();
    for (_, enterprise, kind, payload) in &rows {
        if kind == "establishment" {
            if let Ok(Payload::Establishment(e)) = serde_json::from_str::<Payload>(payload) {
                established.insert(*enterprise, e.established_on);
            }
        }
    }
    let latest = today - Duration::days(30);
    for (i, (id, enterprise, _, _)) in rows.iter().enumerate() {
        let Some(on) = established.get(enterprise) else {
            continue;
        };
        let day = (*on + Duration::days(7 + (i as i64 % 20))).min(latest);
        let at = crate::hotline::tickets::day_start(day) + 10 * 3600;
        let at = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
        crate::on_conn!(conn, |c| {
            sqlx::query(
                "UPDATE filings SET created_at = $1, updated_at = $1, submitted_at = $1,
                        first_submitted_at = $1, decided_at = $1 WHERE id = $2",
            )
            .bind(at)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Spreads the waiting filings' submission times over the past fortnight, so the worklist
/// shows realistic ages (the demo is built in a second).
async fn age_pending(conn: &mut Conn<'_>) -> Result<()> {
    let pending: Vec<(i64, chrono::DateTime<chrono::Utc>)> =
        crate::on_conn!(conn, |c| sqlx::query_as(
            "SELECT id, submitted_at FROM filings WHERE status = 'submitted' ORDER BY id"
        )
        .fetch_all(c)
        .await)?;
    for (i, (id, at)) in pending.into_iter().enumerate() {
        let at = at - Duration::days(1 + (i as i64 * 5) % 14) - Duration::hours((i as i64 * 7) % 9);
        crate::on_conn!(conn, |c| {
            sqlx::query("UPDATE filings SET submitted_at = $1, first_submitted_at = $1, updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}
