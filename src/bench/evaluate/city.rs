//! The generated city of `bench evaluate`: registry, approved filings and overdue cases,
//! written with a few large statements (setup is not what is timed).

use chrono::{Duration, NaiveDate, Utc};

use crate::db::Conn;
use crate::demo::names::{self, Rng};
use crate::error::{Error, Result};
use crate::filings::{
    Documents, Establishment, ManagerChange, NoticeBoard, Payload, Place, StaffMember,
    DOCUMENT_SLOTS,
};
use crate::hotline::bench::BenchEnterprise;
use crate::on_conn;
use crate::phone::{Hotline, Mobile, ServiceHours};
use crate::registry::CreditCode;

use super::Args;

/// Rows per multi-row INSERT.
const CHUNK: usize = 500;

/// A generated project: its enterprise (index), name, alias, delivery date, units, whether
/// its sales site is open.
pub(super) struct Project {
    enterprise: usize,
    name: String,
    alias: String,
    delivered: NaiveDate,
    units: usize,
    selling: bool,
}

/// What a generated enterprise lacks, to give the evaluation something to find.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gap {
    None,
    /// One full-time staff member (Art. 5 asks for two).
    Staff,
    /// Three of the four documents.
    Documents,
    /// No board at its first project's community.
    Board,
}

fn gap(i: usize) -> Gap {
    // 3% of enterprises file with a part missing.
    match i % 100 {
        17 => Gap::Staff,
        42 => Gap::Documents,
        73 => Gap::Board,
        _ => Gap::None,
    }
}

/// A number in Chinese numerals (12 → 一二): unique names without trailing digits.
fn phase(n: usize) -> String {
    const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    n.to_string()
        .chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| DIGITS[d as usize])
        .collect()
}

fn sql_text(s: &str) -> String {
    s.replace('\'', "''")
}

async fn exec(conn: &mut Conn<'_>, sql: &str) -> Result<u64> {
    Ok(on_conn!(conn, |c| sqlx::raw_sql(sql)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Multi-row inserts of `rows` (each a parenthesized tuple) after `head`.
async fn insert_rows(conn: &mut Conn<'_>, head: &str, rows: &[String]) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut sql = String::with_capacity(
            head.len() + chunk.iter().map(String::len).sum::<usize>() + chunk.len(),
        );
        sql.push_str(head);
        for (j, r) in chunk.iter().enumerate() {
            if j > 0 {
                sql.push(',');
            }
            sql.push_str(r);
        }
        exec(conn, &sql).await?;
    }
    Ok(())
}

fn credit_code(i: usize, county: usize) -> String {
    let chars = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let mut first17 = format!("91{}MA", names::COUNTIES[county].0);
    let mut x = i as u64 * 7919 + 13;
    for _ in 0..7 {
        first17.push(chars[(x % 31) as usize] as char);
        x /= 31;
    }
    CreditCode::complete(&first17)
        .map(|c| c.to_string())
        .unwrap_or_default()
}

/// Counties, enterprises, projects and one administrator (the filings' author and
/// reviewer). Returns the generator's view of the enterprises and the projects.
pub(super) async fn seed_registry(
    conn: &mut Conn<'_>,
    args: &Args,
) -> Result<(Vec<BenchEnterprise>, Vec<Project>)> {
    let now = Utc::now().to_rfc3339();
    exec(conn, &format!("INSERT INTO jurisdictions (code, name, kind, parent_id, created_at, updated_at) VALUES ('{}', '{}', 'city', NULL, '{now}', '{now}')", names::CITY.0, names::CITY.1)).await?;
    let counties: Vec<String> = names::COUNTIES
        .iter()
        .map(|(code, name)| format!("('{code}', '{name}', 'county', 1, '{now}', '{now}')"))
        .collect();
    insert_rows(
        conn,
        "INSERT INTO jurisdictions (code, name, kind, parent_id, created_at, updated_at) VALUES ",
        &counties,
    )
    .await?;
    exec(conn, &format!("INSERT INTO users (username, display_name, password_hash, role, created_at, updated_at) VALUES ('bench', '基准测试管理员', '!', 'city_admin', '{now}', '{now}')")).await?;

    let n = args.enterprises.max(1);
    let c = names::COUNTIES.len();
    let mut rng = Rng::new(42);
    let mut enterprises: Vec<BenchEnterprise> = (0..n)
        .map(|i| BenchEnterprise {
            name: format!(
                "{}{i}",
                names::enterprise_name(&mut rng, names::COUNTIES[i % c].1, i % 3000)
            ),
            code: credit_code(i, i % c),
            projects: Vec::new(),
            service: (i % 10) as u64,
        })
        .collect();
    let rows: Vec<String> = enterprises
        .iter()
        .enumerate()
        .map(|(i, e)| {
            format!(
                "('{}', '{}', '{}', {}, 'kefu{i}@example.cn', '{now}', '{now}')",
                e.code,
                sql_text(&e.name),
                ["first", "second", "third", "fourth"][i % 4],
                2 + i % c
            )
        })
        .collect();
    insert_rows(
        conn,
        "INSERT INTO enterprises (credit_code, name, grade, county_id, email, created_at, updated_at) VALUES ",
        &rows,
    )
    .await?;

    // Delivered over the five years up to the evaluation year, a tenth still selling.
    let first_day = NaiveDate::from_ymd_opt(args.year - 4, 1, 1)
        .ok_or_else(|| Error::invalid("year", "年份无效"))?;
    let span = (NaiveDate::from_ymd_opt(args.year, 12, 31).unwrap_or(first_day) - first_day)
        .num_days()
        .max(1) as u64;
    // Every enterprise has a project (the ticket generator picks one per ticket).
    let n_projects = args.projects.max(n);
    let mut projects = Vec::with_capacity(n_projects);
    for k in 0..n_projects {
        let name = format!(
            "{}{}",
            names::project_name(&mut rng, k % 5000),
            phase(k / 5000)
        );
        projects.push(Project {
            enterprise: k % n,
            alias: format!("{}{}", phase(k), ["苑", "园", "居"][k % 3]),
            name,
            delivered: first_day + Duration::days(rng.below(span) as i64),
            units: 100 + rng.below(900) as usize,
            selling: rng.chance(1, 10),
        });
    }
    let rows: Vec<String> = projects
        .iter()
        .map(|p| {
            format!(
                "({}, {}, '{}', '', {}, '{}', {}, '{now}', '{now}')",
                p.enterprise + 1,
                2 + p.enterprise % c,
                sql_text(&p.name),
                if p.selling { "TRUE" } else { "FALSE" },
                p.delivered,
                p.units
            )
        })
        .collect();
    insert_rows(
        conn,
        "INSERT INTO projects (enterprise_id, county_id, name, address, sales_site_open, delivery_date, units_delivered, created_at, updated_at) VALUES ",
        &rows,
    )
    .await?;
    for p in &projects {
        enterprises[p.enterprise]
            .projects
            .push((p.name.clone(), p.alias.clone()));
    }
    Ok((enterprises, projects))
}

/// One approved filing as a VALUES tuple; project ids are positions + 1 (a fresh database).
fn filing_row(
    enterprise_id: usize,
    payload: &Payload,
    late: bool,
    decided: &str,
) -> Result<String> {
    let json = serde_json::to_string(payload).map_err(|e| Error::Internal(e.to_string()))?;
    let effective = payload
        .effective_on()
        .map_or("NULL".to_string(), |d| format!("'{d}'"));
    let (place_kind, place_project) = match payload.place() {
        Some(p) => (
            format!("'{}'", p.kind_code()),
            p.project_id()
                .map_or("NULL".to_string(), |id| id.to_string()),
        ),
        None => ("NULL".to_string(), "NULL".to_string()),
    };
    Ok(format!(
        "({enterprise_id}, '{}', 'approved', '{}', {effective}, {place_kind}, {place_project}, 1, {}, 1, '{decided}', '{decided}', '{decided}', '{decided}', '{decided}', 1)",
        payload.kind().code(),
        sql_text(&json),
        if late { "TRUE" } else { "FALSE" },
    ))
}

fn board(place: Place) -> Payload {
    Payload::NoticeBoard(NoticeBoard::standard(place))
}

/// Approved establishment, documents (with their four files) and notice-board filings for
/// every enterprise, 3% of them short of something; a late manager change for 1%.
/// Returns the number of filings.
pub(super) async fn seed_filings(
    conn: &mut Conn<'_>,
    args: &Args,
    enterprises: &[BenchEnterprise],
    projects: &[Project],
) -> Result<usize> {
    let now = Utc::now().to_rfc3339();
    let mut rng = Rng::new(7);
    let mobile = |rng: &mut Rng| Mobile::parse(&names::mobile(rng)).map_err(Error::Internal);
    // One blob per document slot, shared by every documents filing.
    let blobs: Vec<String> = DOCUMENT_SLOTS
        .iter()
        .enumerate()
        .map(|(k, _)| format!("('{:064x}', 'application/pdf', 1024, '{now}')", k + 1))
        .collect();
    insert_rows(
        conn,
        "INSERT INTO blobs (sha256, content_type, size, created_at) VALUES ",
        &blobs,
    )
    .await?;

    let mut by_enterprise: Vec<Vec<usize>> = vec![Vec::new(); enterprises.len()];
    for (k, p) in projects.iter().enumerate() {
        by_enterprise[p.enterprise].push(k);
    }
    let as_of = NaiveDate::from_ymd_opt(args.year, 12, 31).unwrap_or_default();
    let mut rows = Vec::new();
    let mut files = Vec::new(); // (filing position, slot index)
    for (i, _) in enterprises.iter().enumerate() {
        let id = i + 1;
        let g = gap(i);
        let established_on =
            NaiveDate::from_ymd_opt(args.year - 4 + (i % 4) as i32, 1 + (i % 12) as u32, 10)
                .unwrap_or(as_of);
        let decided = format!("{}T02:00:00+00:00", established_on + Duration::days(5));
        let staff_n = if g == Gap::Staff { 1 } else { 2 + i % 2 };
        let roles = ["客服专员", "维修协调员", "回访专员"];
        let mut staff = Vec::with_capacity(staff_n);
        for k in 0..staff_n {
            staff.push(StaffMember {
                name: names::person_name(&mut rng),
                role: roles[k % roles.len()].into(),
                mobile: mobile(&mut rng)?,
            });
        }
        let county = names::COUNTIES[i % names::COUNTIES.len()].1;
        let establishment = Payload::Establishment(Establishment {
            manager_name: names::person_name(&mut rng),
            manager_mobile: mobile(&mut rng)?,
            office_address: format!("{}售后服务中心", names::address(&mut rng, county)),
            hotline: Hotline::parse(&format!("0537-{}", 2_000_000 + rng.below(7_000_000)))
                .map_err(Error::Internal)?,
            staff,
            fund_fen: 10_000_000 + 5_000_000 * (i as i64 % 3),
            established_on,
            independent_department: true,
            service_hours: Some(ServiceHours::new(7, 10).map_err(Error::Internal)?),
        });
        rows.push(filing_row(id, &establishment, false, &decided)?);
        rows.push(filing_row(
            id,
            &Payload::Documents(Documents {
                note: "已在办公场所悬挂并在企业网站公开".into(),
            }),
            false,
            &decided,
        )?);
        let slots = if g == Gap::Documents { 3 } else { 4 };
        for s in 0..slots {
            files.push((rows.len() - 1, s));
        }
        rows.push(filing_row(id, &board(Place::OrgOffice), false, &decided)?);
        for (n, &k) in by_enterprise[i].iter().enumerate() {
            let project_id = (k + 1) as i64;
            if !(g == Gap::Board && n == 0) {
                let on = format!(
                    "{}T02:00:00+00:00",
                    projects[k].delivered.max(established_on) + Duration::days(20)
                );
                rows.push(filing_row(
                    id,
                    &board(Place::Community { project_id }),
                    false,
                    &on,
                )?);
            }
            if projects[k].selling {
                rows.push(filing_row(
                    id,
                    &board(Place::SalesSite { project_id }),
                    false,
                    &decided,
                )?);
            }
        }
        if i % 100 == 58 {
            // A manager changed in March and filed in May: late (Art. 6).
            let change = Payload::ManagerChange(ManagerChange {
                manager_name: names::person_name(&mut rng),
                manager_mobile: mobile(&mut rng)?,
                effective_on: NaiveDate::from_ymd_opt(args.year, 3, 1).unwrap_or(as_of),
            });
            rows.push(filing_row(
                id,
                &change,
                true,
                &format!("{}-05-06T02:00:00+00:00", args.year),
            )?);
        }
    }
    insert_rows(
        conn,
        "INSERT INTO filings (enterprise_id, kind, status, payload, effective_on, place_kind, place_project_id, revision, late, created_by, created_at, updated_at, first_submitted_at, submitted_at, decided_at, decided_by) VALUES ",
        &rows,
    )
    .await?;
    let file_rows: Vec<String> = files
        .iter()
        .map(|(pos, s)| {
            let (slot, label) = DOCUMENT_SLOTS[*s];
            format!(
                "({}, '{slot}', '{:064x}', '{label}.pdf', 'application/pdf', 1024, '{now}')",
                pos + 1,
                s + 1
            )
        })
        .collect();
    insert_rows(
        conn,
        "INSERT INTO filing_files (filing_id, slot, sha256, original_name, content_type, size, created_at) VALUES ",
        &file_rows,
    )
    .await?;
    Ok(rows.len())
}

/// A rectification order missed in the evaluation year for 1% of enterprises.
pub(super) async fn seed_cases(conn: &mut Conn<'_>, args: &Args) -> Result<usize> {
    let now = Utc::now().to_rfc3339();
    let y = args.year;
    let rows: Vec<String> = (0..args.enterprises)
        .filter(|i| i % 100 == 31)
        .map(|i| {
            let deadline = NaiveDate::from_ymd_opt(y, 1 + (i % 10) as u32, 15).unwrap_or_default();
            // The Beijing midnight after the deadline.
            let overdue_at = format!("{deadline}T16:00:00+00:00");
            format!(
                "({}, 'not_functioning', '售后服务机构未开展工作', 'overdue', '济建售责〔{y}〕{i}号', '{deadline}', '{overdue_at}', {y}, 1, '{y}-01-05T01:00:00+00:00', '{now}')",
                i + 1
            )
        })
        .collect();
    insert_rows(
        conn,
        "INSERT INTO cases (enterprise_id, ground, ground_text, state, document_no, deadline, overdue_at, overdue_year, opened_by, opened_at, updated_at) VALUES ",
        &rows,
    )
    .await?;
    exec(
        conn,
        "INSERT INTO case_overdues (case_id, deadline, year, overdue_at)
         SELECT id, deadline, overdue_year, overdue_at FROM cases WHERE state = 'overdue'",
    )
    .await?;
    Ok(rows.len())
}
