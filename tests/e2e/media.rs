//! Media end to end: photos, videos, voice messages, GIFs and shares from Instagram arrive
//! as real files with the right info (and links); Matrix photos, videos, voice messages and
//! files reach the fake Instagram converted to what it takes, or are answered with a notice.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::bridging::{Scene, body_is, ghost, scene, wait_until};
use crate::env;

/// The ffmpeg the script provides (the same one the bridge uses).
fn ffmpeg() -> PathBuf {
    std::env::var_os("MATRIX_INSTAGRAM_FFMPEG")
        .map(PathBuf::from)
        .expect("MATRIX_INSTAGRAM_FFMPEG is set by scripts/test")
}

/// Makes a sample file with ffmpeg from its lavfi sources.
fn generate(args: &[&str], ext: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join(format!("sample.{ext}"));
    let status = Command::new(ffmpeg())
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg {args:?}");
    std::fs::read(&out).expect("sample written")
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

fn png_with_alpha(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, _| image::Rgba([200, 10, 10, (x * 3) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

fn gif_two_frames() -> Vec<u8> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        enc.set_repeat(Repeat::Infinite).expect("repeat");
        for shade in [30u8, 220] {
            let frame = image::RgbaImage::from_pixel(20, 10, image::Rgba([shade, shade, 0, 255]));
            enc.encode_frame(image::Frame::new(frame)).expect("frame");
        }
    }
    out
}

async fn message_from(s: &Scene, sender: &str, pred: impl Fn(&Value) -> bool) -> Value {
    s.user
        .wait_for(&s.portal, "a bridged media message", |e| {
            e["sender"] == sender && pred(e)
        })
        .await
}

#[tokio::test]
async fn instagram_media_arrives_as_files_with_info_and_links() {
    let w = &env().world;
    let s = scene(&[]).await;
    let bob = ghost(s.bob_pk);
    let cdn = |path: &str, data: Vec<u8>| w.ig.add_cdn_object(path, data);
    let tag = s.bob_pk;

    // A photo: the original-size candidate, byte for byte, with its size.
    let photo = jpeg(64, 48);
    let photo_url = cdn(&format!("{tag}/photo.jpg"), photo.clone());
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "media",
        json!({"media": {"id": format!("{tag}1_1"), "media_type": 1, "original_width": 64, "original_height": 48,
            "image_versions2": {"candidates": [
                {"width": 64, "height": 48, "url": photo_url},
                {"width": 32, "height": 24, "url": format!("{photo_url}?small")}]}}}),
    );
    let e = message_from(&s, &bob, |e| e["content"]["msgtype"] == "m.image").await;
    let c = &e["content"];
    assert_eq!(c["info"]["mimetype"], "image/jpeg");
    assert_eq!(
        (c["info"]["w"].as_u64(), c["info"]["h"].as_u64()),
        (Some(64), Some(48))
    );
    assert_eq!(c["info"]["size"].as_u64(), Some(photo.len() as u64));
    let mxc = c["url"].as_str().expect("url");
    assert_eq!(s.user.download(mxc).await, photo, "the same bytes");

    // A video with Instagram's cover as the thumbnail.
    let mp4 = generate(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10:duration=1",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
        "mp4",
    );
    let video_url = cdn(&format!("{tag}/v.mp4"), mp4.clone());
    let cover_url = cdn(&format!("{tag}/cover.jpg"), jpeg(160, 120));
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "media",
        json!({"media": {"id": format!("{tag}2_1"), "media_type": 2, "original_width": 160, "original_height": 120,
            "video_duration": 1.0,
            "image_versions2": {"candidates": [{"width": 160, "height": 120, "url": cover_url}]},
            "video_versions": [{"type": 101, "width": 160, "height": 120, "url": video_url}]}}),
    );
    let e = message_from(&s, &bob, |e| e["content"]["msgtype"] == "m.video").await;
    let info = &e["content"]["info"];
    assert_eq!(info["mimetype"], "video/mp4");
    assert_eq!(info["duration"].as_u64(), Some(1000));
    assert_eq!(info["w"].as_u64(), Some(160));
    assert_eq!(info["thumbnail_info"]["mimetype"], "image/jpeg");
    assert!(
        info["thumbnail_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("mxc://"))
    );
    assert_eq!(
        s.user
            .download(e["content"]["url"].as_str().unwrap_or_default())
            .await,
        mp4
    );

    // A voice message: Ogg Opus with the voice flag, duration and waveform.
    let m4a = generate(
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:duration=2",
            "-c:a",
            "aac",
            "-ac",
            "1",
        ],
        "m4a",
    );
    let voice_url = cdn(&format!("{tag}/voice.m4a"), m4a);
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "voice_media",
        json!({"voice_media": {"view_mode": "permanent", "media": {"id": format!("{tag}3"), "media_type": 11,
            "audio": {"audio_src": voice_url, "duration": 2000, "waveform_data": [0.1, 0.9, 0.5],
            "waveform_sampling_frequency_hz": 10}}}}),
    );
    let e = message_from(&s, &bob, |e| e["content"]["msgtype"] == "m.audio").await;
    let c = &e["content"];
    assert_eq!(c["org.matrix.msc3245.voice"], json!({}));
    assert_eq!(c["info"]["mimetype"], "audio/ogg");
    let duration = c["org.matrix.msc1767.audio"]["duration"]
        .as_u64()
        .unwrap_or(0);
    assert!((1800..=2300).contains(&duration), "duration {duration}");
    // Instagram's waveform_data, scaled to MSC1767's 0..=1024.
    assert_eq!(
        c["org.matrix.msc1767.audio"]["waveform"],
        json!([102, 922, 512])
    );
    let ogg = s.user.download(c["url"].as_str().unwrap_or_default()).await;
    assert_eq!(&ogg[..4], b"OggS");

    // A GIF stays an animated GIF.
    let gif = gif_two_frames();
    let gif_url = cdn(&format!("{tag}/a.gif"), gif.clone());
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "animated_media",
        json!({"animated_media": {"id": "g1", "is_sticker": false, "images": {"fixed_height": {
            "url": gif_url, "width": "20", "height": "10"}}}}),
    );
    let e = message_from(&s, &bob, |e| {
        e["content"]["info"]["mimetype"] == "image/gif"
    })
    .await;
    assert_eq!(e["content"]["msgtype"], "m.image");
    assert_eq!(e["content"]["info"]["fi.mau.gif"], true);

    // A shared reel: its full video, then the author, caption and link.
    let reel_url = cdn(&format!("{tag}/reel.mp4"), mp4.clone());
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "clip",
        json!({"clip": {"clip": {"id": format!("{tag}4_9"), "media_type": 2, "code": "RealReel1",
            "product_type": "clips", "user": {"pk": 9, "username": "dancer"},
            "caption": {"text": "watch this"},
            "video_versions": [{"width": 160, "height": 120, "url": reel_url}]}}}),
    );
    message_from(&s, &bob, |e| {
        body_is(
            e,
            "Shared a reel by @dancer:\nwatch this\nhttps://www.instagram.com/reel/RealReel1/",
        )
    })
    .await;
    let timeline = s.user.timeline(&s.portal).await;
    let videos = timeline
        .iter()
        .filter(|e| e["content"]["msgtype"] == "m.video")
        .count();
    assert_eq!(videos, 2, "the reel came as a video, not a still");

    // An expired story and an expired CDN link: clear notices, never silence.
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "story_share",
        json!({"story_share": {"message": "This story is no longer available", "title": "Story unavailable"}}),
    );
    message_from(&s, &bob, |e| {
        e["content"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("Shared a story that is no longer available"))
    })
    .await;
    let gone = cdn(&format!("{tag}/gone.jpg"), jpeg(8, 8));
    w.ig.expire_cdn_object(&format!("{tag}/gone.jpg"));
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "media",
        json!({"media": {"id": format!("{tag}5_1"), "media_type": 1,
            "image_versions2": {"candidates": [{"width": 8, "height": 8, "url": gone}]}}}),
    );
    let e = message_from(&s, &bob, |e| {
        e["content"]["body"]
            .as_str()
            .is_some_and(|b| b.starts_with("Couldn't bring over a photo"))
    })
    .await;
    assert_eq!(e["content"]["msgtype"], "m.notice");
    assert!(
        e["content"]["body"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{e}"
    );
}

/// The newest item of a thread with this type, from what the fake Instagram holds.
fn newest_item(items: &[Value], item_type: &str) -> Option<Value> {
    items
        .iter()
        .filter(|i| i["item_type"] == item_type)
        .max_by_key(|i| i["timestamp"].as_i64().unwrap_or(0))
        .cloned()
}

#[tokio::test]
async fn matrix_media_reaches_instagram_converted() {
    let w = &env().world;
    let s = scene(&[]).await;
    let me = ghost(s.me_pk);

    // A PNG with transparency arrives as a JPEG photo, and its echo is not bridged back.
    let png = png_with_alpha(40, 30);
    let mxc = s.user.upload(png, "image/png").await;
    let sent = s
        .user
        .send_event(
            &s.portal,
            "m.room.message",
            json!({"msgtype": "m.image", "body": "dot.png", "url": mxc,
                   "info": {"mimetype": "image/png", "w": 40, "h": 30}}),
        )
        .await;
    wait_until("the photo on Instagram", || async {
        newest_item(&w.ig.items(&s.thread), "media").is_some()
    })
    .await;
    let item = newest_item(&w.ig.items(&s.thread), "media").unwrap_or_default();
    let fbid = item["media"]["id"].as_str().unwrap_or_default().to_string();
    let (mime, bytes) = w.ig.uploaded(&fbid).expect("uploaded");
    assert_eq!(mime, "image/jpeg");
    let decoded =
        image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).expect("a real JPEG");
    assert_eq!((decoded.width(), decoded.height()), (40, 30));
    // Delivered: the success status is sent for the event.
    s.user
        .wait_for(&s.portal, "the delivery status", |e| {
            e["type"] == "com.beeper.message_send_status"
                && e["content"]["m.relates_to"]["event_id"] == sent.as_str()
                && e["content"]["status"] == "SUCCESS"
        })
        .await;

    // A WebM video is transcoded to H.264 MP4.
    let webm = generate(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=96x64:rate=10:duration=1",
            "-c:v",
            "libvpx",
            "-b:v",
            "200k",
        ],
        "webm",
    );
    let mxc = s.user.upload(webm, "video/webm").await;
    s.user
        .send_event(
            &s.portal,
            "m.room.message",
            json!({"msgtype": "m.video", "body": "clip.webm", "url": mxc,
                   "info": {"mimetype": "video/webm"}}),
        )
        .await;
    wait_until("the video on Instagram", || async {
        w.ig.items(&s.thread)
            .iter()
            .any(|i| i["media"]["media_type"] == 2)
    })
    .await;
    let items = w.ig.items(&s.thread);
    let item = items
        .iter()
        .find(|i| i["media"]["media_type"] == 2)
        .cloned()
        .unwrap_or_default();
    let (mime, bytes) =
        w.ig.uploaded(item["media"]["id"].as_str().unwrap_or_default())
            .expect("uploaded");
    assert_eq!(mime, "video/mp4");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("got.mp4");
    std::fs::write(&path, &bytes).expect("write");
    let ff = matrix_instagram::media::Ffmpeg::locate(Some(&ffmpeg()))
        .await
        .expect("ffmpeg")
        .expect("ffmpeg found");
    let probe = ff.probe(&path).await.expect("probe");
    assert_eq!(probe.video.as_ref().map(|v| v.codec.as_str()), Some("h264"));

    // A voice message recorded in Element (Ogg Opus) becomes AAC with a waveform.
    let ogg = generate(
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=500:duration=1.5",
            "-c:a",
            "libopus",
        ],
        "ogg",
    );
    let mxc = s.user.upload(ogg, "audio/ogg").await;
    s.user
        .send_event(
            &s.portal,
            "m.room.message",
            json!({"msgtype": "m.audio", "body": "Voice message", "url": mxc,
                   "info": {"mimetype": "audio/ogg", "duration": 1500},
                   "org.matrix.msc3245.voice": {},
                   "org.matrix.msc1767.audio": {"duration": 1500, "waveform": [100, 800, 300]}}),
        )
        .await;
    wait_until("the voice message on Instagram", || async {
        newest_item(&w.ig.items(&s.thread), "voice_media").is_some()
    })
    .await;
    let bc =
        w.ig.last_request("/broadcast/voice_attachment/")
            .expect("voice broadcast");
    let wave: Vec<f64> =
        serde_json::from_str(&bc.field("waveform").unwrap_or_default()).expect("waveform");
    assert!(
        (12..=18).contains(&wave.len()),
        "10 per second: {}",
        wave.len()
    );
    assert!(wave.iter().all(|v| (0.0..=1.0).contains(v)));
    let item = newest_item(&w.ig.items(&s.thread), "voice_media").unwrap_or_default();
    let (mime, bytes) =
        w.ig.uploaded(
            item["voice_media"]["media"]["id"]
                .as_str()
                .unwrap_or_default(),
        )
        .expect("uploaded");
    assert_eq!(mime, "audio/mp4");
    assert_eq!(&bytes[4..8], b"ftyp");

    // Nothing sent from Matrix came back as the user's Instagram ghost.
    let timeline = s.user.timeline(&s.portal).await;
    assert!(
        !timeline.iter().any(|e| e["sender"] == me.as_str()
            && matches!(
                e["content"]["msgtype"].as_str(),
                Some("m.image" | "m.video" | "m.audio")
            )),
        "an echo was bridged back"
    );

    // A file Instagram cannot carry: a notice says so, and the send is marked failed.
    let mxc = s
        .user
        .upload(b"%PDF-1.4 nope".to_vec(), "application/pdf")
        .await;
    let file = s
        .user
        .send_event(
            &s.portal,
            "m.room.message",
            json!({"msgtype": "m.file", "body": "doc.pdf", "url": mxc,
                   "info": {"mimetype": "application/pdf"}}),
        )
        .await;
    s.user
        .wait_for(&s.portal, "the file notice", |e| {
            e["content"]["msgtype"] == "m.notice"
                && e["content"]["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("Instagram has no file attachments"))
        })
        .await;
    s.user
        .wait_for(&s.portal, "the failed status", |e| {
            e["type"] == "com.beeper.message_send_status"
                && e["content"]["m.relates_to"]["event_id"] == file.as_str()
                && e["content"]["status"] == "FAIL"
        })
        .await;
}

#[tokio::test]
async fn transient_media_errors_are_retried_and_captions_follow() {
    let w = &env().world;
    let s = scene(&[]).await;
    // The photo broadcast answers 503 twice (Instagram does); the bridge retries.
    w.ig.inject(
        "/broadcast/photo_attachment/",
        503,
        json!({"message": "", "status": "fail"}),
        2,
    );
    let mxc = s.user.upload(jpeg(16, 16), "image/jpeg").await;
    s.user
        .send_event(
            &s.portal,
            "m.room.message",
            json!({"msgtype": "m.image", "body": "look at this", "filename": "x.jpg",
                   "url": mxc, "info": {"mimetype": "image/jpeg"}}),
        )
        .await;
    wait_until("the caption on Instagram", || async {
        w.ig.items(&s.thread)
            .iter()
            .any(|i| i["item_type"] == "text" && i["text"] == "look at this")
    })
    .await;
    let items = w.ig.items(&s.thread);
    assert_eq!(
        items.iter().filter(|i| i["item_type"] == "media").count(),
        1,
        "sent once despite the retries"
    );
    assert!(w.ig.requests_to("/broadcast/photo_attachment/").len() >= 3);
    // The caption's echo is not bridged back either (it comes before a sentinel sent after).
    w.ig.push_text(&s.thread, s.bob_pk, "sentinel after the caption");
    s.user
        .wait_for(&s.portal, "the sentinel after the caption", |e| {
            body_is(e, "sentinel after the caption")
        })
        .await;
    let timeline = s.user.timeline(&s.portal).await;
    assert!(
        !timeline
            .iter()
            .any(|e| e["sender"] == ghost(s.me_pk).as_str() && body_is(e, "look at this")),
        "the caption came back"
    );
}

#[tokio::test]
async fn instagram_shares_stickers_view_once_and_places() {
    let w = &env().world;
    let s = scene(&[]).await;
    let bob = ghost(s.bob_pk);
    let tag = s.bob_pk;
    let cdn = |name: &str, data: Vec<u8>| w.ig.add_cdn_object(&format!("{tag}/{name}"), data);
    let image =
        |url: &str, side: u32| json!({"candidates": [{"width": side, "height": side, "url": url}]});

    // A post with two photos: both images, then author, caption and link.
    let (a, b) = (cdn("a.jpg", jpeg(30, 30)), cdn("b.jpg", jpeg(20, 20)));
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "media_share",
        json!({"media_share": {"id": format!("{tag}7_3"), "media_type": 8, "code": "PostCode7",
            "user": {"pk": 3, "username": "photog"}, "caption": {"text": "two views"},
            "carousel_media": [
                {"id": "c1", "media_type": 1, "image_versions2": image(&a, 30)},
                {"id": "c2", "media_type": 1, "image_versions2": image(&b, 20)}]}}),
    );
    message_from(&s, &bob, |e| {
        body_is(
            e,
            "Shared a post by @photog:\ntwo views\nhttps://www.instagram.com/p/PostCode7/",
        )
    })
    .await;
    let sizes: Vec<u64> = s
        .user
        .timeline(&s.portal)
        .await
        .iter()
        .filter(|e| e["content"]["msgtype"] == "m.image")
        .filter_map(|e| e["content"]["info"]["w"].as_u64())
        .collect();
    assert_eq!(sizes, vec![30, 20], "every carousel item, in order");

    // A story with its photo and a link to it.
    let st = cdn("story.jpg", jpeg(9, 16));
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "story_share",
        json!({"story_share": {"text": "", "media": {"id": "555_3", "media_type": 1,
            "user": {"pk": 3, "username": "photog"}, "image_versions2": image(&st, 16)}}}),
    );
    message_from(&s, &bob, |e| {
        body_is(
            e,
            "Shared a story by @photog\nhttps://www.instagram.com/stories/photog/555/",
        )
    })
    .await;

    // A sticker is an m.sticker event.
    let sticker = cdn("sticker.gif", gif_two_frames());
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "animated_media",
        json!({"animated_media": {"id": "st", "is_sticker": true,
            "images": {"fixed_height": {"url": sticker, "width": 20, "height": 10}}}}),
    );
    let e = s
        .user
        .wait_for(&s.portal, "the sticker", |e| {
            e["type"] == "m.sticker" && e["sender"] == bob.as_str()
        })
        .await;
    assert_eq!(e["content"]["info"]["mimetype"], "image/gif");
    assert!(
        e["content"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("mxc://"))
    );

    // View-once media: announced as such, then the photo; an expired one is a notice.
    let r = cdn("raven.jpg", jpeg(12, 12));
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "raven_media",
        json!({"visual_media": {"view_mode": "once", "seen_count": 0,
            "media": {"id": format!("{tag}8_3"), "media_type": 1, "image_versions2": image(&r, 12)}}}),
    );
    message_from(&s, &bob, |e| {
        e["content"]["body"]
            .as_str()
            .is_some_and(|b| b.starts_with("Sent a view-once photo or video"))
    })
    .await;
    message_from(&s, &bob, |e| e["content"]["info"]["w"] == 12).await;
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "raven_media",
        json!({"visual_media": {"view_mode": "once", "media": {"media_type": 1}}}),
    );
    message_from(&s, &bob, |e| {
        e["content"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("has expired or was already viewed"))
    })
    .await;

    // A newer-format reel share (XMA) with a video preview, and a place.
    let preview = cdn("xma.jpg", jpeg(9, 16));
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "xma_clip",
        json!({"xma_clip": [{"target_url": "https://www.instagram.com/reel/XmaReel/",
            "title_text": "skater", "preview_url": preview, "preview_url_mime_type": "image/jpeg"}]}),
    );
    message_from(&s, &bob, |e| {
        body_is(
            e,
            "Shared a reel by skater\nhttps://www.instagram.com/reel/XmaReel/",
        )
    })
    .await;
    // A reel share that names its clip: the full video from `clips/item`, not the still.
    let reel_mp4 = generate(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=90x160:rate=10:duration=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
        "mp4",
    );
    let reel_url = cdn("full-reel.mp4", reel_mp4.clone());
    // The share names `<media_id>_<owner_id>`; `clips/item` knows the media id alone.
    let clip_id = format!("{tag}9_5");
    w.ig.add_clip(
        &format!("{tag}9"),
        json!({"id": clip_id, "media_type": 2, "product_type": "clips", "code": "FullReel",
            "video_versions": [{"width": 90, "height": 160, "url": reel_url}]}),
    );
    let still = cdn("reel-still.jpg", jpeg(9, 16));
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "xma_clip",
        json!({"xma_clip": [{"target_url": format!("https://www.instagram.com/reel/FullReel/?id={clip_id}"),
            "title_text": "runner", "preview_url": still, "preview_url_mime_type": "image/jpeg"}]}),
    );
    let e = message_from(&s, &bob, |e| {
        e["content"]["msgtype"] == "m.video" && e["content"]["info"]["h"] == 160
    })
    .await;
    assert_eq!(
        s.user
            .download(e["content"]["url"].as_str().unwrap_or_default())
            .await,
        reel_mp4
    );
    assert_eq!(
        e["content"]["info"]["thumbnail_info"]["mimetype"],
        "image/jpeg"
    );
    let media_id = format!("{tag}9");
    assert!(
        w.ig.requests_to("/clips/item/")
            .iter()
            .any(|r| r.query_param("clips_media_id") == Some(media_id.as_str())),
        "clips/item asked with the media id alone"
    );

    // A reply to my story shows the story and the reply; a link keeps its preview.
    let my_story = cdn("my-story.jpg", jpeg(9, 16));
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "reel_share",
        json!({"reel_share": {"type": "reply", "text": "great view!", "reel_owner_id": s.me_pk,
            "media": {"id": format!("{tag}99_1"), "media_type": 1,
                "user": {"pk": s.me_pk, "username": format!("me_{}", s.me_pk)},
                "image_versions2": image(&my_story, 16)}}}),
    );
    message_from(&s, &bob, |e| {
        body_is(
            e,
            &format!(
                "Replied to a story by @me_{me} (https://www.instagram.com/stories/me_{me}/{tag}99/):\ngreat view!",
                me = s.me_pk
            ),
        )
    })
    .await;
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "link",
        json!({"link": {"text": "read https://example.org/a", "link_context": {
            "link_url": "https://example.org/a", "link_title": "An article",
            "link_summary": "What it says"}}}),
    );
    let e = message_from(&s, &bob, |e| body_is(e, "read https://example.org/a")).await;
    assert_eq!(
        e["content"]["com.beeper.linkpreviews"][0]["og:title"],
        "An article"
    );

    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "location",
        json!({"location": {"pk": 77, "name": "Harbour", "lat": 59.9, "lng": 10.7}}),
    );
    let e = message_from(&s, &bob, |e| e["content"]["msgtype"] == "m.location").await;
    assert_eq!(e["content"]["geo_uri"], "geo:59.9,10.7");
}

#[tokio::test]
async fn matrix_stickers_and_files_without_a_url() {
    let w = &env().world;
    let s = scene(&[]).await;
    // A sticker from Element is sent as a photo.
    let mxc = s.user.upload(png_with_alpha(16, 16), "image/png").await;
    s.user
        .send_event(
            &s.portal,
            "m.sticker",
            json!({"body": "wave", "url": mxc, "info": {"mimetype": "image/png", "w": 16, "h": 16}}),
        )
        .await;
    wait_until("the sticker on Instagram", || async {
        newest_item(&w.ig.items(&s.thread), "media").is_some()
    })
    .await;
    // An encrypted attachment whose `file` could never be opened (no key, iv or hash) gets a
    // notice, never silence, and nothing is fetched (usable ones are bridged: tests/e2e_crypto).
    s.user
        .send_event(
            &s.portal,
            "m.room.message",
            json!({"msgtype": "m.image", "body": "secret.jpg", "file": {"url": "mxc://x/y"}}),
        )
        .await;
    s.user
        .wait_for(&s.portal, "the notice", |e| {
            e["content"]["msgtype"] == "m.notice"
                && e["content"]["body"].as_str().is_some_and(|b| {
                    b.contains("not delivered to Instagram")
                        && b.contains("the encrypted file could not be opened")
                })
        })
        .await;
}
