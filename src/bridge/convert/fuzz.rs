//! Seeded mutation fuzzing of the conversions both ways (the stand-in for `cargo fuzz`, like
//! [`crate::instagram::realtime::fuzz`]):
//!
//! - [`Direction::ToInstagram`]: Matrix message content JSON → what is sent to Instagram
//!   ([`message_to_instagram`], the HTML reader, the reply-fallback stripper);
//! - [`Direction::ToMatrix`]: Instagram item JSON → Matrix parts ([`item_to_parts`], the media
//!   conversions, edits, reactions, uploads filled in).
//!
//! The inputs are external data, so no input may panic. A unit test runs a short version;
//! `scripts/fuzz to-instagram|to-matrix` runs it long (the `fuzz_convert` example).

use serde_json::Value;

use super::media::msc1767_waveform;
use super::media::{MediaSource, Thumbnail, Uploaded, fill_media};
use super::shares::{clip_id_of, post_link, story_link};
use super::to_instagram::{html_to_text, message_to_instagram, strip_reply_fallback};
use super::to_matrix::{
    KnownUser, MatrixCtx, Part, edit_content, item_to_parts, reaction_content, render_text,
};
use super::{client_context_for_event, escape_html, hash, txn};
use crate::fuzz::{Failure, Target};
use crate::instagram::types::{ItemKind, ThreadItem, parse_lossless};

mod hostile;
mod seeds;

/// Which conversion a run feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToInstagram,
    ToMatrix,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Direction::ToInstagram, Direction::ToMatrix];

    pub fn name(self) -> &'static str {
        match self {
            Direction::ToInstagram => "to-instagram",
            Direction::ToMatrix => "to-matrix",
        }
    }

    pub fn from_name(name: &str) -> Option<Direction> {
        Direction::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// The bridge's ghosts as the fuzzer sees them: `@instagram_<pk>:x` is user `<pk>`.
fn ghost(mxid: &str) -> Option<(i64, String)> {
    let pk: i64 = mxid
        .strip_prefix("@instagram_")?
        .strip_suffix(":x")?
        .parse()
        .ok()?;
    Some((pk, format!("user{pk}")))
}

/// Matrix → Instagram: the content as the bridge reads it, and the same bytes as a body and
/// as HTML.
pub fn exercise_to_instagram(data: &[u8]) {
    if let Ok(content) = serde_json::from_slice::<Value>(data) {
        let _ = message_to_instagram(&content, &ghost);
        if let Some(new) = content.get("m.new_content") {
            let _ = message_to_instagram(new, &ghost);
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = html_to_text(&text, &ghost);
    let _ = strip_reply_fallback(&text);
    let as_html = serde_json::json!({
        "msgtype": "m.text", "body": text, "format": "org.matrix.custom.html",
        "formatted_body": text, "m.relates_to": {"m.in_reply_to": {"event_id": text}},
    });
    let _ = message_to_instagram(&as_html, &ghost);
    let ts = data
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, i64::from_le_bytes);
    let _ = client_context_for_event(&text, ts);
    let _ = txn::send_status(&text);
}

fn known_users() -> Vec<KnownUser> {
    let user = |pk: i64, username: &str, display_name: &str| KnownUser {
        pk,
        username: username.into(),
        mxid: format!("@instagram_{pk}:x"),
        display_name: display_name.into(),
    };
    vec![
        user(42, "bob.b", "Bob (Instagram)"),
        user(5, "nasa", "<b>NASA</b> & co"),
        user(6, "", ""),
        user(7, "weird.user_", "€𝕏"),
    ]
}

/// What an upload of a media source might give, passing its (external) numbers through.
fn uploaded(src: &MediaSource) -> Uploaded {
    Uploaded {
        mxc: "mxc://hs/up".into(),
        file: None,
        mimetype: match src.url.len() % 4 {
            0 => "video/mp4",
            1 => "image/gif",
            2 => "audio/ogg",
            _ => "application/octet-stream",
        }
        .into(),
        size: src.url.len() as u64,
        width: src.width,
        height: src.height,
        duration_ms: src.duration_ms,
        waveform: msc1767_waveform(&src.waveform),
        thumbnail: src.thumbnail_url.as_ref().map(|t| Thumbnail {
            mxc: "mxc://hs/thumb".into(),
            file: None,
            mimetype: "image/jpeg".into(),
            size: t.len() as u64,
            width: src.width.unwrap_or(0),
            height: src.height.unwrap_or(0),
        }),
    }
}

/// A Matrix message event must have a text body.
fn check_part(part: &Part) {
    if matches!(part.event_type, "m.room.message" | "m.sticker") {
        assert!(
            part.content["body"].is_string(),
            "a part without body: {}",
            part.content
        );
    }
}

fn item_to_matrix(item: &ThreadItem, users: &[KnownUser]) {
    for reply_to in [None, Some("$reply")] {
        let ctx = MatrixCtx { reply_to, users };
        let parts = item_to_parts(item, &ctx);
        let _ = hash::content_hash(&parts);
        for (i, part) in parts.iter().enumerate() {
            check_part(part);
            let _ = edit_content("$orig", part);
            let _ = txn::item(item.item_id.as_str(), "@r:x", i);
            if let Some(src) = &part.media {
                let mut content = part.content.clone();
                fill_media(&mut content, src.kind, &uploaded(src));
            }
        }
    }
    let _ = item.timestamp_ms();
    if let ItemKind::MediaShare(m) = item.kind() {
        let _ = (post_link(m), story_link(m));
    }
    let pk = item.user_id.map(|p| p.get()).unwrap_or(0);
    for r in item.reactions.iter().flat_map(|r| r.emojis.iter()) {
        let emoji = r.emoji.as_deref().unwrap_or_default();
        let _ = reaction_content("$target", emoji);
        let _ = txn::reaction(
            item.item_id.as_str(),
            "@r:x",
            pk,
            emoji,
            r.timestamp.map(|t| t.0),
        );
    }
}

/// Instagram → Matrix: the item as read from HTTP JSON (lossless) and from an inbox row
/// (a JSON value), converted with and without a reply; the text alone through the mention
/// renderer and the link helpers.
pub fn exercise_to_matrix(data: &[u8]) {
    let users = known_users();
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(item) = parse_lossless::<ThreadItem>(text)
    {
        item_to_matrix(&item, &users);
    }
    if let Ok(value) = serde_json::from_slice::<Value>(data)
        && let Ok(item) = serde_json::from_value::<ThreadItem>(value)
    {
        item_to_matrix(&item, &users);
    }
    let text = String::from_utf8_lossy(data);
    let _ = render_text(&text, &users);
    let _ = clip_id_of(&text);
    let _ = escape_html(&text);
}

/// The longest hostile string the mutator plants.
pub const MAX_HOSTILE_LEN: usize = 256 * 1024;

/// The built-in seeds of a direction (add [`crate::fuzz::json_seeds_in`] of the fixtures for
/// Instagram items).
pub fn builtin_seeds(direction: Direction) -> Vec<Vec<u8>> {
    match direction {
        Direction::ToInstagram => seeds::matrix_contents(),
        Direction::ToMatrix => seeds::instagram_items(),
    }
}

/// Runs the seeds, then `iterations` mutated inputs, through one direction.
pub fn run(
    direction: Direction,
    seeds: &[Vec<u8>],
    iterations: u64,
    seed: u64,
    max_len: usize,
) -> Result<(), Failure> {
    let mutate = hostile::mutator(max_len);
    let exercise: &dyn Fn(&[u8]) = match direction {
        Direction::ToInstagram => &exercise_to_instagram,
        Direction::ToMatrix => &exercise_to_matrix,
    };
    let target = Target {
        mutate: &mutate,
        exercise,
    };
    crate::fuzz::run(&target, seeds, iterations, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short_run(direction: Direction, seeds: Vec<Vec<u8>>, iterations: u64) {
        if let Err(f) = run(direction, &seeds, iterations, 0x5eed, 64 * 1024) {
            let shown = &f.input[..f.input.len().min(2048)];
            panic!(
                "{} iteration {}: {} on {} ({} bytes)",
                direction.name(),
                f.iteration,
                f.message,
                shown.escape_ascii(),
                f.input.len()
            );
        }
    }

    /// Short run over the built-in Matrix contents (the example runs it long).
    #[test]
    fn matrix_to_instagram_never_panics_short_run() {
        short_run(
            Direction::ToInstagram,
            builtin_seeds(Direction::ToInstagram),
            4000,
        );
    }

    /// Short run over the built-in items and every item of the recorded payloads.
    #[test]
    fn instagram_to_matrix_never_panics_short_run() {
        let mut seeds = builtin_seeds(Direction::ToMatrix);
        let fixtures = crate::instagram::test_fixtures::path("");
        seeds.extend(
            crate::fuzz::json_seeds_in(&fixtures)
                .into_iter()
                .filter(|s| s.windows(11).any(|w| w == b"\"item_type\"")),
        );
        assert!(seeds.len() > 40, "{} seeds", seeds.len());
        short_run(Direction::ToMatrix, seeds, 2500);
    }

    #[test]
    fn the_issue_12_input_is_a_seed_and_converts() {
        let seed = br#"{"msgtype":"m.text","body":"x","format":"org.matrix.custom.html","formatted_body":"<a href=\"https://matrix.to/#/%a\u20ac\">x</a>"}"#;
        exercise_to_instagram(seed);
        assert!(
            builtin_seeds(Direction::ToInstagram)
                .iter()
                .any(|s| String::from_utf8_lossy(s).contains("%a€"))
        );
    }
}
