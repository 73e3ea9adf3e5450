//! `aftercare circular KIND --period 2025|2025-03 [--county CODE] [--format docx,pdf,html]
//! [--out DIR] [--issue]`: builds a circular from the data, keeps it as a draft (or issues
//! it) and writes its files.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::{store, Context, Kind, Period, Request};
use crate::audit::Actor;
use crate::auth::Role;
use crate::config::Config;
use crate::db::Db;

#[derive(clap::Args, Debug)]
pub struct CircularArgs {
    /// org (售后服务机构建设及运行), hotline (12345热线) or evaluation (年度信用评价结果).
    pub kind: String,
    /// A year (2025) or a month (2025-03); the evaluation circular takes a year.
    #[arg(long)]
    pub period: String,
    /// A county's circular, by division code or name; the city's without.
    #[arg(long)]
    pub county: Option<String>,
    /// Files to write, comma-separated: docx, pdf, html.
    #[arg(long, default_value = "docx,pdf,html", value_delimiter = ',')]
    pub format: Vec<String>,
    /// Where the files go.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Issue it at once (document number, date, mail to the enterprises it names);
    /// otherwise it stays a draft an officer issues from the page.
    #[arg(long)]
    pub issue: bool,
}

pub async fn run(
    args: CircularArgs,
    db: &Db,
    config: &Config,
    actor: &Actor,
) -> anyhow::Result<ExitCode> {
    let kind = Kind::parse(&args.kind)?;
    let period: Period = args.period.parse()?;
    let mut formats = Vec::new();
    for f in &args.format {
        match f.trim() {
            "docx" | "pdf" | "html" => formats.push(f.trim().to_string()),
            other => anyhow::bail!("format：不支持“{other}”，可选 docx、pdf、html"),
        }
    }
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    let county_id = match &args.county {
        Some(c) => Some(
            crate::registry::jurisdiction::find_county(&mut conn, c)
                .await?
                .ok_or_else(|| anyhow::anyhow!("county：没有“{c}”这个县（市、区）"))?
                .id,
        ),
        None => None,
    };
    let facts = crate::hotline::facts::FactStore::new(&config.data_dir);
    let ctx = Context {
        facts: facts.current(&mut conn).await?,
        rules: Arc::new(crate::rules::RuleSet::shipped(&config.rule_set)?),
        wording_dir: Some(config.reports_dir.clone()),
        now: chrono::Utc::now(),
    };
    drop(pooled);
    let req = Request {
        kind,
        period,
        county_id,
    };
    let mut made = store::create(db, Role::CityAdmin, actor, &ctx, req).await?;
    if args.issue {
        made = store::issue(
            db,
            Role::CityAdmin,
            actor,
            made.id,
            Some(&config.reports_dir),
            ctx.now,
        )
        .await?;
    }
    let content = store::content(db, made.id).await?;
    let stamp = made.stamp(ctx.today());
    std::fs::create_dir_all(&args.out)?;
    let stem = format!("circular-{}-{}-{}", made.id, kind.code(), period);
    for f in formats {
        let bytes = match f.as_str() {
            "docx" => super::docx::render(&content, &stamp)?,
            "pdf" => super::pdf::render(&content, &stamp)?,
            _ => super::html::document(&content, &stamp)?.into_bytes(),
        };
        let path = args.out.join(format!("{stem}.{f}"));
        std::fs::write(&path, bytes)?;
        println!("{}", path.display());
    }
    println!(
        "通报 #{}：{}（{}{}）",
        made.id,
        made.title,
        made.status_label(),
        made.doc_number
            .as_deref()
            .map(|n| format!("，{n}"))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
