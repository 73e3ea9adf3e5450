//! `aftercare bench hotline`: generates a deterministic synthetic 12345 export of a stated
//! size over a generated registry, then times the import into a fresh SQLite database and the
//! yearly metrics, printing rows per second and peak memory. Not a test: a measurement
//! anyone can repeat.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::audit::Actor;
use crate::db::Conn;
use crate::demo::names::{self, Rng};
use crate::error::Result;
use crate::on_conn;
use crate::registry::CreditCode;

use super::facts::FactStore;
use super::import;
use super::served::Analytics;

pub struct Args {
    pub rows: usize,
    /// Split the export into this many files, imported one after another (a province loads
    /// monthly exports; one 5,000,000-row file is over the import limits).
    pub files: usize,
    /// Run on this PostgreSQL database instead of `<dir>/bench.sqlite`; its `public` schema
    /// is dropped and recreated.
    pub database_url: Option<String>,
    pub enterprises: usize,
    pub year: i32,
    pub dir: PathBuf,
    /// End with one JSON line (`import_s`, `metrics_s`, `rows`, `peak_mib`) for scripts.
    pub json: bool,
}

/// Peak resident memory of this process so far (Linux), in MiB.
pub fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak so the next phase is measured on its own (Linux ≥ 4.0).
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

const CONTENTS: &[&str] = &[
    "{p}{b}卫生间漏水，楼下天花板渗水，多次联系售后无人处理",
    "{p}{b}客厅墙面空鼓开裂，要求开发商维修",
    "{p}{b}厨房下水道堵塞返水，影响正常生活",
    "{p}交房已超过合同约定时间三个月，开发商延期交房",
    "{p}交房两年仍未办理不动产证，要求尽快办证",
    "{p}售楼时宣传配套幼儿园，至今未建设",
    "{p}售后客服态度差，推诿扯皮不解决问题",
    "{p}物业乱收费，停车费上涨",
    "{p}{b}电梯经常故障停运，存在安全隐患",
    "{p}{b}外墙瓷砖脱落，存在安全隐患",
    "{p}门窗关不严，冬天漏风",
    "{p}小区绿化与规划不符，承诺的景观没有实现",
    "咨询{p}的购房合同备案事宜",
    "{p}业主们集体反映地下室渗水，已多次反映未解决",
    "{p}{b}装修后发现墙体裂缝，损失约3万元，准备起诉",
];
const CATEGORIES: &[&str] = &[
    "城乡建设",
    "住房保障",
    "房地产管理",
    "质量投诉",
    "物业管理",
    "咨询",
    "其他",
];
const CHANNELS: &[&str] = &["电话", "网站", "微信", "APP", "信件"];
const SATISFACTION: &[&str] = &[
    "满意",
    "满意",
    "满意",
    "基本满意",
    "基本满意",
    "不满意",
    "未评价",
    "非常满意",
    "",
];

fn stamp(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| {
            t.with_timezone(&crate::time::china())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// A generated enterprise: name, credit code, and its projects as (name, alias).
pub struct BenchEnterprise {
    pub name: String,
    pub code: String,
    pub projects: Vec<(String, String)>,
    /// 0 = answers at once and satisfies, 9 = slow, often silent, disliked.
    pub service: u64,
}

struct Registry {
    enterprises: Vec<BenchEnterprise>,
}

/// A number in Chinese numerals, e.g. 12 → 一二: makes generated names unique.
fn phase(n: usize) -> String {
    const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    n.to_string()
        .chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| DIGITS[d as usize])
        .collect()
}

/// Writes enterprises and projects with a few large statements (setup is not what is timed).
async fn seed(conn: &mut Conn<'_>, n: usize) -> Result<Registry> {
    let at = chrono::Utc::now();
    let now = at.to_rfc3339();
    on_conn!(conn, |c| {
        sqlx::query("INSERT INTO jurisdictions (code, name, kind, parent_id, created_at, updated_at) VALUES ('370800', '济宁市', 'city', NULL, $1, $1)")
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    for (code, name) in names::COUNTIES {
        on_conn!(conn, |c| {
            sqlx::query("INSERT INTO jurisdictions (code, name, kind, parent_id, created_at, updated_at) VALUES ($1, $2, 'county', 1, $3, $3)")
            .bind(*code)
            .bind(*name)
            .bind(at)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
    }
    let mut rng = Rng::new(42);
    let mut reg = Registry {
        enterprises: Vec::with_capacity(n),
    };
    let chars = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    for i in 0..n {
        let county = i % names::COUNTIES.len();
        let mut first17 = format!("91{}MA", names::COUNTIES[county].0);
        let mut x = i as u64 * 7919 + 13;
        for _ in 0..7 {
            first17.push(chars[(x % 31) as usize] as char);
            x /= 31;
        }
        let code = CreditCode::complete(&first17)
            .map(|c| c.to_string())
            .unwrap_or_default();
        let name = format!(
            "{}{i}",
            names::enterprise_name(&mut rng, names::COUNTIES[county].1, i % 3000)
        );
        let projects = (0..3)
            .map(|k| {
                let n = i * 3 + k;
                // Unique names without trailing digits (which would run into "3号楼").
                let name = format!(
                    "{}{}",
                    names::project_name(&mut rng, n % 5000),
                    phase(n / 5000)
                );
                (name, format!("{}{}", phase(n), ["苑", "园", "居"][k]))
            })
            .collect();
        reg.enterprises.push(BenchEnterprise {
            name,
            code,
            projects,
            service: (i % 10) as u64,
        });
    }
    for (chunk_no, chunk) in reg.enterprises.chunks(500).enumerate() {
        let mut sql = String::from("INSERT INTO enterprises (credit_code, name, grade, county_id, created_at, updated_at) VALUES ");
        for (j, BenchEnterprise { name, code, .. }) in chunk.iter().enumerate() {
            let county = 2 + ((chunk_no * 500 + j) % names::COUNTIES.len());
            let _ = write!(
                sql,
                "{}('{code}', '{name}', 'third', {county}, '{now}', '{now}')",
                if j > 0 { "," } else { "" }
            );
        }
        on_conn!(conn, |c| sqlx::raw_sql(&sql)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    let mut project_rows = Vec::new();
    for (i, BenchEnterprise { projects, .. }) in reg.enterprises.iter().enumerate() {
        for (k, (pname, alias)) in projects.iter().enumerate() {
            project_rows.push((
                i + 1,
                2 + i % names::COUNTIES.len(),
                pname.clone(),
                alias.clone(),
                100 + ((i * 7 + k * 13) % 900),
            ));
        }
    }
    for chunk in project_rows.chunks(500) {
        let mut sql = String::from("INSERT INTO projects (enterprise_id, county_id, name, address, sales_site_open, delivery_date, units_delivered, created_at, updated_at) VALUES ");
        for (j, (e, county, pname, _, units)) in chunk.iter().enumerate() {
            let _ = write!(
                sql,
                "{}({e}, {county}, '{pname}', '', FALSE, '2022-06-30', {units}, '{now}', '{now}')",
                if j > 0 { "," } else { "" }
            );
        }
        on_conn!(conn, |c| sqlx::raw_sql(&sql)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(reg)
}

/// The synthetic export: a title row, a header, `rows` tickets with realistic text.
/// The synthetic export: a title row, a header, `rows` tickets received over the first `days`
/// days of `year`, with realistic text; each enterprise's `service` shapes its response times
/// and callers' verdicts.
pub fn generate_csv(
    reg_enterprises: &[BenchEnterprise],
    rows: usize,
    year: i32,
    days: u64,
) -> String {
    generate_part(reg_enterprises, 0, rows, year, days)
}

/// One of several export files: tickets `first..first + rows`, numbered on from the files
/// before it.
pub fn generate_part(
    reg_enterprises: &[BenchEnterprise],
    first: usize,
    rows: usize,
    year: i32,
    days: u64,
) -> String {
    let mut rng = Rng::new(2025 + first as u64);
    let start = super::tickets::period_bounds(year, None)
        .map(|(s, _)| s)
        .unwrap_or(0);
    let mut out = String::with_capacity(rows * 260);
    out.push_str("济宁市12345政务服务便民热线工单导出\n");
    out.push_str("工单编号,受理时间,来源渠道,小区名称,涉及企业,诉求类别,诉求内容,转办时间,企业答复时间,办结时间,满意度,是否回访,回访时间,是否群体诉求\n");
    let n = reg_enterprises.len().max(1) as u64;
    for i in first..first + rows {
        // A few enterprises draw many complaints, most few: a skewed pick.
        let e = ((rng.below(n) * rng.below(n)) / n) as usize;
        let BenchEnterprise {
            name: ename,
            projects,
            service,
            ..
        } = &reg_enterprises[e];
        let service = *service;
        let (pname, alias) = rng.pick(projects);
        let (community, enterprise) = match rng.below(20) {
            0 => (String::new(), ename.clone()),
            1 => (alias.clone(), String::new()),
            2 => (format!("{pname}{}号楼", 1 + rng.below(30)), String::new()),
            3 => (format!("幸福里{}号院", rng.below(500)), String::new()),
            _ => (pname.clone(), String::new()),
        };
        let received = start + rng.below(days.max(1) * 86_400) as i64;
        let forwarded = received + rng.below(7200) as i64;
        let answers = rng.below(30) >= service;
        let delay = rng.below((1 + service) * 43_200) as i64;
        let responded = answers.then(|| forwarded + delay);
        let closed = responded.map(|r| r + rng.below((2 + service) * 86_400) as i64);
        let revisited = closed.is_some() && rng.below(10) >= service / 2;
        let revisit_at = if revisited {
            closed.map(|c| c + rng.below(10 * 86_400) as i64)
        } else {
            None
        };
        let content = rng
            .pick(CONTENTS)
            .replace("{p}", pname)
            .replace("{b}", &format!("{}号楼", 1 + rng.below(20)));
        let _ = writeln!(
            out,
            "JN{year}{i:08},{},{},{community},{enterprise},{},{content},{},{},{},{},{},{},{}",
            stamp(received),
            rng.pick(CHANNELS),
            rng.pick(CATEGORIES),
            stamp(forwarded),
            responded.map(stamp).unwrap_or_default(),
            closed.map(stamp).unwrap_or_default(),
            if closed.is_some() {
                SATISFACTION[((rng.below(6) + service / 2) as usize).min(SATISFACTION.len() - 1)]
            } else {
                ""
            },
            if revisited { "是" } else { "否" },
            revisit_at.map(stamp).unwrap_or_default(),
            if rng.below(50) == 0 { "是" } else { "否" },
        );
    }
    out
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)?;
    let _ = std::fs::remove_dir_all(args.dir.join("facts"));
    let db =
        crate::bench::fresh_db(&args.dir, "bench.sqlite", args.database_url.as_deref()).await?;
    db.migrate().await?;
    println!(
        "生成登记数据：{} 家企业，{} 个项目……",
        args.enterprises,
        args.enterprises * 3
    );
    let mut tx = db.begin().await?;
    let reg = seed(&mut tx.conn(), args.enterprises).await?;
    tx.commit().await?;

    let files = args.files.max(1);
    let facts = std::sync::Arc::new(FactStore::new(&args.dir));
    let (mut import_s, mut import_peak) = (0.0f64, 0.0f64);
    let mut totals = import::Summary::default();
    for f in 0..files {
        let first = args.rows / files * f;
        let rows = if f + 1 == files {
            args.rows - first
        } else {
            args.rows / files
        };
        let t = Instant::now();
        let csv = generate_part(&reg.enterprises, first, rows, args.year, 365);
        let name = if files == 1 {
            "tickets.csv".to_string()
        } else {
            format!("tickets-{}.csv", f + 1)
        };
        let csv_path: &Path = &args.dir.join(&name);
        std::fs::write(csv_path, &csv)?;
        println!(
            "生成导出文件：{rows} 行，{:.1} MiB，用时 {:.1}s（{}）",
            csv.len() as f64 / 1_048_576.0,
            t.elapsed().as_secs_f64(),
            csv_path.display()
        );
        drop(csv);

        let bytes = std::fs::read(csv_path)?;
        reset_peak();
        let t = Instant::now();
        let summary = import::import(
            &db,
            &Actor::system("bench"),
            bytes,
            &name,
            &import::Options {
                facts: Some(std::sync::Arc::clone(&facts)),
                ..import::Options::default()
            },
        )
        .await?;
        let secs = t.elapsed().as_secs_f64();
        import_s += secs;
        import_peak = import_peak.max(peak_mib().unwrap_or(f64::NAN));
        println!(
            "导入：{} 行，新增 {}，未匹配 {}，拒绝 {}；用时 {secs:.2}s，{:.0} 行/秒，峰值内存 {:.0} MiB",
            summary.rows,
            summary.inserted,
            summary.unmatched,
            summary.rejected,
            summary.rows as f64 / secs,
            peak_mib().unwrap_or(f64::NAN)
        );
        totals.rows += summary.rows;
    }
    drop(reg);
    let summary = totals;
    // The import answered before its facts file was saved; the fresh instance below reads it.
    facts.flush().await;

    reset_peak();
    let t = Instant::now();
    // A fresh instance, as a server computing the year for the first time after the import:
    // it reads the facts file the import patched, not anything kept in memory.
    let analytics = Analytics::new(&args.dir);
    let m = analytics.metrics(&db, args.year, None).await?;
    let secs = t.elapsed().as_secs_f64();
    let tickets: i64 = m.enterprises.iter().map(|e| e.tickets).sum();
    println!(
        "{} 年指标：{} 张工单，{} 家企业；用时 {secs:.2}s（读取工单事实副本并计算），{:.0} 行/秒，峰值内存 {:.0} MiB",
        args.year,
        tickets,
        m.enterprises.len(),
        tickets as f64 / secs,
        peak_mib().unwrap_or(f64::NAN)
    );
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "import_s": (import_s * 1000.0_f64).round() / 1000.0,
                "metrics_s": (secs * 1000.0).round() / 1000.0,
                "rows": summary.rows,
                "peak_mib": import_peak.max(peak_mib().unwrap_or(f64::NAN)).round(),
            })
        );
    }
    Ok(())
}
