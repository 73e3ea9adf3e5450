//! The command line: `serve`, `migrate`, `demo`, `user …`, `jurisdiction …`,
//! `import-enterprises`, `import-projects`, `mail …`. Global flags go before or after the subcommand.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::audit::Actor;
use crate::auth::{token, user, Role};
use crate::config::{Config, Overrides};
use crate::db::Db;
use crate::registry::{enterprise, import, jurisdiction, CreditCode};
use crate::web::{self, AppState};

#[derive(Parser, Debug)]
#[command(
    name = "aftercare",
    version,
    about = "房地产开发企业售后服务机构监管与信用评价平台"
)]
pub struct Cli {
    /// Configuration file (TOML). Default: ./aftercare.toml if present.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// sqlite://PATH or postgres://… (default: sqlite under the data dir).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<String>,
    /// Directory for the SQLite database and import reports (default: ./data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Migrate the database and serve the web UI and API.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// (Re)create the demo city in <data-dir>/demo.sqlite, then serve it.
    Demo {
        /// Build the demo database and exit without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the city and its counties.
    #[command(subcommand)]
    Jurisdiction(JurisdictionCommand),
    /// Import enterprises from CSV (UTF-8/GBK) or XLSX.
    ImportEnterprises(ImportArgs),
    /// Import projects / communities from CSV (UTF-8/GBK) or XLSX.
    ImportProjects(ImportArgs),
    /// Import a 12345 hotline export (CSV in UTF-8/GBK, or XLSX).
    ImportHotline {
        file: PathBuf,
        /// Import the good rows even if some are rejected (they are still reported).
        #[arg(long)]
        skip_bad_rows: bool,
        /// Read the file with this mapping profile (TOML) instead of choosing automatically.
        #[arg(long, value_name = "FILE")]
        profile: Option<PathBuf>,
        /// Folder for the rejected-row report (default: <data-dir>/import-reports).
        #[arg(long, value_name = "DIR")]
        report_dir: Option<PathBuf>,
    },
    /// Print the hotline metrics of a year (or month) as JSON.
    HotlineMetrics {
        #[arg(long)]
        year: i32,
        #[arg(long)]
        month: Option<u32>,
    },
    /// Check deadlines once — rectification orders overdue at 00:00 Beijing time, reminders
    /// 3 and 1 days before, group-petition reports due — for cron; `serve` does this every
    /// minute by itself.
    Tick {
        /// Run as of this instant (RFC 3339, e.g. 2026-01-01T00:00:00+08:00) instead of now.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
    /// Run the annual credit evaluation of a year (stored as a draft), or its what-if.
    Evaluate(crate::scoring::cli::EvaluateArgs),
    /// Build a circular (通报) from the data and write it as DOCX, PDF and HTML.
    Circular(crate::circulars::cli::CircularArgs),
    /// Check rule-set files and run golden cases against them.
    #[command(subcommand)]
    Rules(crate::scoring::cli::Command),
    /// The e-mail outbox: send what is due, show its state, retry a failed message.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Benchmarks on generated data.
    #[command(subcommand)]
    Bench(crate::bench::Command),
}

#[derive(Subcommand, Debug)]
enum MailCommand {
    /// Send every due message once (today's digest first, when due), then exit.
    Send,
    /// Messages per status, and the latest failures with the server's answer.
    Status,
    /// Put a failed message back in the queue (recorded in the audit log).
    Retry {
        #[arg(long)]
        id: i64,
    },
    /// Queue today's digest now, even before its time (once per recipient and day).
    Digest,
}

#[derive(Args, Debug)]
struct ImportArgs {
    file: PathBuf,
    /// Import the good rows even if some are rejected (they are still reported).
    #[arg(long)]
    skip_bad_rows: bool,
    /// Folder for the rejected-row report (default: <data-dir>/import-reports).
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum RoleArg {
    CityAdmin,
    CountyOfficer,
    Enterprise,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user. The password is read from standard input with --password-stdin,
    /// otherwise a strong one is generated and printed once.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// County code or name (county officers).
        #[arg(long)]
        county: Option<String>,
        /// Enterprise credit code (enterprise users).
        #[arg(long)]
        enterprise: Option<String>,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Set a user's password (read from standard input); ends their sessions.
    Passwd {
        #[arg(long)]
        username: String,
    },
    /// Deactivate a user and end their sessions.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Reactivate a user.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Create an API token for a user; the secret is printed once.
    Token {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// Days until the token expires (1–3650); without it the token does not expire.
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    /// List a user's API tokens (revoked and expired ones included).
    Tokens {
        #[arg(long)]
        username: String,
    },
    /// Revoke an API token by its id (see `user tokens`).
    RevokeToken {
        #[arg(long)]
        id: i64,
    },
}

#[derive(Subcommand, Debug)]
enum JurisdictionCommand {
    /// Add the city (no --parent) or a county (--parent = the city's code).
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        parent: Option<String>,
    },
    /// List the city and counties.
    List,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        config: cli.config.clone(),
        database_url: cli.database_url.clone(),
        listen: cli.listen.clone(),
        data_dir: cli.data_dir.clone(),
    };
    let config = match Config::load(&overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("配置错误：{e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log);
    // Next year's working-day calendar can be added as a file, before any deadline is counted.
    match crate::calendar::Calendar::install(&config.data_dir.join("calendars")) {
        Ok(added) if !added.is_empty() => tracing::info!(?added, "working-day calendars added"),
        Ok(_) => {}
        Err(e) => {
            eprintln!("工作日历错误：{e}");
            return ExitCode::from(2);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("无法启动运行时：{e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config, &overrides)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误：{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let targets: Targets = filter
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO));
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(targets)
        .try_init();
}

async fn open(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    Ok(db)
}

async fn run(
    command: Command,
    mut config: Config,
    overrides: &Overrides,
) -> anyhow::Result<ExitCode> {
    let cli_actor = Actor::system("cli");
    match command {
        Command::Serve => {
            let db = open(&config).await?;
            web::serve(AppState::new(db, config)?).await?;
        }
        Command::Migrate => {
            let db = Db::connect(&config.database_url).await?;
            let n = db.migrate().await?;
            println!("已应用 {n} 个迁移");
        }
        Command::Demo { no_serve } => {
            let explicit = overrides.database_url.is_some()
                || std::env::var("AFTERCARE_DATABASE_URL").is_ok_and(|v| !v.is_empty());
            if !explicit {
                let path = config.data_dir.join("demo.sqlite");
                for suffix in ["", "-wal", "-shm"] {
                    let p = PathBuf::from(format!("{}{suffix}", path.display()));
                    if p.exists() {
                        std::fs::remove_file(&p)?;
                    }
                }
                config.database_url = crate::config::sqlite_url(&path);
            }
            let db = open(&config).await?;
            if explicit && !crate::demo::is_empty(&db).await? {
                anyhow::bail!("数据库 {} 已有数据：演示数据只写入空数据库（不指定 --database-url 时使用 <data-dir>/demo.sqlite）", config.database_url);
            }
            let blobs = crate::blobs::LocalDir::new(config.blob_dir());
            let logins = crate::demo::build(&db, &blobs).await?;
            // The demo's mail goes to .eml files in its own folder, never to a configured SMTP
            // server: the demo's addresses are made up.
            let eml = config.data_dir.join("mail");
            let p = crate::notify::worker::Worker::new(
                db.clone(),
                &config.mail,
                crate::notify::transport::Transport::File(eml.clone()),
            )?
            .drain()
            .await?;
            println!("\n演示邮件：{} 封，写入 {}", p.sent, eml.display());
            println!("\n演示数据已生成：{}", config.database_url);
            println!("\n  地址： http://{}/", config.listen);
            println!("\n  演示账号（密码均为 {}）：", crate::demo::PASSWORD);
            for (username, what) in &logins {
                println!("    {username:<12} {what}");
            }
            println!();
            if !no_serve {
                web::serve(AppState::new(db, config)?).await?;
            }
        }
        Command::User(cmd) => return user_command(cmd, &config, &cli_actor).await,
        Command::Jurisdiction(cmd) => {
            let db = open(&config).await?;
            match cmd {
                JurisdictionCommand::Add { code, name, parent } => {
                    let mut tx = db.begin().await?;
                    let mut conn = tx.conn();
                    let parent_id = match parent {
                        None => None,
                        Some(p) => {
                            let all = jurisdiction::list(&mut conn).await?;
                            let found = all
                                .iter()
                                .find(|j| j.code == p || j.name == p)
                                .map(|j| j.id);
                            Some(found.ok_or_else(|| anyhow::anyhow!("上级行政区 {p} 不存在"))?)
                        }
                    };
                    let j = jurisdiction::create(
                        &mut conn,
                        &cli_actor,
                        &jurisdiction::JurisdictionInput {
                            code,
                            name,
                            parent_id,
                        },
                    )
                    .await?;
                    tx.commit().await?;
                    println!("已添加 {} {}（id {}）", j.code, j.name, j.id);
                }
                JurisdictionCommand::List => {
                    let mut p = db.acquire().await?;
                    for j in jurisdiction::list(&mut p.conn()).await? {
                        println!("{:>4}  {}  {}  {}", j.id, j.code, j.kind, j.name);
                    }
                }
            }
        }
        Command::ImportHotline {
            file,
            skip_bad_rows,
            profile,
            report_dir,
        } => {
            let db = open(&config).await?;
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("无法读取 {}：{e}", file.display()))?;
            let facts =
                std::sync::Arc::new(crate::hotline::facts::FactStore::new(&config.data_dir));
            let opts = crate::hotline::import::Options {
                base: import::Options {
                    skip_bad_rows,
                    report_dir: Some(report_dir.unwrap_or_else(|| config.import_report_dir())),
                    only_county: None,
                    limits: config.import_limits(),
                },
                profile_file: profile,
                profile_dir: Some(config.profile_dir()),
                facts: Some(facts.clone()),
            };
            let s = crate::hotline::import::import(
                &db,
                &cli_actor,
                bytes,
                &file.to_string_lossy(),
                &opts,
            )
            .await?;
            // The facts file is saved after the import answers: wait for it before exiting.
            facts.flush().await;
            println!(
                "{}（映射 {}，来源 {}）：共 {} 行；新增 {}，更新 {}，未变 {}，拒绝 {}；未匹配企业 {}",
                s.file, s.profile, s.source, s.rows, s.inserted, s.updated, s.unchanged, s.rejected, s.unmatched
            );
            print_details(&s.base);
            if !s.committed {
                println!("文件有错误行，未导入任何数据（可用 --skip-bad-rows 只导入正确的行）");
                return Ok(ExitCode::from(3));
            }
        }
        Command::HotlineMetrics { year, month } => {
            let db = open(&config).await?;
            let analytics = crate::hotline::served::Analytics::new(&config.data_dir);
            let m = analytics.metrics(&db, year, month).await?;
            println!("{}", serde_json::to_string_pretty(&m)?);
        }
        Command::Tick { at } => {
            let db = open(&config).await?;
            let now = at.map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc));
            let report = crate::enforcement::tick::run(&db, now).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::Rules(command) => return crate::scoring::cli::run(command, &config.rule_set),
        Command::Evaluate(args) => {
            let db = open(&config).await?;
            return crate::scoring::cli::evaluate(args, &db, &config, &cli_actor).await;
        }
        Command::Circular(args) => {
            let db = open(&config).await?;
            return crate::circulars::cli::run(args, &db, &config, &cli_actor).await;
        }
        Command::Mail(cmd) => return mail_command(cmd, &config, &cli_actor).await,
        Command::Bench(command) => return crate::bench::run(command, &config).await,
        Command::ImportEnterprises(args) => {
            return import_command(&config, args, true, &cli_actor).await
        }
        Command::ImportProjects(args) => {
            return import_command(&config, args, false, &cli_actor).await
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn mail_command(
    cmd: MailCommand,
    config: &Config,
    actor: &Actor,
) -> anyhow::Result<ExitCode> {
    use crate::notify::{digest, outbox, transport::Transport, worker::Worker};
    let db = open(config).await?;
    match cmd {
        MailCommand::Send => {
            let d = digest::run_due(&db, &config.mail, chrono::Utc::now()).await?;
            let transport = Transport::from_config(&config.mail, &config.data_dir)?;
            let to = transport.describe();
            let p = Worker::new(db.clone(), &config.mail, transport)?
                .drain()
                .await?;
            println!(
                "每日待办：新增 {} 封；发送（{to}）：取出 {}，已发送 {}，待重试 {}，失败 {}",
                d.queued, p.claimed, p.sent, p.retrying, p.failed
            );
        }
        MailCommand::Status => {
            let mut pooled = db.acquire().await?;
            let mut conn = pooled.conn();
            for (status, n) in outbox::counts(&mut conn).await? {
                println!("{:<8} {:<6} {n}", status.code(), status.label());
            }
            let paging = crate::registry::Paging::new(Some(1), Some(10))?;
            let failed =
                outbox::list(&mut conn, None, Some(outbox::Status::Failed), paging).await?;
            for m in failed.items {
                println!(
                    "  #{} {} {} 尝试{}次：{}",
                    m.id,
                    m.recipient,
                    m.kind,
                    m.attempts,
                    m.error_text()
                );
            }
        }
        MailCommand::Retry { id } => {
            let mut tx = db.begin().await?;
            let m = outbox::retry(&mut tx.conn(), actor, None, id).await?;
            tx.commit().await?;
            println!("邮件 #{} 已重新排队（{}）", m.id, m.recipient);
        }
        MailCommand::Digest => {
            let now = chrono::Utc::now();
            let day = now.with_timezone(&crate::time::china()).date_naive();
            let d = digest::run(&db, &config.mail, day, now).await?;
            println!(
                "每日待办（{day}）：新增 {} 封，无待办 {} 人",
                d.queued, d.empty
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn import_command(
    config: &Config,
    args: ImportArgs,
    enterprises: bool,
    actor: &Actor,
) -> anyhow::Result<ExitCode> {
    let db = open(config).await?;
    let bytes = std::fs::read(&args.file)
        .map_err(|e| anyhow::anyhow!("无法读取 {}：{e}", args.file.display()))?;
    let opts = import::Options {
        skip_bad_rows: args.skip_bad_rows,
        report_dir: Some(
            args.report_dir
                .unwrap_or_else(|| config.import_report_dir()),
        ),
        only_county: None,
        limits: config.import_limits(),
    };
    let name = args.file.to_string_lossy();
    let report = if enterprises {
        import::import_enterprises(&db, actor, &bytes, &name, &opts).await?
    } else {
        import::import_projects(&db, actor, &bytes, &name, &opts).await?
    };
    println!(
        "{}：共 {} 行；新增 {}，更新 {}，未变 {}，拒绝 {}",
        report.file,
        report.rows,
        report.inserted,
        report.updated,
        report.unchanged,
        report.rejected
    );
    print_details(&report);
    if report.committed {
        Ok(ExitCode::SUCCESS)
    } else {
        println!("文件有错误行，未导入任何数据（可用 --skip-bad-rows 只导入正确的行）");
        Ok(ExitCode::from(3))
    }
}

/// Rejections, the columns not used, the fields not found and where the report went.
fn print_details(s: &crate::import::Summary) {
    for r in &s.rejections {
        println!("  第{}行：{}", r.line, r.reason);
    }
    for u in &s.unused_columns {
        println!("未使用的列：“{}”（{}）", u.header, u.reason);
    }
    if !s.missing_fields.is_empty() {
        let missing: Vec<String> = s
            .missing_fields
            .iter()
            .map(|m| format!("{}（{}）", m.label, m.field))
            .collect();
        println!("文件中没有的列：{}", missing.join("，"));
    }
    if let Some(p) = &s.report_file {
        println!("拒绝行报告：{}", p.display());
    }
}

fn read_password(prompt: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        eprint!("{prompt}（输入后回车）：");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn user_command(
    cmd: UserCommand,
    config: &Config,
    actor: &Actor,
) -> anyhow::Result<ExitCode> {
    let db = open(config).await?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    match cmd {
        UserCommand::Add {
            username,
            display_name,
            role,
            county,
            enterprise,
            email,
            password_stdin,
        } => {
            let role = match role {
                RoleArg::CityAdmin => Role::CityAdmin,
                RoleArg::CountyOfficer => {
                    let c = county.ok_or_else(|| anyhow::anyhow!("县区用户须指定 --county"))?;
                    let j = jurisdiction::find_county(&mut conn, &c)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("县区 {c} 不存在"))?;
                    Role::CountyOfficer { county_id: j.id }
                }
                RoleArg::Enterprise => {
                    let code = enterprise.ok_or_else(|| {
                        anyhow::anyhow!("企业用户须指定 --enterprise（统一社会信用代码）")
                    })?;
                    let code = CreditCode::parse(&code)?;
                    let e = enterprise::find_by_code(&mut conn, &code)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("企业 {code} 未登记"))?;
                    Role::Enterprise {
                        enterprise_id: e.id,
                    }
                }
            };
            let (password, generated) = if password_stdin {
                (read_password("密码")?, false)
            } else {
                (format!("Ac-{}", crate::secret::random_hex(8)), true)
            };
            let u = user::create(
                &mut conn,
                actor,
                user::NewUser {
                    username,
                    display_name,
                    password: password.clone(),
                    role,
                    email,
                },
            )
            .await?;
            tx.commit().await?;
            println!(
                "已创建用户 {}（id {}，{}）",
                u.username,
                u.id,
                u.role.label()
            );
            if generated {
                println!("初始密码：{password}  （仅显示一次）");
            }
        }
        UserCommand::List => {
            for u in user::list(&mut conn).await? {
                println!(
                    "{:>4}  {:<16} {:<14} {}{}",
                    u.id,
                    u.username,
                    u.role.label(),
                    u.display_name,
                    if u.active { "" } else { "（已停用）" }
                );
            }
        }
        UserCommand::Passwd { username } => {
            let u = user::find(&mut conn, &username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("用户 {username} 不存在"))?;
            let password = read_password("新密码")?;
            user::set_password(&mut conn, actor, u.id, password).await?;
            tx.commit().await?;
            println!("已更新 {username} 的密码，其现有会话已全部失效");
        }
        UserCommand::Disable { username } => {
            let u = user::find(&mut conn, &username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("用户 {username} 不存在"))?;
            user::set_active(&mut conn, actor, u.id, false).await?;
            tx.commit().await?;
            println!("已停用 {username}");
        }
        UserCommand::Enable { username } => {
            let u = user::find(&mut conn, &username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("用户 {username} 不存在"))?;
            user::set_active(&mut conn, actor, u.id, true).await?;
            tx.commit().await?;
            println!("已启用 {username}");
        }
        UserCommand::Token {
            username,
            name,
            expires_in_days,
        } => {
            let u = user::find(&mut conn, &username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("用户 {username} 不存在"))?;
            let expires_at = token::expiry(expires_in_days, None, chrono::Utc::now())?;
            let (info, secret) = token::create(&mut conn, actor, u.id, &name, expires_at).await?;
            tx.commit().await?;
            println!(
                "令牌 {}（id {}，过期时间：{}）已创建。请立即保存，之后无法再次显示：",
                info.name,
                info.id,
                info.expires_local()
            );
            println!("{secret}");
        }
        UserCommand::Tokens { username } => {
            let u = user::find(&mut conn, &username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("用户 {username} 不存在"))?;
            for t in token::list(&mut conn, u.id).await? {
                println!(
                    "{:>4}  {:<20} {}  创建 {}  过期 {}  最近使用 {}",
                    t.id,
                    t.name,
                    t.state_label(),
                    t.created_local(),
                    t.expires_local(),
                    t.last_used_local()
                );
            }
        }
        UserCommand::RevokeToken { id } => {
            let t = token::find(&mut conn, id).await?;
            let t = token::revoke(&mut conn, actor, t).await?;
            tx.commit().await?;
            println!("已撤销令牌 {}（id {}）", t.name, t.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}
