//! Image checks and thumbnails, on tokio's blocking pool (decoding is CPU work), a
//! couple at a time so a burst of uploads cannot take every core or gigabytes of RAM.
//! The pixel count is read from the header before anything is decoded: a small file
//! that claims to be 100,000 × 100,000 pixels is refused without being expanded.

use std::{path::PathBuf, sync::OnceLock};

use image::{ImageFormat, ImageReader, Limits};
use tokio::sync::Semaphore;

use super::uploads::UploadKind;

/// Images with more pixels than this are refused (decompression bombs).
pub const MAX_PIXELS: u64 = 50_000_000;
pub const THUMBNAIL_SIZE: u32 = 320;

pub struct ImageInfo {
    pub width: u32,
    pub height: u32,
    /// Whether a thumbnail was written.
    pub thumbnail: bool,
}

fn decoders() -> &'static Semaphore {
    static DECODERS: OnceLock<Semaphore> = OnceLock::new();
    DECODERS.get_or_init(|| Semaphore::new(2))
}

/// The thumbnail's type: JPEG for JPEG photos, PNG (which keeps transparency) otherwise.
pub fn thumbnail_type(source_type: &str) -> &'static str {
    if source_type == UploadKind::Jpeg.mime() {
        "image/jpeg"
    } else {
        "image/png"
    }
}

fn format_of(kind: UploadKind) -> Option<ImageFormat> {
    match kind {
        UploadKind::Jpeg => Some(ImageFormat::Jpeg),
        UploadKind::Png => Some(ImageFormat::Png),
        UploadKind::Gif => Some(ImageFormat::Gif),
        UploadKind::Webp => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Reads the image's size and, for JPEG, PNG and WebP, writes a thumbnail of at most
/// `THUMBNAIL_SIZE` pixels a side to `thumbnail`.
pub async fn inspect(path: PathBuf, kind: UploadKind, thumbnail: PathBuf) -> Result<ImageInfo, String> {
    let _permit = decoders().acquire().await.map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || inspect_blocking(&path, kind, &thumbnail))
        .await
        .map_err(|e| e.to_string())?
}

fn inspect_blocking(
    path: &std::path::Path,
    kind: UploadKind,
    thumbnail: &std::path::Path,
) -> Result<ImageInfo, String> {
    let format = format_of(kind).ok_or("not an image")?;
    let open = || -> Result<ImageReader<std::io::BufReader<std::fs::File>>, String> {
        let mut reader = ImageReader::open(path).map_err(|e| e.to_string())?;
        reader.set_format(format);
        let mut limits = Limits::default();
        limits.max_alloc = Some(512 * 1024 * 1024);
        reader.limits(limits);
        Ok(reader)
    };
    let (width, height) = open()?
        .into_dimensions()
        .map_err(|e| format!("not a readable image: {e}"))?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!("{width}×{height} pixels is more than the {MAX_PIXELS} allowed"));
    }
    if kind == UploadKind::Gif {
        return Ok(ImageInfo {
            width,
            height,
            thumbnail: false,
        });
    }
    let image = open()?.decode().map_err(|e| format!("not a readable image: {e}"))?;
    let small = image.thumbnail(THUMBNAIL_SIZE, THUMBNAIL_SIZE);
    let result = if kind == UploadKind::Jpeg {
        small.to_rgb8().save_with_format(thumbnail, ImageFormat::Jpeg)
    } else {
        small.save_with_format(thumbnail, ImageFormat::Png)
    };
    result.map_err(|e| format!("thumbnail failed: {e}"))?;
    Ok(ImageInfo {
        width,
        height,
        thumbnail: true,
    })
}
