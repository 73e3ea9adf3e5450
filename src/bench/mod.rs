//! `aftercare bench …`: measurements anyone can repeat. `bench hotline` (in
//! `hotline::bench`) times an import and the metrics on generated data; `bench web` load-tests
//! a live server with a small keep-alive HTTP/1.1 client, latency statistics, the mix of read
//! pages and API calls each role makes, and optionally an import uploaded during the load;
//! `bench evaluate` ([`evaluate`]) times a year's full evaluation run on a generated city.

pub mod evaluate;
pub mod http;
pub mod stats;
pub mod web;
pub mod write;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate a synthetic 12345 export, then time its import into a fresh SQLite database
    /// and the year's metrics.
    Hotline {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        #[arg(long, default_value_t = 10_000)]
        enterprises: usize,
        #[arg(long, default_value_t = 2025)]
        year: i32,
        /// Working folder (default: <data-dir>/bench); its database is recreated.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Also print one JSON line: import_s, metrics_s, rows, peak_mib.
        #[arg(long)]
        json: bool,
        /// Split the export into N files imported one after another.
        #[arg(long, default_value_t = 1, value_name = "N")]
        files: usize,
        /// Run on this PostgreSQL database instead of SQLite. Its `public` schema is DROPPED
        /// and recreated: name a database kept for benchmarks, never the deployment's.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
    },
    /// Generate a city (enterprises, projects delivered over five years, tickets, approved
    /// filings, overdue rectification orders), then time the year's full evaluation run.
    Evaluate {
        #[arg(long, default_value_t = 10_000)]
        enterprises: usize,
        #[arg(long, default_value_t = 50_000)]
        projects: usize,
        #[arg(long, default_value_t = 1_000_000)]
        tickets: usize,
        #[arg(long, default_value_t = 2025)]
        year: i32,
        /// Working folder (default: <data-dir>/bench); its evaluation database is recreated.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Run on this PostgreSQL database instead of SQLite. Its `public` schema is DROPPED
        /// and recreated: name a database kept for benchmarks, never the deployment's.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// Also print one JSON line with the phases' seconds, peak memory and the totals.
        #[arg(long)]
        json: bool,
        /// After the timed run, time its parts one by one (stores a second draft run).
        #[arg(long)]
        phases: bool,
        /// Evaluate the database a previous run generated (in --dir, or --postgres) instead of
        /// generating a new one: the peak memory is then the evaluation's alone.
        #[arg(long)]
        reuse: bool,
    },
    /// Load-test a running server: sign in as each user, then request the main read pages
    /// and API calls of their roles over keep-alive connections; exits 1 on any 5xx.
    Web {
        /// The server, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// Comma-separated username:password pairs, e.g. admin:PW,rencheng:PW.
        #[arg(long, value_delimiter = ',', required = true)]
        users: Vec<String>,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 60)]
        duration: u64,
        /// The year asked for by the rankings and metrics routes.
        #[arg(long, default_value_t = 2025)]
        year: i32,
        /// Leave out routes whose label contains any of these (comma-separated).
        #[arg(long, value_delimiter = ',')]
        exclude: Vec<String>,
        /// Upload this hotline export as the city administrator (one of --users) during the
        /// load, and report the reads that overlapped the import apart.
        #[arg(long, value_name = "FILE")]
        write_while: Option<PathBuf>,
        /// Seconds after the start of the load at which the upload begins.
        #[arg(long, default_value_t = 10)]
        write_after: u64,
    },
}

/// Runs `aftercare bench …`.
pub async fn run(command: Command, config: &Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Hotline {
            rows,
            enterprises,
            year,
            dir,
            json,
            files,
            postgres,
        } => {
            let dir = dir.unwrap_or_else(|| config.data_dir.join("bench"));
            crate::hotline::bench::run(&crate::hotline::bench::Args {
                rows,
                files,
                database_url: postgres,
                enterprises,
                year,
                dir,
                json,
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluate {
            enterprises,
            projects,
            tickets,
            year,
            dir,
            postgres,
            json,
            phases,
            reuse,
        } => {
            let dir = dir.unwrap_or_else(|| config.data_dir.join("bench"));
            evaluate::run(&evaluate::Args {
                phases,
                reuse,
                enterprises,
                projects,
                tickets,
                year,
                dir,
                database_url: postgres,
                json,
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Web {
            url,
            users,
            connections,
            duration,
            year,
            exclude,
            write_while,
            write_after,
        } => {
            web::run(&web::Args {
                url,
                users,
                connections,
                duration: Duration::from_secs(duration),
                year,
                exclude,
                write_while,
                write_after: Duration::from_secs(write_after),
            })
            .await
        }
    }
}

/// The database a benchmark runs on, empty: a new SQLite file `file` in `dir`, or the
/// PostgreSQL database given, with its `public` schema dropped and recreated.
pub async fn fresh_db(
    dir: &std::path::Path,
    file: &str,
    postgres: Option<&str>,
) -> anyhow::Result<crate::db::Db> {
    use crate::db::Db;
    let Some(url) = postgres else {
        let db_path = dir.join(file);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
        }
        return Ok(Db::connect(&crate::config::sqlite_url(&db_path)).await?);
    };
    let db = Db::connect(url).await?;
    if let Db::Postgres(pool) = &db {
        sqlx::query("DROP SCHEMA IF EXISTS public CASCADE")
            .execute(pool)
            .await?;
        sqlx::query("CREATE SCHEMA public").execute(pool).await?;
    } else {
        anyhow::bail!("--postgres 应为 postgres:// 地址（SQLite 的库建在 --dir 下）");
    }
    Ok(db)
}
