//! Uploaded files (photos, PDFs): a content-addressed store under the data dir. A file is
//! named by its SHA-256, so the same file is stored once; its type is decided from its bytes,
//! never its name; images must decode completely; sizes and pixel counts are limited. Behind
//! [`BlobStore`] so that several instances can later share an object store instead of a local
//! directory.

use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;
use serde::Serialize;

use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;

pub trait BlobStore: Send + Sync {
    fn put(&self, sha256: &str, bytes: &[u8]) -> std::io::Result<()>;
    fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>>;
}

/// `<root>/ab/abcdef…`: written to a temporary file and renamed, so a reader never sees half
/// a file and a crash leaves no corrupt blob.
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalDir { root: root.into() }
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }
}

impl BlobStore for LocalDir {
    fn put(&self, sha256: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(sha256);
        if path.exists() {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{sha256}.{}", crate::secret::random_hex(4)));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    }

    fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a sha256",
            ));
        }
        std::fs::read(self.path(sha256))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    Jpeg,
    Png,
    Pdf,
}

impl FileType {
    pub fn content_type(self) -> &'static str {
        match self {
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::Pdf => "application/pdf",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self, FileType::Jpeg | FileType::Png)
    }
}

/// What one upload may be: its size, and for a photo its pixel count (a small PNG can declare
/// 8000×8000 pixels and take hundreds of megabytes to decode).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_pixels: u64,
}

impl Limits {
    pub fn from_config(c: &crate::config::Config) -> Limits {
        Limits {
            max_bytes: c.max_file_bytes,
            max_pixels: c.max_image_pixels,
        }
    }
}

/// A file whose type was read from its bytes and whose content was checked whole. Only
/// [`inspect`] makes one, so [`store`] cannot be handed an unchecked file.
#[derive(Debug)]
pub struct Checked {
    bytes: Vec<u8>,
    file_type: FileType,
}

impl Checked {
    pub fn file_type(&self) -> FileType {
        self.file_type
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

fn shown(name: &str) -> String {
    if name.trim().is_empty() {
        "上传的文件".into()
    } else {
        format!("文件“{name}”")
    }
}

/// Decides what a file is from its bytes and checks it is whole: JPEG and PNG must decode
/// (a truncated photo does not) within the pixel limit, a PDF must have its header and
/// end-of-file marker. Errors name the field and the file. CPU-bound: call it through
/// [`inspect_blocking`] from async code.
pub fn inspect(bytes: Vec<u8>, limits: Limits, field: &str, name: &str) -> Result<Checked> {
    let file_type = sniff(&bytes, limits, field, name)?;
    Ok(Checked { bytes, file_type })
}

/// [`inspect`] on the blocking pool, so decoding a large photo does not stall the async
/// workers that serve everyone else.
pub async fn inspect_blocking(
    bytes: Vec<u8>,
    limits: Limits,
    field: &str,
    name: &str,
) -> Result<Checked> {
    let (field_owned, name_owned) = (field.to_string(), name.to_string());
    tokio::task::spawn_blocking(move || inspect(bytes, limits, &field_owned, &name_owned))
        .await
        .map_err(|e| Error::Internal(format!("文件检查任务失败：{e}")))?
}

fn sniff(bytes: &[u8], limits: Limits, field: &str, name: &str) -> Result<FileType> {
    let what = shown(name);
    if bytes.is_empty() {
        return Err(Error::invalid(field, format!("{what}为空")));
    }
    if bytes.len() > limits.max_bytes {
        return Err(Error::invalid(
            field,
            format!(
                "{what}过大：{:.1} MB，上限 {:.1} MB",
                bytes.len() as f64 / 1_048_576.0,
                limits.max_bytes as f64 / 1_048_576.0
            ),
        ));
    }
    let kind = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        FileType::Jpeg
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        FileType::Png
    } else if bytes.starts_with(b"%PDF-") {
        FileType::Pdf
    } else {
        return Err(Error::invalid(
            field,
            format!("{what}不是 JPEG、PNG 图片或 PDF 文件（按文件内容判断，而非扩展名）"),
        ));
    };
    match kind {
        FileType::Pdf => {
            let tail = &bytes[bytes.len().saturating_sub(1024)..];
            if !tail.windows(5).any(|w| w == b"%%EOF") {
                return Err(Error::invalid(
                    field,
                    format!("{what}是不完整的 PDF（缺少结尾标记），请重新上传"),
                ));
            }
        }
        FileType::Jpeg => {
            // Decoders tolerate a missing tail by padding it grey; the end-of-image marker does not lie.
            if !bytes.ends_with(&[0xFF, 0xD9]) {
                let trimmed = bytes
                    .iter()
                    .rposition(|b| *b != 0)
                    .map(|i| &bytes[..=i])
                    .unwrap_or(bytes);
                if !trimmed.ends_with(&[0xFF, 0xD9]) {
                    return Err(Error::invalid(
                        field,
                        format!("{what}是不完整的 JPEG 图片（文件被截断），请重新上传"),
                    ));
                }
            }
            decode(bytes, image::ImageFormat::Jpeg, limits, field, &what)?;
        }
        FileType::Png => decode(bytes, image::ImageFormat::Png, limits, field, &what)?,
    }
    Ok(kind)
}

/// Reads the dimensions from the header first and refuses an image over the pixel limit
/// before anything is allocated for it; then decodes it once, with the decoder itself held to
/// the same limit.
fn decode(
    bytes: &[u8],
    format: image::ImageFormat,
    limits: Limits,
    field: &str,
    what: &str,
) -> Result<()> {
    let broken = || {
        Error::invalid(
            field,
            format!("{what}无法解码（文件损坏或被截断），请重新上传"),
        )
    };
    let reader = || image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let (width, height) = reader().into_dimensions().map_err(|_| broken())?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(Error::invalid(
            field,
            format!(
                "{what}为 {width}×{height} 像素（{:.1} 万像素），超过上限 {:.1} 万像素，请缩小后再上传",
                pixels as f64 / 10_000.0,
                limits.max_pixels as f64 / 10_000.0
            ),
        ));
    }
    let mut decoder_limits = image::Limits::default();
    let side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    decoder_limits.max_image_width = Some(side);
    decoder_limits.max_image_height = Some(side);
    // Sixteen-bit RGBA is the widest pixel either format decodes to: 8 bytes.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    let mut r = reader();
    r.limits(decoder_limits);
    r.decode().map_err(|_| broken())?;
    Ok(())
}

/// The name a file was uploaded under, as kept for display: control characters dropped, at
/// most 200 characters.
pub fn display_name(original: &str) -> String {
    original
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    pub sha256: String,
    pub file_type: FileType,
    pub size: i64,
}

/// Stores a checked file, recording it once in `blobs`.
/// An upload as every attachment takes it: its name made displayable, its bytes checked
/// (type from the bytes, size, images decode) off the async workers, then stored. Answers the
/// display name and the stored blob.
pub async fn accept(
    conn: &mut Conn<'_>,
    store: &dyn BlobStore,
    limits: Limits,
    field: &str,
    original_name: &str,
    bytes: Vec<u8>,
) -> Result<(String, Stored)> {
    let name = display_name(original_name);
    let checked = inspect_blocking(bytes, limits, field, &name).await?;
    let stored = self::store(conn, store, &checked).await?;
    Ok((name, stored))
}

pub async fn store(conn: &mut Conn<'_>, store: &dyn BlobStore, file: &Checked) -> Result<Stored> {
    let bytes = file.bytes();
    let size = i64::try_from(bytes.len()).map_err(|e| Error::Internal(e.to_string()))?;
    let sha256 = crate::secret::sha256_hex(bytes);
    store.put(&sha256, bytes)?;
    on_conn!(conn, |c| {
        sqlx::query(
        "INSERT INTO blobs (sha256, content_type, size, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING"
    )
    .bind(&sha256)
    .bind(file.file_type.content_type())
    .bind(size)
    .bind(Utc::now())
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(Stored {
        sha256,
        file_type: file.file_type,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png() -> Vec<u8> {
        let img = image::RgbImage::from_pixel(8, 8, image::Rgb([200, 30, 30]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn jpeg() -> Vec<u8> {
        let img = image::RgbImage::from_pixel(64, 48, image::Rgb([20, 90, 160]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    const LIMITS: Limits = Limits {
        max_bytes: 1 << 20,
        max_pixels: 40_000_000,
    };

    fn check(bytes: &[u8], limits: Limits) -> Result<FileType> {
        inspect(bytes.to_vec(), limits, "photo", "a.png").map(|c| c.file_type())
    }

    #[test]
    fn sniffs_and_checks() {
        assert_eq!(check(&png(), LIMITS).unwrap(), FileType::Png);
        assert_eq!(check(&jpeg(), LIMITS).unwrap(), FileType::Jpeg);
        assert_eq!(
            check(b"%PDF-1.4\n1 0 obj\n%%EOF\n", LIMITS).unwrap(),
            FileType::Pdf
        );
        assert!(check(b"hello, I am text", LIMITS).is_err());
        let j = jpeg();
        assert!(check(&j[..j.len() / 2], LIMITS).is_err(), "truncated JPEG");
        let p = png();
        assert!(check(&p[..p.len() - 20], LIMITS).is_err(), "truncated PNG");
        let tiny = Limits {
            max_bytes: 10,
            ..LIMITS
        };
        assert!(check(&png(), tiny).is_err(), "too large");
        assert!(check(b"%PDF-1.4 no end", LIMITS).is_err());
    }

    #[test]
    fn pixel_limit_is_read_from_the_header() {
        // 8×8 = 64 pixels: over a limit of 63, at a limit of 64.
        let at = Limits {
            max_pixels: 64,
            ..LIMITS
        };
        let under = Limits {
            max_pixels: 63,
            ..LIMITS
        };
        assert!(check(&png(), at).is_ok());
        let err = check(&png(), under).unwrap_err().to_string();
        assert!(err.contains("8×8") && err.contains("a.png"), "{err}");
        // 64×48 JPEG.
        let small = Limits {
            max_pixels: 3000,
            ..LIMITS
        };
        assert!(check(&jpeg(), small).is_err());
    }
}
