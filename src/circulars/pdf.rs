//! PDF with the same content as the DOCX: the shipped font embedded (krilla subsets it and
//! writes ToUnicode maps, so the Chinese text can be selected, searched and read back), the
//! charts as PNG, laid out by [`super::layout`].

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::Document;

use super::chart::{self, FONT};
use super::content::{Block, Content};
use super::layout::{lay_out, Colour, Measure, Op, CHART_PX, PAGE_H, PAGE_W};
use super::Stamp;
use crate::error::{Error, Result};

fn failed(e: impl std::fmt::Debug) -> Error {
    Error::Internal(format!("生成PDF失败：{e:?}"))
}

fn paint(c: Colour) -> rgb::Color {
    match c {
        Colour::Black => rgb::Color::new(0, 0, 0),
        Colour::Red => rgb::Color::new(230, 0, 0),
        Colour::Grey => rgb::Color::new(90, 90, 90),
    }
}

/// The circular as a PDF file.
pub fn render(c: &Content, stamp: &Stamp) -> Result<Vec<u8>> {
    let measure = Measure::new(FONT)?;
    let pages = lay_out(&measure, c, stamp);
    let mut charts = Vec::new();
    for b in &c.blocks {
        if let Block::Chart { chart: ch } = b {
            let png = chart::png(ch, CHART_PX.0, CHART_PX.1)?;
            charts.push(Image::from_png(png.into(), true).map_err(failed)?);
        }
    }
    let font = Font::new(FONT.into(), 0).ok_or_else(|| failed("字体无法读取"))?;
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(c.title.clone())
            .creator(c.issuer.clone())
            .language("zh-CN".into()),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| failed("页面尺寸"))?;
    for ops in pages {
        let mut page = doc.start_page_with(settings.clone());
        let mut s = page.surface();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    text,
                    colour,
                } => {
                    s.set_stroke(None);
                    s.set_fill(Some(Fill {
                        paint: paint(colour).into(),
                        ..Default::default()
                    }));
                    s.draw_text(
                        Point::from_xy(x, y),
                        font.clone(),
                        size,
                        &text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Line {
                    from,
                    to,
                    width,
                    colour,
                } => {
                    let mut b = PathBuilder::new();
                    b.move_to(from.0, from.1);
                    b.line_to(to.0, to.1);
                    if let Some(path) = b.finish() {
                        s.set_fill(None);
                        s.set_stroke(Some(Stroke {
                            paint: paint(colour).into(),
                            width,
                            ..Default::default()
                        }));
                        s.draw_path(&path);
                    }
                }
                Op::Chart { index, x, y, w, h } => {
                    if let (Some(img), Some(size)) = (charts.get(index), Size::from_wh(w, h)) {
                        s.push_transform(&Transform::from_translate(x, y));
                        s.draw_image(img.clone(), size);
                        s.pop();
                    }
                }
            }
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(failed)
}
