//! Media conversion between what Instagram sends and accepts and what Matrix clients play.
//!
//! A leaf module: it knows neither network, only bytes and files. The bridge uses it to
//! *describe* media downloaded from Instagram before uploading it to Matrix (mime type,
//! dimensions, duration, a thumbnail, a voice waveform) and to *convert* media sent from Matrix
//! into what Instagram accepts (`PROTOCOL.md` C.5: photos JPEG, video H.264 + AAC in MP4, voice
//! AAC in `.m4a`).
//!
//! - [`sniff_mime`] names a file's format from its first bytes.
//! - [`image`] handles stills in pure Rust, in memory, without I/O:
//!   [`image::inspect`] (header only: mime, display size, animated?), [`image::to_jpeg`]
//!   (what Instagram's `photo_attachment` takes) and [`image::thumbnail`].
//! - [`Ffmpeg`] runs an external `ffmpeg` binary (there is no `ffprobe`) for audio and video:
//!   [`Ffmpeg::probe`], [`Ffmpeg::to_instagram_video`], [`Ffmpeg::to_instagram_voice`],
//!   [`Ffmpeg::to_matrix_voice`] and [`Ffmpeg::video_thumbnail`]. Every call is bounded in time
//!   (the child is killed on timeout and when the future is dropped), in memory (stderr keeps
//!   its last 4 KiB, stdout is streamed) and in size (input and output files over the limit are
//!   refused). Outputs are written into a directory the caller owns, normally a
//!   [`tempfile::TempDir`].
//! - [`waveform`] turns PCM into the two waveform shapes: Instagram's `waveform` (floats 0..=1
//!   at 10 per second) and MSC3245's `org.matrix.msc1767.audio.waveform` (30–100 integers
//!   0..=1024).
//!
//! Animated GIFs: Instagram takes them as they are (rupload `messenger_gif`), so no conversion
//! is needed; [`Ffmpeg::to_instagram_video`] accepts a GIF too when an MP4 is wanted, and
//! [`image::to_jpeg`] takes its first frame when a still is.
//!
//! Every bad input ends in a [`MediaError`] whose message is a sentence a user can read; nothing
//! here panics on the content of a file.

pub mod image;
pub mod probe;
pub mod waveform;

mod ffmpeg;
mod mp4;
mod process;

#[cfg(test)]
mod tests;

pub use ffmpeg::{Action, Converted, Ffmpeg, VideoThumbnail, Voice};
pub use image::{ImageInfo, Jpeg};
pub use probe::{AudioStream, Probe, VideoStream};

/// Why media could not be read or converted. Each message is a sentence meant for the user.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// No ffmpeg binary was found; `what` names the media, e.g. "this video".
    #[error("ffmpeg is not installed, so {what} can't be converted")]
    FfmpegMissing { what: &'static str },
    /// An ffmpeg binary was configured but does not run.
    #[error("the configured ffmpeg `{path}` does not work: {reason}")]
    FfmpegUnusable { path: String, reason: String },
    /// A format or codec this bridge cannot handle.
    #[error("{what} is not supported: {reason}")]
    Unsupported { what: String, reason: String },
    /// The file is damaged or not what it claims to be.
    #[error("{what} could not be read, it is damaged or not a media file ({reason})")]
    Corrupt { what: &'static str, reason: String },
    /// The file (or the image's pixel count) exceeds a limit.
    #[error("{what} is too large ({size}; the limit is {limit})")]
    TooLarge {
        what: &'static str,
        size: String,
        limit: String,
    },
    /// ffmpeg ran and failed; `stderr_tail` is the end of what it said.
    #[error("ffmpeg failed ({status}): {stderr_tail}")]
    Ffmpeg { status: String, stderr_tail: String },
    /// ffmpeg took longer than the limit and was stopped.
    #[error("converting the media took longer than {secs} s and was stopped")]
    Timeout { secs: u64 },
    #[error("media file I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes media to `input` in a fresh temporary directory, for ffmpeg to read and to write
/// its output next to; the directory goes when the returned handle is dropped.
pub async fn spill(bytes: &[u8]) -> std::io::Result<(tempfile::TempDir, std::path::PathBuf)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("input");
    tokio::fs::write(&path, bytes).await?;
    Ok((dir, path))
}

/// Formats a byte count for messages: `12.3 MB`, `512 KB`, `17 bytes`.
pub(crate) fn human_bytes(n: u64) -> String {
    const MB: u64 = 1_000_000;
    if n >= MB {
        format!("{:.1} MB", n as f64 / MB as f64)
    } else if n >= 1000 {
        format!("{} KB", n / 1000)
    } else {
        format!("{n} bytes")
    }
}

/// The MIME type of a file from its first bytes (16 are enough for all but WebM, which wants
/// ~64 to tell from Matroska), or `None` when the format is not one this bridge knows.
///
/// Knows JPEG, PNG, GIF, WebP, MP4 (`video/mp4`; `audio/mp4` for the `M4A`/`M4B` brands;
/// `video/quicktime` for `qt`; `video/3gpp` for `3gp`), HEIC and AVIF stills (same box
/// format, told apart by brand), Ogg, MP3, ADTS AAC, WebM/Matroska, AVI and WAV.
pub fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| {
        bytes
            .get(offset..offset + magic.len())
            .is_some_and(|s| s == magic)
    };
    if at(0, &[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if at(0, b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if at(0, b"GIF87a") || at(0, b"GIF89a") {
        return Some("image/gif");
    }
    if at(0, b"RIFF") {
        return match bytes.get(8..12)? {
            b"WEBP" => Some("image/webp"),
            b"AVI " => Some("video/x-msvideo"),
            b"WAVE" => Some("audio/wav"),
            _ => None,
        };
    }
    if at(4, b"ftyp") {
        return Some(match bytes.get(8..12)? {
            b"M4A " | b"M4B " => "audio/mp4",
            b"qt  " => "video/quicktime",
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"mif1" | b"msf1" => "image/heic",
            b"avif" | b"avis" => "image/avif",
            [b'3', b'g', b'p', _] => "video/3gpp",
            _ => "video/mp4",
        });
    }
    if at(0, b"OggS") {
        return Some("audio/ogg");
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        let head = &bytes[..bytes.len().min(64)];
        let webm = head.windows(4).any(|w| w == b"webm");
        return Some(if webm {
            "video/webm"
        } else {
            "video/x-matroska"
        });
    }
    if at(0, b"ID3") {
        return Some("audio/mpeg");
    }
    if let [0xFF, b1, ..] = bytes {
        // An MPEG audio frame sync: 11 set bits, then the version and layer bits. Layer `00` is
        // ADTS (AAC); layers 1–3 are MPEG audio (MP3 and its elders).
        if b1 & 0xE0 == 0xE0 {
            let (version, layer) = ((b1 >> 3) & 0b11, (b1 >> 1) & 0b11);
            return match layer {
                0 if b1 & 0xF6 == 0xF0 => Some("audio/aac"),
                0 => None,
                _ if version == 0b01 => None, // reserved version
                _ => Some("audio/mpeg"),
            };
        }
    }
    None
}

#[cfg(test)]
mod sniff_tests {
    use super::*;

    #[test]
    fn sniffs_known_formats() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"\xFF\xD8\xFF\xE0\x00\x10JFIF", Some("image/jpeg")),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some("image/png")),
            (b"GIF89a\x01\x00", Some("image/gif")),
            (b"GIF87a", Some("image/gif")),
            (b"RIFF\x10\0\0\0WEBPVP8 ", Some("image/webp")),
            (b"RIFF\x10\0\0\0AVI LIST", Some("video/x-msvideo")),
            (b"RIFF\x10\0\0\0WAVEfmt ", Some("audio/wav")),
            (b"\0\0\0\x20ftypisom\0\0\x02\0", Some("video/mp4")),
            (b"\0\0\0\x1cftypM4A \0\0\x02\0", Some("audio/mp4")),
            (b"\0\0\0\x14ftypqt  \0\0\x02\0", Some("video/quicktime")),
            (b"\0\0\0\x14ftyp3gp4\0\0\x02\0", Some("video/3gpp")),
            (b"\0\0\0\x18ftypheic\0\0\0\0", Some("image/heic")),
            (b"\0\0\0\x1cftypavif\0\0\0\0", Some("image/avif")),
            (b"OggS\0\x02\0\0", Some("audio/ogg")),
            (
                b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm",
                Some("video/webm"),
            ),
            (
                b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska",
                Some("video/x-matroska"),
            ),
            (b"ID3\x04\0\0", Some("audio/mpeg")),
            (b"\xFF\xFB\x90\x64", Some("audio/mpeg")),
            (b"\xFF\xF1\x50\x80", Some("audio/aac")),
        ];
        for (bytes, want) in cases {
            assert_eq!(sniff_mime(bytes), *want, "{bytes:?}");
        }
    }

    #[test]
    fn unknown_and_truncated_input_is_none() {
        for bytes in [
            &b""[..],
            b"\xFF",
            b"RIFF",
            b"RIFF\0\0\0\0XXXX",
            b"\0\0\0\x20ftyp",
            b"hello world, not media",
            b"\xFF\xE8\x00",
            b"\x1a\x45",
        ] {
            assert_eq!(sniff_mime(bytes), None, "{bytes:?}");
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(17), "17 bytes");
        assert_eq!(human_bytes(2_500), "2 KB");
        assert_eq!(human_bytes(12_345_678), "12.3 MB");
    }
}
