//! What a settled row tells the outside: the message metrics (how many by direction, kind
//! and outcome; how long the sent ones took from the bridge receiving them) and, for
//! messages sent from Matrix into portals, the message checkpoints.
//!
//! Only messages count: Instagram items, edits, unsends and reactions; Matrix messages,
//! stickers, reactions and redactions sent by real users in portals, bot commands aside.

use serde_json::Value;

use crate::bridge::Bridge;
use crate::bridge::bridge_state::checkpoints::{Checkpoint, Status, Step};
use crate::bridge::outcome::Mark;
use crate::bridge::status::Report;
use crate::store::inbox::{InboxRow, SOURCE_INSTAGRAM, SOURCE_MATRIX};

/// How a message ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Refused (told to the user), not retried.
    Failed,
    DeadLettered,
    /// Deliberately not bridged (a held message request).
    Skipped,
}

impl Outcome {
    /// How an apply that returned `Ok` ended, from what it marked (and why).
    pub fn of(marked: Option<&Mark>) -> (Self, Option<&str>) {
        match marked {
            Some(Mark::Failed(why)) => (Self::Failed, Some(why)),
            Some(Mark::Skipped(why)) => (Self::Skipped, Some(why)),
            None => (Self::Sent, None),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::DeadLettered => "dead_lettered",
            Self::Skipped => "skipped",
        }
    }
}

/// A row that is a message.
#[derive(Debug)]
pub struct Message {
    direction: &'static str,
    kind: &'static str,
    /// The Matrix event, for checkpoints.
    event: Option<Value>,
}

/// The message a row carries, if it is one. `key` is the row's conversation key.
pub fn message(bridge: &Bridge, row: &InboxRow, key: &str) -> Option<Message> {
    let payload: Value = serde_json::from_str(&row.payload).ok()?;
    match row.source.as_str() {
        SOURCE_INSTAGRAM => Some(Message {
            direction: "to_matrix",
            kind: instagram_kind(&payload)?,
            event: None,
        }),
        SOURCE_MATRIX if key.starts_with("thread:") && !bridge.is_bridge_user(&row.receiver) => {
            let kind = matrix_kind(&payload, &bridge.config.bridge.command_prefix)?;
            Some(Message {
                direction: "to_instagram",
                kind,
                event: Some(payload),
            })
        }
        _ => None,
    }
}

/// The bridge has taken a Matrix message (checkpoint BRIDGE).
pub fn received(bridge: &Bridge, message: &Message) {
    checkpoint(bridge, message, Step::Bridge, Status::Success, 0, None);
}

/// A try failed and will be repeated (checkpoint REMOTE, WILL_RETRY).
pub fn will_retry(bridge: &Bridge, message: &Message, retry_num: u32, reason: &str) {
    checkpoint(
        bridge,
        message,
        Step::Remote,
        Status::WillRetry,
        retry_num,
        Some(reason),
    );
}

/// The message is done with: counted, timed when sent, and its REMOTE checkpoint.
pub fn settled(
    bridge: &Bridge,
    row: &InboxRow,
    message: &Message,
    outcome: Outcome,
    retry_num: u32,
    reason: Option<&str>,
) {
    let metrics = &bridge.metrics;
    metrics
        .messages
        .with_label_values(&[message.direction, message.kind, outcome.label()])
        .inc();
    let status = match outcome {
        Outcome::Sent => {
            let waited_ms = (crate::store::now_ms() - row.created_at_ms).max(0);
            metrics
                .message_latency
                .with_label_values(&[message.direction])
                .observe(waited_ms as f64 / 1000.0);
            Status::Success
        }
        Outcome::Failed | Outcome::DeadLettered | Outcome::Skipped => Status::PermFailure,
    };
    checkpoint(bridge, message, Step::Remote, status, retry_num, reason);
}

fn checkpoint(
    bridge: &Bridge,
    message: &Message,
    step: Step,
    status: Status,
    retry_num: u32,
    info: Option<&str>,
) {
    let Some(event) = &message.event else {
        return;
    };
    if !bridge.bridge_states.wants_checkpoints() {
        return;
    }
    if let Some(mut c) = Checkpoint::of_event(event, step, status) {
        c.retry_num = retry_num;
        c.info = info.map(str::to_string);
        bridge.reports.push(Report::Checkpoint(c));
    }
}

/// The kind of a Matrix event that is a message, if it is one (bot commands are not).
pub fn matrix_kind(event: &Value, command_prefix: &str) -> Option<&'static str> {
    let content = &event["content"];
    Some(match event["type"].as_str()? {
        "m.room.message" if content["m.relates_to"]["rel_type"] == "m.replace" => "edit",
        "m.room.message" => match content["msgtype"].as_str().unwrap_or_default() {
            "m.text" | "m.notice" | "m.emote" => {
                let body = content["body"].as_str().unwrap_or_default();
                let command = body
                    .strip_prefix(command_prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace));
                if command {
                    return None;
                }
                "text"
            }
            "m.image" => "image",
            "m.video" => "video",
            "m.audio" => "audio",
            "m.file" => "file",
            "m.location" => "location",
            _ => "other",
        },
        "m.sticker" => "sticker",
        "m.reaction" => "reaction",
        "m.room.redaction" => "redaction",
        _ => return None,
    })
}

/// The kind of an Instagram inbox payload that is a message, if it is one.
pub fn instagram_kind(payload: &Value) -> Option<&'static str> {
    Some(match payload["kind"].as_str()? {
        "item" if payload["replaced"] == true => "edit",
        "item" => item_kind(&payload["item"]),
        "item_removed" => "redaction",
        "reaction" => "reaction",
        _ => return None,
    })
}

fn item_kind(item: &Value) -> &'static str {
    let video = |media: &Value| {
        let t = &media["media_type"];
        t.as_i64() == Some(2) || t.as_str() == Some("2")
    };
    match item["item_type"].as_str().unwrap_or_default() {
        "text" => "text",
        "media" if video(&item["media"]) => "video",
        "raven_media" if video(&item["visual_media"]["media"]) => "video",
        "media" | "raven_media" => "image",
        "voice_media" => "audio",
        "animated_media" => "sticker",
        "like" => "like",
        "link" | "media_share" | "reel_share" | "story_share" | "clip" | "felix_share"
        | "xma_media_share" | "xma_clip" | "generic_xma" | "profile" | "location" => "share",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matrix_kinds() {
        let msg = |content: Value| json!({"type": "m.room.message", "content": content});
        let kind = |e: &Value| matrix_kind(e, "!ig");
        assert_eq!(
            kind(&msg(json!({"msgtype": "m.text", "body": "hi"}))),
            Some("text")
        );
        assert_eq!(
            kind(&msg(json!({"msgtype": "m.text", "body": "!igloo"}))),
            Some("text")
        );
        assert_eq!(
            kind(&msg(json!({"msgtype": "m.text", "body": "!ig ping"}))),
            None
        );
        assert_eq!(
            kind(&msg(json!({"msgtype": "m.text", "body": "!ig"}))),
            None
        );
        assert_eq!(kind(&msg(json!({"msgtype": "m.image"}))), Some("image"));
        assert_eq!(kind(&msg(json!({"msgtype": "m.audio"}))), Some("audio"));
        assert_eq!(
            kind(&msg(json!({"msgtype": "m.text", "body": "* x",
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$a"}}))),
            Some("edit")
        );
        assert_eq!(kind(&msg(json!({"msgtype": "m.weird"}))), Some("other"));
        assert_eq!(kind(&json!({"type": "m.reaction"})), Some("reaction"));
        assert_eq!(
            kind(&json!({"type": "m.room.redaction"})),
            Some("redaction")
        );
        assert_eq!(kind(&json!({"type": "m.sticker"})), Some("sticker"));
        assert_eq!(kind(&json!({"type": "m.room.member"})), None);
        assert_eq!(kind(&json!({"no": "type"})), None);
    }

    #[test]
    fn instagram_kinds() {
        let item = |item: Value| json!({"kind": "item", "replaced": false, "item": item});
        assert_eq!(
            instagram_kind(&item(json!({"item_type": "text"}))),
            Some("text")
        );
        assert_eq!(
            instagram_kind(&item(
                json!({"item_type": "media", "media": {"media_type": 2}})
            )),
            Some("video")
        );
        assert_eq!(
            instagram_kind(&item(
                json!({"item_type": "media", "media": {"media_type": 1}})
            )),
            Some("image")
        );
        assert_eq!(
            instagram_kind(&item(json!({"item_type": "raven_media",
                "visual_media": {"media": {"media_type": 2}}}))),
            Some("video")
        );
        assert_eq!(
            instagram_kind(&item(json!({"item_type": "voice_media"}))),
            Some("audio")
        );
        assert_eq!(
            instagram_kind(&item(json!({"item_type": "reel_share"}))),
            Some("share")
        );
        assert_eq!(instagram_kind(&item(json!({}))), Some("other"));
        assert_eq!(
            instagram_kind(&json!({"kind": "item", "replaced": true, "item": {}})),
            Some("edit")
        );
        assert_eq!(
            instagram_kind(&json!({"kind": "item_removed"})),
            Some("redaction")
        );
        assert_eq!(
            instagram_kind(&json!({"kind": "reaction"})),
            Some("reaction")
        );
        assert_eq!(instagram_kind(&json!({"kind": "seen"})), None);
        assert_eq!(instagram_kind(&json!({"kind": "sync_thread"})), None);
        assert_eq!(instagram_kind(&json!("not an object")), None);
    }
}
