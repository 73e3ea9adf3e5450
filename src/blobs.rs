//! Uploaded files (photos, PDFs): a content-addressed store under the data dir. A file is
//! named by its SHA-256, so the same file is stored once; its type is decided from its bytes,
//! never its name; images must decode completely; sizes are limited. Behind [`BlobStore`] so
//! that several instances can later share an object store instead of a local directory.

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

/// Decides what a file is from its bytes and checks it is whole: JPEG and PNG must decode
/// (a truncated photo does not), a PDF must have its header and end-of-file marker.
pub fn inspect(bytes: &[u8], max_bytes: usize, field: &str) -> Result<FileType> {
    if bytes.is_empty() {
        return Err(Error::invalid(field, "文件为空"));
    }
    if bytes.len() > max_bytes {
        return Err(Error::invalid(
            field,
            format!(
                "文件过大：{:.1} MB，上限 {:.1} MB",
                bytes.len() as f64 / 1_048_576.0,
                max_bytes as f64 / 1_048_576.0
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
            "只接受 JPEG、PNG 图片或 PDF 文件（按文件内容判断，而非扩展名）",
        ));
    };
    match kind {
        FileType::Pdf => {
            let tail = &bytes[bytes.len().saturating_sub(1024)..];
            if !tail.windows(5).any(|w| w == b"%%EOF") {
                return Err(Error::invalid(
                    field,
                    "PDF 文件不完整（缺少结尾标记），请重新上传",
                ));
            }
        }
        FileType::Jpeg | FileType::Png => {
            // Decoders tolerate a missing tail by padding it grey; the end-of-image marker does not lie.
            if kind == FileType::Jpeg && !bytes.ends_with(&[0xFF, 0xD9]) {
                let trimmed = bytes
                    .iter()
                    .rposition(|b| *b != 0)
                    .map(|i| &bytes[..=i])
                    .unwrap_or(bytes);
                if !trimmed.ends_with(&[0xFF, 0xD9]) {
                    return Err(Error::invalid(
                        field,
                        "JPEG 图片不完整（文件被截断），请重新上传",
                    ));
                }
            }
            let format = if kind == FileType::Jpeg {
                image::ImageFormat::Jpeg
            } else {
                image::ImageFormat::Png
            };
            image::load_from_memory_with_format(bytes, format).map_err(|_| {
                Error::invalid(field, "图片无法解码（文件损坏或被截断），请重新上传")
            })?;
        }
    }
    Ok(kind)
}

#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    pub sha256: String,
    pub file_type: FileType,
    pub size: i64,
}

/// Checks and stores a file, recording it once in `blobs`.
pub async fn store(
    conn: &mut Conn<'_>,
    store: &dyn BlobStore,
    bytes: &[u8],
    max_bytes: usize,
    field: &str,
) -> Result<Stored> {
    let file_type = inspect(bytes, max_bytes, field)?;
    let sha256 = crate::secret::sha256_hex(bytes);
    store.put(&sha256, bytes)?;
    on_conn!(conn, |c| {
        sqlx::query(
        "INSERT INTO blobs (sha256, content_type, size, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING"
    )
    .bind(&sha256)
    .bind(file_type.content_type())
    .bind(bytes.len() as i64)
    .bind(Utc::now())
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(Stored {
        sha256,
        file_type,
        size: bytes.len() as i64,
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

    #[test]
    fn sniffs_and_checks() {
        assert_eq!(inspect(&png(), 1 << 20, "photo").unwrap(), FileType::Png);
        assert_eq!(inspect(&jpeg(), 1 << 20, "photo").unwrap(), FileType::Jpeg);
        assert_eq!(
            inspect(b"%PDF-1.4\n1 0 obj\n%%EOF\n", 1 << 20, "f").unwrap(),
            FileType::Pdf
        );
        assert!(inspect(b"hello, I am text", 1 << 20, "f").is_err());
        let j = jpeg();
        assert!(
            inspect(&j[..j.len() / 2], 1 << 20, "f").is_err(),
            "truncated JPEG"
        );
        let p = png();
        assert!(
            inspect(&p[..p.len() - 20], 1 << 20, "f").is_err(),
            "truncated PNG"
        );
        assert!(inspect(&png(), 10, "f").is_err(), "too large");
        assert!(inspect(b"%PDF-1.4 no end", 1 << 20, "f").is_err());
    }
}
