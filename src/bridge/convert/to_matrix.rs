//! Instagram item → Matrix event contents.
//!
//! Text is never interpreted as markdown: the plain body is Instagram's text, and HTML is only
//! produced (escaped) when a mention pill needs it. Items the bridge cannot render yet become a
//! clear text saying what they were, never silence.

use serde_json::{Value, json};

use super::parts::message;
pub use super::parts::{KnownUser, MatrixCtx, Part, render_text};
use super::{media, shares};
use crate::instagram::types::{ItemKind, Link, Location, ThreadItem};

fn with_reply(mut content: Value, reply_to: Option<&str>) -> Value {
    if let Some(event_id) = reply_to {
        content["m.relates_to"] = json!({ "m.in_reply_to": { "event_id": event_id } });
    }
    content
}

fn text_part(text: &str, ctx: &MatrixCtx<'_>) -> Part {
    let (body, html, mentions) = render_text(text, ctx.users);
    Part {
        event_type: "m.room.message",
        content: with_reply(message("m.text", body, html, mentions), ctx.reply_to),
        media: None,
    }
}

fn notice_part(text: String, ctx: &MatrixCtx<'_>) -> Part {
    Part {
        event_type: "m.room.message",
        content: with_reply(message("m.notice", text, None, vec![]), ctx.reply_to),
        media: None,
    }
}

/// A link message: its text, with Beeper's link preview when Instagram sent one.
fn link_part(link: &Link, ctx: &MatrixCtx<'_>) -> Part {
    let lc = link.link_context.as_ref();
    let url = lc
        .and_then(|c| c.link_url.clone())
        .filter(|u| !u.is_empty());
    let text = link
        .text
        .clone()
        .filter(|t| !t.is_empty())
        .or_else(|| url.clone())
        .unwrap_or_default();
    let mut part = text_part(&text, ctx);
    if let (Some(url), Some(lc)) = (url, lc)
        && (lc.link_title.is_some() || lc.link_summary.is_some())
    {
        let mut preview = json!({ "matched_url": url, "og:url": url });
        if let Some(t) = lc.link_title.as_deref().filter(|t| !t.is_empty()) {
            preview["og:title"] = json!(t);
        }
        if let Some(d) = lc.link_summary.as_deref().filter(|d| !d.is_empty()) {
            preview["og:description"] = json!(d);
        }
        part.content["com.beeper.linkpreviews"] = json!([preview]);
    }
    part
}

/// A shared location: `m.location` when it has coordinates, else its name as text.
fn location_part(loc: &Location, ctx: &MatrixCtx<'_>) -> Part {
    let name = loc
        .name
        .clone()
        .or_else(|| loc.short_name.clone())
        .unwrap_or_else(|| "a place".into());
    let mut body = format!("Shared a location: {name}");
    if let Some(address) = loc.address.as_deref().filter(|a| !a.is_empty()) {
        body.push_str(&format!(", {address}"));
    }
    if let Some(pk) = loc.pk.as_deref().filter(|p| !p.is_empty()) {
        body.push_str(&format!(
            "\nhttps://www.instagram.com/explore/locations/{pk}/"
        ));
    }
    match (loc.lat, loc.lng) {
        (Some(lat), Some(lng)) if lat.is_finite() && lng.is_finite() => {
            let geo = format!("geo:{lat},{lng}");
            Part {
                event_type: "m.room.message",
                content: with_reply(
                    json!({
                        "msgtype": "m.location",
                        "body": body,
                        "geo_uri": geo,
                        "org.matrix.msc3488.location": { "uri": geo, "description": name },
                        "m.mentions": {},
                    }),
                    ctx.reply_to,
                ),
                media: None,
            }
        }
        _ => notice_part(body, ctx),
    }
}

/// Converts an item to the Matrix events that represent it (usually one; shares carry their
/// media and a text with the link). Media parts are completed by the bridge after upload.
pub fn item_to_parts(item: &ThreadItem, ctx: &MatrixCtx<'_>) -> Vec<Part> {
    let part = match item.kind() {
        ItemKind::Text(text) => text_part(text, ctx),
        ItemKind::Link(link) => link_part(link, ctx),
        ItemKind::Like(like) => text_part(like, ctx),
        ItemKind::Media(m) => return media::direct_media(m, ctx),
        ItemKind::RavenMedia(v) => return media::raven(v, ctx),
        ItemKind::Voice(v) => return media::voice(v, ctx),
        ItemKind::AnimatedMedia(a) => return media::animated(a, ctx),
        ItemKind::MediaShare(m) => return shares::post_share(m, None, ctx),
        ItemKind::DirectMediaShare(d) => return shares::direct_share(d, ctx),
        ItemKind::Clip(c) => return shares::clip(c, ctx),
        ItemKind::StoryShare(s) => return shares::story(s, ctx),
        ItemKind::ReelShare(r) => return shares::reel_share(r, ctx),
        ItemKind::Xma(t, entries) => return shares::xma(t, entries, ctx),
        ItemKind::ActionLog(log) => notice_part(
            log.description
                .clone()
                .unwrap_or_else(|| "(group event)".into()),
            ctx,
        ),
        ItemKind::Placeholder(p) => {
            let title = p.title.clone().unwrap_or_default();
            let message = p.message.clone().unwrap_or_default();
            let text = match (title.is_empty(), message.is_empty()) {
                (false, false) => format!("{title}: {message}"),
                (false, true) => title,
                (true, false) => message,
                (true, true) => "This message is unavailable on Instagram.".into(),
            };
            notice_part(text, ctx)
        }
        ItemKind::ExpiredPlaceholder => notice_part("This message has expired.".into(), ctx),
        ItemKind::VideoCallEvent(call) => notice_part(
            call.description
                .clone()
                .unwrap_or_else(|| "Video call event".into()),
            ctx,
        ),
        ItemKind::Profile(user) => {
            let name = user.full_name.as_deref().filter(|n| !n.is_empty());
            notice_part(
                match name {
                    Some(n) => format!(
                        "Shared a profile: {n} (@{u}) https://www.instagram.com/{u}/",
                        u = user.username
                    ),
                    None => format!(
                        "Shared a profile: @{u} https://www.instagram.com/{u}/",
                        u = user.username
                    ),
                },
                ctx,
            )
        }
        ItemKind::Location(loc) => location_part(loc, ctx),
        other => {
            let what = describe_kind(&other, item);
            notice_part(
                format!(
                    "{what} — this kind of Instagram message can't be shown here yet; open Instagram to see it."
                ),
                ctx,
            )
        }
    };
    vec![part]
}

fn describe_kind(kind: &ItemKind<'_>, item: &ThreadItem) -> String {
    match kind {
        ItemKind::Unknown { item_type, .. } if !item_type.is_empty() => {
            format!("Unsupported Instagram message type `{item_type}`")
        }
        _ => format!(
            "Unsupported Instagram message{}",
            item.item_type
                .as_deref()
                .map(|t| format!(" type `{t}`"))
                .unwrap_or_default()
        ),
    }
}

/// The content of an edit (`m.replace`) of `original_event` to the new first part.
pub fn edit_content(original_event: &str, new: &Part) -> Value {
    let mut new_content = new.content.clone();
    if let Some(obj) = new_content.as_object_mut() {
        obj.remove("m.relates_to");
    }
    let body = new_content["body"].as_str().unwrap_or_default().to_string();
    let mut content = json!({
        "msgtype": new_content["msgtype"].clone(),
        "body": format!("* {body}"),
        "m.new_content": new_content,
        "m.relates_to": { "rel_type": "m.replace", "event_id": original_event },
    });
    if let Some(html) = content["m.new_content"]["formatted_body"].as_str() {
        let html = format!("* {html}");
        content["format"] = json!("org.matrix.custom.html");
        content["formatted_body"] = json!(html);
    }
    content
}

/// The content of a reaction to `target_event`.
pub fn reaction_content(target_event: &str, emoji: &str) -> Value {
    json!({
        "m.relates_to": { "rel_type": "m.annotation", "event_id": target_event, "key": emoji }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: &str) -> ThreadItem {
        serde_json::from_str(json).unwrap()
    }

    fn users() -> Vec<KnownUser> {
        vec![KnownUser {
            pk: 42,
            username: "bob.b".into(),
            mxid: "@instagram_42:x".into(),
            display_name: "Bob (Instagram)".into(),
        }]
    }

    #[test]
    fn plain_text_stays_plain_and_is_never_markdown() {
        let i = item(
            r#"{"item_id":"1","item_type":"text","text":"*not bold* <b>x</b> https://a.b/c_d"}"#,
        );
        let parts = item_to_parts(&i, &MatrixCtx::default());
        assert_eq!(parts.len(), 1);
        let c = &parts[0].content;
        assert_eq!(c["msgtype"], "m.text");
        assert_eq!(c["body"], "*not bold* <b>x</b> https://a.b/c_d");
        assert!(c.get("formatted_body").is_none());
    }

    #[test]
    fn mentions_become_pills_with_escaped_text() {
        let u = users();
        let i = item(r#"{"item_id":"1","item_type":"text","text":"hi @bob.b & @nobody <3\nbye"}"#);
        let parts = item_to_parts(
            &i,
            &MatrixCtx {
                reply_to: None,
                users: &u,
            },
        );
        let c = &parts[0].content;
        assert_eq!(c["body"], "hi @bob.b & @nobody <3\nbye");
        assert_eq!(
            c["formatted_body"],
            "hi <a href=\"https://matrix.to/#/@instagram_42:x\">Bob (Instagram)</a> &amp; @nobody &lt;3<br>bye"
        );
        assert_eq!(c["m.mentions"]["user_ids"], json!(["@instagram_42:x"]));
    }

    #[test]
    fn email_addresses_are_not_mentions() {
        let u = users();
        let (_, html, mentions) = render_text("mail me@bob.b", &u);
        assert!(html.is_none());
        assert!(mentions.is_empty());
    }

    #[test]
    fn replies_carry_the_relation() {
        let i = item(r#"{"item_id":"1","item_type":"like","like":"❤️"}"#);
        let parts = item_to_parts(
            &i,
            &MatrixCtx {
                reply_to: Some("$orig"),
                users: &[],
            },
        );
        let c = &parts[0].content;
        assert_eq!(c["body"], "❤️");
        assert_eq!(c["m.relates_to"]["m.in_reply_to"]["event_id"], "$orig");
    }

    #[test]
    fn special_items_become_notices() {
        let cases = [
            (
                r#"{"item_id":"1","item_type":"action_log","action_log":{"description":"Bob named the group x"}}"#,
                "Bob named the group x",
            ),
            (
                r#"{"item_id":"1","item_type":"placeholder","placeholder":{"title":"Unavailable","message":"This story is unavailable"}}"#,
                "Unavailable: This story is unavailable",
            ),
            (
                r#"{"item_id":"1","item_type":"video_call_event","video_call_event":{"action":"video_call_started","description":"Bob started a video chat"}}"#,
                "Bob started a video chat",
            ),
        ];
        for (json, want) in cases {
            let parts = item_to_parts(&item(json), &MatrixCtx::default());
            assert_eq!(parts[0].content["msgtype"], "m.notice", "{json}");
            assert_eq!(parts[0].content["body"], want, "{json}");
        }
    }

    #[test]
    fn unknown_items_say_what_they_were() {
        let i = item(r#"{"item_id":"1","item_type":"hologram","hologram":{"x":1}}"#);
        let parts = item_to_parts(&i, &MatrixCtx::default());
        let body = parts[0].content["body"].as_str().unwrap();
        assert!(body.contains("`hologram`"), "{body}");
        assert!(body.contains("open Instagram"), "{body}");
    }

    #[test]
    fn edits_wrap_the_new_content() {
        let i = item(r#"{"item_id":"1","item_type":"text","text":"fixed"}"#);
        let parts = item_to_parts(
            &i,
            &MatrixCtx {
                reply_to: Some("$r"),
                users: &[],
            },
        );
        let e = edit_content("$orig", &parts[0]);
        assert_eq!(e["body"], "* fixed");
        assert_eq!(e["m.new_content"]["body"], "fixed");
        assert!(e["m.new_content"].get("m.relates_to").is_none());
        assert_eq!(
            e["m.relates_to"],
            json!({"rel_type":"m.replace","event_id":"$orig"})
        );
    }

    #[test]
    fn reactions_are_annotations() {
        assert_eq!(
            reaction_content("$e", "😂"),
            json!({"m.relates_to":{"rel_type":"m.annotation","event_id":"$e","key":"😂"}})
        );
    }
}
