//! A Matrix reaction → our reaction on the Instagram item (Instagram keeps one per person).

use ruma::EventId;
use serde_json::Value;

use super::Send;
use super::delivery::{self, SendFailure};
use crate::bridge::error::ApplyError;
use crate::store::messages::ReactionRow;

/// Instagram took our reaction: it keeps one per user, so the earlier one goes here too, and
/// the new one is recorded.
async fn accepted(send: &Send<'_>, item_id: &str, emoji: String) -> Result<(), ApplyError> {
    let (bridge, room, user) = (send.bridge, send.room, send.user);
    let receiver = send.portal.receiver.as_str();
    if let Some(old) = bridge
        .store
        .get_reaction(item_id, receiver, user.pk)
        .await?
        && old.event_id != send.event_id
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
            item_id: item_id.to_string(),
            receiver: receiver.to_string(),
            sender_pk: user.pk,
            room_id: room.to_string(),
            event_id: send.event_id.to_string(),
            emoji,
            timestamp_us: crate::store::now_ms() * 1000,
        })
        .await?;
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

pub async fn reaction(send: &Send<'_>, content: &Value) -> Result<(), ApplyError> {
    let (bridge, room, user) = (send.bridge, send.room, send.user);
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
        .get_reaction_by_event(room.as_str(), send.event_id)
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
    let emoji = normalize_emoji(key);
    let result = user
        .send_reaction(&send.portal.thread_id, &target.item_id, Some(&emoji))
        .await
        .map_err(SendFailure::from);
    match result {
        Ok(()) => accepted(send, &target.item_id, emoji).await,
        Err(SendFailure::Transient(reason)) => {
            delivery::failed(bridge, room, None, SendFailure::Transient(reason), |_| {
                String::new()
            })
            .await
        }
        Err(failure) => {
            // The reaction did not happen on Instagram: it does not stay in Matrix either.
            if let Ok(ev) = EventId::parse(send.event_id) {
                let _ = bridge
                    .intents
                    .bot()
                    .redact(room, &ev, Some("Not accepted by Instagram"))
                    .await;
            }
            delivery::failed(bridge, room, None, failure, |f| match f {
                SendFailure::InvalidEmoji => {
                    format!("Instagram doesn't accept {key} as a reaction, so it was removed.")
                }
                other => format!("Your reaction was not delivered to Instagram: {other}"),
            })
            .await
        }
    }
}
