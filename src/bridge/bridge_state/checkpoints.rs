//! Message checkpoints for `homeserver.message_send_checkpoint_endpoint`: for each message
//! sent from Matrix, step BRIDGE when the bridge takes it, step REMOTE when Instagram has it
//! (SUCCESS), refused it (PERM_FAILURE) or it will be tried again (WILL_RETRY). The same facts
//! as the in-room `com.beeper.message_send_status` events. Sent in batches off the ordered
//! path (see [`status`](crate::bridge::status)), best effort.

use serde::Serialize;

/// Where the message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Step {
    Bridge,
    Remote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Success,
    WillRetry,
    PermFailure,
}

/// One checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    pub event_id: String,
    pub room_id: String,
    pub step: Step,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub status: Status,
    pub event_type: String,
    pub reported_by: &'static str,
    pub retry_num: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// Why it failed or will be retried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
}

impl Checkpoint {
    /// A checkpoint of the Matrix event `event` (its id, room, type and msgtype), if it is one
    /// that gets checkpoints: messages, stickers, reactions and redactions.
    pub fn of_event(event: &serde_json::Value, step: Step, status: Status) -> Option<Self> {
        let event_type = event["type"].as_str()?;
        if !matches!(
            event_type,
            "m.room.message" | "m.sticker" | "m.reaction" | "m.room.redaction"
        ) {
            return None;
        }
        Some(Self {
            event_id: event["event_id"].as_str()?.to_string(),
            room_id: event["room_id"].as_str()?.to_string(),
            step,
            timestamp: crate::store::now_ms(),
            status,
            event_type: event_type.to_string(),
            reported_by: "BRIDGE",
            retry_num: 0,
            message_type: event["content"]["msgtype"].as_str().map(str::to_string),
            info: None,
        })
    }
}

/// The body of one POST.
#[derive(Debug, Serialize)]
pub struct Batch<'a> {
    pub checkpoints: &'a [Checkpoint],
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checkpoints_of_events_have_the_mautrix_shape() {
        let event = json!({
            "type": "m.room.message", "event_id": "$e", "room_id": "!r:x",
            "content": {"msgtype": "m.text", "body": "hi"},
        });
        let mut c = Checkpoint::of_event(&event, Step::Remote, Status::PermFailure).unwrap();
        c.timestamp = 1;
        c.retry_num = 2;
        c.info = Some("refused".into());
        let body = serde_json::to_value(Batch { checkpoints: &[c] }).unwrap();
        assert_eq!(
            body,
            json!({"checkpoints": [{
                "event_id": "$e", "room_id": "!r:x", "step": "REMOTE", "timestamp": 1,
                "status": "PERM_FAILURE", "event_type": "m.room.message",
                "reported_by": "BRIDGE", "retry_num": 2, "message_type": "m.text",
                "info": "refused",
            }]})
        );
        let reaction = json!({"type": "m.reaction", "event_id": "$r", "room_id": "!r:x",
            "content": {}});
        let c = Checkpoint::of_event(&reaction, Step::Bridge, Status::Success).unwrap();
        assert_eq!(c.message_type, None);
        let state = json!({"type": "m.room.name", "event_id": "$s", "room_id": "!r:x"});
        assert!(Checkpoint::of_event(&state, Step::Bridge, Status::Success).is_none());
        let broken = json!({"type": "m.room.message"});
        assert!(Checkpoint::of_event(&broken, Step::Bridge, Status::Success).is_none());
    }
}
