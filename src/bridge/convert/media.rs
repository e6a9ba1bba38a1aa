//! Instagram media items → Matrix parts (pure). A media part carries a [`MediaSource`]: the
//! bridge downloads it, uploads it to the homeserver and completes the content with
//! [`fill_media`]. Shares of posts, reels and stories always come with a text part holding the
//! caption, the author and the canonical `https://www.instagram.com/...` link.

use serde_json::{Value, json};

use super::parts::{MatrixCtx, Part, render_text};
pub use super::parts::{MediaKind, MediaSource};
use crate::instagram::types::{AnimatedMedia, Media, VisualMedia, VoiceMedia};

/// What the homeserver upload produced, to complete a media part.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Uploaded {
    pub mxc: String,
    /// In an encrypted room, the `EncryptedFile` that replaces `url`.
    pub file: Option<Value>,
    pub mimetype: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    /// MSC1767 waveform, 0..=1024.
    pub waveform: Vec<u16>,
    pub thumbnail: Option<Thumbnail>,
}

/// An uploaded thumbnail.
#[derive(Debug, Clone, PartialEq)]
pub struct Thumbnail {
    pub mxc: String,
    /// In an encrypted room, the `EncryptedFile` that replaces `thumbnail_url`.
    pub file: Option<Value>,
    pub mimetype: String,
    pub size: u64,
    pub width: u32,
    pub height: u32,
}

pub(super) fn dim(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok()).filter(|v| *v > 0)
}

pub(super) fn media_part(source: MediaSource, ctx: &MatrixCtx<'_>) -> Part {
    let (event_type, msgtype, body) = match source.kind {
        MediaKind::Image => ("m.room.message", Some("m.image"), "photo"),
        MediaKind::Video => ("m.room.message", Some("m.video"), "video"),
        MediaKind::Voice => ("m.room.message", Some("m.audio"), "Voice message"),
        MediaKind::Gif => ("m.room.message", Some("m.image"), "GIF"),
        MediaKind::Sticker => ("m.sticker", None, "sticker"),
    };
    let mut content = json!({ "body": body, "info": {} });
    if let Some(msgtype) = msgtype {
        content["msgtype"] = json!(msgtype);
    }
    if let Some(event_id) = ctx.reply_to {
        content["m.relates_to"] = json!({ "m.in_reply_to": { "event_id": event_id } });
    }
    Part {
        event_type,
        content,
        media: Some(source),
    }
}

/// Completes a media part's content once its file is on the homeserver.
pub fn fill_media(content: &mut Value, kind: MediaKind, up: &Uploaded) {
    let ext = extension_for(&up.mimetype);
    let stem = match kind {
        MediaKind::Image => "photo",
        MediaKind::Video => "video",
        MediaKind::Voice => "voice",
        MediaKind::Gif => "gif",
        MediaKind::Sticker => "sticker",
    };
    let filename = format!("{stem}.{ext}");
    if kind != MediaKind::Voice {
        content["body"] = json!(filename);
    }
    content["filename"] = json!(filename);
    // A GIF that came as a video plays as a looping video.
    if kind == MediaKind::Gif && up.mimetype.starts_with("video/") {
        content["msgtype"] = json!("m.video");
    }
    match &up.file {
        Some(file) => content["file"] = file.clone(),
        None => content["url"] = json!(up.mxc),
    }
    let mut info = json!({ "mimetype": up.mimetype, "size": up.size });
    if let Some(w) = up.width {
        info["w"] = json!(w);
    }
    if let Some(h) = up.height {
        info["h"] = json!(h);
    }
    if let Some(d) = up.duration_ms {
        info["duration"] = json!(d);
    }
    if let Some(t) = &up.thumbnail {
        match &t.file {
            Some(file) => info["thumbnail_file"] = file.clone(),
            None => info["thumbnail_url"] = json!(t.mxc),
        }
        info["thumbnail_info"] =
            json!({ "mimetype": t.mimetype, "size": t.size, "w": t.width, "h": t.height });
    }
    if kind == MediaKind::Gif {
        // Beeper's and mautrix's markers for "show this as a GIF".
        info["fi.mau.gif"] = json!(true);
        info["fi.mau.loop"] = json!(true);
        info["fi.mau.autoplay"] = json!(true);
        info["fi.mau.hide_controls"] = json!(true);
        info["fi.mau.no_audio"] = json!(true);
    }
    content["info"] = info;
    if kind == MediaKind::Voice {
        content["org.matrix.msc3245.voice"] = json!({});
        let mut audio = json!({ "duration": up.duration_ms.unwrap_or(0) });
        if !up.waveform.is_empty() {
            audio["waveform"] = json!(up.waveform);
        }
        content["org.matrix.msc1767.audio"] = audio;
        content["org.matrix.msc1767.text"] = json!("Voice message");
    }
}

/// A file extension for a mimetype the bridge handles.
pub fn extension_for(mimetype: &str) -> &'static str {
    match mimetype {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "audio/ogg" => "ogg",
        "audio/mp4" | "audio/x-m4a" | "audio/m4a" => "m4a",
        "audio/mpeg" => "mp3",
        _ => "bin",
    }
}

/// Instagram's 0..1 waveform as MSC1767's 0..=1024 integers.
pub fn msc1767_waveform(samples: &[f32]) -> Vec<u16> {
    samples
        .iter()
        .map(|s| {
            if s.is_finite() {
                (s.clamp(0.0, 1.0) * 1024.0).round() as u16
            } else {
                0
            }
        })
        .collect()
}

/// A photo or video of a media object; `None` when it has nothing to download.
pub fn source_of(media: &Media, what: &str) -> Option<MediaSource> {
    let image = media.best_image();
    if let Some(video) = media.best_video() {
        return Some(MediaSource {
            url: video.url.clone(),
            kind: MediaKind::Video,
            thumbnail_url: image.map(|i| i.url.clone()),
            width: dim(video.width).or(dim(media.original_width)),
            height: dim(video.height).or(dim(media.original_height)),
            duration_ms: media
                .video_duration
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| (d * 1000.0).round() as u64),
            waveform: vec![],
            what: what.to_string(),
            clip_id: None,
        });
    }
    let image = image?;
    Some(MediaSource {
        url: image.url.clone(),
        kind: MediaKind::Image,
        thumbnail_url: None,
        width: dim(image.width).or(dim(media.original_width)),
        height: dim(image.height).or(dim(media.original_height)),
        duration_ms: None,
        waveform: vec![],
        what: what.to_string(),
        clip_id: None,
    })
}

pub(super) fn what_of(media: &Media) -> &'static str {
    if media.best_video().is_some() {
        "a video"
    } else {
        "a photo"
    }
}

/// The media's own parts: one per carousel child, else one.
pub(super) fn media_parts(media: &Media, ctx: &MatrixCtx<'_>) -> Vec<Part> {
    let children: Vec<&Media> = if media.carousel_media.is_empty() {
        vec![media]
    } else {
        media.carousel_media.iter().collect()
    };
    children
        .into_iter()
        .filter_map(|m| source_of(m, what_of(m)))
        .map(|s| media_part(s, ctx))
        .collect()
}

pub(super) fn caption_of(media: &Media) -> Option<String> {
    let text = match media.caption.as_ref()? {
        Value::String(s) => s.clone(),
        Value::Object(o) => o.get("text")?.as_str()?.to_string(),
        _ => return None,
    };
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(text)
}

pub(super) fn text(body: String, ctx: &MatrixCtx<'_>, notice: bool) -> Part {
    let (body, html, mentions) = render_text(&body, ctx.users);
    let mut content = json!({
        "msgtype": if notice { "m.notice" } else { "m.text" },
        "body": body,
        "m.mentions": { "user_ids": mentions },
    });
    if let Some(html) = html {
        content["format"] = json!("org.matrix.custom.html");
        content["formatted_body"] = json!(html);
    }
    Part {
        event_type: "m.room.message",
        content,
        media: None,
    }
}

/// `media`: a photo or video sent in the chat.
pub fn direct_media(media: &Media, ctx: &MatrixCtx<'_>) -> Vec<Part> {
    let parts = media_parts(media, ctx);
    if parts.is_empty() {
        return vec![text(
            "Sent a photo or video that Instagram gave no file for; open Instagram to see it."
                .into(),
            ctx,
            true,
        )];
    }
    parts
}

/// `raven_media`: disappearing photo or video.
pub fn raven(visual: &VisualMedia, ctx: &MatrixCtx<'_>) -> Vec<Part> {
    let once = match visual.view_mode.as_deref() {
        Some("once") => "a view-once",
        Some("replayable") => "a replayable disappearing",
        _ => "a disappearing",
    };
    let media = visual.media.as_ref().filter(|m| m.id.is_some());
    let Some(parts) = media.map(|m| media_parts(m, ctx)).filter(|p| !p.is_empty()) else {
        return vec![text(
            format!("Sent {once} photo or video, which has expired or was already viewed."),
            ctx,
            true,
        )];
    };
    let mut out = vec![text(
        format!("Sent {once} photo or video (it disappears on Instagram after viewing):"),
        ctx,
        true,
    )];
    out.extend(parts);
    out
}

/// `voice_media`.
pub fn voice(voice: &VoiceMedia, ctx: &MatrixCtx<'_>) -> Vec<Part> {
    let audio = voice.media.as_ref().and_then(|m| m.audio.as_ref());
    let Some(src) = audio
        .and_then(|a| a.audio_src.clone())
        .filter(|s| !s.is_empty())
    else {
        return vec![text(
            "Sent a voice message that is no longer available.".into(),
            ctx,
            true,
        )];
    };
    let audio = audio.cloned().unwrap_or_default();
    vec![media_part(
        MediaSource {
            url: src,
            kind: MediaKind::Voice,
            thumbnail_url: None,
            width: None,
            height: None,
            duration_ms: audio
                .duration
                .and_then(|d| u64::try_from(d).ok())
                .filter(|d| *d > 0),
            waveform: audio.waveform_data.iter().map(|v| *v as f32).collect(),
            what: "a voice message".into(),
            clip_id: None,
        },
        ctx,
    )]
}

/// `animated_media`: a GIF or sticker. Prefers the GIF itself (Element animates it), then the
/// WebP, then the MP4 (sent as a looping silent video).
pub fn animated(anim: &AnimatedMedia, ctx: &MatrixCtx<'_>) -> Vec<Part> {
    let fh = anim.images.as_ref().and_then(|i| i.fixed_height.as_ref());
    let url = fh.and_then(|f| {
        f.url
            .clone()
            .or_else(|| f.webp.clone())
            .or_else(|| f.mp4.clone())
    });
    let Some(url) = url.filter(|u| !u.is_empty()) else {
        return vec![text(
            "Sent a GIF that is no longer available.".into(),
            ctx,
            true,
        )];
    };
    let sticker = anim.is_sticker == Some(true);
    vec![media_part(
        MediaSource {
            url,
            kind: if sticker {
                MediaKind::Sticker
            } else {
                MediaKind::Gif
            },
            thumbnail_url: None,
            width: fh.and_then(|f| dim(f.width)),
            height: fh.and_then(|f| dim(f.height)),
            duration_ms: None,
            waveform: vec![],
            what: if sticker { "a sticker" } else { "a GIF" }.into(),
            clip_id: None,
        },
        ctx,
    )]
}

#[cfg(test)]
mod tests;
