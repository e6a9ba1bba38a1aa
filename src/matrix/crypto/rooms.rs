//! Which rooms are encrypted, who is in them, and the room-level operations built on the
//! machine: encrypting an outgoing event for a room's members, and decrypting an incoming one
//! while waiting (bounded) for its room key.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use serde_json::Value;

use super::{Crypto, CryptoError, DecryptError, Decrypted, RoomKey};
use crate::matrix::MatrixError;
use crate::matrix::client::HomeserverClient;

/// The bot's crypto with what it knows about rooms.
pub struct EncryptedRooms {
    crypto: Arc<Crypto>,
    client: HomeserverClient,
    /// Whether a room is encrypted, as last learned (encryption is never turned off).
    known: DashMap<String, bool>,
    /// Bumped whenever room keys arrive.
    keys: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for EncryptedRooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedRooms")
            .field("crypto", &self.crypto)
            .finish_non_exhaustive()
    }
}

fn path_segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl EncryptedRooms {
    pub fn new(crypto: Arc<Crypto>, client: HomeserverClient) -> Self {
        Self {
            crypto,
            client,
            known: DashMap::new(),
            keys: tokio::sync::watch::channel(0).0,
        }
    }

    pub fn crypto(&self) -> &Arc<Crypto> {
        &self.crypto
    }

    /// Records that a room is encrypted (an `m.room.encryption` event was seen or sent).
    pub fn note_encrypted(&self, room_id: &str) {
        self.known.insert(room_id.to_string(), true);
    }

    /// Records room keys that arrived, waking decryptions waiting for them.
    pub fn note_keys(&self, keys: &[RoomKey]) {
        if !keys.is_empty() {
            self.keys.send_modify(|n| *n += 1);
        }
    }

    /// Whether a room is encrypted: known, else asked of the homeserver (its
    /// `m.room.encryption` state, read as the bot) and remembered.
    pub async fn is_encrypted(&self, room_id: &str) -> Result<bool, MatrixError> {
        if let Some(known) = self.known.get(room_id) {
            return Ok(*known);
        }
        let path = format!(
            "/_matrix/client/v3/rooms/{}/state/m.room.encryption/",
            path_segment(room_id)
        );
        let answer = self
            .client
            .send_json(
                "state::get_state_event (m.room.encryption)",
                http::Method::GET,
                &path,
                &[],
                None,
            )
            .await;
        let encrypted = match answer {
            Ok(body) => serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("algorithm").cloned())
                .is_some(),
            Err(MatrixError::Api { status: 404, .. }) => false,
            // Not in the room (yet): ask again next time.
            Err(MatrixError::Api { status: 403, .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        // A concurrent `note_encrypted` wins over an older answer.
        self.known.entry(room_id.to_string()).or_insert(encrypted);
        Ok(self.known.get(room_id).is_some_and(|k| *k))
    }

    /// The users joined to or invited into a room, as the homeserver says.
    async fn members(&self, room_id: &str) -> Result<Vec<String>, MatrixError> {
        let path = format!("/_matrix/client/v3/rooms/{}/members", path_segment(room_id));
        let body = self
            .client
            .send_json(
                "membership::get_member_events",
                http::Method::GET,
                &path,
                &[("not_membership", "leave")],
                None,
            )
            .await?;
        let parsed: Value = serde_json::from_slice(&body).map_err(|e| MatrixError::Protocol {
            endpoint: "membership::get_member_events",
            reason: e.to_string(),
        })?;
        let members = parsed["chunk"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| matches!(e["content"]["membership"].as_str(), Some("join" | "invite")))
            .filter_map(|e| e["state_key"].as_str().map(str::to_string))
            .collect();
        Ok(members)
    }

    /// The `m.room.encrypted` content for an event about to be sent into an encrypted room, or
    /// `None` when the room is not encrypted.
    pub async fn encrypt_if_needed(
        &self,
        room_id: &str,
        event_type: &str,
        content: &Value,
    ) -> Result<Option<Value>, CryptoError> {
        if event_type == "m.room.encrypted" || !self.is_encrypted(room_id).await? {
            return Ok(None);
        }
        let members = self.members(room_id).await?;
        let encrypted = self
            .crypto
            .encrypt(room_id, &members, event_type, content)
            .await?;
        Ok(Some(encrypted))
    }

    /// Decrypts an encrypted room event, waiting up to `patience` for its room key to arrive.
    pub async fn decrypt(
        &self,
        room_id: &str,
        event: &Value,
        patience: Duration,
    ) -> Result<Decrypted, DecryptError> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut arrivals = self.keys.subscribe();
        loop {
            arrivals.borrow_and_update();
            match self.crypto.decrypt(room_id, event).await {
                Err(DecryptError::MissingKey { .. }) if tokio::time::Instant::now() < deadline => {
                    // Woken by any arrival; the loop tries again (or gives up at the deadline).
                    let _ = tokio::time::timeout_at(deadline, arrivals.changed()).await;
                }
                other => return other,
            }
        }
    }
}
