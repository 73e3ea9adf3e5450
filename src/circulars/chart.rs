//! Bar and line charts with Chinese labels, as PNG for documents and SVG for pages. The labels render
//! from the CJK font shipped in `assets/fonts` (Noto Sans SC, OFL, subset to GBK), so a
//! server with no fonts installed draws the same picture.

use std::sync::Once;

use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The shipped font: also what the PDF embeds and measures with.
pub static FONT: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-Regular-GBK.otf");
const FAMILY: &str = "sans-serif";

/// The largest picture drawn (pixels a side): the bitmap is held in memory while drawing.
const MAX_SIDE: u32 = 4000;
/// Pixels of a chart in a document (DOCX, PDF): drawn large and placed 15 cm wide, so it
/// prints sharp with labels of about 9 pt.
pub const DOCUMENT_PX: (u32, u32) = (1400, 700);
/// Bars in one chart: more would not be readable, and each label costs a glyph run.
pub const MAX_BARS: usize = 200;

fn font() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        if register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            tracing::error!("the shipped CJK font could not be read");
        }
    });
}

/// A chart as a circular stores it: its data, drawn again for each output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Chart {
    Bars(Bars),
    /// Bars lying down, one per row, for rankings: room for an enterprise's whole name.
    Ranking(Bars),
    Lines(Lines),
}

impl Chart {
    pub fn title(&self) -> &str {
        match self {
            Chart::Bars(b) | Chart::Ranking(b) => &b.title,
            Chart::Lines(l) => &l.title,
        }
    }

    fn check(&self, width: u32, height: u32) -> Result<()> {
        if !(100..=MAX_SIDE).contains(&width) || !(100..=MAX_SIDE).contains(&height) {
            return Err(Error::invalid(
                "chart",
                format!("图的宽高应在100–{MAX_SIDE}像素之间"),
            ));
        }
        match self {
            Chart::Bars(b) | Chart::Ranking(b) => b.check(),
            Chart::Lines(l) => l.check(),
        }
    }
}

/// One bar per label, with its value written above it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bars {
    pub title: String,
    pub labels: Vec<String>,
    pub values: Vec<f64>,
    /// Written after each value, e.g. "件".
    pub unit: String,
}

impl Bars {
    fn check(&self) -> Result<()> {
        if self.labels.len() != self.values.len() {
            return Err(Error::Internal("图表的标签与数值个数不一致".into()));
        }
        if self.labels.len() > MAX_BARS {
            return Err(Error::invalid("chart", format!("一张图最多{MAX_BARS}根柱")));
        }
        Ok(())
    }
}

/// Lines over the same labels (e.g. months), one per series, with a legend: a trend against
/// the previous period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lines {
    pub title: String,
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// Series in one chart: each has its own colour.
const MAX_SERIES: usize = 4;
const COLOURS: [RGBColor; MAX_SERIES] = [
    RGBColor(11, 92, 173),
    RGBColor(200, 60, 40),
    RGBColor(40, 140, 70),
    RGBColor(120, 80, 160),
];

impl Lines {
    fn check(&self) -> Result<()> {
        if self.labels.len() > MAX_BARS || self.series.len() > MAX_SERIES {
            return Err(Error::invalid(
                "chart",
                format!("一张折线图最多{MAX_BARS}个点、{MAX_SERIES}条线"),
            ));
        }
        if self
            .series
            .iter()
            .any(|s| s.values.len() != self.labels.len())
        {
            return Err(Error::Internal("折线的点数与标签个数不一致".into()));
        }
        Ok(())
    }
}

fn failed(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("绘图失败：{e}"))
}

/// Sizes are set for a picture 700 pixels wide and grow with it, so a chart drawn large for
/// a document reads at the same size on the page as a small one on screen.
fn scale<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>) -> f64 {
    (f64::from(root.dim_in_pixel().0) / 700.0).max(0.5)
}

fn px(k: f64, v: u32) -> u32 {
    (f64::from(v) * k).round() as u32
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Chart) -> Result<()> {
    font();
    match c {
        Chart::Bars(b) => draw_bars(root, b),
        Chart::Ranking(b) => draw_ranking(root, b),
        Chart::Lines(l) => draw_lines(root, l),
    }
}

type Axes<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<SegmentedCoord<RangedCoordusize>, RangedCoordf64>>;

/// The frame both kinds share: caption, one segment per label, a value axis from 0 to a
/// little above `top`, the mesh drawn.
fn axes<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    labels: &[String],
    top: f64,
) -> Result<Axes<'a, DB>> {
    let k = scale(root);
    let n = labels.len().max(1);
    let top = if top > 0.0 { top * 1.15 } else { 1.0 };
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, px(k, 20)))
        .margin(px(k, 12))
        .x_label_area_size(px(k, 30))
        .y_label_area_size(px(k, 44))
        .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..top)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(n)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FAMILY, px(k, 13)))
        .draw()
        .map_err(failed)?;
    Ok(chart)
}

fn draw_lines<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, l: &Lines) -> Result<()> {
    root.fill(&WHITE).map_err(failed)?;
    let k = scale(root);
    let top = l
        .series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0_f64, f64::max);
    let mut chart = axes(root, &l.title, &l.labels, top)?;
    for (s, colour) in l.series.iter().zip(COLOURS) {
        let points: Vec<_> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| (SegmentValue::CenterOf(i), *v))
            .collect();
        chart
            .draw_series(LineSeries::new(
                points.clone(),
                colour.stroke_width(px(k, 2)),
            ))
            .map_err(failed)?
            .label(format!("{}（{}）", s.name, l.unit))
            .legend(move |(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + px(k, 18) as i32, y)],
                    colour.stroke_width(px(k, 2)),
                )
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, px(k, 3), colour.filled())),
            )
            .map_err(failed)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .label_font((FAMILY, px(k, 13)))
        .draw()
        .map_err(failed)?;
    root.present().map_err(failed)
}

/// Horizontal bars, the first label at the top, each value written after its bar.
fn draw_ranking<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, b: &Bars) -> Result<()> {
    root.fill(&WHITE).map_err(failed)?;
    let k = scale(root);
    let n = b.values.len().max(1);
    let top = b.values.iter().copied().fold(0.0_f64, f64::max);
    let top = if top > 0.0 { top * 1.2 } else { 1.0 };
    // The names' column: as wide as the longest name, within a third of the picture.
    let longest = b
        .labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(1) as u32;
    let names = px(k, 13 * longest + 16).min(root.dim_in_pixel().0 / 3);
    let mut chart = ChartBuilder::on(root)
        .caption(&b.title, (FAMILY, px(k, 20)))
        .margin(px(k, 12))
        .x_label_area_size(px(k, 30))
        .y_label_area_size(names)
        .build_cartesian_2d(0.0..top, (0..n - 1).into_segmented())
        .map_err(failed)?;
    let labels = &b.labels;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .y_labels(n)
        // Rows run top-down: the first ranked at the top.
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(n - 1 - *i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FAMILY, px(k, 13)))
        .draw()
        .map_err(failed)?;
    let fill = RGBColor(11, 92, 173);
    chart
        .draw_series(b.values.iter().enumerate().map(|(i, v)| {
            let row = n - 1 - i;
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(row)),
                    (*v, SegmentValue::Exact(row + 1)),
                ],
                fill.filled(),
            );
            bar.set_margin(px(k, 4), px(k, 4), 0, 0);
            bar
        }))
        .map_err(failed)?;
    chart
        .draw_series(b.values.iter().enumerate().map(|(i, v)| {
            Text::new(
                format!(" {}{}", trim(*v), b.unit),
                (*v, SegmentValue::CenterOf(n - 1 - i)),
                (FAMILY, px(k, 12))
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))
        .map_err(failed)?;
    root.present().map_err(failed)
}

fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, b: &Bars) -> Result<()> {
    root.fill(&WHITE).map_err(failed)?;
    let k = scale(root);
    let top = b.values.iter().copied().fold(0.0_f64, f64::max);
    let mut chart = axes(root, &b.title, &b.labels, top)?;
    let top = if top > 0.0 { top * 1.15 } else { 1.0 };
    let fill = RGBColor(11, 92, 173);
    chart
        .draw_series(b.values.iter().enumerate().map(|(i, v)| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), *v),
                ],
                fill.filled(),
            );
            bar.set_margin(0, 0, px(k, 6), px(k, 6));
            bar
        }))
        .map_err(failed)?;
    chart
        .draw_series(b.values.iter().enumerate().map(|(i, v)| {
            Text::new(
                format!("{}{}", trim(*v), b.unit),
                (SegmentValue::CenterOf(i), *v + top * 0.01),
                (FAMILY, px(k, 12))
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            )
        }))
        .map_err(failed)?;
    root.present().map_err(failed)
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

/// The chart as a PNG of `width` × `height` pixels.
pub fn png(b: &Chart, width: u32, height: u32) -> Result<Vec<u8>> {
    b.check(width, height)?;
    let mut pixels = vec![0_u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw(&root, b)?;
    }
    let image = image::RgbImage::from_raw(width, height, pixels)
        .ok_or_else(|| Error::Internal("位图尺寸不符".into()))?;
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(failed)?;
    Ok(out.into_inner())
}

/// The chart as SVG (text stays text: the browser's fonts draw it, and it can be searched).
pub fn svg(b: &Chart, width: u32, height: u32) -> Result<String> {
    b.check(width, height)?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        draw(&root, b)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn months() -> Chart {
        Chart::Bars(Bars {
            title: "任城区12345工单月度趋势".into(),
            labels: (1..=12).map(|m| format!("{m}月")).collect(),
            values: vec![3.0, 5.0, 8.0, 2.0, 0.0, 7.0, 9.0, 4.0, 6.0, 1.0, 3.0, 5.0],
            unit: "件".into(),
        })
    }

    fn trend() -> Chart {
        let months: Vec<String> = (1..=12).map(|m| format!("{m}月")).collect();
        Chart::Lines(Lines {
            title: "工单月度趋势（与上年同期比较）".into(),
            labels: months,
            series: vec![
                Series {
                    name: "2025年".into(),
                    values: (0..12).map(f64::from).collect(),
                },
                Series {
                    name: "2024年".into(),
                    values: vec![2.0; 12],
                },
            ],
            unit: "件".into(),
        })
    }

    /// Dark pixels in a band of the picture (rows `from..to`).
    fn ink(png: &[u8], from: u32, to: u32) -> usize {
        let img = image::load_from_memory(png).unwrap().to_rgb8();
        (from..to)
            .flat_map(|y| (0..img.width()).map(move |x| (x, y)))
            .filter(|(x, y)| img.get_pixel(*x, *y).0.iter().all(|c| *c < 100))
            .count()
    }

    #[test]
    fn chinese_labels_render_from_the_shipped_font() {
        let png = png(&months(), 800, 400).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        // `AFTERCARE_CHART_SAMPLE=FILE cargo test --lib chinese_labels` writes the picture
        // the README shows.
        if let Ok(path) = std::env::var("AFTERCARE_CHART_SAMPLE") {
            std::fs::write(path, &png).unwrap();
        }
        // The caption (top band) and the month labels (bottom band) carry glyphs: without
        // the font they would be blank.
        assert!(ink(&png, 0, 40) > 200, "caption drawn");
        assert!(ink(&png, 360, 400) > 200, "x labels drawn");
        let svg = svg(&months(), 800, 400).unwrap();
        assert!(svg.contains("任城区12345工单月度趋势") && svg.contains("7月"));
    }

    #[test]
    fn lines_draw_their_legend_in_chinese() {
        let png = png(&trend(), 800, 400).unwrap();
        assert!(ink(&png, 0, 40) > 200, "caption drawn");
        let svg = svg(&trend(), 800, 400).unwrap();
        assert!(svg.contains("2024年（件）") && svg.contains("12月"));
    }

    #[test]
    fn rankings_lie_down_with_whole_names() {
        let names: Vec<String> = (1..=10).map(|i| format!("济宁第{i}置业有限公司")).collect();
        let chart = Chart::Ranking(Bars {
            title: "每百套投诉数较多的企业".into(),
            labels: names,
            values: (1..=10).rev().map(f64::from).collect(),
            unit: String::new(),
        });
        let png = png(&chart, 1400, 700).unwrap();
        assert!(ink(&png, 0, 60) > 200, "caption drawn");
        let svg = svg(&chart, 900, 450).unwrap();
        assert!(svg.contains("济宁第10置业有限公司"));
    }

    #[test]
    fn sizes_and_counts_are_bounded() {
        assert!(png(&months(), 50_000, 400).is_err());
        let Chart::Bars(mut many) = months() else {
            unreachable!()
        };
        many.labels = vec!["x".into(); MAX_BARS + 1];
        many.values = vec![1.0; MAX_BARS + 1];
        assert!(svg(&Chart::Bars(many), 800, 400).is_err());
        let Chart::Bars(mut empty) = months() else {
            unreachable!()
        };
        empty.labels.clear();
        empty.values.clear();
        let empty = Chart::Bars(empty);
        assert!(
            png(&empty, 400, 300).is_ok(),
            "an empty chart is drawn, not an error"
        );
    }
}
