//! Typing notifications and read receipts from Matrix: not durable (they skip the inbox)
//! and best effort — a failure is only logged.

use std::sync::Arc;

use serde_json::Value;

use crate::bridge::Bridge;
use crate::bridge::user::IgUser;

/// `m.typing` for a room: starts or stops typing on Instagram for the bridge users in it.
pub async fn typing(bridge: &Arc<Bridge>, room: &str, typing_users: &[String]) {
    let Ok(Some(portal)) = bridge.store.get_portal_by_room(room).await else {
        return;
    };
    // A DM's own login; in a group, the login each bridge user in it speaks through.
    let candidates: Vec<Arc<IgUser>> = if portal.is_group {
        let mut users: Vec<String> = bridge.accounts.iter().map(|u| u.mxid.clone()).collect();
        users.sort();
        users.dedup();
        let mut chosen = Vec::new();
        for mxid in users {
            chosen.extend(bridge.login_for_portal(&mxid, &portal).await);
        }
        chosen
    } else {
        bridge
            .account_of_receiver(&portal.receiver)
            .into_iter()
            .collect()
    };
    for user in candidates {
        let now = typing_users.iter().any(|t| *t == user.mxid);
        if !user.typing_changed(&portal.thread_id, now) {
            continue;
        }
        if let Err(e) = user.set_typing(&portal.thread_id, now).await {
            tracing::debug!("typing not sent to Instagram: {e}");
        }
    }
}

/// `m.receipt` for a room: marks the thread seen up to the read event.
pub async fn receipt(bridge: &Arc<Bridge>, room: &str, content: &Value) {
    let Ok(Some(portal)) = bridge.store.get_portal_by_room(room).await else {
        return;
    };
    let Some(events) = content.as_object() else {
        return;
    };
    for (event_id, receipts) in events {
        let Some(readers) = receipts.get("m.read").and_then(Value::as_object) else {
            continue;
        };
        for reader in readers.keys() {
            let Some(user) = bridge.login_for_portal(reader, &portal).await else {
                continue;
            };
            // Set by the bridge itself from Instagram's "seen" (double puppeting).
            if crate::bridge::puppet::is_own_receipt(bridge, room, event_id) {
                continue;
            }
            if let Ok(Some(message)) = bridge.store.get_message_by_event(room, event_id).await
                && !message.item_id.starts_with("pending:")
            {
                match user.mark_seen(&portal.thread_id, &message.item_id).await {
                    Ok(()) => {
                        crate::bridge::chat_state::read_on_instagram(bridge, reader, room).await
                    }
                    Err(e) => tracing::debug!("read receipt not sent to Instagram: {e}"),
                }
            }
        }
    }
}
