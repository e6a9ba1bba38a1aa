//! Matrix → Instagram: messages, edits, reactions and redactions in portal rooms, plus the
//! ephemeral typing notifications and read receipts.
//!
//! Each send reports its outcome: success records the mapping (so the echo is not bridged
//! back and a replay sends nothing); failure puts a notice with the reason into the room.

use std::sync::Arc;

use ruma::{EventId, RoomId, UserId};
use serde_json::{Value, json};

use super::Bridge;
use super::convert::client_context_for_event;
use super::convert::to_instagram::{Outgoing, message_to_instagram};
use super::dispatch::ApplyError;
use super::user::IgUser;
use crate::instagram::ids::{ItemId, ThreadId};
use crate::store::messages::{MessageRow, ReactionRow};
use crate::store::portals::PortalRow;

/// The Instagram account that speaks for `sender` in this portal, if any.
fn speaker(bridge: &Bridge, portal: &PortalRow, sender: &UserId) -> Option<Arc<IgUser>> {
    if !portal.is_group && portal.receiver != sender.as_str() {
        return None;
    }
    bridge.users.get(sender.as_str()).map(|u| u.clone())
}

async fn notice(bridge: &Bridge, room: &RoomId, text: &str) {
    if !bridge.config.bridge.bridge_notices {
        return;
    }
    if let Err(e) = bridge.intents.bot().send_notice(room, text).await {
        tracing::warn!("cannot send a failure notice: {e}");
    }
}

/// Beeper's delivery status event for a bridged event.
async fn send_status(bridge: &Bridge, room: &RoomId, event_id: &str, error: Option<&str>) {
    let mut content = json!({
        "network": "instagram",
        "m.relates_to": { "rel_type": "m.reference", "event_id": event_id },
        "status": if error.is_none() { "SUCCESS" } else { "FAIL" },
    });
    if let Some(e) = error {
        content["reason"] = json!("m.foreign_network_error");
        content["message"] = json!(e);
    }
    let txn = super::convert::txn::send_status(event_id);
    if let Err(e) = bridge
        .intents
        .bot()
        .send_raw(room, "com.beeper.message_send_status", txn, &content, None)
        .await
    {
        tracing::debug!("send status not delivered: {e}");
    }
}

/// Applies a Matrix event of a portal room.
pub async fn apply(
    bridge: &Arc<Bridge>,
    portal: &PortalRow,
    kind: &str,
    sender: &UserId,
    value: &Value,
) -> Result<(), ApplyError> {
    let Some(user) = speaker(bridge, portal, sender) else {
        return Ok(());
    };
    let Some(event_id) = value.get("event_id").and_then(Value::as_str) else {
        return Err(ApplyError::Permanent("event without event_id".into()));
    };
    let room_str = portal.room_id.as_deref().unwrap_or_default();
    let room = RoomId::parse(room_str).map_err(|e| ApplyError::Permanent(e.to_string()))?;
    let content = value.get("content").cloned().unwrap_or(Value::Null);
    match kind {
        "m.room.message" => message(bridge, &user, portal, &room, event_id, value, &content).await,
        "m.sticker" => {
            let mut content = content;
            content["msgtype"] = json!("m.sticker");
            message(bridge, &user, portal, &room, event_id, value, &content).await
        }
        "m.reaction" => reaction(bridge, &user, portal, &room, event_id, &content).await,
        "m.room.name" | "m.room.avatar" => {
            room_state(bridge, &user, portal, &room, kind, &content).await
        }
        "m.room.redaction" => {
            let redacts = value
                .get("redacts")
                .or_else(|| content.get("redacts"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            redaction(bridge, &user, portal, &room, redacts).await
        }
        _ => Ok(()),
    }
}

async fn message(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    portal: &PortalRow,
    room: &RoomId,
    event_id: &str,
    value: &Value,
    content: &Value,
) -> Result<(), ApplyError> {
    if bridge
        .store
        .get_message_by_event(room.as_str(), event_id)
        .await?
        .is_some()
    {
        return Ok(()); // replayed: already sent
    }
    let users = super::portal::known_users(bridge, &portal.thread_id);
    let lookup = |mxid: &str| -> Option<(i64, String)> {
        let pk = bridge.ghost_pk(mxid)?;
        let username = users
            .iter()
            .find(|u| u.pk == pk)
            .map(|u| u.username.clone())
            .unwrap_or_else(|| pk.to_string());
        Some((pk, username))
    };
    let outgoing = message_to_instagram(content, &lookup);
    let receiver = portal.receiver.as_str();
    match outgoing {
        Outgoing::Text(text) => {
            let ts_ms = value
                .get("origin_server_ts")
                .and_then(Value::as_i64)
                .unwrap_or_else(crate::store::now_ms);
            let client_context = client_context_for_event(event_id, ts_ms);
            let reply = match &text.reply_to_event {
                Some(ev) => bridge
                    .store
                    .get_message_by_event(room.as_str(), ev)
                    .await?
                    .map(|m| (m.item_id, m.client_context)),
                None => None,
            };
            match user
                .send_text(
                    &portal.thread_id,
                    &text.text,
                    &client_context,
                    reply,
                    &text.mentioned_pks,
                )
                .await
            {
                Ok(item_id) => {
                    let item_id = item_id.unwrap_or_else(|| format!("pending:{client_context}"));
                    bridge
                        .store
                        .insert_message(&MessageRow {
                            item_id,
                            receiver: receiver.to_string(),
                            part_index: 0,
                            thread_id: portal.thread_id.clone(),
                            room_id: room.to_string(),
                            event_id: event_id.to_string(),
                            sender_pk: user.pk,
                            timestamp_us: ts_ms * 1000,
                            client_context: Some(client_context),
                            edit_count: 0,
                            content_hash: None,
                        })
                        .await?;
                    send_status(bridge, room, event_id, None).await;
                }
                Err(e) => {
                    tracing::warn!(room = %room, "message not delivered to Instagram: {e}");
                    notice(
                        bridge,
                        room,
                        &format!("Your message was not delivered to Instagram: {e}"),
                    )
                    .await;
                    send_status(bridge, room, event_id, Some(&e.message)).await;
                }
            }
            Ok(())
        }
        Outgoing::Edit { target_event, text } => {
            let target = bridge
                .store
                .get_message_by_event(room.as_str(), &target_event)
                .await?;
            let Some(target) = target.filter(|t| t.sender_pk == user.pk) else {
                notice(bridge, room, "That edit can't be bridged: Instagram only lets you edit your own bridged messages.").await;
                return Ok(());
            };
            let result = user
                .client
                .edit_text(
                    &ThreadId::new(&portal.thread_id),
                    &ItemId::new(&target.item_id),
                    target.client_context.as_deref().unwrap_or_default(),
                    &text,
                )
                .await;
            match result {
                Ok(_) => {
                    // Its echo from Instagram carries the same text: not an edit to bridge back.
                    let hash = super::convert::hash::body_hash(&text);
                    bridge
                        .store
                        .record_edit(&target.item_id, receiver, Some(&hash))
                        .await?;
                    send_status(bridge, room, event_id, None).await;
                }
                Err(e) => {
                    let reason = e.user_message();
                    notice(
                        bridge,
                        room,
                        &format!("Instagram refused the edit: {reason}"),
                    )
                    .await;
                    send_status(bridge, room, event_id, Some(&reason)).await;
                }
            }
            Ok(())
        }
        Outgoing::Media(media) => {
            let ts_ms = value
                .get("origin_server_ts")
                .and_then(Value::as_i64)
                .unwrap_or_else(crate::store::now_ms);
            let client_context = client_context_for_event(event_id, ts_ms);
            match super::outgoing_media::send(
                bridge,
                user,
                &portal.thread_id,
                &media,
                &client_context,
            )
            .await
            {
                Ok(sent) => {
                    let row = |item_id: Option<String>, event: String, cc: String| MessageRow {
                        item_id: item_id.unwrap_or_else(|| format!("pending:{cc}")),
                        receiver: receiver.to_string(),
                        part_index: 0,
                        thread_id: portal.thread_id.clone(),
                        room_id: room.to_string(),
                        event_id: event,
                        sender_pk: user.pk,
                        timestamp_us: ts_ms * 1000,
                        client_context: Some(cc),
                        edit_count: 0,
                        content_hash: None,
                    };
                    bridge
                        .store
                        .insert_message(&row(
                            sent.item_id,
                            event_id.to_string(),
                            client_context.clone(),
                        ))
                        .await?;
                    send_status(bridge, room, event_id, None).await;
                    // Instagram media has no caption: it follows as a text. Its row (under a
                    // derived key, as the Matrix event already maps to the media) keeps the
                    // echo from coming back.
                    if let Some(caption) = media.caption.as_deref() {
                        let caption_key = format!("{event_id}#caption");
                        let cc = client_context_for_event(&caption_key, ts_ms);
                        match user
                            .send_text(&portal.thread_id, caption, &cc, None, &[])
                            .await
                        {
                            Ok(item_id) => {
                                bridge
                                    .store
                                    .insert_message(&row(item_id, caption_key, cc))
                                    .await?;
                            }
                            Err(e) => {
                                notice(
                                    bridge,
                                    room,
                                    &format!("The caption was not delivered to Instagram: {e}"),
                                )
                                .await;
                            }
                        }
                    }
                }
                Err(reason) => {
                    let what = match media.msgtype.as_str() {
                        "m.image" => "photo",
                        "m.video" => "video",
                        "m.audio" if media.voice => "voice message",
                        "m.audio" => "audio",
                        "m.sticker" => "sticker",
                        _ => "file",
                    };
                    tracing::warn!(room = %room, "{what} not delivered to Instagram: {reason}");
                    notice(
                        bridge,
                        room,
                        &format!("Your {what} was not delivered to Instagram: {reason}."),
                    )
                    .await;
                    send_status(bridge, room, event_id, Some(&reason)).await;
                }
            }
            Ok(())
        }
        Outgoing::Unsupported { msgtype } => {
            notice(
                bridge,
                room,
                &format!("This kind of message ({msgtype}) can't be sent to Instagram yet."),
            )
            .await;
            send_status(bridge, room, event_id, Some("unsupported message type")).await;
            Ok(())
        }
    }
}

async fn reaction(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    portal: &PortalRow,
    room: &RoomId,
    event_id: &str,
    content: &Value,
) -> Result<(), ApplyError> {
    let relates = content.get("m.relates_to");
    let (Some(target_event), Some(key)) = (
        relates
            .and_then(|r| r.get("event_id"))
            .and_then(Value::as_str),
        relates.and_then(|r| r.get("key")).and_then(Value::as_str),
    ) else {
        return Ok(());
    };
    if bridge
        .store
        .get_reaction_by_event(room.as_str(), event_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let Some(target) = bridge
        .store
        .get_message_by_event(room.as_str(), target_event)
        .await?
    else {
        return Ok(());
    };
    let receiver = portal.receiver.as_str();
    let emoji = normalize_emoji(key);
    match user
        .send_reaction(&portal.thread_id, &target.item_id, Some(&emoji))
        .await
    {
        Ok(()) => {
            // Instagram keeps one reaction per user: the earlier one is gone there, so it goes
            // here too.
            if let Some(old) = bridge
                .store
                .get_reaction(&target.item_id, receiver, user.pk)
                .await?
                && old.event_id != event_id
                && let Ok(old_event) = EventId::parse(&old.event_id)
                && let Err(e) = bridge
                    .intents
                    .bot()
                    .redact(room, &old_event, Some("Replaced on Instagram"))
                    .await
            {
                tracing::debug!("cannot redact the replaced reaction: {e}");
            }
            bridge
                .store
                .upsert_reaction(&ReactionRow {
                    item_id: target.item_id.clone(),
                    receiver: receiver.to_string(),
                    sender_pk: user.pk,
                    room_id: room.to_string(),
                    event_id: event_id.to_string(),
                    emoji,
                    timestamp_us: crate::store::now_ms() * 1000,
                })
                .await?;
        }
        Err(e) => {
            if let Ok(ev) = EventId::parse(event_id) {
                let _ = bridge
                    .intents
                    .bot()
                    .redact(room, &ev, Some("Not accepted by Instagram"))
                    .await;
            }
            let why = if e.invalid_emoji {
                format!("Instagram doesn't accept {key} as a reaction, so it was removed.")
            } else {
                format!("Your reaction was not delivered to Instagram: {e}")
            };
            notice(bridge, room, &why).await;
        }
    }
    Ok(())
}

/// A group portal renamed (or its avatar changed) from Matrix.
async fn room_state(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    portal: &PortalRow,
    room: &RoomId,
    kind: &str,
    content: &Value,
) -> Result<(), ApplyError> {
    if !portal.is_group {
        return Ok(());
    }
    if kind == "m.room.avatar" {
        notice(bridge, room, "Instagram has no way for the bridge to change a group's photo, so it stays as it is there.").await;
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
    match user
        .client
        .rename_thread(&ThreadId::new(&portal.thread_id), name)
        .await
    {
        Ok(()) => {
            let mut updated = portal.clone();
            updated.name = Some(name.to_string());
            updated.name_set = true;
            bridge.store.upsert_portal(&updated).await?;
        }
        Err(e) => {
            notice(
                bridge,
                room,
                &format!(
                    "Renaming the group on Instagram failed: {}",
                    e.user_message()
                ),
            )
            .await
        }
    }
    Ok(())
}

/// Matrix clients add the variation selector to some emoji that Instagram sends without, and
/// the other way round; Instagram's own hearts are `❤️`.
fn normalize_emoji(key: &str) -> String {
    match key {
        "❤" => "❤️".to_string(),
        other => other.to_string(),
    }
}

async fn redaction(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    portal: &PortalRow,
    room: &RoomId,
    redacts: &str,
) -> Result<(), ApplyError> {
    if redacts.is_empty() {
        return Ok(());
    }
    let receiver = portal.receiver.as_str();
    if let Some(reaction) = bridge
        .store
        .get_reaction_by_event(room.as_str(), redacts)
        .await?
    {
        if reaction.sender_pk != user.pk {
            return Ok(());
        }
        match user
            .send_reaction(&portal.thread_id, &reaction.item_id, None)
            .await
        {
            Ok(()) => {
                bridge
                    .store
                    .delete_reaction(&reaction.item_id, receiver, user.pk)
                    .await?;
            }
            Err(e) => {
                notice(
                    bridge,
                    room,
                    &format!("Removing the reaction on Instagram failed: {e}"),
                )
                .await
            }
        }
        return Ok(());
    }
    if let Some(message) = bridge
        .store
        .get_message_by_event(room.as_str(), redacts)
        .await?
    {
        if message.sender_pk != user.pk {
            notice(
                bridge,
                room,
                "Only your own messages can be unsent on Instagram.",
            )
            .await;
            return Ok(());
        }
        match user
            .client
            .unsend(
                &ThreadId::new(&portal.thread_id),
                &ItemId::new(&message.item_id),
            )
            .await
        {
            Ok(()) => {
                bridge
                    .store
                    .delete_message(&message.item_id, receiver)
                    .await?
            }
            Err(e) => {
                notice(
                    bridge,
                    room,
                    &format!("Unsending on Instagram failed: {}", e.user_message()),
                )
                .await
            }
        }
    }
    Ok(())
}

/// `m.typing` for a room: starts or stops typing on Instagram for the bridge users in it.
pub async fn typing(bridge: &Arc<Bridge>, room: &str, typing_users: &[String]) {
    let Ok(Some(portal)) = bridge.store.get_portal_by_room(room).await else {
        return;
    };
    let candidates: Vec<Arc<IgUser>> = bridge
        .users
        .iter()
        .filter(|u| portal.is_group || portal.receiver == u.mxid)
        .map(|u| u.clone())
        .collect();
    for user in candidates {
        let now = typing_users.iter().any(|t| *t == user.mxid);
        let key = (room.to_string(), user.mxid.clone());
        let was = bridge.typing.contains(&key);
        if now == was {
            continue;
        }
        if now {
            bridge.typing.insert(key);
        } else {
            bridge.typing.remove(&key);
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
            let Some(user) = bridge.users.get(reader.as_str()).map(|u| u.clone()) else {
                continue;
            };
            if !portal.is_group && portal.receiver != user.mxid {
                continue;
            }
            if let Ok(Some(message)) = bridge.store.get_message_by_event(room, event_id).await
                && !message.item_id.starts_with("pending:")
                && let Err(e) = user.mark_seen(&portal.thread_id, &message.item_id).await
            {
                tracing::debug!("read receipt not sent to Instagram: {e}");
            }
        }
    }
}
