//! Relay mode: in a group portal with a relay set (`set-relay`), a message of a member without
//! their own Instagram login goes out through the relay's account, its text formatted by
//! `bridge.relay.message_formats` (the sender's name first); media go as they are with that
//! text as their caption. Reactions, edits and redactions of relayed members are refused with
//! a notice: Instagram would show them as the relay's. Private chats are never relayed.

use std::sync::Arc;

use ruma::UserId;
use serde_json::{Map, Value, json};

use super::{Send, delivery, text};
use crate::bridge::Bridge;
use crate::bridge::convert::to_instagram::strip_reply_fallback;
use crate::bridge::error::ApplyError;
use crate::bridge::user::IgUser;
use crate::config::PermissionLevel;
use crate::config::relay::RelayValues;
use crate::store::portals::PortalRow;

/// The relay's account, when `sender` (who has no login of their own here) may be relayed in
/// this portal.
pub async fn relay_for(
    bridge: &Bridge,
    portal: &PortalRow,
    sender: &UserId,
) -> Option<Arc<IgUser>> {
    if !portal.is_group || !bridge.config.bridge.relay.enabled {
        return None;
    }
    if bridge.permission(sender) < Some(PermissionLevel::Relay) {
        return None;
    }
    let relay = portal.relay_user.as_deref()?;
    bridge.login_for_portal(relay, portal).await
}

/// Sends a relayed member's event (a message or sticker), or refuses it with a notice.
pub async fn apply(
    send: &Send<'_>,
    kind: &str,
    sender: &UserId,
    content: &Value,
) -> Result<(), ApplyError> {
    let is_edit = content
        .get("m.relates_to")
        .and_then(|r| r.get("rel_type"))
        .and_then(Value::as_str)
        == Some("m.replace");
    match kind {
        "m.room.message" | "m.sticker" if !is_edit => {
            let name = display_name(send, sender).await;
            let msgtype = if kind == "m.sticker" {
                "m.sticker"
            } else {
                content
                    .get("msgtype")
                    .and_then(Value::as_str)
                    .unwrap_or("m.text")
            };
            let relayed = relayed_content(
                &send.bridge.config.bridge.relay,
                msgtype,
                content,
                sender.as_str(),
                &name,
            );
            text::message(send, &relayed).await
        }
        "m.room.message" | "m.sticker" | "m.reaction" | "m.room.redaction" => {
            let what = match kind {
                "m.reaction" => "Reactions",
                "m.room.redaction" => "Deletions",
                _ => "Edits",
            };
            let text = format!(
                "{what} from people without their own Instagram login can't be bridged: \
                 Instagram would show them as the relay's. Log in to the bridge to react, \
                 edit and delete."
            );
            delivery::notice(send.bridge, send.room, &text).await;
            delivery::send_status(send.bridge, send.room, send.event_id, Some(&text));
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The sender's display name in the room, else their user id.
async fn display_name(send: &Send<'_>, sender: &UserId) -> String {
    match send
        .bridge
        .intents
        .bot()
        .member_display_name(send.room, sender)
        .await
    {
        Ok(Some(name)) => name,
        Ok(None) => sender.to_string(),
        Err(e) => {
            tracing::debug!(%sender, "no display name for the relayed sender: {e}");
            sender.to_string()
        }
    }
}

/// The content the relay sends: a text message whose body is the rendered format, or the media
/// with the rendered format as its caption (MSC2530: a `body` other than `filename`).
pub fn relayed_content(
    relay: &crate::config::RelayConfig,
    msgtype: &str,
    content: &Value,
    sender_id: &str,
    sender_name: &str,
) -> Value {
    let str_of = |k: &str| content.get(k).and_then(Value::as_str).unwrap_or_default();
    let body = str_of("body");
    let is_media = matches!(
        msgtype,
        "m.image" | "m.video" | "m.audio" | "m.file" | "m.sticker"
    );
    let file_name = if is_media {
        Some(str_of("filename"))
            .filter(|f| !f.is_empty())
            .unwrap_or(body)
    } else {
        ""
    };
    // A media caption is the body when it differs from the file name.
    let caption = if is_media && !str_of("filename").is_empty() && body != file_name {
        body
    } else {
        ""
    };
    let message = if is_media {
        ""
    } else {
        strip_reply_fallback(body)
    };
    let values = RelayValues {
        sender_display_name: sender_name,
        sender_user_id: sender_id,
        message,
        caption,
        file_name,
    };
    let rendered = relay.format(msgtype).render(&values);
    let mut out: Map<String, Value> = Map::new();
    if is_media {
        if let Some(map) = content.as_object() {
            out = map.clone();
        }
        out.remove("format");
        out.remove("formatted_body");
        let name = if file_name.is_empty() {
            "file"
        } else {
            file_name
        };
        out.insert("filename".into(), json!(name));
        out.insert("body".into(), json!(rendered));
    } else {
        out.insert("msgtype".into(), json!("m.text"));
        out.insert("body".into(), json!(rendered));
        if let Some(reply) = content
            .get("m.relates_to")
            .and_then(|r| r.get("m.in_reply_to"))
        {
            out.insert("m.relates_to".into(), json!({ "m.in_reply_to": reply }));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RelayConfig;

    #[test]
    fn text_gets_the_prefix_and_keeps_the_reply() {
        let content = json!({
            "msgtype": "m.text",
            "body": "> <@b:x> earlier\n\nhello there",
            "format": "org.matrix.custom.html",
            "formatted_body": "<mx-reply>…</mx-reply>hello <b>there</b>",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$e"}},
        });
        let out = relayed_content(&RelayConfig::default(), "m.text", &content, "@a:x", "Ann");
        assert_eq!(out["body"], "Ann: hello there");
        assert_eq!(out["msgtype"], "m.text");
        assert!(out.get("formatted_body").is_none());
        assert_eq!(out["m.relates_to"]["m.in_reply_to"]["event_id"], "$e");
        let emote = json!({"msgtype": "m.emote", "body": "waves"});
        let out = relayed_content(&RelayConfig::default(), "m.emote", &emote, "@a:x", "Ann");
        assert_eq!(out["body"], "* Ann waves");
        assert_eq!(out["msgtype"], "m.text");
    }

    #[test]
    fn media_keep_their_file_and_get_the_name_as_caption() {
        let image = json!({
            "msgtype": "m.image", "body": "cat.jpg", "url": "mxc://x/y",
            "info": {"mimetype": "image/jpeg"},
        });
        let out = relayed_content(&RelayConfig::default(), "m.image", &image, "@a:x", "Ann");
        assert_eq!(out["url"], "mxc://x/y");
        assert_eq!(out["filename"], "cat.jpg");
        assert_eq!(out["body"], "Ann sent an image");
        let captioned = json!({
            "msgtype": "m.image", "body": "my cat", "filename": "cat.jpg", "url": "mxc://x/y",
        });
        let out = relayed_content(
            &RelayConfig::default(),
            "m.image",
            &captioned,
            "@a:x",
            "Ann",
        );
        assert_eq!(out["body"], "Ann sent an image: my cat");
        assert_eq!(out["filename"], "cat.jpg");
    }
}
