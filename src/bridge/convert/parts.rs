//! What the Instagram → Matrix converters produce, shared by them: the parts to send (with
//! the media to fetch for them), the context they convert in, and how Instagram text renders
//! (mentions as pills, never markdown).

use serde_json::{Value, json};

use super::escape_html;

/// What kind of Matrix media event a source becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
    /// A voice message (MSC3245).
    Voice,
    /// A GIF: an animated image, or a looping silent video.
    Gif,
    Sticker,
}

/// Where to fetch a part's media, and what Instagram said about it.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaSource {
    pub url: String,
    pub kind: MediaKind,
    /// A still to use as the video's thumbnail (Instagram's cover image).
    pub thumbnail_url: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    /// Instagram's voice waveform (0..1 floats).
    pub waveform: Vec<f32>,
    /// What the notice says if the media cannot be fetched ("a photo", "a reel").
    pub what: String,
    /// A reel whose full video `GET clips/item/` gives (the preview is only a still).
    pub clip_id: Option<String>,
}

/// One Instagram user of the thread, as the converter needs to know them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownUser {
    pub pk: i64,
    pub username: String,
    /// The Matrix user id of their ghost.
    pub mxid: String,
    pub display_name: String,
}

/// What the converter needs besides the item.
#[derive(Debug, Clone, Default)]
pub struct MatrixCtx<'a> {
    /// The Matrix event the item replies to, if it is a reply to a bridged message.
    pub reply_to: Option<&'a str>,
    /// The thread's users, for mentions.
    pub users: &'a [KnownUser],
}

/// One Matrix event to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub event_type: &'static str,
    pub content: Value,
    /// Media to fetch, upload and fill in ([`super::media::fill_media`]) before sending.
    pub media: Option<MediaSource>,
}

pub fn message(msgtype: &str, body: String, html: Option<String>, mentions: Vec<String>) -> Value {
    let mut content = json!({ "msgtype": msgtype, "body": body });
    if let Some(html) = html {
        content["format"] = json!("org.matrix.custom.html");
        content["formatted_body"] = json!(html);
    }
    content["m.mentions"] = json!({ "user_ids": mentions });
    content
}

/// Renders Instagram text: `@username` of a known user becomes a mention pill.
pub fn render_text(text: &str, users: &[KnownUser]) -> (String, Option<String>, Vec<String>) {
    let mut html = String::with_capacity(text.len() + 32);
    let mut mentions = Vec::new();
    let mut pending = String::new();
    let mut chars = text.char_indices().peekable();
    let mut any_pill = false;
    while let Some((i, c)) = chars.next() {
        let at_word_start = i == 0
            || text[..i]
                .chars()
                .next_back()
                .is_some_and(|p| !(p.is_alphanumeric() || p == '_' || p == '.'));
        if c == '@' && at_word_start {
            let rest = &text[i + 1..];
            let len = rest
                .char_indices()
                .find(|(_, ch)| !(ch.is_ascii_alphanumeric() || *ch == '_' || *ch == '.'))
                .map(|(j, _)| j)
                .unwrap_or(rest.len());
            let name = rest[..len].trim_end_matches('.');
            if let Some(user) = users
                .iter()
                .find(|u| !name.is_empty() && u.username.eq_ignore_ascii_case(name))
            {
                html.push_str(&escape_html(&pending));
                pending.clear();
                html.push_str(&format!(
                    "<a href=\"https://matrix.to/#/{}\">{}</a>",
                    escape_html(&user.mxid),
                    escape_html(&user.display_name)
                ));
                if !mentions.contains(&user.mxid) {
                    mentions.push(user.mxid.clone());
                }
                any_pill = true;
                for _ in 0..name.chars().count() {
                    chars.next();
                }
                continue;
            }
        }
        pending.push(c);
    }
    html.push_str(&escape_html(&pending));
    let html = any_pill.then(|| html.replace('\n', "<br>"));
    (text.to_string(), html, mentions)
}
