//! Telling a room that one of its events could not be bridged and was set aside.

use ruma::RoomId;

use crate::bridge::Bridge;
use crate::store::inbox::{InboxRow, SOURCE_MATRIX};

/// The room an inbox row belongs to, if it has one yet.
async fn room_of(bridge: &Bridge, row: &InboxRow) -> Option<String> {
    if row.source == SOURCE_MATRIX {
        return Some(row.portal_key.clone()).filter(|r| r.starts_with('!'));
    }
    for receiver in [row.receiver.as_str(), ""] {
        if let Ok(Some(portal)) = bridge.store.get_portal(&row.portal_key, receiver).await
            && portal.room_id.is_some()
        {
            return portal.room_id;
        }
    }
    None
}

/// The notice's text.
pub fn text(row: &InboxRow, reason: &str) -> String {
    let what = if row.source == SOURCE_MATRIX {
        "A message from Matrix could not be sent to Instagram"
    } else {
        "A message from Instagram could not be bridged"
    };
    format!(
        "{what}: {reason}. It was set aside (dead letter {}); a bridge admin can list such \
         events with `dead-letters` and try them again with `retry-dead-letters`.",
        row.id
    )
}

/// Sends the notice, if the row's room is known (failures to notify are only logged: the
/// event is safe in the dead letters either way).
pub async fn dead_lettered(bridge: &Bridge, row: &InboxRow, reason: &str) {
    if !bridge.config.bridge.bridge_notices {
        return;
    }
    let Some(room) = room_of(bridge, row).await else {
        return;
    };
    let Ok(room) = RoomId::parse(&room) else {
        return;
    };
    if let Err(e) = bridge
        .intents
        .bot()
        .send_notice(&room, &text(row, reason))
        .await
    {
        tracing::warn!(%room, "cannot tell the room about a dead letter: {e}");
    }
}
