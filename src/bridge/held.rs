//! Secrets kept out of the inbox table. A Matrix event that may carry a secret (a
//! secret-bearing command such as `login <user> <password>` or `login-cookies …`, or any
//! message of a user whose login waits for a password or a code) enters the inbox like any
//! other, so its place in the room's order is kept, but with a placeholder for its content;
//! the real content waits here, in memory, keyed by event id, until the worker applies it.
//! If the process stopped in between, the content is gone: the worker removes the message
//! from the room and asks the user to send it again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ruma::{EventId, RoomId};
use serde_json::{Value, json};

use super::Bridge;
use super::commands::{self, secrets};
use super::error::ApplyError;
use crate::secret::Secret;

/// Marks stored content whose real content is (or was) held in memory.
pub const HELD_MARK: &str = "net.matrix_instagram.held";
/// The body the inbox keeps instead of the real one.
pub const PLACEHOLDER: &str = "[held in memory: this message may contain a secret]";
/// How long held content waits for its worker (past it, the user is asked again).
const KEEP_FOR: Duration = Duration::from_secs(3600);
/// At most this many contents are held; past it a message is asked for again.
const MAX_HELD: usize = 1000;

/// What the user answers when their message's content was lost.
const LOST_NOTICE: &str = "I could not use your last message: the bridge restarted before it \
                           got to it, and it never keeps passwords, codes or cookies on disk. \
                           Please send it again (if you were logging in, start again with \
                           `login`).";

/// Held contents by event id.
#[derive(Default)]
pub struct HeldSecrets {
    held: Mutex<HashMap<String, (Instant, Secret)>>,
}

impl HeldSecrets {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, (Instant, Secret)>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps an event's content; false when there is no room for it.
    fn hold(&self, event_id: &str, content: &Value) -> bool {
        let mut held = self.lock();
        let now = Instant::now();
        held.retain(|_, (at, _)| now.duration_since(*at) < KEEP_FOR);
        if held.len() >= MAX_HELD && !held.contains_key(event_id) {
            return false;
        }
        held.insert(
            event_id.to_string(),
            (now, Secret::new(content.to_string())),
        );
        true
    }

    /// The held content of an event, if it is still here.
    fn get(&self, event_id: &str) -> Option<Value> {
        let held = self.lock();
        let (_, content) = held.get(event_id)?;
        serde_json::from_str(content.expose()).ok()
    }

    /// Drops an event's content once it was applied (or will never be).
    pub fn forget(&self, event_id: &str) {
        self.lock().remove(event_id);
    }

    /// How many contents are held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether an incoming event may carry a secret and must not be stored as it is. Content
/// that already bears the mark is held too, so a crafted mark can never pass for a lost one.
pub async fn may_carry_secret(bridge: &Bridge, event: &Value) -> bool {
    if event.get("type").and_then(Value::as_str) != Some("m.room.message") {
        return false;
    }
    let Some(sender) = event.get("sender").and_then(Value::as_str) else {
        return false;
    };
    if bridge.is_bridge_user(sender) {
        return false;
    }
    let content = event.get("content");
    if content.and_then(|c| c.get(HELD_MARK)).is_some() {
        return true;
    }
    let prefix = &bridge.config.bridge.command_prefix;
    let edited = content.and_then(|c| c.get("m.new_content"));
    let secret_command = [content, edited]
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("body").and_then(Value::as_str))
        .filter_map(|body| commands::strip_prefix(body, prefix, true))
        .any(|text| secrets::secret_command(text).is_some());
    secret_command
        || bridge
            .logins
            .lock()
            .await
            .get(sender)
            .is_some_and(|flow| flow.expects_secret())
}

/// The event as the inbox keeps it: its content held in memory, a placeholder in its place.
pub fn keep_out(bridge: &Bridge, event: &Value) -> Value {
    let mut stored = event.clone();
    let event_id = event.get("event_id").and_then(Value::as_str);
    if let (Some(id), Some(content)) = (event_id, event.get("content"))
        && !bridge.held.hold(id, content)
    {
        tracing::warn!(
            event = id,
            "too many messages with secrets wait: this one will be asked for again"
        );
    }
    if let Some(object) = stored.as_object_mut() {
        object.insert(
            "content".into(),
            json!({"msgtype": "m.text", "body": PLACEHOLDER, HELD_MARK: true}),
        );
    }
    stored
}

/// What [`restore`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Restored {
    /// The event was stored as it is.
    Plain,
    /// Its content was held and is back in the event; forget it (by this event id) once done.
    Held(String),
    /// Its content was held, but is no longer here (the process restarted).
    Lost,
}

/// Puts an event's held content back in place.
pub fn restore(bridge: &Bridge, event: &mut Value) -> Restored {
    let marked = event
        .get("content")
        .and_then(|c| c.get(HELD_MARK))
        .is_some();
    if !marked {
        return Restored::Plain;
    }
    let Some(id) = event
        .get("event_id")
        .and_then(Value::as_str)
        .map(String::from)
    else {
        return Restored::Lost;
    };
    match (bridge.held.get(&id), event.as_object_mut()) {
        (Some(content), Some(object)) => {
            object.insert("content".into(), content);
            Restored::Held(id)
        }
        _ => Restored::Lost,
    }
}

/// A held message whose content was lost: removed from the room, the user asked again.
pub async fn lost(bridge: &Arc<Bridge>, event: &Value) -> Result<(), ApplyError> {
    let room = event
        .get("room_id")
        .and_then(Value::as_str)
        .and_then(|r| RoomId::parse(r).ok());
    let event_id = event
        .get("event_id")
        .and_then(Value::as_str)
        .and_then(|e| EventId::parse(e).ok());
    let (Some(room), Some(event_id)) = (room, event_id) else {
        return Err(ApplyError::Permanent(
            "a held message without a valid room or event id".into(),
        ));
    };
    tracing::info!(room = %room, event = %event_id, "a held message was lost in a restart");
    let bot = bridge.intents.bot();
    if let Err(e) = bot
        .redact(&room, &event_id, Some("may contain a secret"))
        .await
    {
        tracing::warn!("could not redact a message that may hold a secret: {e}");
    }
    bot.send_notice(&room, LOST_NOTICE).await?;
    Ok(())
}

#[cfg(test)]
#[path = "held_tests.rs"]
mod tests;
