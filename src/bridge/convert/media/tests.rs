use serde_json::json;

use super::*;
use crate::bridge::convert::shares::*;
use crate::bridge::convert::to_matrix::item_to_parts;
use crate::instagram::types::ThreadItem;

fn item(v: serde_json::Value) -> ThreadItem {
    serde_json::from_value(v).expect("item")
}

fn parts(v: serde_json::Value) -> Vec<Part> {
    item_to_parts(&item(v), &MatrixCtx::default())
}

fn image_versions(url: &str, w: i64, h: i64) -> serde_json::Value {
    json!({"candidates": [
        {"width": w / 2, "height": h / 2, "url": format!("{url}?small")},
        {"width": w, "height": h, "url": url},
    ]})
}

#[test]
fn a_photo_becomes_one_image_part_with_the_original_size_candidate() {
    let p = parts(json!({"item_id": "1", "item_type": "media", "media": {
        "id": "77_1", "media_type": 1, "original_width": 1080, "original_height": 1350,
        "image_versions2": image_versions("https://cdn/p.jpg", 1080, 1350)}}));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].content["msgtype"], "m.image");
    let m = p[0].media.as_ref().expect("media source");
    assert_eq!(m.url, "https://cdn/p.jpg");
    assert_eq!(m.kind, MediaKind::Image);
    assert_eq!((m.width, m.height), (Some(1080), Some(1350)));
}

#[test]
fn a_video_carries_its_cover_as_thumbnail_and_its_duration() {
    let p = parts(json!({"item_id": "1", "item_type": "media", "media": {
        "id": "77_1", "media_type": 2, "original_width": 720, "original_height": 1280,
        "video_duration": 3.5,
        "image_versions2": image_versions("https://cdn/cover.jpg", 720, 1280),
        "video_versions": [{"type": 101, "width": 720, "height": 1280, "url": "https://cdn/v.mp4"}]}}));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].content["msgtype"], "m.video");
    let m = p[0].media.as_ref().expect("media source");
    assert_eq!(m.url, "https://cdn/v.mp4");
    assert_eq!(m.thumbnail_url.as_deref(), Some("https://cdn/cover.jpg"));
    assert_eq!(m.duration_ms, Some(3500));
}

#[test]
fn a_post_share_sends_every_carousel_item_then_caption_author_and_link() {
    let p = parts(
        json!({"item_id": "1", "item_type": "media_share", "media_share": {
        "id": "99_5", "media_type": 8, "code": "CxYz12", "user": {"pk": 5, "username": "nasa"},
        "caption": {"text": "Two moons"},
        "carousel_media": [
            {"id": "a", "media_type": 1, "image_versions2": image_versions("https://cdn/1.jpg", 10, 10)},
            {"id": "b", "media_type": 2, "image_versions2": image_versions("https://cdn/2.jpg", 10, 10),
             "video_versions": [{"width": 10, "height": 10, "url": "https://cdn/2.mp4"}]}
        ]}}),
    );
    assert_eq!(p.len(), 3);
    assert_eq!(p[0].content["msgtype"], "m.image");
    assert_eq!(p[1].content["msgtype"], "m.video");
    assert_eq!(p[2].content["msgtype"], "m.text");
    assert_eq!(
        p[2].content["body"],
        "Shared a post by @nasa:\nTwo moons\nhttps://www.instagram.com/p/CxYz12/"
    );
}

#[test]
fn a_reel_is_its_full_video_with_a_reel_link() {
    for v in [
        json!({"item_id": "1", "item_type": "clip", "clip": {"clip": {
            "id": "5_6", "media_type": 2, "code": "Reel1", "product_type": "clips",
            "user": {"pk": 6, "username": "cat"},
            "image_versions2": image_versions("https://cdn/c.jpg", 9, 16),
            "video_versions": [{"width": 9, "height": 16, "url": "https://cdn/c.mp4"}]}}}),
        json!({"item_id": "1", "item_type": "media_share", "media_share": {
            "id": "5_6", "media_type": 2, "code": "Reel1", "product_type": "clips",
            "user": {"pk": 6, "username": "cat"},
            "image_versions2": image_versions("https://cdn/c.jpg", 9, 16),
            "video_versions": [{"width": 9, "height": 16, "url": "https://cdn/c.mp4"}]}}),
    ] {
        let p = parts(v);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].content["msgtype"], "m.video");
        assert_eq!(
            p[0].media.as_ref().map(|m| m.url.as_str()),
            Some("https://cdn/c.mp4")
        );
        assert_eq!(
            p[1].content["body"],
            "Shared a reel by @cat\nhttps://www.instagram.com/reel/Reel1/"
        );
    }
}

#[test]
fn stories_link_to_the_story_and_expired_ones_say_so() {
    let p = parts(
        json!({"item_id": "1", "item_type": "story_share", "story_share": {
        "text": "look", "media": {"id": "3141_7", "media_type": 1, "user": {"pk": 7, "username": "ann"},
        "image_versions2": image_versions("https://cdn/s.jpg", 9, 16)}}}),
    );
    assert_eq!(p.len(), 2);
    assert_eq!(
        p[1].content["body"],
        "Shared a story by @ann\n\nlook\nhttps://www.instagram.com/stories/ann/3141/"
    );
    let p = parts(
        json!({"item_id": "1", "item_type": "story_share", "story_share": {
        "message": "This story is unavailable", "title": "No longer available"}}),
    );
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].content["msgtype"], "m.notice");
    assert!(
        p[0].content["body"]
            .as_str()
            .unwrap_or_default()
            .contains("This story is unavailable")
    );
}

#[test]
fn story_replies_and_reactions_name_what_happened() {
    let story = json!({"id": "42_7", "media_type": 1, "user": {"pk": 7, "username": "ann"},
        "image_versions2": image_versions("https://cdn/s.jpg", 9, 16)});
    let p = parts(
        json!({"item_id": "1", "item_type": "reel_share", "reel_share": {
        "type": "reaction", "text": "🔥", "reaction_info": {"emoji": "🔥"}, "media": story.clone()}}),
    );
    assert_eq!(p.len(), 2);
    assert_eq!(
        p[1].content["body"],
        "Reacted 🔥 to a story by @ann (https://www.instagram.com/stories/ann/42/):\n🔥"
    );
    let p = parts(
        json!({"item_id": "1", "item_type": "reel_share", "reel_share": {
        "type": "reply", "text": "so good"}}),
    );
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].content["body"],
        "Replied to a story (the story is no longer available):\nso good"
    );
}

#[test]
fn voice_messages_keep_duration_and_waveform() {
    let p = parts(
        json!({"item_id": "1", "item_type": "voice_media", "voice_media": {
        "media": {"id": "1", "media_type": 11, "audio": {"audio_src": "https://cdn/a.m4a",
        "duration": 2400, "waveform_data": [0.0, 0.5, 1.0], "waveform_sampling_frequency_hz": 10}}}}),
    );
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].content["msgtype"], "m.audio");
    let m = p[0].media.as_ref().expect("source");
    assert_eq!(m.kind, MediaKind::Voice);
    assert_eq!(m.duration_ms, Some(2400));
    assert_eq!(m.waveform, vec![0.0, 0.5, 1.0]);
    assert_eq!(msc1767_waveform(&m.waveform), vec![0, 512, 1024]);
    assert_eq!(msc1767_waveform(&[f32::NAN, -1.0, 7.0]), vec![0, 0, 1024]);
}

#[test]
fn gifs_prefer_the_gif_and_stickers_are_stickers() {
    let p = parts(
        json!({"item_id": "1", "item_type": "animated_media", "animated_media": {
        "id": "g", "is_sticker": false, "images": {"fixed_height": {
            "url": "https://giphy/x.gif", "webp": "https://giphy/x.webp", "mp4": "https://giphy/x.mp4",
            "width": "200", "height": "150"}}}}),
    );
    assert_eq!(
        p[0].media.as_ref().map(|m| m.url.as_str()),
        Some("https://giphy/x.gif")
    );
    assert_eq!(p[0].media.as_ref().map(|m| m.width), Some(Some(200)));
    let p = parts(
        json!({"item_id": "1", "item_type": "animated_media", "animated_media": {
        "id": "s", "is_sticker": true, "images": {"fixed_height": {"webp": "https://giphy/s.webp"}}}}),
    );
    assert_eq!(p[0].event_type, "m.sticker");
    assert!(p[0].content.get("msgtype").is_none());
}

#[test]
fn view_once_media_is_announced_and_expired_media_is_a_notice() {
    let p = parts(
        json!({"item_id": "1", "item_type": "raven_media", "visual_media": {
        "view_mode": "once", "media": {"id": "8_1", "media_type": 1,
        "image_versions2": image_versions("https://cdn/r.jpg", 5, 5)}}}),
    );
    assert_eq!(p.len(), 2);
    assert!(
        p[0].content["body"]
            .as_str()
            .unwrap_or_default()
            .contains("view-once")
    );
    assert_eq!(p[1].content["msgtype"], "m.image");
    let p = parts(
        json!({"item_id": "1", "item_type": "raven_media", "visual_media": {
        "view_mode": "once", "media": {"media_type": 1}}}),
    );
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].content["msgtype"], "m.notice");
    assert!(
        p[0].content["body"]
            .as_str()
            .unwrap_or_default()
            .contains("expired")
    );
}

#[test]
fn xma_shares_send_the_preview_and_the_link() {
    let p = parts(
        json!({"item_id": "1", "item_type": "xma_clip", "xma_clip": [{
        "target_url": "https://www.instagram.com/reel/Abc/", "title_text": "dog",
        "caption_body_text": "zoomies", "preview_url": "https://cdn/x.mp4",
        "preview_url_mime_type": "video/mp4", "preview_width": 9, "preview_height": 16}]}),
    );
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].content["msgtype"], "m.video");
    assert_eq!(
        p[1].content["body"],
        "Shared a reel by dog:\nzoomies\nhttps://www.instagram.com/reel/Abc/"
    );
    let p = parts(
        json!({"item_id": "1", "item_type": "xma_media_share", "xma_media_share": [{
        "title_text": "gone"}]}),
    );
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].content["body"],
        "Shared a post by gone (no longer available)"
    );
}

#[test]
fn links_keep_their_text_and_get_a_preview() {
    let p = parts(json!({"item_id": "1", "item_type": "link", "link": {
        "text": "see https://ex.am/ple", "link_context": {"link_url": "https://ex.am/ple",
        "link_title": "Example", "link_summary": "An example"}}}));
    assert_eq!(p[0].content["body"], "see https://ex.am/ple");
    assert_eq!(
        p[0].content["com.beeper.linkpreviews"],
        json!([{"matched_url": "https://ex.am/ple", "og:url": "https://ex.am/ple",
                "og:title": "Example", "og:description": "An example"}])
    );
}

#[test]
fn locations_with_coordinates_are_m_location() {
    let p = parts(
        json!({"item_id": "1", "item_type": "location", "location": {
        "pk": 123, "name": "Eiffel Tower", "lat": 48.8584, "lng": 2.2945}}),
    );
    assert_eq!(p[0].content["msgtype"], "m.location");
    assert_eq!(p[0].content["geo_uri"], "geo:48.8584,2.2945");
    assert!(
        p[0].content["body"]
            .as_str()
            .unwrap_or_default()
            .contains("https://www.instagram.com/explore/locations/123/")
    );
}

#[test]
fn fill_media_sets_url_info_and_voice_fields() {
    let mut p = parts(
        json!({"item_id": "1", "item_type": "voice_media", "voice_media": {
        "media": {"id": "1", "audio": {"audio_src": "https://cdn/a.m4a", "duration": 1000}}}}),
    );
    let part = p.remove(0);
    let mut content = part.content.clone();
    fill_media(
        &mut content,
        MediaKind::Voice,
        &Uploaded {
            mxc: "mxc://hs/v".into(),
            mimetype: "audio/ogg".into(),
            size: 1234,
            duration_ms: Some(1000),
            waveform: vec![1, 2, 3],
            ..Default::default()
        },
    );
    assert_eq!(content["url"], "mxc://hs/v");
    assert_eq!(content["filename"], "voice.ogg");
    assert_eq!(content["info"]["mimetype"], "audio/ogg");
    assert_eq!(content["info"]["duration"], 1000);
    assert_eq!(content["org.matrix.msc3245.voice"], json!({}));
    assert_eq!(
        content["org.matrix.msc1767.audio"],
        json!({"duration": 1000, "waveform": [1, 2, 3]})
    );

    let mut content = json!({"msgtype": "m.image", "body": "GIF", "info": {}});
    fill_media(
        &mut content,
        MediaKind::Gif,
        &Uploaded {
            mxc: "mxc://hs/g".into(),
            mimetype: "video/mp4".into(),
            size: 9,
            width: Some(4),
            height: Some(3),
            thumbnail: Some(Thumbnail {
                mxc: "mxc://hs/t".into(),
                file: None,
                mimetype: "image/jpeg".into(),
                size: 5,
                width: 4,
                height: 3,
            }),
            ..Default::default()
        },
    );
    assert_eq!(content["msgtype"], "m.video");
    assert_eq!(content["body"], "gif.mp4");
    assert_eq!(content["info"]["fi.mau.gif"], true);
    assert_eq!(content["info"]["thumbnail_url"], "mxc://hs/t");
    assert_eq!(content["info"]["w"], 4);
}

#[test]
fn encrypted_uploads_fill_file_and_thumbnail_file_instead_of_urls() {
    let file =
        |u: &str| json!({"url": u, "v": "v2", "iv": "i", "hashes": {"sha256": "h"}, "key": {}});
    let mut content = json!({"msgtype": "m.video", "body": "Video", "info": {}});
    fill_media(
        &mut content,
        MediaKind::Video,
        &Uploaded {
            mxc: "mxc://hs/v".into(),
            file: Some(file("mxc://hs/v")),
            mimetype: "video/mp4".into(),
            size: 9,
            thumbnail: Some(Thumbnail {
                mxc: "mxc://hs/t".into(),
                file: Some(file("mxc://hs/t")),
                mimetype: "image/jpeg".into(),
                size: 5,
                width: 4,
                height: 3,
            }),
            ..Default::default()
        },
    );
    assert!(content.get("url").is_none(), "{content}");
    assert_eq!(content["file"], file("mxc://hs/v"));
    assert!(content["info"].get("thumbnail_url").is_none(), "{content}");
    assert_eq!(content["info"]["thumbnail_file"], file("mxc://hs/t"));
    assert_eq!(content["info"]["mimetype"], "video/mp4");
}

#[test]
fn nothing_to_download_is_never_silent() {
    for v in [
        json!({"item_id": "1", "item_type": "media", "media": {"id": "1", "media_type": 1}}),
        json!({"item_id": "1", "item_type": "voice_media", "voice_media": {"media": {"id": "1"}}}),
        json!({"item_id": "1", "item_type": "animated_media", "animated_media": {"id": "1"}}),
        json!({"item_id": "1", "item_type": "xma_story_share", "xma_story_share": []}),
    ] {
        let p = parts(v.clone());
        assert_eq!(p.len(), 1, "{v}");
        assert!(p[0].media.is_none(), "{v}");
        assert!(
            !p[0].content["body"].as_str().unwrap_or_default().is_empty(),
            "{v}"
        );
    }
}

#[test]
fn reel_ids_come_from_the_target_url() {
    assert_eq!(
        clip_id_of("https://www.instagram.com/reel/Abc/?id=3141592_2718&igsh=x").as_deref(),
        Some("3141592")
    );
    assert_eq!(
        clip_id_of("https://www.instagram.com/reel/Abc/?id=3141592").as_deref(),
        Some("3141592")
    );
    assert_eq!(clip_id_of("https://x/?id=1_2_3"), None);
    assert_eq!(clip_id_of("https://x/?id=_2"), None);
    assert_eq!(clip_id_of("https://www.instagram.com/reel/Abc/"), None);
    assert_eq!(clip_id_of("https://x/?id=../../etc"), None);
    assert_eq!(clip_id_of("not a url"), None);
    let p = parts(
        json!({"item_id": "1", "item_type": "xma_clip", "xma_clip": [{
        "target_url": "https://www.instagram.com/reel/Abc/?id=77_9", "preview_url": "https://cdn/p.jpg"}]}),
    );
    assert_eq!(
        p[0].media.as_ref().and_then(|m| m.clip_id.as_deref()),
        Some("77")
    );
}
