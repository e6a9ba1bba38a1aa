//! Shares → Matrix parts (pure): posts, reels, stories and XMA cards. Each brings its media
//! (through [`super::media`]) and a text part with the caption, the author and the canonical
//! `https://www.instagram.com/...` link.

use serde_json::Value;

use super::media::{caption_of, dim, media_part, media_parts, text};
use super::parts::{MatrixCtx, MediaKind, MediaSource, Part};
use crate::instagram::types::{ClipShare, DirectMediaShare, Media, ReelShare, StoryShare, Xma};

/// The reel's media id for `clips/item/?clips_media_id=`: the `<media_id>` of the
/// `…?id=<media_id>_<owner_id>` in an XMA share's `target_url` (docs/PROTOCOL.md G).
pub fn clip_id_of(target_url: &str) -> Option<String> {
    let url = url::Url::parse(target_url).ok()?;
    let id = url
        .query_pairs()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.into_owned())?;
    let (media, owner) = id.split_once('_').unwrap_or((&id, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(media) && digits(owner)).then(|| media.to_string())
}

/// The canonical link of a post or reel.
pub fn post_link(media: &Media) -> Option<String> {
    let code = media.code.as_deref().filter(|c| !c.is_empty())?;
    let reel = media.product_type.as_deref() == Some("clips");
    Some(if reel {
        format!("https://www.instagram.com/reel/{code}/")
    } else {
        format!("https://www.instagram.com/p/{code}/")
    })
}

fn media_pk(media: &Media) -> Option<String> {
    media
        .pk
        .clone()
        .or_else(|| {
            media
                .id
                .as_deref()
                .map(|id| id.split('_').next().unwrap_or(id).to_string())
        })
        .filter(|pk| !pk.is_empty())
}

/// The canonical link of a story.
pub fn story_link(media: &Media) -> Option<String> {
    let user = media.user.as_ref()?;
    match media_pk(media) {
        Some(pk) => Some(format!(
            "https://www.instagram.com/stories/{}/{pk}/",
            user.username
        )),
        None => Some(format!(
            "https://www.instagram.com/stories/{}/",
            user.username
        )),
    }
}

fn author(media: &Media) -> Option<String> {
    media
        .user
        .as_ref()
        .map(|u| u.username.clone())
        .filter(|u| !u.is_empty())
}

/// The text that goes with a shared post or reel: what it is, by whom, caption, link.
fn share_text(label: &str, media: &Media, note: Option<&str>, link: Option<String>) -> String {
    let mut out = match author(media) {
        Some(a) => format!("{label} by @{a}"),
        None => label.to_string(),
    };
    if let Some(caption) = caption_of(media) {
        out.push_str(":\n");
        out.push_str(&caption);
    }
    if let Some(note) = note.map(str::trim).filter(|n| !n.is_empty()) {
        out.push_str("\n\n");
        out.push_str(note);
    }
    if let Some(link) = link {
        out.push('\n');
        out.push_str(&link);
    }
    out
}

/// `media_share`: a shared post (all carousel items), then its caption, author and link.
pub fn post_share(media: &Media, note: Option<&str>, ctx: &MatrixCtx<'_>) -> Vec<Part> {
    let label = if media.product_type.as_deref() == Some("clips") {
        "Shared a reel"
    } else {
        "Shared a post"
    };
    let mut parts = media_parts(media, ctx);
    parts.push(text(
        share_text(label, media, note, post_link(media)),
        ctx,
        false,
    ));
    parts
}

/// `direct_media_share`.
pub fn direct_share(share: &DirectMediaShare, ctx: &MatrixCtx<'_>) -> Vec<Part> {
    match share.media.as_ref() {
        Some(media) => post_share(media, share.text.as_deref(), ctx),
        None => vec![text(
            "Shared a post that is no longer available.".into(),
            ctx,
            true,
        )],
    }
}

/// `clip`: a shared reel, as its full video.
pub fn clip(clip: &ClipShare, ctx: &MatrixCtx<'_>) -> Vec<Part> {
    match clip.clip.as_ref() {
        Some(media) => {
            let mut parts = media_parts(media, ctx);
            let link = media
                .code
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(|c| format!("https://www.instagram.com/reel/{c}/"));
            parts.push(text(
                share_text("Shared a reel", media, None, link),
                ctx,
                false,
            ));
            parts
        }
        None => vec![text(
            "Shared a reel that is no longer available.".into(),
            ctx,
            true,
        )],
    }
}

/// `story_share`.
pub fn story(share: &StoryShare, ctx: &MatrixCtx<'_>) -> Vec<Part> {
    match share.media.as_ref() {
        Some(media) => {
            let mut parts = media_parts(media, ctx);
            parts.push(text(
                share_text(
                    "Shared a story",
                    media,
                    share.text.as_deref(),
                    story_link(media),
                ),
                ctx,
                false,
            ));
            parts
        }
        None => {
            let why = share
                .message
                .clone()
                .or_else(|| share.title.clone())
                .unwrap_or_else(|| "it has expired".into());
            vec![text(
                format!("Shared a story that is no longer available ({why})."),
                ctx,
                true,
            )]
        }
    }
}

/// `reel_share`: a reply to, reaction to, or mention in a story.
pub fn reel_share(share: &ReelShare, ctx: &MatrixCtx<'_>) -> Vec<Part> {
    let emoji = share
        .reaction_info
        .as_ref()
        .and_then(|r| r.get("emoji"))
        .and_then(Value::as_str);
    let label = match (share.kind.as_deref(), emoji) {
        (Some("reaction"), Some(e)) => format!("Reacted {e} to a story"),
        (Some("reaction"), None) => "Reacted to a story".to_string(),
        (Some("mention"), _) => "Mentioned you in a story".to_string(),
        _ => "Replied to a story".to_string(),
    };
    let Some(media) = share.media.as_ref() else {
        let mut body = format!("{label} (the story is no longer available)");
        if let Some(t) = share.text.as_deref().filter(|t| !t.trim().is_empty()) {
            body.push_str(":\n");
            body.push_str(t);
        }
        return vec![text(body, ctx, false)];
    };
    let mut parts = media_parts(media, ctx);
    let mut body = match author(media) {
        Some(a) => format!("{label} by @{a}"),
        None => label,
    };
    if let Some(link) = story_link(media) {
        body.push_str(&format!(" ({link})"));
    }
    if let Some(t) = share.text.as_deref().filter(|t| !t.trim().is_empty()) {
        body.push_str(":\n");
        body.push_str(t);
    }
    parts.push(text(body, ctx, false));
    parts
}

/// `xma_*` shares: the preview (as image or video), then title, caption and link.
pub fn xma(item_type: &str, entries: &[Xma], ctx: &MatrixCtx<'_>) -> Vec<Part> {
    let what = match item_type {
        "xma_clip" | "xma_reel_share" => "a reel",
        "xma_story_share" => "a story",
        "xma_reel_mention" => "a story mention",
        "xma_profile" => "a profile",
        "avatar_sticker" => "a sticker",
        "xma_media_share" => "a post",
        _ => "a link",
    };
    if entries.is_empty() {
        return vec![text(
            format!("Shared {what} that is no longer available."),
            ctx,
            true,
        )];
    }
    let mut parts = Vec::new();
    for x in entries {
        if let Some(url) = x.preview().filter(|u| !u.is_empty()) {
            let video = x
                .preview_url_mime_type
                .as_deref()
                .is_some_and(|m| m.starts_with("video/"));
            let kind = if item_type == "avatar_sticker" {
                MediaKind::Sticker
            } else if video {
                MediaKind::Video
            } else {
                MediaKind::Image
            };
            let info = x.preview_url_info.as_ref();
            let reel = matches!(item_type, "xma_clip" | "xma_reel_share");
            let clip_id = x
                .target_url
                .as_deref()
                .filter(|_| reel)
                .and_then(clip_id_of);
            parts.push(media_part(
                MediaSource {
                    url: url.to_string(),
                    kind,
                    thumbnail_url: None,
                    width: dim(x.preview_width).or(info.and_then(|i| dim(i.width))),
                    height: dim(x.preview_height).or(info.and_then(|i| dim(i.height))),
                    duration_ms: None,
                    waveform: vec![],
                    what: what.to_string(),
                    clip_id,
                },
                ctx,
            ));
        }
        let mut body = format!("Shared {what}");
        if let Some(h) = x
            .header_title_text
            .as_deref()
            .or(x.title_text.as_deref())
            .filter(|h| !h.is_empty())
        {
            body.push_str(&format!(" by {h}"));
        }
        if let Some(c) = x
            .caption_body_text
            .as_deref()
            .or(x.subtitle_text.as_deref())
            .filter(|c| !c.trim().is_empty())
        {
            body.push_str(":\n");
            body.push_str(c.trim());
        }
        match x.target_url.as_deref().filter(|u| !u.is_empty()) {
            Some(link) => {
                body.push('\n');
                body.push_str(link);
            }
            None if x.preview().is_none() => body.push_str(" (no longer available)"),
            None => {}
        }
        if item_type != "avatar_sticker" {
            parts.push(text(body, ctx, false));
        }
    }
    parts
}
