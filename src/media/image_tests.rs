use std::io::Cursor;

use ::image::codecs::gif::GifEncoder;
use ::image::{Delay, Frame, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

use super::*;

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .expect("encode jpeg");
    out
}

/// 40×20: the left half fully transparent, the right half opaque red.
fn png_with_alpha() -> Vec<u8> {
    let img = RgbaImage::from_fn(40, 20, |x, _| {
        if x < 20 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([255, 0, 0, 255])
        }
    });
    encode(DynamicImage::ImageRgba8(img), ImageFormat::Png)
}

fn gif(frames: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut out);
        let frames = (0..frames).map(|i| {
            let shade = (i * 100 % 256) as u8;
            let img = RgbaImage::from_pixel(30, 10, Rgba([shade, 0, 255 - shade, 255]));
            Frame::from_parts(img, 0, 0, Delay::from_numer_denom_ms(100, 1))
        });
        encoder.encode_frames(frames).expect("encode gif");
    }
    out
}

/// Puts an EXIF APP1 segment with the given orientation right after SOI.
fn with_exif_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
    let mut app1 = vec![0xFF, 0xE1, 0x00, 34];
    app1.extend_from_slice(b"Exif\0\0MM\0\x2A\0\0\0\x08");
    app1.extend_from_slice(&[0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]);
    app1.extend_from_slice(&[0x00, orientation, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn inspects_every_still_format() {
    let png = png_with_alpha();
    let webp = encode(
        DynamicImage::ImageRgba8(RgbaImage::new(17, 9)),
        ImageFormat::WebP,
    );
    let cases = [
        (jpeg(64, 48), "image/jpeg", 64, 48, false),
        (png, "image/png", 40, 20, false),
        (webp, "image/webp", 17, 9, false),
        (gif(1), "image/gif", 30, 10, false),
        (gif(3), "image/gif", 30, 10, true),
    ];
    for (bytes, mime, width, height, animated) in cases {
        let info = inspect(&bytes).expect(mime);
        let want = ImageInfo {
            mime,
            width,
            height,
            animated,
        };
        assert_eq!(info, want);
    }
}

#[test]
fn small_jpeg_passes_unchanged() {
    let bytes = jpeg(300, 200);
    let out = to_jpeg(&bytes, 1080).unwrap();
    assert_eq!(out.bytes, bytes, "the very same bytes");
    assert_eq!((out.width, out.height), (300, 200));
}

#[test]
fn large_jpeg_is_scaled_down() {
    let bytes = jpeg(2000, 1000);
    let out = to_jpeg(&bytes, 1080).unwrap();
    assert_eq!((out.width, out.height), (1080, 540));
    let info = inspect(&out.bytes).unwrap();
    assert_eq!(
        (info.mime, info.width, info.height),
        ("image/jpeg", 1080, 540)
    );
}

#[test]
fn png_alpha_is_flattened_onto_white() {
    let out = to_jpeg(&png_with_alpha(), 1080).unwrap();
    assert_eq!(sniff_mime(&out.bytes), Some("image/jpeg"));
    assert_eq!((out.width, out.height), (40, 20));
    let decoded = ::image::load_from_memory(&out.bytes).unwrap().into_rgb8();
    let left = decoded.get_pixel(5, 10);
    assert!(
        left.0.iter().all(|&c| c > 235),
        "transparent → white: {left:?}"
    );
    let right = decoded.get_pixel(35, 10);
    assert!(
        right[0] > 200 && right[1] < 60 && right[2] < 60,
        "red: {right:?}"
    );
}

#[test]
fn webp_and_gif_become_jpeg() {
    let webp = encode(
        DynamicImage::ImageRgb8(RgbImage::from_pixel(120, 60, Rgb([0, 200, 0]))),
        ImageFormat::WebP,
    );
    let out = to_jpeg(&webp, 100).unwrap();
    assert_eq!((out.width, out.height), (100, 50));
    assert_eq!(sniff_mime(&out.bytes), Some("image/jpeg"));

    let out = to_jpeg(&gif(3), 1080).unwrap();
    assert_eq!((out.width, out.height), (30, 10));
    let first = ::image::load_from_memory(&out.bytes).unwrap().into_rgb8();
    let p = first.get_pixel(15, 5);
    assert!(p[2] > 200 && p[0] < 60, "the first frame is blue: {p:?}");
}

#[test]
fn thumbnail_is_small() {
    let out = thumbnail(&jpeg(640, 480), 96).unwrap();
    assert_eq!((out.width, out.height), (96, 72));
    assert_eq!(sniff_mime(&out.bytes), Some("image/jpeg"));
    // A tiny max side still gives a valid image.
    let out = thumbnail(&jpeg(640, 10), 32).unwrap();
    assert_eq!((out.width, out.height), (32, 1));
}

#[test]
fn exif_rotation_swaps_the_sides() {
    let rotated = with_exif_orientation(&jpeg(64, 32), 6);
    let info = inspect(&rotated).unwrap();
    assert_eq!((info.width, info.height), (32, 64));
    // Within limits it passes unchanged (the viewer applies the EXIF rotation)…
    let out = to_jpeg(&rotated, 100).unwrap();
    assert_eq!(out.bytes, rotated);
    // …and when re-encoded the pixels are turned upright.
    let out = to_jpeg(&rotated, 32).unwrap();
    assert_eq!((out.width, out.height), (16, 32));
    let decoded = ::image::load_from_memory(&out.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (16, 32));
}

#[test]
fn fit_keeps_the_aspect_ratio() {
    assert_eq!(fit(4000, 3000, 1080), (1080, 810));
    assert_eq!(fit(3000, 4000, 1080), (810, 1080));
    assert_eq!(fit(100, 50, 1080), (100, 50));
    assert_eq!(fit(10_000, 1, 100), (100, 1));
    assert_eq!(fit(u32::MAX, u32::MAX, 1), (1, 1));
}

#[test]
fn animation_detection_from_headers() {
    // A VP8X WebP with and without the animation flag.
    let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\x02\0\0\0".to_vec();
    assert!(webp_is_animated(&webp));
    webp[20] = 0x10; // alpha only
    assert!(!webp_is_animated(&webp));
    // An APNG has acTL before IDAT.
    let png = png_with_alpha();
    assert!(!png_is_animated(&png));
    let mut apng = png[..33].to_vec(); // signature + IHDR
    apng.extend_from_slice(b"\0\0\0\x08acTL\0\0\0\x02\0\0\0\0\0\0\0\0");
    apng.extend_from_slice(&png[33..]);
    assert!(png_is_animated(&apng));
    // Truncated or hostile lengths end the walk quietly.
    assert!(!png_is_animated(b"\x89PNG\r\n\x1a\n\xff\xff\xff\xffIHDR"));
    assert!(!gif_is_animated(b"GIF89a"));
    assert!(!gif_is_animated(&gif(2)[..40]));
}

#[test]
fn garbage_gives_typed_errors() {
    let err = inspect(b"definitely not an image").unwrap_err();
    assert!(matches!(err, MediaError::Unsupported { .. }), "{err}");
    assert!(
        err.to_string().contains("not a JPEG, PNG, GIF or WebP"),
        "{err}"
    );

    let err = to_jpeg(b"\0\0\0\x20ftypisom", 1080).unwrap_err();
    assert!(err.to_string().contains("video/mp4"), "{err}");

    let png = png_with_alpha();
    let err = to_jpeg(&png[..png.len() / 2], 1080).unwrap_err();
    assert!(matches!(err, MediaError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().starts_with("this image could not be read"),
        "{err}"
    );

    let err = inspect(b"GIF89a").unwrap_err();
    assert!(matches!(err, MediaError::Corrupt { .. }), "{err}");
}

#[test]
fn huge_dimensions_are_refused_before_decoding() {
    // A PNG header claiming 100000×100000 pixels.
    let mut png = png_with_alpha();
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let err = to_jpeg(&png, 1080).unwrap_err();
    assert!(
        matches!(
            err,
            MediaError::TooLarge { .. } | MediaError::Corrupt { .. }
        ),
        "{err}"
    );
}

#[test]
fn no_prefix_or_bit_flip_panics() {
    let samples = [
        jpeg(16, 8),
        png_with_alpha(),
        gif(2),
        encode(
            DynamicImage::ImageRgba8(RgbaImage::new(9, 7)),
            ImageFormat::WebP,
        ),
    ];
    for sample in &samples {
        for len in 0..sample.len() {
            let _ = inspect(&sample[..len]);
            let _ = thumbnail(&sample[..len], 8);
        }
        for i in (0..sample.len()).step_by(3) {
            let mut flipped = sample.clone();
            flipped[i] ^= 0x5A;
            let _ = to_jpeg(&flipped, 8);
        }
    }
}
