//! `aftercare bench evaluate`: a generated city of the size the issue names (10,000
//! enterprises, 50,000 projects delivered over the last five years, 1,000,000 tickets,
//! approved filings, a few overdue rectification orders), then the year's full evaluation run
//! ([`crate::scoring::evaluate_year`]) timed on its own, with its peak memory, the results
//! stored and the spread of totals. Not a test: a measurement anyone can repeat.
//!
//! The registry, filings and cases are written with a few large statements (setup is not
//! what is timed); the tickets go through the real import, as in `bench hotline`. Filing
//! payloads are serialized from [`crate::filings::Payload`] itself, so they read back as the
//! application wrote them.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Datelike, Duration, NaiveDate, Utc};

use crate::audit::Actor;
use crate::db::{Conn, Db};
use crate::demo::names::{self, Rng};
use crate::error::{Error, Result};
use crate::filings::{
    Documents, Establishment, ManagerChange, NoticeBoard, Payload, Place, StaffMember,
    DOCUMENT_SLOTS,
};
use crate::hotline::bench::{generate_part, peak_mib, reset_peak, BenchEnterprise};
use crate::hotline::facts::FactStore;
use crate::hotline::import;
use crate::on_conn;
use crate::phone::{Hotline, Mobile, ServiceHours};
use crate::registry::CreditCode;

pub struct Args {
    pub enterprises: usize,
    pub projects: usize,
    pub tickets: usize,
    pub year: i32,
    pub dir: PathBuf,
    /// PostgreSQL instead of `<dir>/bench-evaluate.sqlite`; its `public` schema is dropped.
    pub database_url: Option<String>,
    pub json: bool,
    /// After the timed run, time its parts one by one (a second draft run is stored).
    pub phases: bool,
    /// Evaluate the database a previous run generated instead of generating one: the peak
    /// memory is then the evaluation's alone.
    pub reuse: bool,
}

/// Rows per multi-row INSERT.
const CHUNK: usize = 500;

/// A generated project: its enterprise (index), name, alias, delivery date, units, whether
/// its sales site is open.
struct Project {
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
async fn seed_registry(
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
async fn seed_filings(
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
async fn seed_cases(conn: &mut Conn<'_>, args: &Args) -> Result<usize> {
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

/// The parts of [`crate::scoring::evaluate_year`] timed one by one, on a fresh facts store:
/// the facts read, the gather's queries, the whole gather, the engine, the store. Printed,
/// and returned as (name, seconds) for the JSON line.
async fn phases(
    db: &Db,
    dir: &std::path::Path,
    text: &str,
    year: i32,
    today: NaiveDate,
) -> anyhow::Result<Vec<(&'static str, f64)>> {
    use crate::scoring::{gather, run};
    let mut out = Vec::new();
    let as_of = gather::as_of(year, today).ok_or_else(|| anyhow::anyhow!("年份无效"))?;
    let facts = FactStore::new(dir);
    let prepared = run::prepare(text, year, as_of, false)?;
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    let t = Instant::now();
    let table = facts.current(&mut conn).await?;
    out.push(("facts_read", t.elapsed().as_secs_f64()));
    let t = Instant::now();
    let approved = crate::filings::store::approved_all(&mut conn).await?;
    out.push(("filings_approved_all", t.elapsed().as_secs_f64()));
    drop(approved);
    let t = Instant::now();
    crate::filings::store::answerable_projects_in(&mut conn, None, as_of).await?;
    crate::filings::store::approved_boards_in(&mut conn, None).await?;
    out.push(("projects_and_boards", t.elapsed().as_secs_f64()));
    let as_of_end = as_of
        .succ_opt()
        .map(crate::hotline::tickets::day_start)
        .unwrap_or(i64::MAX);
    let t = Instant::now();
    crate::hotline::metrics::compute_from(&mut conn, Arc::clone(&table), year, None, as_of_end)
        .await?;
    out.push(("hotline_metrics", t.elapsed().as_secs_f64()));
    let t = Instant::now();
    let snapshot = gather::gather(&mut conn, table, &prepared.loaded.params, year, as_of).await?;
    out.push(("gather_total", t.elapsed().as_secs_f64()));
    drop(pooled);
    let t = Instant::now();
    let results = prepared.evaluate(&snapshot);
    out.push(("engine", t.elapsed().as_secs_f64()));
    let t = Instant::now();
    snapshot.hash()?;
    run::results_hash(&snapshot, &results)?;
    out.push(("hashes", t.elapsed().as_secs_f64()));
    let t = Instant::now();
    run::store(db, &Actor::system("bench"), &prepared, &snapshot, &results).await?;
    out.push(("store_total", t.elapsed().as_secs_f64()));
    println!("分步计时（第二次运行）：");
    for (name, s) in &out {
        println!("  {name:<22} {s:>7.3}s");
    }
    Ok(out)
}

/// What the generate and import phase did and took.
#[derive(serde::Serialize)]
struct Setup {
    tickets: usize,
    filings: usize,
    overdue_cases: usize,
    seed_s: f64,
    generate_s: f64,
    import_s: f64,
    setup_s: f64,
    setup_peak_mib: f64,
}

/// A fresh database with the generated city and its tickets imported.
async fn generate(args: &Args) -> anyhow::Result<(Db, Setup)> {
    let _ = std::fs::remove_dir_all(args.dir.join("facts"));
    let started = Instant::now();
    let db = crate::bench::fresh_db(
        &args.dir,
        "bench-evaluate.sqlite",
        args.database_url.as_deref(),
    )
    .await?;
    db.migrate().await?;
    println!(
        "生成登记、备案与整改数据：{} 家企业，{} 个项目……",
        args.enterprises, args.projects
    );
    let t = Instant::now();
    let mut tx = db.begin().await?;
    let (enterprises, projects, filings, cases) = {
        let mut conn = tx.conn();
        let (enterprises, projects) = seed_registry(&mut conn, args).await?;
        let filings = seed_filings(&mut conn, args, &enterprises, &projects).await?;
        let cases = seed_cases(&mut conn, args).await?;
        (enterprises, projects, filings, cases)
    };
    tx.commit().await?;
    drop(projects);
    let seed_s = t.elapsed().as_secs_f64();
    println!("  已通过备案 {filings} 件，逾期整改 {cases} 件；用时 {seed_s:.1}s");

    let t = Instant::now();
    let csv = generate_part(&enterprises, 0, args.tickets, args.year, 365);
    drop(enterprises);
    let name = "tickets.csv";
    let csv_path = args.dir.join(name);
    std::fs::write(&csv_path, &csv)?;
    let csv_mib = csv.len() as f64 / 1_048_576.0;
    drop(csv);
    let generate_s = t.elapsed().as_secs_f64();
    let bytes = std::fs::read(&csv_path)?;
    let t = Instant::now();
    let summary = import::import(
        &db,
        &Actor::system("bench"),
        bytes,
        name,
        &import::Options {
            facts: Some(Arc::new(FactStore::new(&args.dir))),
            ..import::Options::default()
        },
    )
    .await?;
    let import_s = t.elapsed().as_secs_f64();
    println!(
        "  工单：{} 行（{csv_mib:.0} MiB，生成 {generate_s:.1}s），新增 {}，未匹配 {}；导入用时 {import_s:.1}s",
        summary.rows, summary.inserted, summary.unmatched
    );
    let setup_s = started.elapsed().as_secs_f64();
    let setup_peak = peak_mib().unwrap_or(f64::NAN);
    println!("生成与导入合计 {setup_s:.1}s，峰值内存 {setup_peak:.0} MiB");
    let round = |s: f64| (s * 1000.0).round() / 1000.0;
    Ok((
        db,
        Setup {
            tickets: summary.rows,
            filings,
            overdue_cases: cases,
            seed_s: round(seed_s),
            generate_s: round(generate_s),
            import_s: round(import_s),
            setup_s: round(setup_s),
            setup_peak_mib: setup_peak.round(),
        },
    ))
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)?;
    let (db, setup) = if args.reuse {
        // The database a previous run generated, evaluated in a process that did nothing else.
        let url = match &args.database_url {
            Some(url) => url.clone(),
            None => {
                let path = args.dir.join("bench-evaluate.sqlite");
                anyhow::ensure!(
                    path.exists(),
                    "{} 不存在：先不带 --reuse 运行一次",
                    path.display()
                );
                crate::config::sqlite_url(&path)
            }
        };
        (Db::connect(&url).await?, None)
    } else {
        let (db, setup) = generate(args).await?;
        (db, Some(setup))
    };

    let text = crate::rules::RuleSet::shipped_text("jining-2021")
        .ok_or_else(|| anyhow::anyhow!("缺少内置规则集 jining-2021"))?;
    let today = crate::time::today();
    let today = if today.year() > args.year {
        today
    } else {
        // The year still running: evaluate as of its last day anyway, as the year would end.
        NaiveDate::from_ymd_opt(args.year, 12, 31).unwrap_or(today)
    };
    // A fresh facts store, as a server evaluating after a restart: it reads the facts file
    // the import wrote, not a table kept in memory.
    let facts = FactStore::new(&args.dir);
    reset_peak();
    let t = Instant::now();
    let run = crate::scoring::evaluate_year(
        &db,
        &facts,
        &Actor::system("bench"),
        text,
        args.year,
        today,
        false,
    )
    .await?;
    let evaluate_s = t.elapsed().as_secs_f64();
    let evaluate_peak = peak_mib().unwrap_or(f64::NAN);

    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    let dist: Vec<(i64, i64, i64)> = on_conn!(&mut conn, |c| sqlx::query_as(
        "SELECT total, COUNT(*), SUM(CASE WHEN no_2a THEN 1 ELSE 0 END) FROM evaluation_results
         WHERE run_id = $1 GROUP BY total ORDER BY total DESC"
    )
    .bind(run.id)
    .fetch_all(c)
    .await)?;
    let stored: i64 = dist.iter().map(|(_, n, _)| n).sum();
    println!(
        "{}：{} 家企业，评价日 {}；用时 {evaluate_s:.2}s，峰值内存 {evaluate_peak:.0} MiB，结果 {stored} 条",
        run.number(),
        run.enterprises,
        run.as_of
    );
    let mut spread = String::new();
    for (total, n, no_2a) in &dist {
        let _ = writeln!(
            spread,
            "  {total:>4} 分：{n} 家{}",
            if *no_2a > 0 {
                format!("（其中{no_2a}家不得参评2A级）")
            } else {
                String::new()
            }
        );
    }
    print!("{spread}");
    drop(pooled);
    let phases = if args.phases {
        Some(phases(&db, &args.dir, text, args.year, today).await?)
    } else {
        None
    };
    if args.json {
        let round = |s: f64| (s * 1000.0).round() / 1000.0;
        println!(
            "{}",
            serde_json::json!({
                "backend": if args.database_url.is_some() { "postgres" } else { "sqlite" },
                "enterprises": run.enterprises,
                "projects": setup.as_ref().map(|_| args.projects),
                "setup": setup,
                "evaluate_s": round(evaluate_s),
                "evaluate_peak_mib": evaluate_peak.round(),
                "results": stored,
                "phases": phases,
                "totals": dist.iter().map(|(t, n, f)| serde_json::json!({"total": t, "count": n, "no_2a": f})).collect::<Vec<_>>(),
            })
        );
    }
    Ok(())
}
