//! What a media file holds, read from `ffmpeg -hide_banner -i <file>` (there is no ffprobe).
//!
//! ffmpeg describes its input on stderr:
//! ```text
//! Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':
//!   Duration: 00:00:02.00, start: 0.000000, bitrate: 127 kb/s
//!   Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 320x240 [SAR 1:1 DAR 4:3], 45 kb/s, 25 fps
//!     Side data:
//!       Display Matrix: rotation of 90.00 degrees
//!   Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 69 kb/s (default)
//! ```
//! [`parse`] reads that text and nothing else, so it is tested on captured output.

use super::MediaError;

/// A media file's container, duration and first video and audio streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// ffmpeg's demuxer name: `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, `avi`, `ogg`, …
    pub format: String,
    /// `None` when ffmpeg says `N/A` (e.g. a stream).
    pub duration_ms: Option<u64>,
    /// The first video stream that is not an attached picture (cover art).
    pub video: Option<VideoStream>,
    pub audio: Option<AudioStream>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoStream {
    /// `h264`, `hevc`, `vp9`, `mpeg4`, `gif`, …
    pub codec: String,
    /// `yuv420p`, `yuv420p10le`, `gbrp`, … (`None` if ffmpeg did not say).
    pub pix_fmt: Option<String>,
    /// The coded size, before rotation.
    pub width: u32,
    pub height: u32,
    /// Display rotation, counter-clockwise degrees from the display matrix, rounded to 0, 90,
    /// 180 or 270.
    pub rotation: u16,
}

impl VideoStream {
    /// The size as shown: a rotation by 90° or 270° swaps width and height.
    pub fn display_size(&self) -> (u32, u32) {
        if self.rotation % 180 == 90 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioStream {
    /// `aac`, `opus`, `mp3`, `vorbis`, `pcm_s16le`, …
    pub codec: String,
    pub sample_rate: Option<u32>,
    pub channels: Option<u32>,
}

impl Probe {
    /// Whether the container is ffmpeg's MP4 family (`mov,mp4,m4a,3gp,3g2,mj2`).
    pub fn is_mp4_family(&self) -> bool {
        self.format.split(',').any(|f| f == "mp4")
    }
}

/// Parses ffmpeg's description of its first input. `Corrupt` when ffmpeg could not open it,
/// with ffmpeg's reason.
pub fn parse(stderr: &str) -> Result<Probe, MediaError> {
    let mut lines = stderr.lines().skip_while(|l| !l.starts_with("Input #0"));
    let Some(header) = lines.next() else {
        return Err(MediaError::Corrupt {
            what: "this media file",
            reason: failure_reason(stderr),
        });
    };
    let format = header
        .trim_start_matches("Input #0")
        .trim_start_matches(',')
        .split(", from ")
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let mut probe = Probe {
        format,
        duration_ms: None,
        video: None,
        audio: None,
    };
    // Which stream the side-data lines that follow belong to.
    let mut in_first_video = false;
    for line in lines {
        // The input's section ends where the next input or the output begins.
        if !line.starts_with(' ') {
            break;
        }
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Duration:") {
            let value = rest.split(',').next().unwrap_or("").trim();
            probe.duration_ms = parse_timestamp(value);
        } else if line.starts_with("Stream #") {
            // `Stream #0:1[0x2](und): Audio: …`: the stream id holds no space.
            in_first_video = false;
            if let Some((_, desc)) = line.split_once(": ") {
                stream(&mut probe, desc, &mut in_first_video);
            }
        } else if in_first_video
            && let Some((_, rest)) = line.to_ascii_lowercase().split_once("rotation of ")
            && let Some(v) = probe.video.as_mut()
        {
            // ffmpeg ≤ 6: `displaymatrix: rotation of -90.00 degrees`; 7+: `Display Matrix: …`.
            let degrees: f64 = rest
                .trim_end_matches("degrees")
                .trim()
                .parse()
                .unwrap_or(0.0);
            if degrees.is_finite() {
                let quarter = (degrees / 90.0).round() as i64;
                v.rotation = (quarter.rem_euclid(4) * 90) as u16;
            }
        }
    }
    Ok(probe)
}

/// Reads one stream line after `Stream #0:N…: `, e.g. `Video: h264 (High), yuv420p, 320x240`.
fn stream(probe: &mut Probe, desc: &str, in_first_video: &mut bool) {
    if let Some(rest) = desc.strip_prefix("Video: ") {
        if probe.video.is_some() || desc.contains("(attached pic)") {
            return;
        }
        let parts = split_top_level(rest);
        let codec = first_word(parts.first().copied().unwrap_or(""));
        let Some((width, height)) = parts.iter().find_map(|p| dimensions(p)) else {
            return;
        };
        let pix_fmt = parts
            .get(1)
            .map(|p| first_word(p.split('(').next().unwrap_or("")))
            .filter(|p| !p.is_empty() && dimensions(p).is_none());
        probe.video = Some(VideoStream {
            codec,
            pix_fmt,
            width,
            height,
            rotation: 0,
        });
        *in_first_video = true;
    } else if let Some(rest) = desc.strip_prefix("Audio: ") {
        if probe.audio.is_some() {
            return;
        }
        let parts = split_top_level(rest);
        let codec = first_word(parts.first().copied().unwrap_or(""));
        let sample_rate = parts.iter().find_map(|p| {
            let p = p.trim();
            p.strip_suffix(" Hz")?.trim().parse().ok()
        });
        let channels = parts.get(2).and_then(|p| channel_count(p.trim()));
        probe.audio = Some(AudioStream {
            codec,
            sample_rate,
            channels,
        });
    }
}

fn first_word(s: &str) -> String {
    s.split_whitespace().next().unwrap_or("").to_string()
}

/// Splits at commas outside parentheses and brackets.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth <= 0 => {
                parts.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(s[start..].trim());
    parts
}

/// `320x240` or `320x240 [SAR 1:1 DAR 4:3]` → (320, 240).
fn dimensions(part: &str) -> Option<(u32, u32)> {
    let token = part.split_whitespace().next()?;
    let (w, h) = token.split_once('x')?;
    let (w, h) = (w.parse().ok()?, h.parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

fn channel_count(layout: &str) -> Option<u32> {
    match layout {
        "mono" => Some(1),
        "stereo" | "downmix" => Some(2),
        "2.1" | "3.0" | "3.0(back)" => Some(3),
        "quad" | "quad(side)" | "4.0" => Some(4),
        "5.0" | "5.0(side)" => Some(5),
        "5.1" | "5.1(side)" | "6.0" => Some(6),
        "7.1" | "7.1(wide)" => Some(8),
        other => other.strip_suffix(" channels")?.trim().parse().ok(),
    }
}

/// `HH:MM:SS.ss` → milliseconds; `None` for `N/A` or anything malformed.
pub(crate) fn parse_timestamp(value: &str) -> Option<u64> {
    let mut fields = value.trim().split(':');
    let (h, m, s) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() {
        return None;
    }
    let h: u64 = h.parse().ok()?;
    let m: u64 = m.parse().ok()?;
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole: u64 = whole.parse().ok()?;
    if m >= 60 || whole >= 60 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_ms: u64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    Some(((h * 60 + m) * 60 + whole) * 1000 + frac_ms)
}

/// ffmpeg's own reason for refusing an input: the last line that says something, with the
/// `[in#0 @ 0x…]` prefix removed.
pub(crate) fn failure_reason(stderr: &str) -> String {
    let line = stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("ffmpeg said nothing");
    let line = match line.strip_prefix('[') {
        Some(rest) => rest.split_once("] ").map_or(line, |(_, r)| r),
        None => line,
    };
    let line = line
        .strip_prefix("Error opening input files: ")
        .unwrap_or(line);
    line.chars().take(300).collect()
}

#[cfg(test)]
#[path = "probe_tests.rs"]
mod tests;
