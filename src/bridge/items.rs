//! Instagram items → Matrix events: a new item becomes its parts in the portal (media
//! fetched and uploaded), a changed one an edit. Idempotent: every part is recorded against
//! the item's id, and sent with a transaction id derived from it, so a replay changes nothing.

use std::sync::Arc;

use ruma::{MilliSecondsSinceUnixEpoch, RoomId, UInt};

use super::Bridge;
use super::conversation::Portal;
use super::convert::to_matrix::{self, MatrixCtx};
use super::convert::{hash, txn};
use super::error::ApplyError;
use super::ghost;
use super::user::IgUser;
use crate::instagram::types::ThreadItem;
use crate::store::messages::{IMPORTED_CONTENT_HASH, MessageRow};
use crate::store::portals::PortalRow;

/// The portal's room.
pub fn room_of(portal: &PortalRow) -> Result<ruma::OwnedRoomId, ApplyError> {
    let room = portal
        .room_id
        .as_deref()
        .ok_or_else(|| ApplyError::Permanent("portal has no room".into()))?;
    RoomId::parse(room).map_err(|e| ApplyError::Permanent(format!("bad room id {room}: {e}")))
}

/// Sends a new item to its portal, or an edit when a known item changed.
pub async fn apply_item(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    user: &IgUser,
    portal: &PortalRow,
    item: &ThreadItem,
    replaced: bool,
) -> Result<(), ApplyError> {
    let item_id = item.item_id.as_str();
    if item_id.is_empty() {
        return Err(ApplyError::Permanent("item without item_id".into()));
    }
    let room = room_of(portal)?;
    let receiver = portal.receiver.as_str();
    let existing = bridge.store.get_message_parts(item_id, receiver).await?;
    if existing.is_empty() && is_our_echo(bridge, item, receiver).await? {
        super::outcome::mark_skipped("echo of a message sent from Matrix");
        return Ok(());
    }
    let reply_event = match item.replied_to_message.as_deref() {
        Some(replied) if !replied.item_id.as_str().is_empty() => bridge
            .store
            .get_message_parts(replied.item_id.as_str(), receiver)
            .await?
            .first()
            .map(|m| m.event_id.clone()),
        _ => None,
    };
    let users = conv.members(bridge, &portal.thread_id).await;
    let ctx = MatrixCtx {
        reply_to: reply_event.as_deref(),
        users: &users,
    };
    let parts = to_matrix::item_to_parts(item, &ctx);
    let hash = hash::content_hash(&parts);
    let sender_pk = item.user_id.map(|p| p.get()).unwrap_or(0);
    let intent = match super::puppet::own(bridge, user, portal, sender_pk) {
        Some(puppet) => puppet,
        None => ghost::ensure_ghost(bridge, user, sender_pk, None).await?,
    };
    if let Some(main) = existing.first() {
        if !replaced || main.content_hash.as_deref() == Some(hash.as_str()) || parts.is_empty() {
            return Ok(());
        }
        return edit(bridge, &intent, &room, main, &parts[0], &hash).await;
    }
    let sent = Sent {
        portal,
        room: &room,
        item,
        sender_pk,
        hash: &hash,
    };
    for (i, part) in parts.into_iter().enumerate() {
        let part = if part.media.is_some() {
            let to = super::media::Target {
                intent: &intent,
                room: &room,
            };
            super::media::materialize(bridge, user, &to, part).await
        } else {
            part
        };
        send_part(bridge, &intent, &sent, i, &part).await?;
    }
    Ok(())
}

/// Our own send, echoed back: already mapped when the send was acknowledged. An ack that
/// carried no item id is completed here, so later reactions, replies and unsends of the item
/// find its Matrix event.
async fn is_our_echo(
    bridge: &Bridge,
    item: &ThreadItem,
    receiver: &str,
) -> Result<bool, ApplyError> {
    let Some(ctx) = &item.client_context else {
        return Ok(false);
    };
    let Some(sent) = bridge
        .store
        .get_message_by_client_context(ctx, receiver)
        .await?
    else {
        return Ok(false);
    };
    if sent.item_id.starts_with("pending:") {
        bridge
            .store
            .set_message_item_id(&sent.item_id, item.item_id.as_str(), receiver)
            .await?;
    }
    Ok(true)
}

/// A known item whose content changed on Instagram: an `m.replace` of its first part.
async fn edit(
    bridge: &Bridge,
    intent: &crate::matrix::Intent,
    room: &RoomId,
    main: &MessageRow,
    part: &to_matrix::Part,
    hash: &str,
) -> Result<(), ApplyError> {
    // First sight of Instagram's version of a message sent from Matrix, or of one imported
    // from another bridge (a reaction or other update replaced the item): remember it, there
    // is nothing to edit.
    if main
        .content_hash
        .as_deref()
        .is_some_and(|h| h != IMPORTED_CONTENT_HASH)
    {
        let content = to_matrix::edit_content(&main.event_id, part);
        let txn = txn::edit(
            &main.item_id,
            &main.receiver,
            i64::from(main.edit_count) + 1,
        );
        if let Err(e) = intent
            .send_raw(room, "m.room.message", txn, &content, None)
            .await
        {
            return Err(super::puppet::send_failed(bridge, intent, e).await);
        }
    }
    bridge
        .store
        .record_edit(&main.item_id, &main.receiver, Some(hash))
        .await?;
    Ok(())
}

/// What every part of one new item shares.
struct Sent<'a> {
    portal: &'a PortalRow,
    room: &'a RoomId,
    item: &'a ThreadItem,
    sender_pk: i64,
    hash: &'a str,
}

/// Sends one part as the ghost (with Instagram's timestamp) and records it.
async fn send_part(
    bridge: &Bridge,
    intent: &crate::matrix::Intent,
    sent: &Sent<'_>,
    index: usize,
    part: &to_matrix::Part,
) -> Result<(), ApplyError> {
    let item = sent.item;
    let item_id = item.item_id.as_str();
    let receiver = sent.portal.receiver.as_str();
    let ts = item
        .timestamp_ms()
        .and_then(|ms| UInt::new(ms.max(0) as u64))
        .map(MilliSecondsSinceUnixEpoch);
    let event_id = match intent
        .send_raw(
            sent.room,
            part.event_type,
            txn::item(item_id, receiver, index),
            &part.content,
            ts,
        )
        .await
    {
        Ok(event_id) => event_id,
        Err(e) => return Err(super::puppet::send_failed(bridge, intent, e).await),
    };
    bridge
        .store
        .insert_message_deferred(&MessageRow {
            item_id: item_id.to_string(),
            receiver: receiver.to_string(),
            part_index: index as i32,
            thread_id: sent.portal.thread_id.clone(),
            room_id: sent.room.to_string(),
            event_id: event_id.to_string(),
            sender_pk: sent.sender_pk,
            timestamp_us: item.timestamp.map(|t| t.0).unwrap_or(0),
            client_context: item.client_context.clone(),
            edit_count: 0,
            content_hash: (index == 0).then(|| sent.hash.to_string()),
        })
        .await?;
    Ok(())
}
