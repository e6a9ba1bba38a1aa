//! Built-in seeds for the conversion fuzzers: Matrix message contents of every kind the
//! bridge sends to Instagram, and Instagram items of every kind it shows on Matrix.

use serde_json::{Value, json};

fn bytes(values: Vec<Value>) -> Vec<Vec<u8>> {
    values
        .iter()
        .map(|v| serde_json::to_vec(v).unwrap_or_default())
        .collect()
}

/// Matrix `m.room.message` contents: formatted bodies with links, pills and nested HTML,
/// replies, edits, emotes, media with captions, and the hostile shapes of issue 12.
pub fn matrix_contents() -> Vec<Vec<u8>> {
    let pill = "<a href=\"https://matrix.to/#/%40instagram_42%3Ax\">Bob</a>";
    let html = |formatted: &str| {
        json!({"msgtype": "m.text", "body": "plain", "format": "org.matrix.custom.html",
            "formatted_body": formatted})
    };
    bytes(vec![
        json!({"msgtype": "m.text", "body": "hello *world*"}),
        json!({"msgtype": "m.notice", "body": "a notice"}),
        json!({"msgtype": "m.emote", "body": "waves"}),
        html(&format!("{pill}: look &amp; see<br>line2")),
        html(
            "<p>one</p><p>two <a href=\"https://e.com\">site</a></p><ol><li>a</li><li>b<ul><li>c</li></ul></li></ol>",
        ),
        html(
            "<blockquote><p>quoted <em>deep <strong>deeper <code>deepest</code></strong></em></p></blockquote><pre><code>x &lt; y</code></pre>",
        ),
        html("<a href=\"https://matrix.to/#/%a€\">x</a>"),
        html("<a href=\"mailto:a@b\">mail</a> <a href=https://x.y>https://x.y</a> a < b <unclosed"),
        json!({"msgtype": "m.text", "body": "> <@a:x> original\n> more\n\nmy answer",
            "format": "org.matrix.custom.html",
            "formatted_body": "<mx-reply><blockquote><a href=\"https://matrix.to/#/!r:x/$e\">In reply to</a> original</blockquote></mx-reply>my <b>answer</b>",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$e"}}}),
        json!({"msgtype": "m.text", "body": "hi Bob", "format": "org.matrix.custom.html",
            "formatted_body": format!("hi {pill}"),
            "m.mentions": {"user_ids": ["@instagram_42:x", "@nobody:x", 7]}}),
        json!({"msgtype": "m.text", "body": "* fixed",
            "m.new_content": {"msgtype": "m.text", "body": "fixed", "format": "org.matrix.custom.html",
                "formatted_body": "<b>fixed</b>"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"}}),
        json!({"msgtype": "m.text", "body": "* edit of nothing",
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$unknown"}}),
        json!({"msgtype": "m.image", "body": "cat.png", "url": "mxc://hs/abc",
            "info": {"mimetype": "image/png", "size": 1234, "w": 10, "h": 10}}),
        json!({"msgtype": "m.video", "body": "clip", "filename": "v.mp4", "url": "mxc://hs/v",
            "info": {"mimetype": "video/mp4", "size": 99, "thumbnail_url": "mxc://hs/t"},
            "m.relates_to": {"m.in_reply_to": {"event_id": "$r"}}}),
        json!({"msgtype": "m.audio", "body": "listen", "filename": "voice.ogg",
            "url": "mxc://hs/a", "org.matrix.msc3245.voice": {},
            "info": {"mimetype": "audio/ogg", "duration": 1200}}),
        json!({"msgtype": "m.file", "body": "a.pdf", "url": "mxc://hs/f",
            "info": {"mimetype": "application/pdf"}}),
        json!({"msgtype": "m.sticker", "body": "sticker", "url": "mxc://hs/s"}),
        json!({"msgtype": "m.video", "body": "v.mp4", "file": {"url": "mxc://hs/e"}}),
        json!({"msgtype": "m.location", "body": "here", "geo_uri": "geo:1,2"}),
    ])
}

fn candidates(url: &str) -> Value {
    json!({"candidates": [
        {"width": 540, "height": 675, "url": format!("{url}?small")},
        {"width": 1080, "height": 1350, "url": url},
    ]})
}

fn item(kind: &str, payload: Value) -> Value {
    let mut v = json!({"item_id": "30000000000000000000000000001", "user_id": 5,
        "timestamp": "1700000000000001", "item_type": kind});
    v[kind] = payload;
    v
}

/// Items with photos, videos, voice, GIFs and shares of posts, reels and stories.
fn media_items() -> Vec<Value> {
    let user = json!({"pk": 5, "username": "nasa", "full_name": "NASA"});
    let photo = json!({"id": "77_1", "media_type": 1, "original_width": 1080,
        "original_height": 1350, "image_versions2": candidates("https://cdn/p.jpg")});
    let video = json!({"id": "78_1", "media_type": 2, "video_duration": 3.5,
        "image_versions2": candidates("https://cdn/cover.jpg"),
        "video_versions": [{"type": 101, "width": 720, "height": 1280, "url": "https://cdn/v.mp4"}]});
    let post = json!({"id": "99_5", "pk": "99", "media_type": 8, "code": "CxYz12", "user": user,
        "caption": {"text": "caption @nasa"}, "carousel_media": [photo, video]});
    vec![
        item("media", photo.clone()),
        item("media", video),
        item("media_share", post),
        item("raven_media", json!({"view_mode": "once", "media": photo})),
        item("story_share", json!({"text": "nice", "media": photo})),
        item(
            "story_share",
            json!({"title": "Unavailable", "message": "expired"}),
        ),
        item(
            "clip",
            json!({"clip": {"id": "5_5", "code": "Reel1", "product_type": "clips",
            "video_versions": [{"url": "https://cdn/r.mp4"}], "user": user}}),
        ),
        item(
            "reel_share",
            json!({"text": "wow", "type": "reaction", "reel_owner_id": 5,
            "reaction_info": {"emoji": "🔥"}, "media": {"id": "42_7", "user": user}}),
        ),
        item(
            "voice_media",
            json!({"media": {"id": "v", "audio": {"audio_src": "https://cdn/a.m4a",
            "duration": 2300, "waveform_data": [0.0, 0.5, 1.0, 1.5, -1.0]}}}),
        ),
        item(
            "animated_media",
            json!({"id": "g", "is_sticker": false, "images": {
            "fixed_height": {"url": "https://giphy/g.gif", "mp4": "https://giphy/g.mp4",
                "width": "200", "height": 150}}}),
        ),
        item(
            "animated_media",
            json!({"id": "s", "is_sticker": true,
            "images": {"fixed_height": {"webp": "https://giphy/s.webp"}}}),
        ),
        item(
            "xma_clip",
            json!([{"target_url": "https://www.instagram.com/reel/x/?id=3_4",
            "preview_url": "https://cdn/x.jpg", "preview_url_mime_type": "image/jpeg",
            "header_title_text": "ann", "caption_body_text": "cap", "preview_width": 10}]),
        ),
        item(
            "xma_media_share",
            json!([{"xma_layout_type": 0,
            "target_url": "https://instagram.com/p/x",
            "preview_url_info": {"url": "p", "width": 1, "height": 1}}]),
        ),
        item(
            "avatar_sticker",
            json!([{"preview_url": "https://cdn/s.webp"}]),
        ),
    ]
}

/// Instagram thread items of every kind (PROTOCOL D.3), replies, and ids beyond 64 bits.
pub fn instagram_items() -> Vec<Vec<u8>> {
    let mut items = vec![
        json!({"item_id": "1", "user_id": 5, "timestamp": 1_700_000_000_000_001i64,
            "item_type": "text", "text": "hi @bob.b & @nobody <3\nbye"}),
        json!({"item_id": "2", "item_type": "text", "text": "answer",
            "replied_to_message": {"item_id": "1", "item_type": "text", "text": "question"},
            "reactions": {"likes_count": 1,
                "emojis": [{"sender_id": 5, "timestamp": 1, "emoji": "😂"}]}}),
        item(
            "link",
            json!({"text": "see https://e.com", "link_context": {
            "link_url": "https://e.com", "link_title": "E", "link_summary": "about"}}),
        ),
        item("like", json!("❤️")),
        item(
            "profile",
            json!({"pk": 7, "username": "z", "full_name": "Zed"}),
        ),
        item(
            "location",
            json!({"pk": 7, "name": "Here", "address": "1 Road",
            "lat": "1.5", "lng": 2.5}),
        ),
        item(
            "placeholder",
            json!({"title": "Unavailable", "message": "gone"}),
        ),
        json!({"item_id": "1", "item_type": "expired_placeholder"}),
        item(
            "action_log",
            json!({"description": "Bob named the group x", "bold": []}),
        ),
        item(
            "video_call_event",
            json!({"action": "video_call_started",
            "description": "Bob started a video chat"}),
        ),
        json!({"item_id": "1", "item_type": "hologram", "hologram": {"x": 1}}),
    ];
    items.extend(media_items());
    let mut seeds = bytes(items);
    // Ids beyond 64 bits as bare JSON numbers.
    seeds.push(
        br#"{"item_id":30000000000000000000000000000000001,"thread_id":340282366841710301244276158232444183473,"user_id":340282366841710301244276158232444183473,"item_type":"text","text":"big"}"#
            .to_vec(),
    );
    seeds
}
