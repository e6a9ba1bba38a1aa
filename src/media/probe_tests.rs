//! The parser on stderr captured from ffmpeg 9 (and older spellings where they differ).

use super::*;

const MP4: &str = "\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':
  Metadata:
    major_brand     : isom
    minor_version   : 512
    compatible_brands: isomiso2avc1mp41
    encoder         : Lavf63.1.102
  Duration: 00:00:02.00, start: 0.000000, bitrate: 127 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 320x240 [SAR 1:1 DAR 4:3], 45 kb/s, 25 fps, 25 tbr, 12800 tbn (default)
    Metadata:
      handler_name    : VideoHandler
      encoder         : Lavc63.1.102 libx264
    Side data:
      Display Matrix: rotation of 90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 69 kb/s (default)
    Metadata:
      handler_name    : SoundHandler
At least one output file must be specified
";

const WEBM: &str = "\
Input #0, matroska,webm, from 'a.webm':
  Metadata:
    ENCODER         : Lavf63.1.102
  Duration: 00:00:02.01, start: 0.000000, bitrate: 172 kb/s
  Stream #0:0: Video: vp9 (Profile 1), gbrp(pc, gbr/unknown/unknown, progressive), 320x240, SAR 1:1 DAR 4:3, 25 fps, 25 tbr, 1k tbn
    Metadata:
      ENCODER         : Lavc63.1.102 libvpx-vp9
      DURATION        : 00:00:02.000000000
  Stream #0:1: Audio: opus, 48000 Hz, stereo, fltp
    Metadata:
      ENCODER         : Lavc63.1.102 libopus
      DURATION        : 00:00:02.008000000
At least one output file must be specified
";

const MP3_WITH_COVER: &str = "\
Input #0, mp3, from 'cov.mp3':
  Metadata:
    encoder         : Lavf63.1.102
  Duration: 00:00:03.00, start: 0.025056, bitrate: 66 kb/s
  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, mono, fltp, 64 kb/s, start 0.025057
  Stream #0:1: Video: png, rgb24(pc, gbr/unknown/unknown), 64x64 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn, start 0.025056 (attached pic)
    Metadata:
      comment         : Other
At least one output file must be specified
";

#[test]
fn mp4_h264_aac_rotated() {
    let p = parse(MP4).unwrap();
    assert_eq!(p.format, "mov,mp4,m4a,3gp,3g2,mj2");
    assert!(p.is_mp4_family());
    assert_eq!(p.duration_ms, Some(2000));
    let v = p.video.unwrap();
    assert_eq!(
        (v.codec.as_str(), v.pix_fmt.as_deref(), v.width, v.height),
        ("h264", Some("yuv420p"), 320, 240)
    );
    assert_eq!(v.rotation, 90);
    assert_eq!(v.display_size(), (240, 320));
    let a = p.audio.unwrap();
    assert_eq!(
        (a.codec.as_str(), a.sample_rate, a.channels),
        ("aac", Some(44100), Some(1))
    );
}

#[test]
fn webm_vp9_opus() {
    let p = parse(WEBM).unwrap();
    assert_eq!(p.format, "matroska,webm");
    assert!(!p.is_mp4_family());
    assert_eq!(p.duration_ms, Some(2010));
    let v = p.video.unwrap();
    assert_eq!(v.codec, "vp9");
    assert_eq!(v.pix_fmt.as_deref(), Some("gbrp"));
    assert_eq!((v.width, v.height, v.rotation), (320, 240, 0));
    let a = p.audio.unwrap();
    assert_eq!((a.codec.as_str(), a.channels), ("opus", Some(2)));
}

#[test]
fn cover_art_is_not_video() {
    let p = parse(MP3_WITH_COVER).unwrap();
    assert_eq!(p.format, "mp3");
    assert_eq!(p.duration_ms, Some(3000));
    assert!(p.video.is_none());
    assert_eq!(p.audio.unwrap().codec, "mp3");
}

#[test]
fn older_spellings_and_odd_streams() {
    let text = "\
ffmpeg version 4.4 Copyright (c) 2000-2021 the FFmpeg developers
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mov':
  Duration: 01:02:03.456789, start: 0.000000, bitrate: 8000 kb/s
    Stream #0:0(eng): Video: hevc (Main 10) (hvc1 / 0x31637668), yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67), 1920x1080, 7000 kb/s, 29.97 fps (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
    Stream #0:1(eng): Audio: pcm_s16le ([1][0][0][0] / 0x0001), 48000 Hz, 5.1, s16, 4233 kb/s
    Stream #0:2(eng): Data: none (mebx / 0x7862656D), 0 kb/s (default)
Output #0, null, to 'pipe:':
  Stream #0:0: Video: wrapped_avframe, yuv420p, 10x10
";
    let p = parse(text).unwrap();
    assert_eq!(p.duration_ms, Some(3_723_456));
    let v = p.video.unwrap();
    assert_eq!(v.codec, "hevc");
    assert_eq!(v.pix_fmt.as_deref(), Some("yuv420p10le"));
    assert_eq!((v.width, v.height, v.rotation), (1920, 1080, 270));
    assert_eq!(v.display_size(), (1080, 1920));
    let a = p.audio.unwrap();
    assert_eq!((a.codec.as_str(), a.channels), ("pcm_s16le", Some(6)));
}

#[test]
fn stills_and_missing_duration() {
    let text = "\
Input #0, png_pipe, from 'cover.png':
  Duration: N/A, bitrate: N/A
  Stream #0:0: Video: png, rgb24(pc, gbr/unknown/unknown), 64x64 [SAR 1:1 DAR 1:1], 25 fps, 25 tbr, 25 tbn
";
    let p = parse(text).unwrap();
    assert_eq!(p.format, "png_pipe");
    assert_eq!(p.duration_ms, None);
    assert_eq!(p.video.map(|v| (v.width, v.height)), Some((64, 64)));
    assert!(p.audio.is_none());
}

#[test]
fn failures_become_corrupt_with_ffmpeg_reason() {
    let text = "\
[in#0 @ 0x557486ab7d00] Error opening input: Invalid data found when processing input
Error opening input file g.bin.
Error opening input files: Invalid data found when processing input
";
    let err = parse(text).unwrap_err();
    assert!(matches!(err, MediaError::Corrupt { .. }));
    assert!(
        err.to_string()
            .ends_with("(Invalid data found when processing input)"),
        "{err}"
    );
    assert_eq!(
        failure_reason("[in#0 @ 0x1] Error opening input: No such file or directory\n"),
        "Error opening input: No such file or directory"
    );
    assert_eq!(failure_reason(""), "ffmpeg said nothing");
}

#[test]
fn garbage_never_panics() {
    let texts = [
        "",
        "Input #0",
        "Input #0, , from",
        "Input #0, x, from 'y':\n  Duration: 99:99:99.99\n  Stream #0:0: Video:\n  Stream #0:1: Audio:",
        "Input #0, x, from 'y':\n  Stream #0:0: Video: h264, yuv420p, 0x0\n  Stream: Audio: , Hz, channels",
        "Input #0, x, from 'y':\n  Stream #0:0: Video: h264, ((((, 12x\n    Display Matrix: rotation of NaN degrees",
        "Input #0, x, from 'y':\n  Stream #0:0: Video: h264, yuv420p, 16x16\n    Display Matrix: rotation of 1e308 degrees",
        "\u{0}\u{1}Input #0\u{fffd}\n \n  Duration: :::",
        "Input #0, x, from 'y':\n  Stream #0:0: Video: h264, yuv420p, 99999999999x1",
    ];
    for text in texts {
        let _ = parse(text);
    }
    let p = parse(texts[3]).unwrap();
    assert_eq!((p.duration_ms, p.video, p.audio), (None, None, None));
}

#[test]
fn timestamps() {
    assert_eq!(parse_timestamp("00:00:02.01"), Some(2010));
    assert_eq!(parse_timestamp("00:01:00"), Some(60_000));
    assert_eq!(parse_timestamp("10:00:00.5"), Some(36_000_500));
    assert_eq!(parse_timestamp("N/A"), None);
    assert_eq!(parse_timestamp("00:61:00.00"), None);
    assert_eq!(parse_timestamp("1:2:3:4"), None);
    assert_eq!(parse_timestamp("00:00:0x.00"), None);
    assert_eq!(parse_timestamp("00:00:01.-5"), None);
}
