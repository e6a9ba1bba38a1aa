//! Tests that run a real ffmpeg on samples they make themselves (`-f lavfi` sources).
//!
//! ffmpeg is `$MATRIX_INSTAGRAM_FFMPEG` if set, else `ffmpeg` on `PATH`. Without one these tests
//! print a line and pass, unless `MATRIX_INSTAGRAM_REQUIRE_FFMPEG=1` (CI), where they fail.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::mp4::is_faststart;
use super::*;

async fn ffmpeg() -> Option<Ffmpeg> {
    let configured = std::env::var_os("MATRIX_INSTAGRAM_FFMPEG").map(PathBuf::from);
    let found = Ffmpeg::locate(configured.as_deref())
        .await
        .expect("MATRIX_INSTAGRAM_FFMPEG names a working ffmpeg");
    if found.is_none() {
        let required = std::env::var("MATRIX_INSTAGRAM_REQUIRE_FFMPEG").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "MATRIX_INSTAGRAM_REQUIRE_FFMPEG=1 but no ffmpeg: set MATRIX_INSTAGRAM_FFMPEG or PATH"
        );
        eprintln!("skipping an ffmpeg test: no ffmpeg (set MATRIX_INSTAGRAM_FFMPEG or PATH)");
    }
    found
}

macro_rules! ffmpeg_or_skip {
    () => {
        match ffmpeg().await {
            Some(ffmpeg) => ffmpeg,
            None => return,
        }
    };
}

/// Makes a sample `name` in `dir` with `ffmpeg <args> <dir/name>`.
fn make(ffmpeg: &Ffmpeg, dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = std::process::Command::new(ffmpeg.path())
        .args(["-nostdin", "-hide_banner", "-y", "-loglevel", "error"])
        .args(args)
        .args(["-threads", "1"])
        .arg(&out)
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "making {name} failed");
    out
}

/// A sample from one lavfi source encoded with one codec (`stream` is `-c:v` or `-c:a`).
fn lavfi(ffmpeg: &Ffmpeg, dir: &Path, name: &str, src: &str, stream: &str, codec: &str) -> PathBuf {
    make(
        ffmpeg,
        dir,
        name,
        &["-f", "lavfi", "-i", src, stream, codec],
    )
}

/// A VP9/Opus WebM, `a.webm`.
fn vp9_webm(ffmpeg: &Ffmpeg, dir: &Path) -> PathBuf {
    let args = ["-f", "lavfi", "-i", TESTSRC, "-f", "lavfi", "-i", SINE];
    let codecs = [
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-c:a",
        "libopus",
    ];
    make(ffmpeg, dir, "a.webm", &[&args[..], &codecs[..]].concat())
}

const TESTSRC: &str = "testsrc=size=320x240:rate=25:duration=1";
const SINE: &str = "sine=frequency=440:duration=1";

fn h264_mp4(ffmpeg: &Ffmpeg, dir: &Path, name: &str, faststart: bool) -> PathBuf {
    let mut args = vec!["-f", "lavfi", "-i", TESTSRC, "-f", "lavfi", "-i", SINE];
    args.extend([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
    ]);
    args.extend(["-c:a", "aac", "-shortest"]);
    if faststart {
        args.extend(["-movflags", "+faststart"]);
    }
    make(ffmpeg, dir, name, &args)
}

fn head(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    bytes[..bytes.len().min(64)].to_vec()
}

fn near(value: Option<u64>, want: u64, tolerance: u64) -> bool {
    value.is_some_and(|v| v.abs_diff(want) <= tolerance)
}

#[tokio::test]
async fn a_missing_ffmpeg_is_a_clear_error() {
    let err = Ffmpeg::locate(Some(Path::new("/nonexistent/ffmpeg")))
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::FfmpegUnusable { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "the configured ffmpeg `/nonexistent/ffmpeg` does not work: no such program"
    );
    let err = Ffmpeg::locate(Some(Path::new("/bin/true")))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the configured ffmpeg `/bin/true` does not work: \
         it does not answer `-version` with `ffmpeg version …`"
    );
    let missing = MediaError::FfmpegMissing { what: "this video" };
    assert_eq!(
        missing.to_string(),
        "ffmpeg is not installed, so this video can't be converted"
    );
}

#[tokio::test]
async fn probes_generated_samples() {
    let ffmpeg = ffmpeg_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let webm = vp9_webm(&ffmpeg, d);
    let avi = lavfi(&ffmpeg, d, "a.avi", TESTSRC, "-c:v", "mpeg4");
    let mp4 = h264_mp4(&ffmpeg, d, "a.mp4", false);
    let ogg = lavfi(&ffmpeg, d, "a.ogg", SINE, "-c:a", "libopus");
    let m4a = lavfi(&ffmpeg, d, "a.m4a", SINE, "-c:a", "aac");
    let mp3 = lavfi(&ffmpeg, d, "a.mp3", SINE, "-c:a", "libmp3lame");

    let cases = [
        (&webm, "video/webm", Some(("vp9", 320, 240)), Some("opus")),
        (&avi, "video/x-msvideo", Some(("mpeg4", 320, 240)), None),
        (&mp4, "video/mp4", Some(("h264", 320, 240)), Some("aac")),
        (&ogg, "audio/ogg", None, Some("opus")),
        (&m4a, "audio/mp4", None, Some("aac")),
        (&mp3, "audio/mpeg", None, Some("mp3")),
    ];
    for (path, mime, video, audio) in cases {
        assert_eq!(sniff_mime(&head(path)), Some(mime), "{}", path.display());
        let probe = ffmpeg.probe(path).await.unwrap();
        let got_video = probe
            .video
            .as_ref()
            .map(|v| (v.codec.as_str(), v.width, v.height));
        assert_eq!(got_video, video, "{}", path.display());
        assert_eq!(probe.audio.as_ref().map(|a| a.codec.as_str()), audio);
        assert!(near(probe.duration_ms, 1000, 100), "{probe:?}");
    }
}

#[tokio::test]
async fn fitting_mp4_passes_and_others_are_remuxed() {
    let ffmpeg = ffmpeg_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let fast = h264_mp4(&ffmpeg, dir.path(), "fast.mp4", true);
    assert!(is_faststart(&fast).await.unwrap());
    let before = std::fs::read(&fast).unwrap();
    let done = ffmpeg.to_instagram_video(&fast, out.path()).await.unwrap();
    assert_eq!(done.action, Action::Unchanged);
    assert_eq!(done.path, fast);
    assert_eq!(
        std::fs::read(&done.path).unwrap(),
        before,
        "bytes untouched"
    );
    assert_eq!(
        (done.width, done.height, done.mime),
        (320, 240, "video/mp4")
    );

    // The same streams with the index at the end are only remuxed.
    let slow = h264_mp4(&ffmpeg, dir.path(), "slow.mp4", false);
    assert!(!is_faststart(&slow).await.unwrap());
    let done = ffmpeg.to_instagram_video(&slow, out.path()).await.unwrap();
    assert_eq!(done.action, Action::Remuxed);
    assert_eq!(done.path, out.path().join("video.mp4"));
    assert!(is_faststart(&done.path).await.unwrap());
    let probe = ffmpeg.probe(&done.path).await.unwrap();
    assert_eq!(probe.video.map(|v| v.codec), Some("h264".into()));
    assert_eq!(probe.audio.map(|a| a.codec), Some("aac".into()));
    assert!(near(done.duration_ms, 1000, 100));
    assert_eq!(done.size, std::fs::metadata(&done.path).unwrap().len());
}

#[tokio::test]
async fn webm_and_odd_avi_are_transcoded() {
    let ffmpeg = ffmpeg_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let webm = vp9_webm(&ffmpeg, dir.path());
    let out = tempfile::tempdir().unwrap();
    let done = ffmpeg.to_instagram_video(&webm, out.path()).await.unwrap();
    assert_eq!(done.action, Action::Transcoded);
    assert_eq!(sniff_mime(&head(&done.path)), Some("video/mp4"));
    assert!(is_faststart(&done.path).await.unwrap());
    let probe = ffmpeg.probe(&done.path).await.unwrap();
    let video = probe.video.unwrap();
    assert_eq!(video.codec, "h264");
    assert_eq!(video.pix_fmt.as_deref(), Some("yuv420p"));
    assert_eq!((video.width, video.height), (320, 240));
    assert_eq!(probe.audio.map(|a| a.codec), Some("aac".into()));
    assert!(
        near(probe.duration_ms, 1000, 150),
        "{:?}",
        probe.duration_ms
    );

    // Odd sides become even; no audio stays no audio.
    let odd = "testsrc=size=321x241:rate=25:duration=0.4";
    let avi = lavfi(&ffmpeg, dir.path(), "odd.avi", odd, "-c:v", "mpeg4");
    let done = ffmpeg.to_instagram_video(&avi, out.path()).await.unwrap();
    assert_eq!((done.width, done.height), (320, 240));
    let probe = ffmpeg.probe(&done.path).await.unwrap();
    assert!(probe.audio.is_none());
    assert_eq!(probe.video.map(|v| v.codec), Some("h264".into()));
}

#[tokio::test]
async fn large_videos_and_gifs_fit() {
    let ffmpeg = ffmpeg_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let big = "testsrc=size=2400x1200:rate=10:duration=0.3";
    let mp4 = make(
        &ffmpeg,
        dir.path(),
        "big.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            big,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let done = ffmpeg.to_instagram_video(&mp4, out.path()).await.unwrap();
    assert_eq!(done.action, Action::Transcoded);
    assert_eq!((done.width, done.height), (1920, 960));

    let gif = make(
        &ffmpeg,
        dir.path(),
        "a.gif",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=10:duration=0.5",
        ],
    );
    assert!(
        image::inspect(&std::fs::read(&gif).unwrap())
            .unwrap()
            .animated
    );
    let done = ffmpeg.to_instagram_video(&gif, out.path()).await.unwrap();
    assert_eq!((done.width, done.height), (64, 48));
    let probe = ffmpeg.probe(&done.path).await.unwrap();
    assert_eq!(probe.video.map(|v| v.codec), Some("h264".into()));
}

#[tokio::test]
async fn voice_for_instagram_is_m4a_with_a_waveform() {
    let ffmpeg = ffmpeg_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let sine = "sine=frequency=440:duration=3";
    let ogg = lavfi(&ffmpeg, dir.path(), "v.ogg", sine, "-c:a", "libopus");
    let voice = ffmpeg.to_instagram_voice(&ogg, out.path()).await.unwrap();
    assert_eq!(voice.mime, "audio/mp4");
    assert_eq!(sniff_mime(&head(&voice.path)), Some("audio/mp4"));
    let probe = ffmpeg.probe(&voice.path).await.unwrap();
    let audio = probe.audio.unwrap();
    assert_eq!((audio.codec.as_str(), audio.channels), ("aac", Some(1)));
    assert!(
        near(Some(voice.duration_ms), 3000, 150),
        "{}",
        voice.duration_ms
    );
    assert!(
        (29..=31).contains(&voice.waveform.len()),
        "{}",
        voice.waveform.len()
    );
    assert!(voice.waveform.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(
        voice.waveform[2..28].iter().all(|&v| v > 0.8),
        "{:?}",
        voice.waveform
    );

    // A fade in rises; AAC in an m4a is copied as it is.
    let fade = [
        "-f",
        "lavfi",
        "-i",
        sine,
        "-af",
        "afade=t=in:d=3",
        "-c:a",
        "aac",
    ];
    let m4a = make(&ffmpeg, dir.path(), "fade.m4a", &fade);
    let voice = ffmpeg.to_instagram_voice(&m4a, out.path()).await.unwrap();
    let w = &voice.waveform;
    assert!(w[3] < w[15] && w[15] < w[27], "{w:?}");
    assert_eq!(w.iter().copied().fold(0.0, f32::max), 1.0);
}

#[tokio::test]
async fn voice_for_matrix_is_ogg_opus_with_an_msc3245_waveform() {
    let ffmpeg = ffmpeg_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let sine = "sine=frequency=300:duration=4";
    let m4a = lavfi(&ffmpeg, dir.path(), "v.m4a", sine, "-c:a", "aac");
    let voice = ffmpeg.to_matrix_voice(&m4a, out.path()).await.unwrap();
    assert_eq!(voice.mime, "audio/ogg");
    assert_eq!(sniff_mime(&head(&voice.path)), Some("audio/ogg"));
    let probe = ffmpeg.probe(&voice.path).await.unwrap();
    assert_eq!(probe.format, "ogg");
    assert_eq!(probe.audio.map(|a| a.codec), Some("opus".into()));
    assert!(
        near(Some(voice.duration_ms), 4000, 150),
        "{}",
        voice.duration_ms
    );
    assert_eq!(voice.waveform.len(), 40);
    assert!(voice.waveform.iter().all(|&v| v <= 1024));
    assert!(
        voice.waveform[2..38].iter().all(|&v| v > 800),
        "{:?}",
        voice.waveform
    );

    // Silence gives a flat waveform, not amplified noise.
    let silence = "anullsrc=r=48000:cl=mono";
    let args = ["-f", "lavfi", "-i", silence, "-t", "2", "-c:a", "libopus"];
    let ogg = make(&ffmpeg, dir.path(), "silence.ogg", &args);
    let voice = ffmpeg.to_matrix_voice(&ogg, out.path()).await.unwrap();
    assert_eq!(voice.waveform.len(), 30);
    assert!(
        voice.waveform.iter().all(|&v| v < 50),
        "{:?}",
        voice.waveform
    );
}

#[tokio::test]
async fn video_thumbnails() {
    let ffmpeg = ffmpeg_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let mp4 = h264_mp4(&ffmpeg, dir.path(), "a.mp4", true);
    let thumb = ffmpeg.video_thumbnail(&mp4, 160).await.unwrap();
    assert_eq!(sniff_mime(&thumb.thumbnail.bytes), Some("image/jpeg"));
    assert_eq!((thumb.thumbnail.width, thumb.thumbnail.height), (160, 120));
    assert_eq!((thumb.width, thumb.height), (320, 240));
    assert!(near(thumb.duration_ms, 1000, 100));

    // A clip shorter than the seek point still gives its first frame.
    let short = "testsrc=size=100x60:rate=25:duration=0.2";
    let avi = lavfi(&ffmpeg, dir.path(), "short.avi", short, "-c:v", "mpeg4");
    let thumb = ffmpeg.video_thumbnail(&avi, 800).await.unwrap();
    assert_eq!((thumb.thumbnail.width, thumb.thumbnail.height), (100, 60));
}

#[tokio::test]
async fn bad_input_gives_typed_errors() {
    let ffmpeg = ffmpeg_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.mp4");
    std::fs::write(&garbage, b"this is not a video at all, just some text").unwrap();
    let err = ffmpeg.probe(&garbage).await.unwrap_err();
    assert!(matches!(err, MediaError::Corrupt { .. }), "{err}");
    let err = ffmpeg
        .to_instagram_video(&garbage, out.path())
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::Corrupt { .. }), "{err}");
    let err = ffmpeg
        .to_matrix_voice(&garbage, out.path())
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::Corrupt { .. }), "{err}");

    let missing = dir.path().join("missing.mp4");
    let err = ffmpeg.probe(&missing).await.unwrap_err();
    assert!(matches!(err, MediaError::Io(_)), "{err}");

    // The wrong kind of media.
    let ogg = lavfi(&ffmpeg, dir.path(), "a.ogg", SINE, "-c:a", "libopus");
    let err = ffmpeg
        .to_instagram_video(&ogg, out.path())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "this file is not supported: it has no video"
    );
    let err = ffmpeg.video_thumbnail(&ogg, 100).await.unwrap_err();
    assert!(matches!(err, MediaError::Unsupported { .. }), "{err}");
    let avi = lavfi(&ffmpeg, dir.path(), "a.avi", TESTSRC, "-c:v", "mpeg4");
    let err = ffmpeg
        .to_instagram_voice(&avi, out.path())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "this file is not supported: it has no audio"
    );

    // A truncated MP4 fails in ffmpeg, with its words in the error.
    let mp4 = h264_mp4(&ffmpeg, dir.path(), "cut.mp4", false);
    let bytes = std::fs::read(&mp4).unwrap();
    std::fs::write(&mp4, &bytes[..bytes.len() / 3]).unwrap();
    let err = ffmpeg
        .to_instagram_video(&mp4, out.path())
        .await
        .unwrap_err();
    assert!(
        matches!(err, MediaError::Corrupt { .. } | MediaError::Ffmpeg { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn limits_are_enforced() {
    let ffmpeg = ffmpeg_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let mp4 = h264_mp4(&ffmpeg, dir.path(), "a.mp4", false);

    let small = ffmpeg.clone().with_limits(Duration::from_secs(60), 1000);
    let err = small
        .to_instagram_video(&mp4, dir.path())
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("the limit is 1 KB"), "{err}");

    let hasty = ffmpeg.with_limits(Duration::from_millis(1), 1_000_000);
    let err = hasty
        .to_instagram_video(&mp4, dir.path())
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn animated_webp_gives_its_first_frame() {
    let ffmpeg = ffmpeg_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let source = "testsrc=size=80x40:rate=10:duration=0.3";
    let args = [
        "-f",
        "lavfi",
        "-i",
        source,
        "-c:v",
        "libwebp_anim",
        "-loop",
        "0",
    ];
    let webp = make(&ffmpeg, dir.path(), "a.webp", &args);
    let bytes = std::fs::read(&webp).unwrap();
    let info = image::inspect(&bytes).unwrap();
    assert_eq!((info.mime, info.width, info.height), ("image/webp", 80, 40));
    assert!(info.animated);
    let jpeg = image::to_jpeg(&bytes, 1080).unwrap();
    assert_eq!((jpeg.width, jpeg.height), (80, 40));
    assert_eq!(sniff_mime(&jpeg.bytes), Some("image/jpeg"));
}
