//! DOCX in the official layout (GB/T 9704 党政机关公文格式): the issuer in red (红头), the
//! document number, a red rule, the title, body in 仿宋, headings in 黑体, tables with their
//! grid in DXA (WPS and LibreOffice shrink tables without one), charts as PNG, the issuer and
//! date at the end with room for the stamp, and what it was built from in the footer.
//!
//! Written directly as WordprocessingML: the document is paragraphs, tables and pictures, a
//! few hundred lines of XML, and every picture is a PNG this crate drew itself.

use std::io::Write;

use zip::write::SimpleFileOptions;

use super::chart;
use super::content::{Block, Content, Table};
use super::Stamp;
use crate::error::{Error, Result};

/// A4 with the standard margins (37/35/28/26 mm), in twentieths of a point.
const PAGE_W: u32 = 11906;
const PAGE_H: u32 = 16838;
const MARGIN_TOP: u32 = 2098;
const MARGIN_BOTTOM: u32 = 1984;
const MARGIN_LEFT: u32 = 1588;
const MARGIN_RIGHT: u32 = 1474;
const TEXT_W: u32 = PAGE_W - MARGIN_LEFT - MARGIN_RIGHT;
/// Charts are placed 15 cm wide.
const CHART_PX: (u32, u32) = chart::DOCUMENT_PX;
const CHART_EMU_W: u64 = 5_400_000;

const FANGSONG: &str = "仿宋_GB2312";
const HEITI: &str = "黑体";
const XIAOBIAOSONG: &str = "方正小标宋简体";

fn failed(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("生成DOCX失败：{e}"))
}

/// Text for XML: escaped, and without the control characters XML 1.0 cannot hold.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[derive(Clone, Copy)]
struct Run<'a> {
    font: &'a str,
    /// Half-points: 32 = 三号 (16 pt).
    size: u32,
    bold: bool,
    colour: Option<&'a str>,
}

impl Run<'_> {
    fn xml(&self, text: &str) -> String {
        let mut props = format!(
            r#"<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="{f}" w:cs="Times New Roman"/>"#,
            f = self.font
        );
        if self.bold {
            props.push_str("<w:b/>");
        }
        if let Some(c) = self.colour {
            props.push_str(&format!(r#"<w:color w:val="{c}"/>"#));
        }
        props.push_str(&format!(
            r#"<w:sz w:val="{s}"/><w:szCs w:val="{s}"/>"#,
            s = self.size
        ));
        format!(
            r#"<w:r><w:rPr>{props}</w:rPr><w:t xml:space="preserve">{}</w:t></w:r>"#,
            esc(text)
        )
    }
}

const BODY: Run<'static> = Run {
    font: FANGSONG,
    size: 32,
    bold: false,
    colour: None,
};

/// A paragraph: `align` is `left`, `center`, `right` or `both`; `indent` is the first line's
/// indent in hundredths of a character; line spacing fixed at 28 pt as the standard has it.
/// `extra` is paragraph properties that come before the spacing in the schema's order
/// (`keepNext`, `pBdr`).
fn para(runs: &str, align: &str, indent: u32, extra: &str) -> String {
    let ind = if indent > 0 {
        format!(r#"<w:ind w:firstLineChars="{indent}"/>"#)
    } else {
        String::new()
    };
    format!(
        r#"<w:p><w:pPr>{extra}<w:spacing w:line="560" w:lineRule="exact" w:before="0" w:after="0"/>{ind}<w:jc w:val="{align}"/></w:pPr>{runs}</w:p>"#
    )
}

fn table(t: &Table) -> String {
    let sum: u32 = t.columns.iter().map(|c| c.width.max(1)).sum::<u32>().max(1);
    let widths: Vec<u32> = t
        .columns
        .iter()
        .map(|c| TEXT_W * c.width.max(1) / sum)
        .collect();
    let cell_run = Run {
        font: FANGSONG,
        size: 21,
        bold: false,
        colour: None,
    };
    let head_run = Run {
        font: HEITI,
        size: 21,
        ..cell_run
    };
    let cell = |text: &str, w: u32, run: Run<'_>, align: &str| {
        format!(
            r#"<w:tc><w:tcPr><w:tcW w:w="{w}" w:type="dxa"/><w:vAlign w:val="center"/></w:tcPr><w:p><w:pPr><w:spacing w:line="300" w:lineRule="auto" w:before="0" w:after="0"/><w:jc w:val="{align}"/></w:pPr>{}</w:p></w:tc>"#,
            run.xml(text)
        )
    };
    let mut x = String::new();
    let caption = Run {
        font: HEITI,
        size: 24,
        ..cell_run
    };
    x.push_str(&para(
        &caption.xml(&t.caption),
        "center",
        0,
        r#"<w:keepNext/>"#,
    ));
    x.push_str(&format!(
        r#"<w:tbl><w:tblPr><w:tblW w:w="{TEXT_W}" w:type="dxa"/><w:jc w:val="center"/><w:tblBorders><w:top w:val="single" w:sz="4" w:color="000000"/><w:left w:val="single" w:sz="4" w:color="000000"/><w:bottom w:val="single" w:sz="4" w:color="000000"/><w:right w:val="single" w:sz="4" w:color="000000"/><w:insideH w:val="single" w:sz="4" w:color="000000"/><w:insideV w:val="single" w:sz="4" w:color="000000"/></w:tblBorders><w:tblLayout w:type="fixed"/><w:tblCellMar><w:left w:w="60" w:type="dxa"/><w:right w:w="60" w:type="dxa"/></w:tblCellMar></w:tblPr><w:tblGrid>"#
    ));
    for w in &widths {
        x.push_str(&format!(r#"<w:gridCol w:w="{w}"/>"#));
    }
    x.push_str("</w:tblGrid>");
    // The header row repeats on every page.
    x.push_str(r#"<w:tr><w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>"#);
    for (c, w) in t.columns.iter().zip(&widths) {
        x.push_str(&cell(&c.header, *w, head_run, "center"));
    }
    x.push_str("</w:tr>");
    for row in &t.rows {
        x.push_str(r#"<w:tr><w:trPr><w:cantSplit/></w:trPr>"#);
        for ((text, c), w) in row.iter().zip(&t.columns).zip(&widths) {
            let align = if c.numeric { "right" } else { "left" };
            x.push_str(&cell(text, *w, cell_run, align));
        }
        x.push_str("</w:tr>");
    }
    x.push_str("</w:tbl>");
    if t.omitted > 0 {
        x.push_str(&para(
            &cell_run.xml(&format!(
                "（另有{}家未列出，完整名单见平台导出的表格。）",
                t.omitted
            )),
            "left",
            0,
            "",
        ));
    }
    x
}

fn picture(n: usize, rel: &str, px: (u32, u32)) -> String {
    let cy = CHART_EMU_W * u64::from(px.1) / u64::from(px.0);
    let cx = CHART_EMU_W;
    format!(
        r#"<w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{n}" name="图{n}"/><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr><pic:cNvPr id="{n}" name="chart{n}.png"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="{rel}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"#
    )
}

/// The circular as a DOCX file.
pub fn render(c: &Content, stamp: &Stamp) -> Result<Vec<u8>> {
    let mut body = String::new();
    let mut images: Vec<Vec<u8>> = Vec::new();
    let red = Some("FF0000");
    body.push_str(&para(
        &Run {
            font: XIAOBIAOSONG,
            size: 60,
            bold: false,
            colour: red,
        }
        .xml(&c.issuer),
        "center",
        0,
        "",
    ));
    body.push_str(&para("", "center", 0, ""));
    // The document number, then the red rule under it (a bottom border).
    body.push_str(&para(
        &BODY.xml(&stamp.number_text()),
        "center",
        0,
        r#"<w:pBdr><w:bottom w:val="single" w:sz="24" w:space="6" w:color="FF0000"/></w:pBdr>"#,
    ));
    body.push_str(&para("", "center", 0, ""));
    body.push_str(&para(
        &Run {
            font: XIAOBIAOSONG,
            size: 44,
            bold: false,
            colour: None,
        }
        .xml(&c.title),
        "center",
        0,
        "",
    ));
    body.push_str(&para("", "center", 0, ""));
    body.push_str(&para(&BODY.xml(&c.addressee), "left", 0, ""));
    for b in &c.blocks {
        match b {
            Block::Heading { text } => body.push_str(&para(
                &Run {
                    font: HEITI,
                    ..BODY
                }
                .xml(text),
                "left",
                200,
                r#"<w:keepNext/>"#,
            )),
            Block::Paragraph { text } => body.push_str(&para(&BODY.xml(text), "both", 200, "")),
            Block::Table(t) => body.push_str(&table(t)),
            Block::Chart { chart: ch } => {
                images.push(chart::png(ch, CHART_PX.0, CHART_PX.1)?);
                let n = images.len();
                body.push_str(&picture(n, &format!("rIdImg{n}"), CHART_PX));
            }
        }
    }
    body.push_str(&para("", "left", 0, ""));
    body.push_str(&para("", "left", 0, ""));
    // Issuer and date at the right, two characters in, where the stamp goes.
    for line in [
        c.issuer.clone(),
        crate::notify::templates::cn_date(stamp.date),
    ] {
        body.push_str(&format!(
            r#"<w:p><w:pPr><w:spacing w:line="560" w:lineRule="exact" w:before="0" w:after="0"/><w:ind w:right="640"/><w:jc w:val="right"/></w:pPr>{}</w:p>"#,
            BODY.xml(&line)
        ));
    }
    body.push_str(&format!(
        r#"<w:sectPr><w:footerReference w:type="default" r:id="rIdFooter"/><w:pgSz w:w="{PAGE_W}" w:h="{PAGE_H}"/><w:pgMar w:top="{MARGIN_TOP}" w:right="{MARGIN_RIGHT}" w:bottom="{MARGIN_BOTTOM}" w:left="{MARGIN_LEFT}" w:header="851" w:footer="992" w:gutter="0"/><w:docGrid w:type="lines" w:linePitch="579"/></w:sectPr>"#
    ));
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"><w:body>{body}</w:body></w:document>"#
    );
    let small = Run {
        font: FANGSONG,
        size: 15,
        bold: false,
        colour: Some("555555"),
    };
    let page = Run {
        font: FANGSONG,
        size: 28,
        bold: false,
        colour: None,
    };
    let footer = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:ftr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:p><w:pPr><w:jc w:val="center"/></w:pPr>{}<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>{}<w:r><w:fldChar w:fldCharType="end"/></w:r>{}</w:p><w:p><w:pPr><w:jc w:val="left"/></w:pPr>{}</w:p></w:ftr>"#,
        page.xml("— "),
        page.xml("1"),
        page.xml(" —"),
        small.xml(&c.sources.footer()),
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rIdStyles" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rIdFooter" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/>"#,
    );
    for n in 1..=images.len() {
        rels.push_str(&format!(
            r#"<Relationship Id="rIdImg{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/chart{n}.png"/>"#
        ));
    }
    rels.push_str("</Relationships>");
    let styles = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="{FANGSONG}" w:cs="Times New Roman"/><w:sz w:val="32"/><w:szCs w:val="32"/><w:lang w:val="en-US" w:eastAsia="zh-CN"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="0" w:line="560" w:lineRule="exact"/></w:pPr></w:pPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style></w:styles>"#
    );
    let core = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{}</dc:title><dc:creator>{}</dc:creator><dc:description>{}</dc:description></cp:coreProperties>"#,
        esc(&c.title),
        esc(&c.issuer),
        esc(&c.sources.footer())
    );
    let content_types = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>"#;
    let package_rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>"#;

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    // PNGs are compressed already.
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut part = |name: &str, bytes: &[u8], opts: SimpleFileOptions| -> Result<()> {
        zip.start_file(name, opts).map_err(failed)?;
        zip.write_all(bytes).map_err(failed)
    };
    part("[Content_Types].xml", content_types.as_bytes(), deflated)?;
    part("_rels/.rels", package_rels.as_bytes(), deflated)?;
    part("docProps/core.xml", core.as_bytes(), deflated)?;
    part("word/document.xml", document.as_bytes(), deflated)?;
    part("word/styles.xml", styles.as_bytes(), deflated)?;
    part("word/footer1.xml", footer.as_bytes(), deflated)?;
    part("word/_rels/document.xml.rels", rels.as_bytes(), deflated)?;
    for (i, png) in images.iter().enumerate() {
        part(&format!("word/media/chart{}.png", i + 1), png, stored)?;
    }
    Ok(zip.finish().map_err(failed)?.into_inner())
}
