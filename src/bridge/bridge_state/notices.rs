//! Management-room notices of a login's state changes (`bridge.bridge_status_notices`): the
//! text, and sending it as the bot. Errors are sent as `m.text` (they notify), the rest as
//! `m.notice`; the state itself rides along under `fi.mau.bridge_state` for clients that read
//! it.

use std::time::Duration;

use ruma::RoomId;
use serde_json::json;

use super::model::BridgeState;
use crate::bridge::Bridge;

/// "3 min", "45 s".
fn span(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// The notice's text.
pub fn text(state: &BridgeState, delayed: Option<Duration>) -> String {
    let who = state
        .remote_name
        .as_deref()
        .map(|n| format!("@{n}"))
        .or_else(|| state.remote_id.clone())
        .unwrap_or_else(|| "your account".into());
    let mut text = format!("Instagram login {who}: {}", state.state_event.as_str());
    if let Some(code) = state.error {
        text.push_str(&format!(" ({code})"));
    }
    if let Some(d) = delayed {
        text.push_str(&format!(", not resolved after {}", span(d)));
    }
    if let Some(message) = &state.message {
        text.push_str(&format!(": {message}"));
    }
    text
}

/// Sends the notice to the user's management room, if they have one (best effort).
pub async fn send(bridge: &Bridge, mxid: &str, state: &BridgeState, delayed: Option<Duration>) {
    let room = match bridge.store.get_user(mxid).await {
        Ok(Some(row)) => row.management_room,
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(user = mxid, "cannot find the management room: {e}");
            None
        }
    };
    let Some(room) = room.as_deref().and_then(|r| RoomId::parse(r).ok()) else {
        return;
    };
    let error = state.is_error() || delayed.is_some();
    let content = json!({
        "msgtype": if error { "m.text" } else { "m.notice" },
        "body": text(state, delayed),
        "fi.mau.bridge_state": state,
    });
    if let Err(e) = bridge
        .intents
        .bot()
        .send_raw(
            &room,
            "m.room.message",
            ruma::TransactionId::new(),
            &content,
            None,
        )
        .await
    {
        tracing::warn!(user = mxid, "cannot send a bridge state notice: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::bridge_state::model::{self, StateEvent};
    use crate::instagram::realtime::DisconnectCause;

    #[test]
    fn notice_texts() {
        let mut down = BridgeState::new(StateEvent::TransientDisconnect)
            .with_problem(&model::disconnected(DisconnectCause::Network));
        down.remote_name = Some("someone".into());
        assert_eq!(
            text(&down, Some(Duration::from_secs(180))),
            "Instagram login @someone: TRANSIENT_DISCONNECT (ig-connection-error), not \
             resolved after 3 min: Disconnected from Instagram, reconnecting"
        );
        let mut back = BridgeState::new(StateEvent::Connected);
        back.remote_id = Some("42".into());
        assert_eq!(text(&back, None), "Instagram login 42: CONNECTED");
        assert_eq!(span(Duration::from_secs(5)), "5 s");
    }
}
