//! How a send from Matrix ends, in one place: a success records the mapping and reports
//! SUCCESS; a transient failure pauses the conversation (the worker retries with the same
//! `client_context`, so Instagram gets it once); any other failure is told in the room with a
//! notice and a FAIL `com.beeper.message_send_status`, and the event is done.

use ruma::RoomId;

use crate::bridge::Bridge;
use crate::bridge::error::{ApplyError, Side};
use crate::bridge::status::Report;
use crate::bridge::user::SendError;
use crate::store::messages::MessageRow;

/// Why a send did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendFailure {
    /// Instagram said no (a rejected send, a 4xx): told to the user, not retried.
    #[error("{0}")]
    Refused(String),
    /// Worth trying again (network, 5xx).
    #[error("{0}")]
    Transient(String),
    /// Instagram rate-limited the account: try again, not before the wait.
    #[error("{0}")]
    RateLimited(String, std::time::Duration),
    /// The file could not be fetched from the homeserver for now.
    #[error("{0}")]
    HomeserverDown(String),
    /// An emoji Instagram does not take as a reaction.
    #[error("Instagram doesn't accept that emoji as a reaction")]
    InvalidEmoji,
    /// Nothing Instagram can carry (a kind of message, a file, a size).
    #[error("{0}")]
    Unsupported(String),
}

impl From<SendError> for SendFailure {
    fn from(e: SendError) -> Self {
        if e.invalid_emoji {
            Self::InvalidEmoji
        } else if let Some(wait) = e.rate_limited_for {
            Self::RateLimited(e.message, wait)
        } else if e.transient {
            Self::Transient(e.message)
        } else {
            Self::Refused(e.message)
        }
    }
}

impl From<crate::instagram::Error> for SendFailure {
    fn from(e: crate::instagram::Error) -> Self {
        SendError::from(e).into()
    }
}

/// A notice from the bot in a portal (when notices are on).
pub async fn notice(bridge: &Bridge, room: &RoomId, text: &str) {
    if !bridge.config.bridge.bridge_notices {
        return;
    }
    if let Err(e) = bridge.intents.bot().send_notice(room, text).await {
        tracing::warn!("cannot send a failure notice: {e}");
    }
}

/// Beeper's delivery status event for a bridged event, queued off the ordered path (see
/// [`status`](crate::bridge::status)); only when `bridge.message_status_events` is on.
pub fn send_status(bridge: &Bridge, room: &RoomId, event_id: &str, error: Option<&str>) {
    if !bridge.config.bridge.message_status_events {
        return;
    }
    bridge.reports.push(Report::Status {
        room: room.to_owned(),
        event_id: event_id.to_string(),
        error: error.map(str::to_string),
    });
}

/// Records what was sent (so the echo is not bridged back and a replay sends nothing), then
/// reports SUCCESS for `event_id` when given.
pub async fn delivered(
    bridge: &Bridge,
    room: &RoomId,
    row: &MessageRow,
    status_for: Option<&str>,
) -> Result<(), ApplyError> {
    bridge.store.insert_message(row).await?;
    if let Some(event_id) = status_for {
        send_status(bridge, room, event_id, None);
        if bridge.config.bridge.delivery_receipts {
            bridge.reports.push(Report::Receipt {
                room: room.to_owned(),
                event_id: event_id.to_string(),
            });
        }
    }
    Ok(())
}

/// Turns a failure into what the user sees and whether the conversation retries: transient
/// failures are returned as such (nothing told yet); others become `notice` (built from the
/// reason) and, for an event, a FAIL status.
pub async fn failed(
    bridge: &Bridge,
    room: &RoomId,
    event_id: Option<&str>,
    failure: SendFailure,
    notice_text: impl FnOnce(&SendFailure) -> String,
) -> Result<(), ApplyError> {
    match &failure {
        SendFailure::Transient(reason) => {
            return Err(ApplyError::transient(
                Side::Instagram,
                format!("not delivered to Instagram yet: {reason}"),
            ));
        }
        SendFailure::HomeserverDown(reason) => {
            return Err(ApplyError::transient(Side::Homeserver, reason.clone()));
        }
        SendFailure::RateLimited(reason, wait) => {
            return Err(ApplyError::rate_limited(
                Side::Instagram,
                format!("Instagram asks to wait before sending: {reason}"),
                *wait,
            ));
        }
        _ => {}
    }
    tracing::warn!(room = %room, "not delivered to Instagram: {failure}");
    crate::bridge::outcome::mark_failed(&failure.to_string());
    notice(bridge, room, &notice_text(&failure)).await;
    if let Some(event_id) = event_id {
        send_status(bridge, room, event_id, Some(&failure.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_errors_are_classified() {
        let blip = SendError {
            message: "connection reset".into(),
            invalid_emoji: false,
            transient: true,
            rate_limited_for: None,
        };
        assert_eq!(
            SendFailure::from(blip),
            SendFailure::Transient("connection reset".into())
        );
        let locked = SendError {
            message: "thread is locked".into(),
            invalid_emoji: false,
            transient: false,
            rate_limited_for: None,
        };
        assert_eq!(
            SendFailure::from(locked),
            SendFailure::Refused("thread is locked".into())
        );
        let emoji = SendError {
            message: "bad".into(),
            invalid_emoji: true,
            transient: false,
            rate_limited_for: None,
        };
        assert_eq!(SendFailure::from(emoji), SendFailure::InvalidEmoji);
        let ig = crate::instagram::Error::Transient {
            message: "timeout".into(),
        };
        assert!(matches!(SendFailure::from(ig), SendFailure::Transient(_)));
        let limited = crate::instagram::Error::from_response(
            429,
            r#"{"message":"Please wait a few minutes before you try again.","status":"fail"}"#,
            Some(std::time::Duration::from_secs(90)),
        );
        assert_eq!(
            SendFailure::from(limited),
            SendFailure::RateLimited(
                "Instagram is rate-limiting requests. Please wait a few minutes and try again."
                    .into(),
                std::time::Duration::from_secs(90)
            )
        );
    }
}
