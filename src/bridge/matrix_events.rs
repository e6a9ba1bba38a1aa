//! Applying one Matrix event from the inbox: bot invites, commands, (later) portal messages.

use std::sync::Arc;

use ruma::{EventId, OwnedRoomId, OwnedUserId, RoomId, UserId};
use serde_json::Value;

use super::commands::{self, CommandContext};
use super::conversation::Portal;
use super::error::ApplyError;
use super::{Bridge, held};
use crate::config::PermissionLevel;

/// The parts of an event the bridge looks at, validated.
struct Event<'a> {
    kind: &'a str,
    sender: OwnedUserId,
    room_id: OwnedRoomId,
    state_key: Option<&'a str>,
    content: &'a Value,
}

fn parse(value: &Value) -> Result<Event<'_>, ApplyError> {
    let bad = |what: &str| ApplyError::Permanent(format!("malformed event: {what}"));
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no type"))?;
    let sender = value
        .get("sender")
        .and_then(Value::as_str)
        .and_then(|s| UserId::parse(s).ok())
        .ok_or_else(|| bad("no valid sender"))?;
    let room_id = value
        .get("room_id")
        .and_then(Value::as_str)
        .and_then(|s| RoomId::parse(s).ok())
        .ok_or_else(|| bad("no valid room_id"))?;
    static EMPTY: Value = Value::Null;
    Ok(Event {
        kind,
        sender,
        room_id,
        state_key: value.get("state_key").and_then(Value::as_str),
        content: value.get("content").unwrap_or(&EMPTY),
    })
}

/// Whether an event from a transaction needs no place in the inbox because [`apply`] ignores
/// it whatever the state: what the bridge's own users (the bot, the ghosts) sent, memberships
/// aside, and what a bridge sent as the user (double puppeting). These are mostly the
/// homeserver handing back the bridge's own sends: keeping them out saves each bridged message
/// an inbox write, a worker wake-up and a delete.
pub fn ignored_at_intake(bridge: &Bridge, event: &Value) -> bool {
    if event
        .get("content")
        .is_some_and(crate::matrix::double_puppet::is_marked)
    {
        return true;
    }
    let own = event
        .get("sender")
        .and_then(Value::as_str)
        .is_some_and(|s| bridge.is_bridge_user(s));
    own && event.get("type").and_then(Value::as_str) != Some("m.room.member")
}

/// Applies one event (the raw JSON the homeserver sent, its content perhaps held in memory).
pub async fn apply(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    payload: &str,
) -> Result<(), ApplyError> {
    let mut value: Value = serde_json::from_str(payload)
        .map_err(|e| ApplyError::Permanent(format!("event is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApplyError::Permanent("event is not a JSON object".into()));
    }
    let held = match held::restore(bridge, &mut value) {
        held::Restored::Plain => None,
        held::Restored::Held(event_id) => Some(event_id),
        held::Restored::Lost => return held::lost(bridge, &value).await,
    };
    let result = match super::encryption::decrypt(bridge, value).await {
        Ok(value) => apply_event(bridge, conv, &value).await,
        Err(e) => Err(e),
    };
    // Kept for another attempt only while one will come.
    if let Some(event_id) = held
        && !matches!(result, Err(ApplyError::Transient { .. }))
    {
        bridge.held.forget(&event_id);
    }
    result
}

async fn apply_event(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    value: &Value,
) -> Result<(), ApplyError> {
    let event = parse(value)?;
    // Sent by a bridge as the user (double puppeting): never bridged back.
    if crate::matrix::double_puppet::is_marked(event.content) {
        return Ok(());
    }
    match event.kind {
        "m.room.member" => on_member(bridge, &event).await,
        "m.room.message" => on_message(bridge, conv, &event, value).await,
        "m.reaction" | "m.sticker" | "m.room.redaction" | "m.room.name" | "m.room.avatar" => {
            if bridge.is_bridge_user(event.sender.as_str()) {
                return Ok(());
            }
            match bridge
                .store
                .get_portal_by_room(event.room_id.as_str())
                .await?
            {
                Some(portal) => {
                    let sender = &event.sender;
                    super::outgoing::apply(bridge, conv, &portal, event.kind, sender, value).await
                }
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

async fn on_member(bridge: &Arc<Bridge>, event: &Event<'_>) -> Result<(), ApplyError> {
    let membership = event
        .content
        .get("membership")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(target) = event.state_key else {
        return Err(ApplyError::Permanent(
            "member event without state_key".into(),
        ));
    };
    if target == bridge.bot.as_str() {
        match membership {
            "invite" => return on_bot_invite(bridge, event).await,
            "leave" | "ban" => {
                bridge
                    .intents
                    .forget_membership(&event.room_id, &bridge.bot);
            }
            _ => {}
        }
    } else if matches!(membership, "leave" | "ban")
        && let Ok(user) = UserId::parse(target)
    {
        bridge.intents.forget_membership(&event.room_id, &user);
    }
    Ok(())
}

async fn on_bot_invite(bridge: &Arc<Bridge>, event: &Event<'_>) -> Result<(), ApplyError> {
    let bot = bridge.intents.bot();
    let level = bridge.permission(&event.sender);
    bot.join(&event.room_id).await?;
    if level < Some(PermissionLevel::User) {
        tracing::info!(
            sender = %event.sender,
            room = %event.room_id,
            "refusing invite from a user without permission"
        );
        bot.send_notice(
            &event.room_id,
            "Sorry, you don't have permission to use this bridge. Ask the bridge's \
             administrator if you think you should.",
        )
        .await?;
        bot.leave(&event.room_id).await?;
        return Ok(());
    }
    let is_direct = event
        .content
        .get("is_direct")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let texts = &bridge.config.bridge.management_room_text;
    if is_direct {
        bridge.store.ensure_user(event.sender.as_str()).await?;
        bridge
            .store
            .set_management_room(event.sender.as_str(), event.room_id.as_str())
            .await?;
        let logged_in = bridge
            .store
            .logins_of(event.sender.as_str())
            .await?
            .iter()
            .any(|l| l.session.is_some());
        let extra = if logged_in {
            &texts.welcome_connected
        } else {
            &texts.welcome_unconnected
        };
        bot.send_notice(&event.room_id, &format!("{}\n\n{}", texts.welcome, extra))
            .await?;
    } else {
        bot.send_notice(
            &event.room_id,
            &format!(
                "{} Use `{} help` for help.",
                texts.welcome, bridge.config.bridge.command_prefix
            ),
        )
        .await?;
    }
    Ok(())
}

async fn on_message(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    event: &Event<'_>,
    value: &Value,
) -> Result<(), ApplyError> {
    if bridge.is_bridge_user(event.sender.as_str()) {
        return Ok(());
    }
    let prefix = &bridge.config.bridge.command_prefix;
    let body_text = event
        .content
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let edited_text = event
        .content
        .get("m.new_content")
        .and_then(|c| c.get("body"))
        .and_then(Value::as_str);
    let prefixed = [Some(body_text), edited_text]
        .into_iter()
        .flatten()
        .any(|text| commands::strip_prefix(text, prefix, false).is_some());
    if !prefixed
        && let Some(portal) = bridge
            .store
            .get_portal_by_room(event.room_id.as_str())
            .await?
    {
        let sender = &event.sender;
        return super::outgoing::apply(bridge, conv, &portal, event.kind, sender, value).await;
    }
    let msgtype = event
        .content
        .get("msgtype")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if msgtype != "m.text" {
        return Ok(());
    }
    let Some(body) = event.content.get("body").and_then(Value::as_str) else {
        return Ok(());
    };
    let is_management = bridge
        .store
        .get_user_by_management_room(event.room_id.as_str())
        .await?
        .is_some_and(|u| u.mxid == event.sender.as_str());
    let event_id = value
        .get("event_id")
        .and_then(Value::as_str)
        .and_then(|e| EventId::parse(e).ok());
    let ctx = CommandContext {
        bridge,
        sender: &event.sender,
        room_id: &event.room_id,
        event_id: event_id.as_deref(),
        is_management,
    };
    if let Some(edited) = edited_text {
        // An edit runs no command, but one that writes a secret in is removed all the same.
        if let Some(text) = commands::strip_prefix(edited, prefix, is_management)
            && let Some(reason) = commands::secrets::redaction_reason(&ctx, text).await
        {
            ctx.redact_command(reason).await;
        }
        return Ok(());
    }
    let Some(command) = commands::strip_prefix(body, prefix, is_management) else {
        return Ok(());
    };
    commands::handle(&ctx, command).await
}

#[cfg(test)]
#[path = "intake_tests.rs"]
mod tests;
