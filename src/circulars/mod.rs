//! The bureau's documents (Art. 21: 县（市、区）主管部门对售后服务机构建设及运行情况不定期进行
//! 通报): circulars on org construction and operation, on the 12345 hotline (monthly and
//! yearly, with the monthly ranking of seed 003 Art. 38), and on the annual evaluation.
//!
//! A circular is built once from the data into a [`content::Content`] (text from the
//! editable wording under `reports/`, tables, charts, and what it was built from), stored as
//! a draft, and issued: issuing gives it a document number and freezes it. DOCX, PDF and HTML
//! are all drawn from the stored content, so they agree with each other and with the data.

pub mod access;
pub mod chart;
pub mod cli;
mod compose;
pub mod content;
pub mod docx;
mod evaluation;
mod hotline;
pub mod html;
mod layout;
pub mod mail;
mod org;
pub mod pdf;
pub mod period;
mod ranking;
pub mod store;
pub mod wording;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::db::Conn;
use crate::error::{Error, Result};
use crate::hotline::facts::Table as Facts;
use crate::rules::RuleSet;
pub use content::Content;
pub use period::Period;

/// The kinds of circular.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 售后服务机构建设及运行情况: orgs, staffing, boards by county; who has none, who is
    /// under an order, who is commended.
    Org,
    /// 12345热线投诉情况: by county and category, best and worst, the seed-003 ranking, the
    /// trend; monthly or yearly.
    Hotline,
    /// 年度信用评价结果: each enterprise's items, total and flags from a final run.
    Evaluation,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Org, Kind::Hotline, Kind::Evaluation];

    pub fn code(self) -> &'static str {
        match self {
            Kind::Org => "org",
            Kind::Hotline => "hotline",
            Kind::Evaluation => "evaluation",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Org => "售后服务机构建设及运行情况通报",
            Kind::Hotline => "12345热线投诉情况通报",
            Kind::Evaluation => "年度信用评价结果通报",
        }
    }

    pub fn from_code(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == s)
    }

    pub fn parse(s: &str) -> Result<Kind> {
        Kind::from_code(s)
            .ok_or_else(|| Error::invalid("kind", "通报类别应为 org、hotline 或 evaluation"))
    }
}

/// The number and date a circular carries: none yet on a draft, which says so where the
/// number goes.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub number: Option<String>,
    pub date: NaiveDate,
}

impl Stamp {
    pub fn number_text(&self) -> String {
        self.number
            .clone()
            .unwrap_or_else(|| "（草稿，未印发，无文号）".into())
    }
}

/// What to build.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    pub kind: Kind,
    pub period: Period,
    /// A county's circular; the city's when none.
    pub county_id: Option<i64>,
}

/// What a build reads besides the database.
pub struct Context {
    pub facts: Arc<Facts>,
    pub rules: Arc<RuleSet>,
    /// Where edited wording files are read from (`reports/`); shipped copies otherwise.
    pub wording_dir: Option<PathBuf>,
    pub now: DateTime<Utc>,
}

impl Context {
    pub fn today(&self) -> NaiveDate {
        self.now.with_timezone(&crate::time::china()).date_naive()
    }
}

/// Builds the content of a circular from the data as it stands. Checks the request against
/// the calendar and the kind (an evaluation circular covers a year); who may ask is decided
/// by the caller through [`access`].
pub async fn build(conn: &mut Conn<'_>, ctx: &Context, req: Request) -> Result<Content> {
    req.period.check_started(ctx.today())?;
    let county = match req.county_id {
        Some(id) => Some(county_ref(conn, id).await?),
        None => None,
    };
    let common = wording::Wording::load(ctx.wording_dir.as_deref(), "common")?;
    let scope = match &county {
        Some(c) => c.name.clone(),
        None => common.text("city", &[])?,
    };
    let base = [("scope", scope), ("period", req.period.label())];
    let draft = match req.kind {
        Kind::Org => org::build(conn, ctx, req.period, county.as_ref(), &base).await?,
        Kind::Hotline => hotline::build(conn, ctx, req.period, county.as_ref(), &base).await?,
        Kind::Evaluation => {
            evaluation::build(
                conn,
                ctx.wording_dir.as_deref(),
                req.period,
                county.as_ref(),
                &base,
            )
            .await?
        }
    };
    draft.finish(ctx, &common, req, county, &base)
}

async fn county_ref(conn: &mut Conn<'_>, id: i64) -> Result<content::CountyRef> {
    let county = match crate::registry::jurisdiction::get(conn, id).await {
        Ok(j) if j.kind == "county" => j,
        Ok(_) | Err(Error::NotFound(_)) => {
            return Err(Error::invalid("county", "没有这个县（市、区）"))
        }
        Err(e) => return Err(e),
    };
    Ok(content::CountyRef {
        id: county.id,
        name: county.name,
    })
}

/// A builder's output before the common parts (issuer, addressee, sources' hash) are added.
pub(crate) struct Draft {
    pub title_vars: Vec<(&'static str, String)>,
    pub wording: wording::Wording,
    pub blocks: Vec<content::Block>,
    pub named: Vec<i64>,
    pub run: Option<content::RunRef>,
    pub tickets_generation: Option<i64>,
    pub rule_set: Option<String>,
}

impl Draft {
    fn finish(
        self,
        ctx: &Context,
        common: &wording::Wording,
        req: Request,
        county: Option<content::CountyRef>,
        base: &[(&'static str, String)],
    ) -> Result<Content> {
        let mut vars = base.to_vec();
        vars.extend(self.title_vars.iter().cloned());
        let issuer = match &county {
            None => common.text("issuer", &[])?,
            Some(c) => common.text("county_issuer", &[("county", c.name.clone())])?,
        };
        let addressee = match &county {
            None => common.text("addressee", &[])?,
            Some(c) => common.text("county_addressee", &[("county", c.name.clone())])?,
        };
        let title = self.wording.text("title", &vars)?;
        let mut named = self.named;
        named.sort_unstable();
        named.dedup();
        let hash = {
            use sha2::{Digest, Sha256};
            let bytes = serde_json::to_vec(&(&title, &self.blocks))
                .map_err(|e| Error::Internal(e.to_string()))?;
            crate::scoring::gather::hex(&Sha256::digest(bytes))
        };
        Ok(Content {
            kind: req.kind,
            period: req.period,
            county,
            issuer,
            title,
            addressee,
            blocks: self.blocks,
            sources: content::Sources {
                from: req.period.first_day(),
                to: req.period.last_day(),
                built_at: crate::time::local(&ctx.now),
                run: self.run,
                tickets_generation: self.tickets_generation,
                rule_set: self.rule_set,
                content_hash: hash,
            },
            named,
        })
    }
}
