//! `aftercare rules check|test`: a rule-set file's problems with their lines, and golden
//! files run against a rule set.

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
