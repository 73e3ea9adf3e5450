//! Bulk import of enterprises and projects from CSV (UTF-8, GBK) and Excel files with
//! Chinese headers. A file imports in one transaction or not at all (unless bad rows are
//! explicitly skipped), re-importing updates instead of duplicating, and every rejected row is
//! reported with its line and reason, also as a CSV report file.

mod columns;

use std::collections::HashMap;

use super::enterprise::{self, EnterpriseFields};
use super::jurisdiction::{self, Jurisdiction};
use super::project::{self, ProjectFields};
use super::{CreditCode, Grade, Saved, Status};
use crate::audit::Actor;
use crate::db::{Conn, Db};
use crate::error::{Error, Result};
use crate::import::{reports, Column, Header};
pub use crate::import::{Options, Rejection, Summary as Report};
use crate::tabular::{self, RawRow};
use crate::text;
pub use columns::{ENTERPRISE_COLUMNS, PROJECT_COLUMNS};

fn count(report: &mut Report, saved: Saved) {
    match saved {
        Saved::Inserted(_) => report.inserted += 1,
        Saved::Updated(_) => report.updated += 1,
        Saved::Unchanged(_) => report.unchanged += 1,
    }
}

/// Counties by code and by name, loaded once per file.
struct Counties(Vec<Jurisdiction>);

impl Counties {
    async fn load(conn: &mut Conn<'_>) -> Result<Self> {
        Ok(Counties(
            jurisdiction::list(conn)
                .await?
                .into_iter()
                .filter(|j| j.kind == "county")
                .collect(),
        ))
    }

    fn find(&self, s: &str) -> std::result::Result<i64, String> {
        if s.is_empty() {
            return Err("所属县区为空".into());
        }
        let s = text::clean(s);
        self.0
            .iter()
            .find(|j| j.code == s || j.name == s)
            .map(|j| j.id)
            .ok_or_else(|| format!("未知的县区“{s}”"))
    }
}

/// An enterprise row that parsed, with its parent still to resolve.
struct EnterpriseRow {
    line: usize,
    fields: EnterpriseFields,
    parent_code: Option<CreditCode>,
    parent_name: Option<String>,
}

fn parse_enterprise(
    sheet: &Header,
    row: &RawRow,
    counties: &Counties,
) -> std::result::Result<EnterpriseRow, String> {
    let cell = |k| sheet.cell(row, k);
    let credit_code = CreditCode::parse(&cell("credit_code")).map_err(|e| e.to_string())?;
    let grade_text = cell("grade");
    let grade = Grade::parse(&grade_text).ok_or_else(|| {
        if grade_text.is_empty() {
            "资质等级为空".to_string()
        } else {
            format!("资质等级“{grade_text}”无法识别（应为一级、二级、三级、四级或暂定）")
        }
    })?;
    let county_id = counties.find(&cell("county"))?;
    let origin = cell("origin");
    let local_text = cell("local");
    let is_local = if local_text.is_empty() {
        origin.is_empty()
    } else if local_text.contains("外地") {
        false
    } else {
        text::parse_bool(&local_text, &["本地"], &[])
            .ok_or_else(|| format!("本地/外地“{local_text}”无法识别（应为本地或外地）"))?
    };
    let status_text = cell("status");
    let status = Status::parse(&status_text)
        .ok_or_else(|| format!("企业状态“{status_text}”无法识别（应为正常、吊销或注销）"))?;
    let date_text = cell("status_date");
    let status_date = if date_text.is_empty() {
        None
    } else {
        Some(
            text::parse_date(&date_text)
                .ok_or_else(|| format!("吊销/注销日期“{date_text}”不是有效日期"))?,
        )
    };
    let parent_code = match cell("parent_code") {
        s if s.is_empty() => None,
        s => Some(CreditCode::parse(&s).map_err(|e| format!("母公司信用代码：{e}"))?),
    };
    let parent_name = Some(cell("parent_name")).filter(|s| !s.is_empty());
    let fields = EnterpriseFields {
        credit_code,
        name: cell("name"),
        legal_rep: cell("legal_rep"),
        grade,
        is_local,
        origin,
        parent_id: None,
        status,
        status_date,
        county_id,
        phone: cell("phone"),
        email: cell("email"),
        aliases: sheet
            .has("aliases")
            .then(|| text::split_list(&cell("aliases"))),
    };
    enterprise::check_fields(&fields).map_err(|e| e.to_string())?;
    Ok(EnterpriseRow {
        line: row.line,
        fields,
        parent_code,
        parent_name,
    })
}

/// Imports enterprises. Parents may be named by credit code or by name, and may appear
/// anywhere in the same file or already be registered.
pub async fn import_enterprises(
    db: &Db,
    actor: &Actor,
    bytes: &[u8],
    file_name: &str,
    opts: &Options,
) -> Result<Report> {
    let (sheet, rows) = read(bytes, opts, ENTERPRISE_COLUMNS).await?;
    let mut report = Report::new(file_name, &sheet);
    report.rows = rows.len();
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let counties = Counties::load(&mut conn).await?;

    let mut good: Vec<EnterpriseRow> = Vec::new();
    let mut first_line: HashMap<CreditCode, usize> = HashMap::new();
    for row in &rows {
        let parsed = match parse_enterprise(&sheet, row, &counties) {
            Ok(parsed) => own_county(&mut conn, opts, parsed).await?,
            Err(reason) => Err(reason),
        };
        match parsed {
            Ok(parsed) => {
                if let Some(first) = first_line.get(&parsed.fields.credit_code) {
                    report.reject(
                        row.line,
                        format!(
                            "统一社会信用代码 {} 与第{first}行重复",
                            parsed.fields.credit_code
                        ),
                    );
                } else {
                    first_line.insert(parsed.fields.credit_code.clone(), row.line);
                    good.push(parsed);
                }
            }
            Err(reason) => report.reject(row.line, reason),
        }
    }

    // Parents: by code or name, in this file or already registered and visible to the importer.
    let mut parents: Vec<Option<ParentRef>> = Vec::with_capacity(good.len());
    let mut keep = vec![true; good.len()];
    for (i, row) in good.iter().enumerate() {
        match resolve_parent(&mut conn, opts, &good, row).await? {
            Ok(p) => parents.push(p),
            Err(reason) => {
                report.reject(row.line, reason);
                if let Some(k) = keep.get_mut(i) {
                    *k = false;
                }
                parents.push(None);
            }
        }
    }

    if report.close_rejections(opts) {
        drop(tx);
        save_refused(db, actor, opts, "enterprises", &mut report, &sheet, &rows).await?;
        return Ok(report);
    }

    // Every row first, then the parent links, so a parent may come after its subsidiary.
    let kept: Vec<(&EnterpriseRow, &Option<ParentRef>)> = good
        .iter()
        .zip(&parents)
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(pair, _)| pair)
        .collect();
    let mut ids: HashMap<&CreditCode, i64> = HashMap::new();
    let mut outcomes: Vec<Saved> = Vec::with_capacity(kept.len());
    for (row, parent) in &kept {
        // A parent that already exists is stored with the row, so a re-import changes nothing.
        let parent_id = match parent {
            None => None,
            Some(ParentRef::Registered(id)) => Some(*id),
            Some(ParentRef::InFile(code)) => enterprise::find_by_code(&mut conn, code)
                .await?
                .map(|e| e.id),
        };
        let fields = EnterpriseFields {
            parent_id,
            ..row.fields.clone()
        };
        let saved = enterprise::upsert(&mut conn, actor, &fields)
            .await
            .map_err(|e| at_line(row.line, e))?;
        ids.insert(&row.fields.credit_code, saved.id());
        outcomes.push(saved);
    }
    for (outcome, (row, parent)) in outcomes.iter_mut().zip(&kept) {
        let parent_id = match parent {
            None => None,
            Some(ParentRef::Registered(id)) => Some(*id),
            Some(ParentRef::InFile(code)) => ids.get(code).copied(),
        };
        let changed = enterprise::set_parent(&mut conn, actor, outcome.id(), parent_id)
            .await
            .map_err(|e| at_line(row.line, e))?;
        if let (true, Saved::Unchanged(id)) = (changed, *outcome) {
            *outcome = Saved::Updated(id);
        }
    }
    for outcome in outcomes {
        count(&mut report, outcome);
    }
    reports::save(
        &mut conn,
        actor,
        opts,
        "enterprises",
        &mut report,
        &sheet.headers,
        &rows,
    )
    .await?;
    tx.commit().await?;
    report.committed = true;
    Ok(report)
}

/// Refuses, for a county officer, a row of another county or one that would move an
/// enterprise registered in another county.
async fn own_county(
    conn: &mut Conn<'_>,
    opts: &Options,
    row: EnterpriseRow,
) -> Result<std::result::Result<EnterpriseRow, String>> {
    let Some(county) = opts.only_county else {
        return Ok(Ok(row));
    };
    if row.fields.county_id != county {
        return Ok(Err("企业不属于本县区，无权导入".into()));
    }
    if let Some(existing) = enterprise::find_by_code(conn, &row.fields.credit_code).await? {
        if existing.county_id != county {
            return Ok(Err(format!(
                "企业 {} 登记在其他县区，无权修改",
                row.fields.credit_code
            )));
        }
    }
    Ok(Ok(row))
}

enum ParentRef {
    Registered(i64),
    InFile(CreditCode),
}

/// A registered parent must be one the importer may see: a county officer links only to
/// enterprises of their county, and one of another county reads as not registered, so the
/// reason cannot be used to probe other counties' registers.
async fn resolve_parent(
    conn: &mut Conn<'_>,
    opts: &Options,
    rows: &[EnterpriseRow],
    row: &EnterpriseRow,
) -> Result<std::result::Result<Option<ParentRef>, String>> {
    let visible = |county_id: i64| opts.only_county.is_none_or(|own| own == county_id);
    let registered = if opts.only_county.is_some() {
        "未在本县区登记"
    } else {
        "未登记"
    };
    if let Some(code) = &row.parent_code {
        if *code == row.fields.credit_code {
            return Ok(Err("母公司信用代码：母公司不能是企业自身".into()));
        }
        if rows.iter().any(|r| r.fields.credit_code == *code) {
            return Ok(Ok(Some(ParentRef::InFile(code.clone()))));
        }
        return Ok(match enterprise::find_by_code(conn, code).await? {
            Some(p) if visible(p.county_id) => Ok(Some(ParentRef::Registered(p.id))),
            _ => Err(format!(
                "母公司信用代码：{code} {registered}，也不在本文件中"
            )),
        });
    }
    if let Some(name) = &row.parent_name {
        let in_file: Vec<&EnterpriseRow> = rows.iter().filter(|r| r.fields.name == *name).collect();
        if let [only] = in_file.as_slice() {
            if only.fields.credit_code == row.fields.credit_code {
                return Ok(Err("母公司：母公司不能是企业自身".into()));
            }
            return Ok(Ok(Some(ParentRef::InFile(only.fields.credit_code.clone()))));
        }
        let registered_rows: Vec<i64> = enterprise::find_by_name(conn, name)
            .await?
            .into_iter()
            .filter(|e| visible(e.county_id))
            .map(|e| e.id)
            .collect();
        return Ok(match (in_file.len(), registered_rows.as_slice()) {
            (0, [id]) => Ok(Some(ParentRef::Registered(*id))),
            (0, []) => Err(format!("母公司：“{name}”{registered}，也不在本文件中")),
            _ => Err(format!(
                "母公司：“{name}”有多家同名企业，请填写母公司信用代码"
            )),
        });
    }
    Ok(Ok(None))
}

fn at_line(line: usize, e: Error) -> Error {
    match e {
        Error::Invalid(inv) => Error::invalid(format!("第{line}行 {}", inv.field), inv.message),
        Error::Conflict(m) => Error::Conflict(format!("第{line}行：{m}")),
        other => other,
    }
}

/// Imports projects; each names its developer by credit code or by exact name.
pub async fn import_projects(
    db: &Db,
    actor: &Actor,
    bytes: &[u8],
    file_name: &str,
    opts: &Options,
) -> Result<Report> {
    let (sheet, rows) = read(bytes, opts, PROJECT_COLUMNS).await?;
    if !sheet.has("enterprise_code") && !sheet.has("enterprise_name") {
        return Err(Error::invalid(
            "file",
            format!(
                "缺少开发企业列：需要“开发企业信用代码”或“开发企业”；第{}行的列为：{}",
                sheet.line,
                sheet.headers.join("，")
            ),
        ));
    }
    let mut report = Report::new(file_name, &sheet);
    report.rows = rows.len();
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let counties = Counties::load(&mut conn).await?;
    let mut good: Vec<(usize, ProjectFields)> = Vec::new();
    let mut first_line: HashMap<(i64, String), usize> = HashMap::new();
    for row in &rows {
        let parsed = match parse_project(&mut conn, &sheet, row, &counties).await? {
            Ok(f) => own_project(&mut conn, opts, f).await?,
            Err(reason) => Err(reason),
        };
        match parsed {
            Ok(fields) => {
                let key = (fields.enterprise_id, fields.name.clone());
                if let Some(first) = first_line.get(&key) {
                    report.reject(row.line, format!("项目“{}”与第{first}行重复", fields.name));
                } else {
                    first_line.insert(key, row.line);
                    good.push((row.line, fields));
                }
            }
            Err(reason) => report.reject(row.line, reason),
        }
    }
    if report.close_rejections(opts) {
        drop(tx);
        save_refused(db, actor, opts, "projects", &mut report, &sheet, &rows).await?;
        return Ok(report);
    }
    for (line, fields) in &good {
        let saved = project::upsert(&mut conn, actor, fields)
            .await
            .map_err(|e| at_line(*line, e))?;
        count(&mut report, saved);
    }
    reports::save(
        &mut conn,
        actor,
        opts,
        "projects",
        &mut report,
        &sheet.headers,
        &rows,
    )
    .await?;
    tx.commit().await?;
    report.committed = true;
    Ok(report)
}

/// Refuses, for a county officer, a project of another county, or a row naming an existing
/// project (same developer and name) registered in another county: the row would move or
/// overwrite it.
async fn own_project(
    conn: &mut Conn<'_>,
    opts: &Options,
    fields: ProjectFields,
) -> Result<std::result::Result<ProjectFields, String>> {
    let Some(county) = opts.only_county else {
        return Ok(Ok(fields));
    };
    if fields.county_id != county {
        return Ok(Err("项目不在本县区，无权导入".into()));
    }
    if let Some(existing) = project::find(conn, fields.enterprise_id, &fields.name).await? {
        if existing.county_id != county {
            return Ok(Err(format!(
                "项目“{}”登记在其他县区，无权修改",
                fields.name
            )));
        }
    }
    Ok(Ok(fields))
}

async fn parse_project(
    conn: &mut Conn<'_>,
    sheet: &Header,
    row: &RawRow,
    counties: &Counties,
) -> Result<std::result::Result<ProjectFields, String>> {
    let cell = |k| sheet.cell(row, k);
    let code_text = cell("enterprise_code");
    let name_text = cell("enterprise_name");
    let enterprise_id = if !code_text.is_empty() {
        let code = match CreditCode::parse(&code_text) {
            Ok(c) => c,
            Err(e) => return Ok(Err(format!("开发企业{e}"))),
        };
        match enterprise::find_by_code(conn, &code).await? {
            Some(e) => e.id,
            None => return Ok(Err(format!("开发企业 {code} 未登记"))),
        }
    } else if !name_text.is_empty() {
        let found = enterprise::find_by_name(conn, &name_text).await?;
        match found.len() {
            1 => found[0].id,
            0 => return Ok(Err(format!("开发企业“{name_text}”未登记"))),
            _ => {
                return Ok(Err(format!(
                    "开发企业“{name_text}”有多家同名企业，请填写信用代码"
                )))
            }
        }
    } else {
        return Ok(Err("开发企业为空".into()));
    };
    let county_id = match counties.find(&cell("county")) {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    let parsed = (|| {
        let sales_text = cell("sales_site");
        let sales_site_open = if sales_text.is_empty() {
            false
        } else {
            text::parse_bool(
                &sales_text,
                &["开放", "在售", "营业", "开"],
                &["关闭", "停售", "售罄", "关", "已关闭"],
            )
            .ok_or_else(|| format!("售楼处状态“{sales_text}”无法识别（应为开放或关闭）"))?
        };
        let date_text = cell("delivery_date");
        let delivery_date = if date_text.is_empty() {
            None
        } else {
            Some(
                text::parse_date(&date_text)
                    .ok_or_else(|| format!("交付日期“{date_text}”不是有效日期"))?,
            )
        };
        let units_text = cell("units");
        let units_delivered = if units_text.is_empty() {
            0
        } else {
            text::clean(&units_text)
                .trim_end_matches(['套', '户'])
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| format!("交付套数“{units_text}”应为非负整数"))?
        };
        let fields = ProjectFields {
            enterprise_id,
            county_id,
            name: cell("name"),
            address: cell("address"),
            sales_site_open,
            delivery_date,
            units_delivered,
            aliases: sheet
                .has("aliases")
                .then(|| text::split_list(&cell("aliases"))),
        };
        project::check_fields(&fields).map_err(|e| e.to_string())?;
        Ok::<_, String>(fields)
    })();
    Ok(parsed)
}

/// The header row and the data rows below it.
async fn read(
    bytes: &[u8],
    opts: &Options,
    columns: &[Column<'_>],
) -> Result<(Header, Vec<RawRow>)> {
    let mut rows = tabular::read_all(bytes, opts.limits).await?;
    let (pos, header) =
        crate::import::find_header(&rows, columns).map_err(|m| Error::invalid("file", m))?;
    rows.drain(..=pos);
    Ok((header, rows))
}

/// A refused file's report is stored outside the rolled-back transaction.
async fn save_refused(
    db: &Db,
    actor: &Actor,
    opts: &Options,
    kind: &str,
    report: &mut Report,
    header: &Header,
    rows: &[RawRow],
) -> Result<()> {
    let mut tx = db.begin().await?;
    reports::save(
        &mut tx.conn(),
        actor,
        opts,
        kind,
        report,
        &header.headers,
        rows,
    )
    .await?;
    tx.commit().await
}
