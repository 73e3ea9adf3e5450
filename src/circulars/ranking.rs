//! The monthly ranking of seed 003 Art. 38 (投诉处理按时完成率、投诉处理效率、客户满意度三项指标
//! 进行综合排名), made the regulator's: the hotline circular's composite ranking.

use std::collections::HashMap;

use super::content::{pct, Block, Column, Table};
use super::hotline::{Who, TOP};
use super::wording::Wording;
use crate::error::Result;
use crate::hotline::metrics::EnterpriseMetrics;

/// Seed 003 Art. 38: the composite ranking by on-time rate (forwarded tickets answered within
/// 3 days), efficiency (share of tickets closed) and satisfaction, equally weighted, over the
/// enterprises with all three known. The first and last [`TOP`] are named.
pub(crate) fn ranking(
    w: &Wording,
    mine: &[&EnterpriseMetrics],
    who: &HashMap<i64, Who>,
    base: &[(&'static str, String)],
) -> Result<(Vec<Block>, Vec<i64>, usize, usize)> {
    let mut scored: Vec<(f64, &EnterpriseMetrics)> = mine
        .iter()
        .filter(|m| m.tickets > 0)
        .filter_map(|m| {
            let (a, h, s) = (m.answer_rate?, m.handled_rate?, m.satisfaction_rate?);
            Some(((a + h + s) / 3.0, *m))
        })
        .collect();
    let excluded = mine.iter().filter(|m| m.tickets > 0).count() - scored.len();
    scored.sort_by(|a, b| {
        b.0.partial_cmp(&a.0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.1.enterprise_id.cmp(&b.1.enterprise_id))
    });
    let cols = || {
        vec![
            Column::number("名次", 2),
            Column::text("企业名称", 9),
            Column::text("县（市、区）", 4),
            Column::number("按时反馈率", 3),
            Column::number("办结率", 3),
            Column::number("满意率", 3),
            Column::number("综合得分", 3),
        ]
    };
    let row = |rank: usize, (score, m): &(f64, &EnterpriseMetrics)| {
        let who = &who[&m.enterprise_id];
        vec![
            rank.to_string(),
            who.name.clone(),
            who.county.clone(),
            pct(m.answer_rate),
            pct(m.handled_rate),
            pct(m.satisfaction_rate),
            format!("{:.1}", score * 100.0),
        ]
    };
    let n = scored.len();
    let vars: Vec<(&str, String)> = base
        .iter()
        .cloned()
        .chain([
            ("ranked", n.to_string()),
            ("excluded", excluded.to_string()),
            ("top", TOP.to_string()),
        ])
        .collect();
    let mut blocks = Vec::new();
    let mut named = Vec::new();
    if n == 0 {
        blocks.push(Block::Paragraph {
            text: w.text("ranking_none", &vars)?,
        });
        return Ok((blocks, named, n, excluded));
    }
    blocks.push(Block::Paragraph {
        text: w.text("ranking_intro", &vars)?,
    });
    if n <= 2 * TOP {
        let mut t = Table::new(w.text("ranking_caption", &vars)?, cols());
        for (i, s) in scored.iter().enumerate() {
            t.push(row(i + 1, s));
            named.push(s.1.enterprise_id);
        }
        blocks.push(Block::Table(t));
    } else {
        let mut top = Table::new(w.text("ranking_top_caption", &vars)?, cols());
        let mut bottom = Table::new(w.text("ranking_bottom_caption", &vars)?, cols());
        for (i, s) in scored.iter().enumerate().take(TOP) {
            top.push(row(i + 1, s));
            named.push(s.1.enterprise_id);
        }
        for (i, s) in scored.iter().enumerate().skip(n - TOP) {
            bottom.push(row(i + 1, s));
            named.push(s.1.enterprise_id);
        }
        blocks.push(Block::Table(top));
        blocks.push(Block::Table(bottom));
    }
    Ok((blocks, named, n, excluded))
}
