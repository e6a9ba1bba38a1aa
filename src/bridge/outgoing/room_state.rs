//! A group portal renamed (or its avatar changed) from Matrix.

use serde_json::Value;

use super::Send;
use super::delivery::{self, SendFailure};
use crate::bridge::error::ApplyError;
use crate::instagram::ids::ThreadId;

pub async fn room_state(send: &Send<'_>, kind: &str, content: &Value) -> Result<(), ApplyError> {
    let (bridge, room, portal) = (send.bridge, send.room, send.portal);
    if !portal.is_group {
        return Ok(());
    }
    if kind == "m.room.avatar" {
        delivery::notice(
            bridge,
            room,
            "Instagram has no way for the bridge to change a group's photo, so it stays as it \
             is there.",
        )
        .await;
        return Ok(());
    }
    let name = content
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    if name.is_empty() || portal.name.as_deref() == Some(name) {
        return Ok(());
    }
    let result = send
        .user
        .client
        .rename_thread(&ThreadId::new(&portal.thread_id), name)
        .await;
    match result {
        Ok(()) => {
            let mut updated = portal.clone();
            updated.name = Some(name.to_string());
            updated.name_set = true;
            bridge.store.upsert_portal(&updated).await?;
            Ok(())
        }
        Err(e) => {
            delivery::failed(bridge, room, None, SendFailure::from(e), |f| {
                format!("Renaming the group on Instagram failed: {f}")
            })
            .await
        }
    }
}
