//! `aftercare rules check|test`: a rule-set file's problems with their lines, and golden
//! files run against a rule set; `aftercare evaluate`: a year's evaluation run, or its
//! what-if under a draft rule set.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a rule-set file (default: the configured shipped rule set); every problem is
    /// printed with its line, and the exit status is 1 if there is any.
    Check {
        file: Option<PathBuf>,
        /// The evaluation date parameters must have a value on (default: 31 December of last year).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// Run golden files (metric inputs → expected items, flags and total).
    Test {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn run(command: Command, rule_set: &str) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check { file, date } => {
            let date = date.unwrap_or_else(|| {
                use chrono::Datelike;
                let y = crate::time::today().year() - 1;
                chrono::NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or_default()
            });
            let (name, text) = match &file {
                Some(path) => (path.display().to_string(), std::fs::read_to_string(path)?),
                None => (
                    rule_set.to_string(),
                    crate::rules::RuleSet::shipped_text(rule_set)
                        .ok_or_else(|| anyhow::anyhow!("未知的规则集“{rule_set}”"))?
                        .to_string(),
                ),
            };
            match crate::scoring::load(&text, date) {
                Ok(l) => {
                    println!(
                        "{name}：{} 条规则，评价日 {date} 检查通过",
                        l.book.rules.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => {
                    for p in problems {
                        eprintln!("{name}：{p}");
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Test { files } => {
            let mut failed = 0;
            for path in files {
                let text = std::fs::read_to_string(&path)?;
                let dir = path.parent().unwrap_or(std::path::Path::new("."));
                match crate::scoring::golden::run(&path.display().to_string(), &text, dir) {
                    Ok(report) => {
                        for (case, failure) in &report.cases {
                            match failure {
                                None => println!("ok    {case}"),
                                Some(why) => println!("FAIL  {case}\n    {why}"),
                            }
                        }
                        println!(
                            "{}：{} 例，{} 例不符",
                            report.file,
                            report.cases.len(),
                            report.failures()
                        );
                        failed += report.failures();
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        failed += 1;
                    }
                }
            }
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    #[arg(long)]
    pub year: i32,
    /// A shipped rule set's id or a rule-set file (default: the configured rule set).
    #[arg(long, value_name = "ID|FILE")]
    pub rules: Option<String>,
    /// Print the run and every enterprise's items, flags and trace as JSON.
    #[arg(long)]
    pub json: bool,
    /// Evaluate a year outside the rule set's validity window; the run records that it was forced.
    #[arg(long)]
    pub force: bool,
    /// Evaluate the rule set on the frozen inputs of the year's latest run and print what
    /// changes; nothing is stored or published.
    #[arg(long)]
    pub what_if: bool,
    /// Take this date as today (a past year is evaluated as of 31 December).
    #[arg(long)]
    pub today: Option<chrono::NaiveDate>,
}

/// The text of `--rules`: a shipped id, else a file.
pub fn rules_text(arg: Option<&str>, configured: &str) -> anyhow::Result<String> {
    let arg = arg.unwrap_or(configured);
    if let Some(text) = crate::rules::RuleSet::shipped_text(arg) {
        return Ok(text.to_string());
    }
    std::fs::read_to_string(arg).map_err(|e| {
        anyhow::anyhow!(
            "规则集“{arg}”既不是内置规则集（{}），也无法作为文件读取：{e}",
            crate::rules::RuleSet::shipped_ids().join("、")
        )
    })
}

pub async fn evaluate(
    args: EvaluateArgs,
    db: &crate::db::Db,
    config: &crate::config::Config,
    actor: &crate::audit::Actor,
) -> anyhow::Result<ExitCode> {
    use super::{results, run, whatif};
    let text = rules_text(args.rules.as_deref(), &config.rule_set)?;
    let today = args.today.unwrap_or_else(crate::time::today);
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    if args.what_if {
        let base = match results::published(&mut conn, args.year).await? {
            Some(id) => Some(id),
            None => latest(&mut conn, args.year).await?,
        };
        let Some(base) = base else {
            anyhow::bail!(
                "{}年度还没有评价，无从比较；请先运行 aftercare evaluate --year {}",
                args.year,
                args.year
            );
        };
        let run = run::get(&mut conn, base).await?;
        let prepared = run::prepare(&text, args.year, run.as_of, args.force)?;
        let diff = whatif::compare(&mut conn, &run, &prepared.loaded).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&diff)?);
        } else {
            print!("{}", whatif::render(&diff));
        }
        return Ok(ExitCode::SUCCESS);
    }
    drop(pooled);
    let facts = crate::hotline::facts::FactStore::new(&config.data_dir);
    let started = std::time::Instant::now();
    let run = super::evaluate_year(db, &facts, actor, &text, args.year, today, args.force).await?;
    let elapsed = started.elapsed();
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    if args.json {
        let rows: Vec<(i64, String, String, String)> =
            crate::on_conn!(&mut conn, |c| sqlx::query_as(
                "SELECT enterprise_id, name, credit_code, evaluation FROM evaluation_results
             WHERE run_id = $1 ORDER BY enterprise_id"
            )
            .bind(run.id)
            .fetch_all(c)
            .await)?;
        let results = rows
            .into_iter()
            .map(|(id, name, code, evaluation)| {
                let evaluation: serde_json::Value = serde_json::from_str(&evaluation)?;
                Ok(serde_json::json!({"enterprise_id": id, "name": name, "credit_code": code, "evaluation": evaluation}))
            })
            .collect::<anyhow::Result<Vec<serde_json::Value>>>()?;
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"run": run, "results": results}))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let dist: Vec<(i64, i64, i64)> = crate::on_conn!(&mut conn, |c| sqlx::query_as(
        "SELECT total, COUNT(*), SUM(CASE WHEN no_2a THEN 1 ELSE 0 END) FROM evaluation_results
         WHERE run_id = $1 GROUP BY total ORDER BY total DESC"
    )
    .bind(run.id)
    .fetch_all(c)
    .await)?;
    println!(
        "{}（草稿）：{} 家企业，评价日 {}，用时 {:.2} 秒",
        run.number(),
        run.enterprises,
        run.as_of,
        elapsed.as_secs_f64()
    );
    println!("规则集：{}（{}）", run.rule_set_title, run.rule_set_id);
    if run.forced {
        println!("注意：{}年不在规则集有效期内，本次为强制评价", run.year);
    }
    println!(
        "规则集哈希 {}\n输入哈希   {}\n结果哈希   {}\n引擎       {}",
        run.rules_hash, run.inputs_hash, run.results_hash, run.engine_version
    );
    for (total, n, no_2a) in dist {
        println!(
            "  {total:>4} 分：{n} 家{}",
            if no_2a > 0 {
                format!("（其中{no_2a}家不得参评2A级）")
            } else {
                String::new()
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn latest(conn: &mut crate::db::Conn<'_>, year: i32) -> anyhow::Result<Option<i64>> {
    Ok(crate::on_conn!(conn, |c| sqlx::query_scalar::<_, i64>(
        "SELECT id FROM evaluation_runs WHERE year = $1 ORDER BY id DESC LIMIT 1"
    )
    .bind(year)
    .fetch_optional(c)
    .await)?)
}
