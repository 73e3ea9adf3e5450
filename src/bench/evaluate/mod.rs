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

use chrono::{Datelike, NaiveDate};

use crate::audit::Actor;
use crate::db::Db;
use crate::hotline::bench::{generate_part, peak_mib, reset_peak};
use crate::hotline::facts::FactStore;
use crate::hotline::import;
use crate::on_conn;

mod city;

use city::{seed_cases, seed_filings, seed_registry};

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
