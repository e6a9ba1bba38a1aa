//! Audio and video through an external `ffmpeg` binary.
//!
//! Every run gets `-nostdin -hide_banner -y`, opens only local files (`file:` paths and a
//! protocol whitelist, so a playlist cannot make ffmpeg fetch URLs), is killed after the
//! timeout or when its future is dropped, and keeps the last 4 KiB of stderr for the error.
//! Inputs and outputs larger than the size limit are refused.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::image::{self, Jpeg};
use super::mp4::{is_faststart, is_mp4};
use super::probe::{self, Probe};
use super::process::{self, Finished};
use super::waveform::{self, Envelope};
use super::{MediaError, human_bytes};

/// How long one ffmpeg run may take unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The largest input or output file unless configured otherwise.
pub const DEFAULT_MAX_BYTES: u64 = 100 * 1_000_000;
/// Instagram videos: the longest side at most this.
pub const MAX_VIDEO_SIDE: u32 = 1920;
/// The sample rate of the PCM decoded for waveforms.
const PCM_RATE: u32 = 8000;
/// The largest thumbnail ffmpeg may write to stdout.
const MAX_THUMBNAIL_BYTES: usize = 10 * 1024 * 1024;

/// H.264 encoders in order of preference (hardware ones need devices and are left out).
const H264_ENCODERS: &[&str] = &["libx264", "libopenh264", "h264"];
const OPUS_ENCODERS: &[&str] = &["libopus", "opus"];
const AAC_ENCODERS: &[&str] = &["aac", "libfdk_aac"];

/// An ffmpeg binary that was found to run, with the encoders it has.
#[derive(Debug, Clone)]
pub struct Ffmpeg {
    path: PathBuf,
    version: String,
    h264: Option<&'static str>,
    aac: Option<&'static str>,
    opus: Option<&'static str>,
    timeout: Duration,
    max_bytes: u64,
}

/// What [`Ffmpeg::to_instagram_video`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The input already fits: [`Converted::path`] is the input itself.
    Unchanged,
    /// Streams copied into a new MP4 (container change or `faststart`), no re-encoding.
    Remuxed,
    /// At least one stream was re-encoded.
    Transcoded,
}

/// A converted video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub path: PathBuf,
    pub mime: &'static str,
    pub action: Action,
    /// The displayed size.
    pub width: u32,
    pub height: u32,
    pub duration_ms: Option<u64>,
    /// Bytes.
    pub size: u64,
}

/// A converted voice message. `W` is the waveform: `Vec<f32>` (0..=1, 10 per second) for
/// Instagram, `Vec<u16>` (0..=1024, 30–100 points) for Matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Voice<W> {
    pub path: PathBuf,
    pub mime: &'static str,
    pub duration_ms: u64,
    pub size: u64,
    pub waveform: W,
}

/// A still of a video and what the Matrix `info` of the video needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoThumbnail {
    pub thumbnail: Jpeg,
    /// The video's displayed size.
    pub width: u32,
    pub height: u32,
    pub duration_ms: Option<u64>,
}

impl Ffmpeg {
    /// The configured binary if given (an error if it does not run), else `ffmpeg` on `PATH`
    /// (`None` if there is none or it does not run). Runs it twice (`-version`, `-encoders`).
    pub async fn locate(configured: Option<&Path>) -> Result<Option<Ffmpeg>, MediaError> {
        match configured {
            Some(path) => {
                Self::open(path)
                    .await
                    .map(Some)
                    .map_err(|reason| MediaError::FfmpegUnusable {
                        path: path.display().to_string(),
                        reason,
                    })
            }
            None => {
                let Some(path) = find_on_path("ffmpeg") else {
                    return Ok(None);
                };
                match Self::open(&path).await {
                    Ok(ffmpeg) => Ok(Some(ffmpeg)),
                    Err(reason) => {
                        tracing::warn!(path = %path.display(), %reason, "ffmpeg on PATH does not work");
                        Ok(None)
                    }
                }
            }
        }
    }

    /// Checks that `path` is an ffmpeg and lists its encoders; the error is the reason why not.
    async fn open(path: &Path) -> Result<Ffmpeg, String> {
        let reason = |e: MediaError| match e {
            MediaError::FfmpegMissing { .. } => "no such program".to_string(),
            other => other.to_string(),
        };
        let version = stdout_of(path, &["-version"]).await.map_err(reason)?;
        if !version.starts_with("ffmpeg version") {
            return Err("it does not answer `-version` with `ffmpeg version …`".into());
        }
        let listing = stdout_of(path, &["-encoders"]).await.map_err(reason)?;
        let encoders = parse_encoders(&listing);
        let pick = |names: &[&'static str]| names.iter().copied().find(|n| encoders.contains(*n));
        let ffmpeg = Ffmpeg {
            path: path.to_path_buf(),
            version: version.lines().next().unwrap_or("").to_string(),
            h264: pick(H264_ENCODERS),
            aac: pick(AAC_ENCODERS),
            opus: pick(OPUS_ENCODERS),
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
        };
        tracing::info!(path = %path.display(), h264 = ?ffmpeg.h264, opus = ?ffmpeg.opus, "found ffmpeg");
        Ok(ffmpeg)
    }

    /// Sets the time limit of one ffmpeg run and the size limit of input and output files.
    pub fn with_limits(mut self, timeout: Duration, max_bytes: u64) -> Self {
        self.timeout = timeout;
        self.max_bytes = max_bytes;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first line of `ffmpeg -version`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The binary's H.264 encoder (`libx264`, `libopenh264`, `h264`), if any.
    pub fn h264_encoder(&self) -> Option<&'static str> {
        self.h264
    }

    /// Describes a media file (ffmpeg reads only the start of it; nothing is converted).
    pub async fn probe(&self, input: &Path) -> Result<Probe, MediaError> {
        self.check_size(input, "this file").await?;
        let mut args = os(&["-nostdin", "-hide_banner", "-y"]);
        args.extend(whitelist());
        args.extend(os(&["-i"]));
        args.push(file_arg(input));
        let done = process::run(&self.path, &args, self.timeout, None).await?;
        // Without an output ffmpeg always exits with 1; the description is what counts.
        probe::parse(&done.stderr)
    }

    /// Makes a video Instagram accepts: H.264 yuv420p (even sides, the longest at most
    /// [`MAX_VIDEO_SIDE`]) and AAC or no audio, in an MP4 with the index first (`faststart`).
    /// What already fits is kept: an MP4 that fits entirely is returned as is
    /// ([`Action::Unchanged`]); fitting streams are copied; the rest is re-encoded (libx264, or
    /// libopenh264 / h264; AAC 128 kb/s). Writes `video.mp4` in `out_dir`. Animated GIFs work too.
    pub async fn to_instagram_video(
        &self,
        input: &Path,
        out_dir: &Path,
    ) -> Result<Converted, MediaError> {
        let probe = self.probe(input).await?;
        let Some(video) = &probe.video else {
            return Err(unsupported("this file", "it has no video"));
        };
        let (w, h) = video.display_size();
        let video_fits = video.codec == "h264"
            && video.pix_fmt.as_deref() == Some("yuv420p")
            && w.max(h) <= MAX_VIDEO_SIDE
            && w % 2 == 0
            && h % 2 == 0;
        let audio_fits = probe.audio.as_ref().is_none_or(|a| a.codec == "aac");
        if video_fits && audio_fits && is_mp4(input).await? && is_faststart(input).await? {
            let size = self.check_size(input, "this video").await?;
            return Ok(Converted {
                path: input.to_path_buf(),
                mime: "video/mp4",
                action: Action::Unchanged,
                width: w,
                height: h,
                duration_ms: probe.duration_ms,
                size,
            });
        }
        let out = out_dir.join("video.mp4");
        let mut args = self.input_args(input);
        args.extend(os(&["-map", "0:V:0", "-map", "0:a:0?", "-sn", "-dn"]));
        if video_fits {
            args.extend(os(&["-c:v", "copy"]));
        } else {
            let Some(encoder) = self.h264 else {
                return Err(unsupported(
                    "this video",
                    "the installed ffmpeg has no H.264 encoder to convert it",
                ));
            };
            let scale = format!(
                "scale=w='min(iw,{MAX_VIDEO_SIDE})':h='min(ih,{MAX_VIDEO_SIDE})'\
                 :force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1"
            );
            args.extend(os(&["-vf", &scale, "-pix_fmt", "yuv420p", "-c:v", encoder]));
            args.extend(os(match encoder {
                "libx264" => &["-preset", "veryfast", "-crf", "23"][..],
                _ => &["-b:v", "4M"][..],
            }));
        }
        match &probe.audio {
            Some(a) if a.codec == "aac" => args.extend(os(&["-c:a", "copy"])),
            Some(_) => {
                let aac = self.aac.ok_or_else(|| {
                    unsupported("this video", "the installed ffmpeg has no AAC encoder")
                })?;
                args.extend(os(&["-c:a", aac, "-b:a", "128k"]));
            }
            None => {}
        }
        args.extend(os(&[
            "-max_muxing_queue_size",
            "1024",
            "-movflags",
            "+faststart",
        ]));
        args.extend(os(&["-f", "mp4"]));
        args.push(file_arg(&out));
        self.checked_run(&args, None).await?;
        let size = self.check_size(&out, "the converted video").await?;
        let result = self.probe(&out).await?;
        let (width, height) = result.video.map_or((w, h), |v| v.display_size());
        Ok(Converted {
            path: out,
            mime: "video/mp4",
            action: if video_fits {
                Action::Remuxed
            } else {
                Action::Transcoded
            },
            width,
            height,
            duration_ms: result.duration_ms.or(probe.duration_ms),
            size,
        })
    }

    /// A voice message for Instagram: AAC in `voice.m4a` (mono 44.1 kHz; AAC from an MP4 is
    /// copied) in `out_dir`, its duration and a waveform of 10 points per second, 0..=1.
    pub async fn to_instagram_voice(
        &self,
        input: &Path,
        out_dir: &Path,
    ) -> Result<Voice<Vec<f32>>, MediaError> {
        let probe = self.probe(input).await?;
        let audio = probe
            .audio
            .as_ref()
            .ok_or_else(|| unsupported("this file", "it has no audio"))?;
        let codec: Vec<&str> = if audio.codec == "aac" && probe.is_mp4_family() {
            vec!["-c:a", "copy"]
        } else {
            let aac = self.aac.ok_or_else(|| {
                unsupported(
                    "this voice message",
                    "the installed ffmpeg has no AAC encoder",
                )
            })?;
            vec!["-c:a", aac, "-b:a", "64k", "-ac", "1", "-ar", "44100"]
        };
        let out = out_dir.join("voice.m4a");
        let (duration_ms, levels) = self
            .voice(
                input,
                &out,
                &codec,
                "ipod",
                waveform::INSTAGRAM_POINTS_PER_SEC,
            )
            .await?;
        Ok(Voice {
            size: self.check_size(&out, "the converted voice message").await?,
            path: out,
            mime: "audio/mp4",
            duration_ms,
            waveform: waveform::normalise(&levels),
        })
    }

    /// A voice message for Matrix clients (Element and Beeper play Ogg Opus): `voice.ogg` in
    /// `out_dir` (Opus from an Ogg is copied), its duration, and an MSC3245 waveform.
    pub async fn to_matrix_voice(
        &self,
        input: &Path,
        out_dir: &Path,
    ) -> Result<Voice<Vec<u16>>, MediaError> {
        let probe = self.probe(input).await?;
        let audio = probe
            .audio
            .as_ref()
            .ok_or_else(|| unsupported("this file", "it has no audio"))?;
        let codec: Vec<&str> = if audio.codec == "opus" && probe.format == "ogg" {
            vec!["-c:a", "copy"]
        } else {
            let opus = self.opus.ok_or_else(|| {
                unsupported(
                    "this voice message",
                    "the installed ffmpeg has no Opus encoder",
                )
            })?;
            let mut codec = vec!["-c:a", opus, "-b:a", "48k", "-ac", "1", "-ar", "48000"];
            codec.extend(if opus == "opus" {
                ["-strict", "-2"]
            } else {
                ["-application", "voip"]
            });
            codec
        };
        let out = out_dir.join("voice.ogg");
        let (duration_ms, levels) = self
            .voice(input, &out, &codec, "ogg", waveform::MATRIX_POINTS_PER_SEC)
            .await?;
        Ok(Voice {
            size: self.check_size(&out, "the converted voice message").await?,
            path: out,
            mime: "audio/ogg",
            duration_ms,
            waveform: waveform::matrix_waveform(&levels, waveform::MATRIX_POINTS_PER_SEC),
        })
    }

    /// Writes the first audio stream to `out` with `codec` args and muxer `format` while
    /// decoding it to 8 kHz PCM on stdout for the waveform, in one run. Returns the duration and
    /// the levels at `points_per_sec`.
    async fn voice(
        &self,
        input: &Path,
        out: &Path,
        codec: &[&str],
        format: &str,
        points_per_sec: u32,
    ) -> Result<(u64, Vec<f32>), MediaError> {
        let mut args = self.input_args(input);
        args.extend(os(&["-map", "0:a:0", "-vn", "-sn", "-dn"]));
        args.extend(os(codec));
        args.extend(os(&["-f", format]));
        args.push(file_arg(out));
        let rate = PCM_RATE.to_string();
        args.extend(os(&["-map", "0:a:0", "-ac", "1", "-ar", &rate]));
        args.extend(os(&["-f", "s16le", "pipe:1"]));
        let mut envelope = Envelope::new(PCM_RATE, points_per_sec);
        let mut sink = |chunk: &[u8]| {
            envelope.push_le_bytes(chunk);
            Ok(())
        };
        self.checked_run(&args, Some(&mut sink)).await?;
        let duration_ms = envelope.duration_ms();
        if duration_ms == 0 {
            return Err(MediaError::Corrupt {
                what: "this voice message",
                reason: "it holds no sound that could be decoded".into(),
            });
        }
        Ok((duration_ms, envelope.finish()))
    }

    /// A JPEG still of a video (at 0.5 s, or the first frame of a clip shorter than 1 s) whose
    /// longest side is at most `max_side`, with the video's displayed size and duration.
    pub async fn video_thumbnail(
        &self,
        input: &Path,
        max_side: u32,
    ) -> Result<VideoThumbnail, MediaError> {
        let probe = self.probe(input).await?;
        let Some(video) = &probe.video else {
            return Err(unsupported("this file", "it has no video"));
        };
        let (width, height) = video.display_size();
        let seek = if probe.duration_ms.unwrap_or(0) >= 1000 {
            "0.5"
        } else {
            "0"
        };
        let side = max_side.max(2);
        let scale = format!(
            "scale=w='min(iw,{side})':h='min(ih,{side})':force_original_aspect_ratio=decrease"
        );
        let mut args = os(&["-ss", seek]);
        args.extend(self.input_args(input));
        args.extend(os(&["-map", "0:V:0", "-frames:v", "1", "-vf", &scale]));
        args.extend(os(&[
            "-c:v",
            "mjpeg",
            "-q:v",
            "3",
            "-f",
            "image2pipe",
            "pipe:1",
        ]));
        let mut bytes = Vec::new();
        let mut sink = |chunk: &[u8]| {
            if bytes.len() + chunk.len() > MAX_THUMBNAIL_BYTES {
                return Err(MediaError::TooLarge {
                    what: "the video thumbnail",
                    size: format!("more than {}", human_bytes(MAX_THUMBNAIL_BYTES as u64)),
                    limit: human_bytes(MAX_THUMBNAIL_BYTES as u64),
                });
            }
            bytes.extend_from_slice(chunk);
            Ok(())
        };
        self.checked_run(&args, Some(&mut sink)).await?;
        if bytes.is_empty() {
            return Err(MediaError::Corrupt {
                what: "this video",
                reason: "no frame could be decoded".into(),
            });
        }
        let info = image::inspect(&bytes)?;
        Ok(VideoThumbnail {
            thumbnail: Jpeg {
                bytes,
                width: info.width,
                height: info.height,
            },
            width,
            height,
            duration_ms: probe.duration_ms,
        })
    }

    /// `-nostdin -hide_banner -y -loglevel error`, the protocol whitelist and `-i file:<input>`.
    fn input_args(&self, input: &Path) -> Vec<OsString> {
        let mut args = os(&["-nostdin", "-hide_banner", "-y", "-loglevel", "error"]);
        args.extend(whitelist());
        args.extend(os(&["-i"]));
        args.push(file_arg(input));
        args
    }

    async fn checked_run(
        &self,
        args: &[OsString],
        sink: Option<process::Sink<'_>>,
    ) -> Result<Finished, MediaError> {
        checked(process::run(&self.path, args, self.timeout, sink).await?)
    }

    /// The file's size, or `TooLarge` past the limit.
    async fn check_size(&self, path: &Path, what: &'static str) -> Result<u64, MediaError> {
        let size = tokio::fs::metadata(path).await?.len();
        if size > self.max_bytes {
            return Err(MediaError::TooLarge {
                what,
                size: human_bytes(size),
                limit: human_bytes(self.max_bytes),
            });
        }
        Ok(size)
    }
}

/// What `ffmpeg -nostdin -hide_banner -y <args>` prints on stdout (at most 1 MiB kept).
async fn stdout_of(path: &Path, args: &[&str]) -> Result<String, MediaError> {
    let mut all = os(&["-nostdin", "-hide_banner", "-y"]);
    all.extend(os(args));
    let mut out = Vec::new();
    let mut sink = |chunk: &[u8]| {
        let room = (1usize << 20).saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        Ok(())
    };
    let timeout = Duration::from_secs(20);
    checked(process::run(path, &all, timeout, Some(&mut sink)).await?)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A non-zero exit becomes `MediaError::Ffmpeg` with the stderr tail.
fn checked(done: Finished) -> Result<Finished, MediaError> {
    if done.status.success() {
        return Ok(done);
    }
    let status = match done.status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
    };
    Err(MediaError::Ffmpeg {
        status,
        stderr_tail: done.stderr,
    })
}

fn unsupported(what: &str, reason: &str) -> MediaError {
    MediaError::Unsupported {
        what: what.into(),
        reason: reason.into(),
    }
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Only local files and pipes: a playlist or reference file cannot make ffmpeg open URLs.
fn whitelist() -> Vec<OsString> {
    os(&["-protocol_whitelist", "file,pipe"])
}

/// `file:<path>`, so that a name like `http:x` or `concat:a|b` is never taken for a protocol.
fn file_arg(path: &Path) -> OsString {
    let mut arg = OsString::from("file:");
    arg.push(path.as_os_str());
    arg
}

/// Encoder names from `ffmpeg -encoders`: lines `" V....D libx264   description"` after the
/// ` ------` separator.
fn parse_encoders(listing: &str) -> BTreeSet<String> {
    listing
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("---"))
        .skip(1)
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let flags = words.next()?;
            let name = words.next()?;
            (flags.len() == 6).then(|| name.to_string())
        })
        .collect()
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

#[cfg(test)]
#[path = "ffmpeg_tests.rs"]
mod tests;
