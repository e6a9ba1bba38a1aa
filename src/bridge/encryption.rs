//! End-to-bridge encryption as the bridge uses it (`encryption` in the config): feeding each
//! appservice transaction's crypto part to the bot's machine, decrypting `m.room.encrypted`
//! rows in the conversation worker, and creating portals encrypted (`encryption.default`).
//! Encrypting outgoing events happens in the Matrix layer's intents
//! (`matrix::crypto::EncryptedRooms`), for every event sent into an encrypted room.

use std::sync::Arc;
use std::time::Duration;

use ruma::serde::Raw;
use serde_json::{Value, json};

use super::Bridge;
use super::error::{ApplyError, Side};
use crate::matrix::appservice::Transaction;
use crate::matrix::crypto::{
    Crypto, CryptoError, CryptoSettings, DecryptError, DeviceCreation, EncryptedRooms, Trust,
};
use crate::store::StoreError;

/// Why a transaction could not be recorded (answered 500: the homeserver sends it again).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("end-to-bridge encryption: {0}")]
    Crypto(String),
}

/// The crypto settings from the config.
pub fn settings(config: &crate::config::Config) -> CryptoSettings {
    use crate::config::encryption::VerificationLevel as Level;
    // `verified` is refused by the config's validation; read as the nearest level the
    // library can tell, never a weaker one.
    let trust = |level: Level| match level {
        Level::Unverified => Trust::Any,
        Level::CrossSignedUntrusted => Trust::CrossSigned,
        Level::CrossSignedTofu => Trust::CrossSignedPinned,
        Level::CrossSignedVerified | Level::Verified => Trust::Verified,
    };
    let encryption = &config.encryption;
    CryptoSettings {
        store_path: encryption.store_path.clone().into(),
        pickle_key: encryption.pickle_key.clone(),
        device_creation: if encryption.msc4190 {
            DeviceCreation::Msc4190
        } else {
            DeviceCreation::AppserviceLogin
        },
        self_sign: encryption.self_sign,
        share_with: trust(encryption.verification_levels.receive),
        accept_from: trust(encryption.verification_levels.send),
    }
}

/// Starts the bot's crypto (its device, keys upload), trying again every few seconds while
/// the homeserver cannot be reached; then every intent encrypts in encrypted rooms. Returns
/// only when started, or with an error that waiting does not cure (a store that cannot be
/// opened, a device the homeserver refuses).
pub async fn start(bridge: &Arc<Bridge>) -> Result<(), CryptoError> {
    let client = bridge.intents.client().clone();
    let mut wait = Duration::from_millis(500);
    loop {
        match Crypto::start(client.clone(), settings(&bridge.config)).await {
            Ok(crypto) => {
                let rooms = Arc::new(EncryptedRooms::new(crypto, client));
                bridge.intents.set_encryption(rooms);
                return Ok(());
            }
            Err(e) if e.is_transient() => {
                tracing::warn!("end-to-bridge encryption not started yet: {e}");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Gives a transaction's crypto part (to-device events, device lists, key counts) to the
/// machine, before the transaction is acknowledged; notes rooms turning encrypted.
pub async fn receive(bridge: &Bridge, txn: &Transaction) -> Result<(), RecordError> {
    if !bridge.config.encryption.allow {
        return Ok(());
    }
    let Some(rooms) = bridge.intents.encryption() else {
        let for_bot = txn
            .crypto
            .to_device
            .iter()
            .any(|e| e.get("to_user_id").and_then(Value::as_str) == Some(bridge.bot.as_str()));
        return if for_bot {
            Err(RecordError::Crypto(
                "to-device events for the bot arrived before its device is ready".into(),
            ))
        } else {
            Ok(())
        };
    };
    for event in &txn.events {
        if event.get("type").and_then(Value::as_str) == Some("m.room.encryption")
            && event.get("state_key").and_then(Value::as_str) == Some("")
            && let Some(room) = event.get("room_id").and_then(Value::as_str)
        {
            rooms.note_encrypted(room);
        }
    }
    let keys = rooms
        .crypto()
        .receive(&txn.crypto)
        .await
        .map_err(|e| RecordError::Crypto(e.to_string()))?;
    rooms.note_keys(&keys);
    Ok(())
}

/// An `m.room.encrypted` event decrypted (waiting up to `encryption.key_wait_secs` for its key:
/// only this conversation waits; then the event goes to the dead letters with a notice, and
/// `retry-dead-letters` tries it again), any
/// other event as it is (or refused: an unencrypted message in a portal with
/// `encryption.require`).
pub async fn decrypt(bridge: &Bridge, event: Value) -> Result<Value, ApplyError> {
    if !bridge.config.encryption.allow {
        return Ok(event);
    }
    if event.get("type").and_then(Value::as_str) != Some("m.room.encrypted") {
        refuse_unencrypted(bridge, &event).await?;
        return Ok(event);
    }
    // The bridge's own events (ghosts', the bot's) need no decrypting: they are not bridged.
    if event
        .get("sender")
        .and_then(Value::as_str)
        .is_some_and(|s| bridge.is_bridge_user(s))
    {
        return Ok(event);
    }
    let Some(rooms) = bridge.intents.encryption() else {
        return Err(ApplyError::transient(
            Side::Homeserver,
            "end-to-bridge encryption is still starting",
        ));
    };
    let room = event
        .get("room_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let patience = Duration::from_secs(bridge.config.encryption.key_wait_secs);
    match rooms.decrypt(&room, &event, patience).await {
        Ok(decrypted) => Ok(decrypted.event),
        Err(e @ DecryptError::MissingKey { .. }) => Err(ApplyError::Permanent(format!(
            "could not decrypt the message within {} s: {e}",
            patience.as_secs()
        ))),
        Err(e @ DecryptError::Store(_)) => {
            Err(ApplyError::transient(Side::Database, e.to_string()))
        }
        Err(e @ DecryptError::KeysUnavailable(_)) => {
            Err(ApplyError::transient(Side::Homeserver, e.to_string()))
        }
        Err(e @ DecryptError::Untrusted { .. }) => {
            // Refused, not lost: a FAIL status for the event besides the worker's notice.
            if let (Ok(room), Some(event_id)) = (
                ruma::OwnedRoomId::try_from(room.as_str()),
                event.get("event_id").and_then(Value::as_str),
            ) {
                bridge.reports.push(super::status::Report::Status {
                    room,
                    event_id: event_id.to_string(),
                    error: Some(e.to_string()),
                });
            }
            Err(ApplyError::Permanent(e.to_string()))
        }
        Err(e) => Err(ApplyError::Permanent(e.to_string())),
    }
}

/// With `encryption.require`, a user's unencrypted message or sticker in a portal is refused
/// (the worker tells the room).
async fn refuse_unencrypted(bridge: &Bridge, event: &Value) -> Result<(), ApplyError> {
    let kind = event.get("type").and_then(Value::as_str);
    let sender = event.get("sender").and_then(Value::as_str).unwrap_or("");
    if !bridge.config.encryption.require
        || !matches!(kind, Some("m.room.message" | "m.sticker"))
        || bridge.is_bridge_user(sender)
    {
        return Ok(());
    }
    let room = event.get("room_id").and_then(Value::as_str).unwrap_or("");
    if bridge.store.get_portal_by_room(room).await?.is_none() {
        return Ok(());
    }
    Err(ApplyError::Permanent(
        "this bridge accepts only encrypted messages in portals (encryption.require); \
         turn on encryption in this room and send it again"
            .into(),
    ))
}

/// Whether new portals are created encrypted.
pub fn new_portals_encrypted(bridge: &Bridge) -> bool {
    bridge.config.encryption.allow && bridge.config.encryption.default
}

/// The `m.room.encryption` initial state of an encrypted portal.
pub fn initial_state() -> Option<Raw<ruma::events::AnyInitialStateEvent>> {
    let event = json!({
        "type": "m.room.encryption",
        "state_key": "",
        "content": { "algorithm": "m.megolm.v1.aes-sha2" },
    });
    serde_json::value::to_raw_value(&event)
        .ok()
        .map(Raw::from_json)
}

/// Records that a room the bridge just created is encrypted.
pub fn created_encrypted(bridge: &Bridge, room_id: &str) {
    if let Some(rooms) = bridge.intents.encryption() {
        rooms.note_encrypted(room_id);
    }
}
