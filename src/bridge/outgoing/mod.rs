//! Matrix → Instagram: messages, edits, media, reactions, redactions and room changes in
//! portal rooms ([`apply`]), plus the ephemeral typing notifications and read receipts
//! ([`ephemeral`]).
//!
//! One file per kind of send; each ends through [`delivery`]: a success records the mapping
//! (so the echo is not bridged back and a replay sends nothing), a transient failure pauses
//! the conversation to try again, any other failure is told in the room.

use std::sync::Arc;

use ruma::{RoomId, UserId};
use serde_json::{Value, json};

use super::Bridge;
use super::conversation::Portal;
use super::convert::to_matrix::KnownUser;
use super::error::ApplyError;
use super::user::IgUser;
use crate::store::portals::PortalRow;

mod delivery;
mod edit;
pub mod ephemeral;
mod media;
pub mod prepare_media;
mod reaction;
mod redaction;
mod relay;
mod room_state;
mod text;

pub use delivery::SendFailure;
pub use ephemeral::{receipt, typing};

/// One Matrix event of a portal room, with what every kind of send needs.
pub(crate) struct Send<'a> {
    pub bridge: &'a Arc<Bridge>,
    pub user: &'a IgUser,
    pub portal: &'a PortalRow,
    pub room: &'a RoomId,
    pub event_id: &'a str,
    /// `origin_server_ts` of the event (now, if missing).
    pub ts_ms: i64,
    /// The thread's people (mention targets), from the conversation's [`Portal`].
    pub members: Arc<Vec<KnownUser>>,
}

/// Applies a Matrix event of a portal room.
pub async fn apply(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    portal: &PortalRow,
    kind: &str,
    sender: &UserId,
    value: &Value,
) -> Result<(), ApplyError> {
    // A member without a login of their own speaks through the group's relay, if any.
    // The account that speaks for `sender` here: a DM's own login, a group's chosen one.
    let (user, relayed) = match bridge.login_for_portal(sender.as_str(), portal).await {
        Some(user) => (user, false),
        None => match relay::relay_for(bridge, portal, sender).await {
            Some(relay) => (relay, true),
            None => return Ok(()),
        },
    };
    let Some(event_id) = value.get("event_id").and_then(Value::as_str) else {
        return Err(ApplyError::Permanent("event without event_id".into()));
    };
    let room_str = portal.room_id.as_deref().unwrap_or_default();
    let room = RoomId::parse(room_str).map_err(|e| ApplyError::Permanent(e.to_string()))?;
    let members = conv.members(bridge, &portal.thread_id).await;
    let send = Send {
        members,
        bridge,
        user: &user,
        portal,
        room: &room,
        event_id,
        ts_ms: value
            .get("origin_server_ts")
            .and_then(Value::as_i64)
            .unwrap_or_else(crate::store::now_ms),
    };
    let content = value.get("content").cloned().unwrap_or(Value::Null);
    if relayed {
        return relay::apply(&send, kind, sender, &content).await;
    }
    match kind {
        "m.room.message" => text::message(&send, &content).await,
        "m.sticker" => {
            let mut content = content;
            content["msgtype"] = json!("m.sticker");
            text::message(&send, &content).await
        }
        "m.reaction" => reaction::reaction(&send, &content).await,
        "m.room.name" | "m.room.avatar" => room_state::room_state(&send, kind, &content).await,
        "m.room.redaction" => {
            let redacts = value
                .get("redacts")
                .or_else(|| content.get("redacts"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            redaction::redaction(&send, redacts).await
        }
        _ => Ok(()),
    }
}

impl Send<'_> {
    /// The message row of something this event sent (an item id Instagram did not say yet is
    /// kept as `pending:<client_context>` until the echo brings it).
    pub fn row(
        &self,
        item_id: Option<String>,
        event_id: String,
        client_context: String,
    ) -> crate::store::messages::MessageRow {
        crate::store::messages::MessageRow {
            item_id: item_id.unwrap_or_else(|| format!("pending:{client_context}")),
            receiver: self.portal.receiver.clone(),
            part_index: 0,
            thread_id: self.portal.thread_id.clone(),
            room_id: self.room.to_string(),
            event_id,
            sender_pk: self.user.pk,
            timestamp_us: self.ts_ms * 1000,
            client_context: Some(client_context),
            edit_count: 0,
            content_hash: None,
        }
    }
}
