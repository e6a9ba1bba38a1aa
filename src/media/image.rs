//! Stills, in memory and without I/O: what an image is, and the JPEG Instagram wants.
//!
//! Decoding is CPU work (tens to hundreds of milliseconds for a phone photo): call
//! [`to_jpeg`] and [`thumbnail`] from `tokio::task::spawn_blocking`. [`inspect`] reads headers
//! only and is cheap.

use std::io::Cursor;

use ::image::codecs::jpeg::JpegEncoder;
use ::image::imageops::FilterType;
use ::image::metadata::Orientation;
use ::image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage};

use super::{MediaError, human_bytes, sniff_mime};

/// Images with more pixels than this are refused before decoding (a 48 MP phone photo fits).
pub const MAX_PIXELS: u64 = 60_000_000;
/// The JPEG quality of converted images.
pub const JPEG_QUALITY: u8 = 85;
const THUMBNAIL_QUALITY: u8 = 80;
/// The most a decoder may allocate.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// What a still is, from its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// `image/jpeg`, `image/png`, `image/gif` or `image/webp`.
    pub mime: &'static str,
    /// The size as displayed: a JPEG's EXIF rotation by 90° swaps width and height.
    pub width: u32,
    pub height: u32,
    /// More than one frame (GIF, animated WebP, APNG).
    pub animated: bool,
}

/// A JPEG and its size in pixels.
#[derive(Clone, PartialEq, Eq)]
pub struct Jpeg {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Debug for Jpeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jpeg")
            .field("len", &self.bytes.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// Describes a still from its headers, without decoding the pixels.
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, MediaError> {
    let (mime, format) = still_format(bytes)?;
    let mut decoder = decoder(bytes, format)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(corrupt(format!("it claims to be {width}×{height} pixels")));
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let (width, height) = if swaps_sides(orientation) {
        (height, width)
    } else {
        (width, height)
    };
    let animated = match format {
        ImageFormat::Gif => gif_is_animated(bytes),
        ImageFormat::WebP => webp_is_animated(bytes),
        ImageFormat::Png => png_is_animated(bytes),
        _ => false,
    };
    Ok(ImageInfo {
        mime,
        width,
        height,
        animated,
    })
}

/// The JPEG to send to Instagram. A JPEG whose longest side is at most `max_side` passes
/// unchanged (the very same bytes); PNG, WebP, GIF (its first frame) and larger JPEGs are
/// decoded, turned upright by their EXIF orientation, flattened onto white where transparent,
/// scaled down so that the longest side is at most `max_side`, and encoded at quality
/// [`JPEG_QUALITY`].
pub fn to_jpeg(bytes: &[u8], max_side: u32) -> Result<Jpeg, MediaError> {
    convert(bytes, max_side, FilterType::CatmullRom, JPEG_QUALITY)
}

/// A small JPEG of a still (the first frame of an animation) whose longest side is at most
/// `side`, for `info.thumbnail_*` of `m.image` and `m.video`.
pub fn thumbnail(bytes: &[u8], side: u32) -> Result<Jpeg, MediaError> {
    convert(bytes, side, FilterType::Triangle, THUMBNAIL_QUALITY)
}

fn convert(
    bytes: &[u8],
    max_side: u32,
    filter: FilterType,
    quality: u8,
) -> Result<Jpeg, MediaError> {
    let max_side = max_side.max(1);
    let info = inspect(bytes)?;
    if info.mime == "image/jpeg" && info.width.max(info.height) <= max_side {
        return Ok(Jpeg {
            bytes: bytes.to_vec(),
            width: info.width,
            height: info.height,
        });
    }
    let (_, format) = still_format(bytes)?;
    let mut rgb = flatten_on_white(decode(bytes, format)?);
    let (w, h) = rgb.dimensions();
    let (nw, nh) = fit(w, h, max_side);
    if (nw, nh) != (w, h) {
        rgb = ::image::imageops::resize(&rgb, nw, nh, filter);
    }
    let mut out = Vec::with_capacity((nw as usize * nh as usize) / 4 + 1024);
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&rgb)
        .map_err(|e| MediaError::Unsupported {
            what: "this image".into(),
            reason: format!("it could not be encoded as JPEG: {e}"),
        })?;
    Ok(Jpeg {
        bytes: out,
        width: nw,
        height: nh,
    })
}

/// The size of a `w`×`h` image scaled down (never up) so its longest side is at most `max_side`.
pub fn fit(w: u32, h: u32, max_side: u32) -> (u32, u32) {
    let longest = w.max(h);
    if longest <= max_side {
        return (w, h);
    }
    let scale = |side: u32| {
        let scaled =
            (u64::from(side) * u64::from(max_side) + u64::from(longest) / 2) / u64::from(longest);
        u32::try_from(scaled).unwrap_or(max_side).max(1)
    };
    (scale(w), scale(h))
}

fn still_format(bytes: &[u8]) -> Result<(&'static str, ImageFormat), MediaError> {
    match sniff_mime(bytes) {
        Some(m @ "image/jpeg") => Ok((m, ImageFormat::Jpeg)),
        Some(m @ "image/png") => Ok((m, ImageFormat::Png)),
        Some(m @ "image/gif") => Ok((m, ImageFormat::Gif)),
        Some(m @ "image/webp") => Ok((m, ImageFormat::WebP)),
        Some(other) => Err(MediaError::Unsupported {
            what: "this file".into(),
            reason: format!("it is {other}, not a JPEG, PNG, GIF or WebP image"),
        }),
        None => Err(MediaError::Unsupported {
            what: "this file".into(),
            reason: "it is not a JPEG, PNG, GIF or WebP image".into(),
        }),
    }
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

fn decoder(bytes: &[u8], format: ImageFormat) -> Result<impl ImageDecoder + '_, MediaError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    reader.into_decoder().map_err(from_image_error)
}

fn decode(bytes: &[u8], format: ImageFormat) -> Result<DynamicImage, MediaError> {
    let mut decoder = decoder(bytes, format)?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_PIXELS {
        return Err(MediaError::TooLarge {
            what: "this image",
            size: format!("{w}×{h} pixels"),
            limit: format!("{} megapixels", MAX_PIXELS / 1_000_000),
        });
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(from_image_error)?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn flatten_on_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let alpha = u32::from(p[3]);
        for c in 0..3 {
            let v = (u32::from(p[c]) * alpha + 255 * (255 - alpha) + 127) / 255;
            o[c] = u8::try_from(v).unwrap_or(u8::MAX);
        }
    }
    out
}

fn swaps_sides(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

fn corrupt(reason: String) -> MediaError {
    MediaError::Corrupt {
        what: "this image",
        reason,
    }
}

fn from_image_error(e: ImageError) -> MediaError {
    match e {
        ImageError::Limits(l) => MediaError::TooLarge {
            what: "this image",
            size: "too many pixels".into(),
            limit: format!("{l}; at most {}", human_bytes(MAX_ALLOC)),
        },
        ImageError::Unsupported(u) => MediaError::Unsupported {
            what: "this image".into(),
            reason: u.to_string(),
        },
        ImageError::IoError(io) => corrupt(format!("it ends too early: {io}")),
        other => corrupt(other.to_string()),
    }
}

/// Whether a GIF has more than one image, by walking its blocks (no LZW decoding).
fn gif_is_animated(bytes: &[u8]) -> bool {
    let color_table = |flags: u8| {
        if flags & 0x80 != 0 {
            3usize << ((flags & 7) + 1)
        } else {
            0
        }
    };
    // Skips data sub-blocks from `pos`; returns the position after the terminator.
    let skip_sub_blocks = |mut pos: usize| -> Option<usize> {
        loop {
            let len = usize::from(*bytes.get(pos)?);
            pos += 1 + len;
            if len == 0 {
                return Some(pos);
            }
        }
    };
    let Some(&flags) = bytes.get(10) else {
        return false;
    };
    let mut pos = 13 + color_table(flags);
    let mut frames = 0;
    while let Some(&block) = bytes.get(pos) {
        match block {
            0x21 => match skip_sub_blocks(pos + 2) {
                Some(next) => pos = next,
                None => break,
            },
            0x2C => {
                frames += 1;
                if frames > 1 {
                    return true;
                }
                let Some(&flags) = bytes.get(pos + 9) else {
                    break;
                };
                // Descriptor (10 bytes), local color table, LZW minimum code size, data.
                match skip_sub_blocks(pos + 10 + color_table(flags) + 1) {
                    Some(next) => pos = next,
                    None => break,
                }
            }
            _ => break, // 0x3B (trailer) or garbage
        }
    }
    false
}

/// Whether a WebP is animated: the animation flag of its `VP8X` chunk.
fn webp_is_animated(bytes: &[u8]) -> bool {
    bytes.get(12..16) == Some(b"VP8X") && bytes.get(20).is_some_and(|f| f & 0x02 != 0)
}

/// Whether a PNG is an APNG: an `acTL` chunk before the first `IDAT`.
fn png_is_animated(bytes: &[u8]) -> bool {
    let mut pos = 8usize;
    while let Some(header) = bytes.get(pos..pos + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        match &header[4..8] {
            b"acTL" => return true,
            b"IDAT" | b"IEND" => return false,
            _ => {}
        }
        let Some(next) = usize::try_from(len)
            .ok()
            .and_then(|l| pos.checked_add(12)?.checked_add(l))
        else {
            return false;
        };
        pos = next;
    }
    false
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
