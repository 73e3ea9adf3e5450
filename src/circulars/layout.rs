//! Page layout for the PDF: text measured with the shipped font's advances, broken into lines
//! (CJK between any two characters, Latin words and numbers kept whole, no line starting
//! with closing punctuation), tables split across pages with their header repeated, charts
//! kept whole. The result is a list of pages of drawing operations: pure, so it is tested
//! without a PDF.

use ab_glyph::{Font, FontRef};

use super::content::{Block, Content, Table};
use super::Stamp;
use crate::error::{Error, Result};

/// A4 in points, with the standard margins (37/35/28/26 mm).
pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;
const TOP: f32 = 104.9;
const BOTTOM: f32 = 99.2;
const LEFT: f32 = 79.4;
const RIGHT: f32 = 73.7;
const TEXT_W: f32 = PAGE_W - LEFT - RIGHT;
/// 三号 with 28 pt lines, as the official layout sets body text.
const BODY: f32 = 16.0;
const BODY_LINE: f32 = 28.0;
const CELL: f32 = 10.5;
const CELL_LINE: f32 = 14.0;
const CELL_PAD: f32 = 3.0;
/// Charts are placed across the text width.
pub const CHART_PX: (u32, u32) = super::chart::DOCUMENT_PX;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Colour {
    Black,
    Red,
    Grey,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Text on one line; `y` is its baseline.
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
        colour: Colour,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
        colour: Colour,
    },
    /// The chart at this index of the content's charts, in the box given.
    Chart {
        index: usize,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

pub struct Measure<'f> {
    font: FontRef<'f>,
    upem: f32,
}

impl<'f> Measure<'f> {
    pub fn new(data: &'f [u8]) -> Result<Measure<'f>> {
        let font = FontRef::try_from_slice(data)
            .map_err(|e| Error::Internal(format!("字体无法读取：{e}")))?;
        let upem = font.units_per_em().unwrap_or(1000.0);
        Ok(Measure { font, upem })
    }

    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.font.h_advance_unscaled(self.font.glyph_id(c)))
            .sum::<f32>()
            * size
            / self.upem
    }

    /// Lines of at most `width` points.
    pub fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        self.wrap_indented(text, size, width, width)
    }

    /// Lines of at most `width` points, the first of at most `first`.
    pub fn wrap_indented(&self, text: &str, size: f32, first: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut used = 0.0;
        // A word or number wider than a whole line (a credit code in a narrow cell) is broken
        // between its characters rather than run over its neighbour.
        let units = units(text).into_iter().flat_map(|u| {
            if u.len() > 1 && self.width(u, size) > width.min(first) {
                u.char_indices()
                    .map(|(i, c)| &u[i..i + c.len_utf8()])
                    .collect::<Vec<_>>()
            } else {
                vec![u]
            }
        });
        for unit in units {
            let w = self.width(unit, size);
            let closing = unit.chars().next().is_some_and(no_line_start);
            let limit = if lines.is_empty() { first } else { width };
            if used + w > limit && !line.is_empty() && !closing {
                // An opening bracket never ends a line (避尾点): it moves down with what it opens.
                let carried = match line.chars().last() {
                    Some(c) if no_line_end(c) && line.chars().count() > 1 => {
                        line.pop();
                        Some(c)
                    }
                    _ => None,
                };
                lines.push(std::mem::take(&mut line));
                used = 0.0;
                if let Some(c) = carried {
                    line.push(c);
                    used = self.width(&line, size);
                }
                if unit == " " && line.is_empty() {
                    continue;
                }
            }
            line.push_str(unit);
            used += w;
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// Breakable units: a run of Latin letters and digits stays together, anything else is one
/// character.
fn units(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let word = c.is_ascii_alphanumeric() || matches!(c, '.' | '%' | '-' | '+' | '#');
        match (word, start) {
            (true, None) => start = Some(i),
            (true, Some(_)) => {}
            (false, s) => {
                if let Some(s) = s {
                    out.push(&text[s..i]);
                    start = None;
                }
                out.push(&text[i..i + c.len_utf8()]);
            }
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

/// Punctuation that may not end a line.
fn no_line_end(c: char) -> bool {
    "（《「『〔“‘(".contains(c)
}

/// Punctuation that may not begin a line (避头点).
fn no_line_start(c: char) -> bool {
    "，。、；：！？）》」』〕”’%,.;:!?)".contains(c)
}

struct Pager<'m> {
    m: &'m Measure<'m>,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Pager<'_> {
    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Makes room for `h` points, on a new page if this one has less.
    fn room(&mut self, h: f32) {
        if self.y + h > PAGE_H - BOTTOM && self.y > TOP {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, size: f32, text: &str, colour: Colour, line: f32) {
        self.room(line);
        // The baseline sits a little below the middle of the line box.
        let y = self.y + (line + size * 0.7) / 2.0;
        self.page().push(Op::Text {
            x,
            y,
            size,
            text: text.to_string(),
            colour,
        });
        self.y += line;
    }

    /// A paragraph: `indent` em on its first line; `align` 0 left, 1 centre, 2 right.
    fn paragraph(&mut self, text: &str, size: f32, indent: f32, align: u8, colour: Colour) {
        let first = size * indent;
        let lines = self.m.wrap_indented(text, size, TEXT_W - first, TEXT_W);
        let line = if size > BODY { size * 1.6 } else { BODY_LINE };
        for (i, l) in lines.iter().enumerate() {
            let w = self.m.width(l, size);
            let x = match align {
                1 => LEFT + (TEXT_W - w) / 2.0,
                2 => LEFT + TEXT_W - w,
                _ if i == 0 => LEFT + first,
                _ => LEFT,
            };
            self.text(x, size, l, colour, line);
        }
    }

    fn table(&mut self, t: &Table) {
        let sum: u32 = t.columns.iter().map(|c| c.width.max(1)).sum::<u32>().max(1);
        let widths: Vec<f32> = t
            .columns
            .iter()
            .map(|c| TEXT_W * c.width.max(1) as f32 / sum as f32)
            .collect();
        let header: Vec<String> = t.columns.iter().map(|c| c.header.clone()).collect();
        // The caption stays with the header and the first row.
        self.room(BODY_LINE + 3.0 * CELL_LINE + 4.0 * CELL_PAD);
        self.paragraph(&t.caption, 12.0, 0.0, 1, Colour::Black);
        self.row(&header, &widths, t, true);
        for r in &t.rows {
            let h = self.row_height(r, &widths);
            if self.y + h > PAGE_H - BOTTOM {
                self.new_page();
                self.row(&header, &widths, t, true);
            }
            self.row(r, &widths, t, false);
        }
        if t.omitted > 0 {
            self.paragraph(
                &format!("（另有{}家未列出，完整名单见平台导出的表格。）", t.omitted),
                CELL,
                0.0,
                0,
                Colour::Black,
            );
        }
        self.y += CELL_LINE / 2.0;
    }

    fn row_height(&self, cells: &[String], widths: &[f32]) -> f32 {
        let lines = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| self.m.wrap(c, CELL, w - 2.0 * CELL_PAD).len())
            .max()
            .unwrap_or(1);
        lines as f32 * CELL_LINE + 2.0 * CELL_PAD
    }

    fn row(&mut self, cells: &[String], widths: &[f32], t: &Table, header: bool) {
        let h = self.row_height(cells, widths);
        let top = self.y;
        let mut x = LEFT;
        let mut ops = Vec::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let numeric = !header && t.columns.get(i).is_some_and(|c| c.numeric);
            for (k, l) in self
                .m
                .wrap(cell, CELL, w - 2.0 * CELL_PAD)
                .iter()
                .enumerate()
            {
                let lw = self.m.width(l, CELL);
                let lx = if header {
                    x + (w - lw) / 2.0
                } else if numeric {
                    x + w - CELL_PAD - lw
                } else {
                    x + CELL_PAD
                };
                ops.push(Op::Text {
                    x: lx,
                    y: top + CELL_PAD + k as f32 * CELL_LINE + CELL_LINE * 0.78,
                    size: CELL,
                    text: l.clone(),
                    colour: Colour::Black,
                });
            }
            ops.push(Op::Line {
                from: (x, top),
                to: (x, top + h),
                width: 0.5,
                colour: Colour::Black,
            });
            x += w;
        }
        ops.push(Op::Line {
            from: (x, top),
            to: (x, top + h),
            width: 0.5,
            colour: Colour::Black,
        });
        for y in [top, top + h] {
            ops.push(Op::Line {
                from: (LEFT, y),
                to: (LEFT + TEXT_W, y),
                width: 0.5,
                colour: Colour::Black,
            });
        }
        self.page().extend(ops);
        self.y += h;
    }
}

fn chart_height() -> f32 {
    TEXT_W * CHART_PX.1 as f32 / CHART_PX.0 as f32
}

/// Lays the circular out on pages; a footer (page number, sources) goes on every page.
pub fn lay_out(m: &Measure<'_>, c: &Content, stamp: &Stamp) -> Vec<Vec<Op>> {
    let mut p = Pager {
        m,
        pages: Vec::new(),
        y: TOP,
    };
    p.paragraph(&c.issuer, 30.0, 0.0, 1, Colour::Red);
    p.y += 8.0;
    p.paragraph(&stamp.number_text(), BODY, 0.0, 1, Colour::Black);
    let rule = p.y + 4.0;
    p.page().push(Op::Line {
        from: (LEFT, rule),
        to: (LEFT + TEXT_W, rule),
        width: 2.0,
        colour: Colour::Red,
    });
    p.y = rule + 24.0;
    p.paragraph(&c.title, 22.0, 0.0, 1, Colour::Black);
    p.y += 12.0;
    p.paragraph(&c.addressee, BODY, 0.0, 0, Colour::Black);
    let mut charts = 0;
    // What the block at `i` needs on its page to start: a paragraph that introduces a table
    // stays with the table's head, a chart is kept whole.
    let start = |i: usize| -> f32 {
        match (c.blocks.get(i), c.blocks.get(i + 1)) {
            (Some(Block::Paragraph { text }), Some(Block::Table(_))) => {
                let lines = m
                    .wrap_indented(text, BODY, TEXT_W - 2.0 * BODY, TEXT_W)
                    .len();
                lines as f32 * BODY_LINE + BODY_LINE + 3.0 * CELL_LINE
            }
            (Some(Block::Paragraph { .. }), _) => BODY_LINE * 2.0,
            (Some(Block::Chart { .. }), _) => chart_height() + 8.0,
            (Some(Block::Table(_)), _) => BODY_LINE + 3.0 * CELL_LINE,
            _ => 0.0,
        }
    };
    for (i, b) in c.blocks.iter().enumerate() {
        match b {
            Block::Heading { text } => {
                // A heading never ends a page: it goes with the start of what follows it.
                p.room(BODY_LINE + start(i + 1));
                p.paragraph(text, BODY, 2.0, 0, Colour::Black);
            }
            Block::Paragraph { text } => {
                p.room(start(i));
                p.paragraph(text, BODY, 2.0, 0, Colour::Black)
            }
            Block::Table(t) => p.table(t),
            Block::Chart { .. } => {
                let h = chart_height();
                p.room(h + 8.0);
                let y = p.y + 4.0;
                p.page().push(Op::Chart {
                    index: charts,
                    x: LEFT,
                    y,
                    w: TEXT_W,
                    h,
                });
                charts += 1;
                p.y = y + h + 8.0;
            }
        }
    }
    p.y += BODY_LINE;
    p.room(BODY_LINE * 2.0);
    p.paragraph(&c.issuer, BODY, 0.0, 2, Colour::Black);
    p.paragraph(
        &crate::notify::templates::cn_date(stamp.date),
        BODY,
        0.0,
        2,
        Colour::Black,
    );
    let footer = m.wrap(&c.sources.footer(), 7.5, TEXT_W);
    for (i, page) in p.pages.iter_mut().enumerate() {
        let n = format!("— {} —", i + 1);
        page.push(Op::Text {
            x: LEFT + (TEXT_W - m.width(&n, 12.0)) / 2.0,
            y: PAGE_H - BOTTOM + 30.0,
            size: 12.0,
            text: n,
            colour: Colour::Black,
        });
        for (k, l) in footer.iter().enumerate() {
            page.push(Op::Text {
                x: LEFT,
                y: PAGE_H - BOTTOM + 50.0 + k as f32 * 10.0,
                size: 7.5,
                text: l.clone(),
                colour: Colour::Grey,
            });
        }
    }
    p.pages
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m() -> Measure<'static> {
        Measure::new(super::super::chart::FONT).unwrap()
    }

    #[test]
    fn wraps_chinese_anywhere_and_keeps_numbers_whole() {
        let m = m();
        // A CJK character is one em.
        assert!((m.width("通报", 10.0) - 20.0).abs() < 0.5);
        let lines = m.wrap("共受理工单12345件，满意率98.5%。", 10.0, 60.0);
        assert!(
            lines.iter().all(|l| m.width(l, 10.0) <= 60.0 + 10.0),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.contains("12345")), "{lines:?}");
        assert!(lines
            .iter()
            .all(|l| !l.starts_with('，') && !l.starts_with('。')));
        assert_eq!(lines.concat(), "共受理工单12345件，满意率98.5%。");
    }

    /// Every hanzi a GBK file can carry has a glyph. A font whose cmap a parser reads only in
    /// part (a format-4 table past its 16-bit offsets) printed blanks in PDFs.
    #[test]
    fn the_font_covers_gbk() {
        use ab_glyph::Font as _;
        let font = FontRef::try_from_slice(super::super::chart::FONT).unwrap();
        let mut checked = 0;
        for hi in 0x81..=0xFE_u8 {
            for lo in (0x40..=0xFE_u8).filter(|b| *b != 0x7F) {
                let bytes = [hi, lo];
                let (text, _, bad) = encoding_rs::GBK.decode(&bytes);
                let Some(c) = text.chars().next().filter(|_| !bad) else {
                    continue;
                };
                // The unified ideographs GBK holds (every name in a GBK file); its handful of
                // vertical forms, radicals and extension-A characters are not in the font.
                if !('\u{4E00}'..='\u{9FA5}').contains(&c) {
                    continue;
                }
                assert_ne!(font.glyph_id(c).0, 0, "{c} (U+{:04X})", c as u32);
                checked += 1;
            }
        }
        assert_eq!(checked, 20_902);
    }

    proptest! {
        #[test]
        fn wrapping_loses_nothing(s in "[a-z0-9 ，。通报工单满意率]{0,80}", w in 20.0f32..300.0) {
            let m = m();
            let lines = m.wrap(&s, 10.0, w);
            prop_assert_eq!(lines.concat().replace(' ', ""), s.replace(' ', ""));
        }
    }
}
