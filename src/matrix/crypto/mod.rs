//! End-to-bridge encryption: the bot's device and its Olm machine (matrix-sdk-crypto 0.18, on
//! ruma 0.16, with its SQLite crypto store), behind an edge that speaks JSON only.
//!
//! Nothing outside this module sees a ruma 0.16 or matrix-sdk-crypto type: ids go in as
//! strings, events and contents as `serde_json::Value`, and the machine's requests go out
//! through [`HomeserverClient::send_json`] as the bot's device (appservice device
//! masquerading, `?device_id=`). What the machine needs from the homeserver arrives in
//! appservice transactions ([`TransactionCrypto`]: MSC2409 to-device events, MSC3202 device
//! lists and one-time-key counts).

mod attachment;
mod cross_signing;
mod device;
mod error;
mod requests;
mod rooms;
mod trust;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use matrix_sdk_crypto::{
    DecryptionSettings, EncryptionSettings, EncryptionSyncChanges, MegolmError, OlmMachine,
    TrustRequirement, UserIdentity,
};
use matrix_sdk_sqlite::SqliteCryptoStore;
use ruma16::serde::Raw;
use ruma16::{OwnedRoomId, OwnedUserId, RoomId, UserId};
use serde_json::Value;

pub use attachment::{
    AttachmentError, check_attachment_info, decrypt_attachment, encrypt_attachment,
};
pub use device::DeviceCreation;
pub use error::{CryptoError, DecryptError};
pub use rooms::EncryptedRooms;
pub use trust::Trust;

use super::client::HomeserverClient;
use crate::secret::Secret;

/// The query parameters naming the bot's device on its requests: the stable one (current
/// Synapse, no flag) and MSC3202's unstable one (older Synapse with
/// `msc3202_device_masquerading`).
pub const DEVICE_ID_PARAMS: [&str; 2] = ["device_id", "org.matrix.msc3202.device_id"];

/// What the bot's crypto needs to start.
#[derive(Debug, Clone)]
pub struct CryptoSettings {
    /// The directory of the SQLite crypto store.
    pub store_path: PathBuf,
    /// Encrypts the store.
    pub pickle_key: Secret,
    /// How the bot's device is made on the homeserver.
    pub device_creation: DeviceCreation,
    /// Cross-sign the bot's device with an identity of the bot's own.
    pub self_sign: bool,
    /// Devices the room keys of outgoing messages are shared with.
    pub share_with: Trust,
    /// Devices whose messages are bridged; events from others are refused after decrypting.
    pub accept_from: Trust,
}

/// What an appservice transaction carries for the bot's crypto (all of it optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransactionCrypto {
    /// To-device events (MSC2409), for any user of the namespace.
    pub to_device: Vec<Value>,
    /// Users whose devices changed / with whom no encrypted room is shared any more.
    pub changed: Vec<String>,
    pub left: Vec<String>,
    /// One-time-key counts per user and device: `{user: {device: {algorithm: n}}}`.
    pub otk_counts: Option<Value>,
    /// Unused fallback key types per user and device: `{user: {device: [algorithm]}}`.
    pub fallback_keys: Option<Value>,
}

impl TransactionCrypto {
    pub fn is_empty(&self) -> bool {
        self.to_device.is_empty()
            && self.changed.is_empty()
            && self.left.is_empty()
            && self.otk_counts.is_none()
            && self.fallback_keys.is_none()
    }
}

/// A room key that arrived: events of this session in this room can now be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomKey {
    pub room_id: String,
    pub session_id: String,
}

/// A decrypted room event: the plaintext event (`type`, `content` and the encrypted event's
/// `event_id`, `sender`, `origin_server_ts`, `room_id`), as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Decrypted {
    pub event: Value,
}

/// The bot's device and Olm machine. Cheap to share (`Arc`).
pub struct Crypto {
    machine: OlmMachine,
    client: HomeserverClient,
    settings: CryptoSettings,
    /// One run of outgoing requests at a time (the machine hands out each request until its
    /// answer is marked), and one room-key share at a time.
    requests: tokio::sync::Mutex<()>,
    sharing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Crypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crypto")
            .field("user_id", &self.machine.user_id())
            .field("device_id", &self.machine.device_id())
            .finish_non_exhaustive()
    }
}

/// A future boxed as `Send` here, where its lifetimes are concrete: the crypto machine's
/// futures are too deep for the compiler to prove `Send` for every lifetime further up.
fn boxed<'a, T>(
    future: impl std::future::Future<Output = T> + Send + 'a,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>> {
    Box::pin(future)
}

fn store_error(e: impl std::fmt::Display) -> CryptoError {
    CryptoError::Store(e.to_string())
}

fn user_id(text: &str) -> Result<OwnedUserId, CryptoError> {
    UserId::parse(text).map_err(|e| CryptoError::Invalid {
        what: "user id",
        reason: format!("{text}: {e}"),
    })
}

fn room_id(text: &str) -> Result<OwnedRoomId, CryptoError> {
    RoomId::parse(text).map_err(|e| CryptoError::Invalid {
        what: "room id",
        reason: format!("{text}: {e}"),
    })
}

impl Crypto {
    /// Opens the crypto store, makes the bot's device on the homeserver if the store has
    /// none yet, and uploads the device's keys.
    pub async fn start(
        client: HomeserverClient,
        settings: CryptoSettings,
    ) -> Result<Arc<Self>, CryptoError> {
        let bot = user_id(client.bot().as_str())?;
        let path = settings.store_path.display().to_string();
        let store =
            SqliteCryptoStore::open(&settings.store_path, Some(settings.pickle_key.expose()))
                .await
                .map_err(|e| CryptoError::Open {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
        let device_id = match device::stored_device(&store).await? {
            Some(device_id) => device_id,
            None => device::create(&client, &settings.device_creation).await?,
        };
        let device_id: ruma16::OwnedDeviceId = device_id.into();
        let machine = OlmMachine::with_store(&bot, &device_id, store, None)
            .await
            .map_err(|e| CryptoError::Open {
                path,
                reason: e.to_string(),
            })?;
        tracing::info!(device_id = %device_id, "end-to-bridge encryption: bot device ready");
        let crypto = Arc::new(Self {
            machine,
            client,
            settings,
            requests: Default::default(),
            sharing: Default::default(),
        });
        crypto.send_outgoing_requests().await?;
        if crypto.settings.self_sign {
            cross_signing::ensure(&crypto).await?;
        }
        Ok(crypto)
    }

    /// The bot's device id.
    pub fn device_id(&self) -> &str {
        self.machine.device_id().as_str()
    }

    /// The bot's Curve25519 identity key (base64).
    pub fn identity_key(&self) -> String {
        self.machine.identity_keys().curve25519.to_base64()
    }

    /// Decrypting itself accepts every sender; [`Crypto::decrypt`] judges the sending device
    /// against `accept_from` afterwards, so the refusal can say why.
    fn decryption_settings(&self) -> DecryptionSettings {
        DecryptionSettings {
            sender_device_trust_requirement: TrustRequirement::Untrusted,
        }
    }

    /// Whether the store holds a complete cross-signing identity of the bot, published with
    /// the device's signature (`encryption.self_sign` done). Clients see the signature in the
    /// bot's keys; the bot's own copy of its device learns it only at its next keys query.
    pub async fn is_self_signed(&self) -> bool {
        cross_signing::published(self).await
    }

    /// Whether a user's cross-signing identity changed since the bot first saw (pinned) it.
    async fn pin_violation(&self, user: &UserId) -> Result<bool, DecryptError> {
        match boxed(self.machine.get_identity(user, None)).await {
            Ok(Some(UserIdentity::Other(other))) => Ok(other.identity_needs_user_approval()),
            Ok(_) => Ok(false),
            Err(e) => Err(DecryptError::Store(e.to_string())),
        }
    }

    /// Feeds what a transaction carried to the machine (stored before this returns), then
    /// sends what the machine asks for (a failure there is only logged). Returns the room keys
    /// that arrived.
    pub async fn receive(&self, txn: &TransactionCrypto) -> Result<Vec<RoomKey>, CryptoError> {
        if txn.is_empty() {
            return Ok(Vec::new());
        }
        let own_user = self.machine.user_id().as_str();
        let own_device = self.machine.device_id().as_str();
        let to_device: Vec<Raw<_>> = txn
            .to_device
            .iter()
            .filter(|e| {
                // MSC2409 carries every namespaced user's to-device events; only the bot's
                // device (or all its devices) is ours.
                e.get("to_user_id")
                    .and_then(Value::as_str)
                    .is_none_or(|u| u == own_user)
                    && e.get("to_device_id")
                        .and_then(Value::as_str)
                        .is_none_or(|d| d == own_device || d == "*")
            })
            .filter_map(|e| serde_json::value::to_raw_value(e).ok().map(Raw::from_json))
            .collect();
        let lists: ruma16::api::client::sync::sync_events::DeviceLists =
            serde_json::from_value(serde_json::json!({
                "changed": txn.changed.iter().filter(|u| UserId::parse(u.as_str()).is_ok()).collect::<Vec<_>>(),
                "left": txn.left.iter().filter(|u| UserId::parse(u.as_str()).is_ok()).collect::<Vec<_>>(),
            }))
            .map_err(|e| CryptoError::Invalid {
                what: "device lists",
                reason: e.to_string(),
            })?;
        let own = |map: &Option<Value>| {
            map.as_ref()
                .and_then(|m| m.get(own_user))
                .and_then(|m| m.get(own_device))
                .cloned()
        };
        let counts: BTreeMap<ruma16::OneTimeKeyAlgorithm, ruma16::UInt> = own(&txn.otk_counts)
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let fallback: Option<Vec<ruma16::OneTimeKeyAlgorithm>> =
            own(&txn.fallback_keys).and_then(|v| serde_json::from_value(v).ok());
        let changes = EncryptionSyncChanges {
            to_device_events: to_device,
            changed_devices: &lists,
            one_time_keys_counts: &counts,
            unused_fallback_keys: fallback.as_deref(),
            next_batch_token: None,
        };
        let settings = self.decryption_settings();
        let (_events, keys) = boxed(self.machine.receive_sync_changes(changes, &settings))
            .await
            .map_err(store_error)?;
        // What arrived is stored; requests that fail now are handed out again next time, so
        // the transaction is not refused (and its to-device events not fed twice) for them.
        if let Err(e) = self.send_outgoing_requests().await {
            tracing::warn!("end-to-bridge encryption: a key request failed, kept for later: {e}");
        }
        Ok(keys
            .into_iter()
            .map(|k| RoomKey {
                room_id: k.room_id.to_string(),
                session_id: k.session_id,
            })
            .collect())
    }

    /// Sends every request the machine has waiting (key uploads, queries, to-device) and
    /// hands it the answers.
    pub async fn send_outgoing_requests(&self) -> Result<(), CryptoError> {
        let _one_run = self.requests.lock().await;
        let outgoing = boxed(self.machine.outgoing_requests())
            .await
            .map_err(store_error)?;
        for request in outgoing {
            let Some(http) = requests::http_request(request.request())? else {
                continue;
            };
            self.send(request.request_id(), http).await?;
        }
        Ok(())
    }

    /// Sends a request as the bot's device; returns the answer's body.
    async fn send_http(&self, http: &requests::HttpRequest) -> Result<Vec<u8>, CryptoError> {
        // `user_id` named too, though it is the bot: Synapse 1.163 fails (500) on `device_id`
        // without it (it looks the device up with the registration's sender as an object).
        let [stable, unstable] = DEVICE_ID_PARAMS.map(|name| (name, self.device_id()));
        let query = [
            ("user_id", self.machine.user_id().as_str()),
            stable,
            unstable,
        ];
        let body = self
            .client
            .send_json(
                http.kind.endpoint(),
                http.method.clone(),
                &http.path,
                &query,
                Some(&http.body),
            )
            .await?;
        Ok(body.to_vec())
    }

    /// Sends a request the machine does not track; returns the answer as JSON.
    async fn send_unmarked(&self, http: requests::HttpRequest) -> Result<Value, CryptoError> {
        let body = self.send_http(&http).await?;
        serde_json::from_slice(&body).map_err(|e| CryptoError::Answer {
            endpoint: http.kind.endpoint(),
            reason: e.to_string(),
        })
    }

    async fn send(
        &self,
        request_id: &ruma16::TransactionId,
        http: requests::HttpRequest,
    ) -> Result<(), CryptoError> {
        let body = self.send_http(&http).await?;
        let machine = &self.machine;
        let result = match requests::answer(http.kind, &body)? {
            requests::Answer::KeysUpload(r) => {
                boxed(machine.mark_request_as_sent(request_id, &r)).await
            }
            requests::Answer::KeysQuery(r) => {
                boxed(machine.mark_request_as_sent(request_id, &r)).await
            }
            requests::Answer::KeysClaim(r) => {
                boxed(machine.mark_request_as_sent(request_id, &r)).await
            }
            requests::Answer::ToDevice(r) => {
                boxed(machine.mark_request_as_sent(request_id, &r)).await
            }
            requests::Answer::SignatureUpload(r) => {
                boxed(machine.mark_request_as_sent(request_id, &r)).await
            }
        };
        result.map_err(|e| CryptoError::Olm(e.to_string()))
    }

    /// Decrypts an `m.room.encrypted` event of a room.
    pub async fn decrypt(&self, room: &str, event: &Value) -> Result<Decrypted, DecryptError> {
        let room = RoomId::parse(room).map_err(|e| DecryptError::Undecryptable(e.to_string()))?;
        let raw = serde_json::value::to_raw_value(event)
            .map(Raw::from_json)
            .map_err(|e| DecryptError::Undecryptable(e.to_string()))?;
        let session_id = event["content"]["session_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let decrypted = match self.decrypt_raw(&raw, &room).await {
            Ok(decrypted) => decrypted,
            Err(MegolmError::MissingRoomKey(withheld)) => {
                return Err(DecryptError::MissingKey {
                    session_id,
                    withheld: withheld.map(|w| w.to_string()),
                });
            }
            Err(MegolmError::Store(e)) => return Err(DecryptError::Store(e.to_string())),
            Err(e) => return Err(DecryptError::Undecryptable(e.to_string())),
        };
        let decrypted = trust::judge_sender(self, &raw, &room, decrypted).await?;
        let mut plain: Value = serde_json::from_str(decrypted.event.json().get())
            .map_err(|e| DecryptError::Undecryptable(e.to_string()))?;
        if let Some(map) = plain.as_object_mut() {
            map.insert("room_id".into(), Value::String(room.to_string()));
        }
        Ok(Decrypted { event: plain })
    }

    async fn decrypt_raw(
        &self,
        raw: &Raw<matrix_sdk_crypto::types::events::room::encrypted::EncryptedEvent>,
        room: &RoomId,
    ) -> Result<matrix_sdk_common::deserialized_responses::DecryptedRoomEvent, MegolmError> {
        let settings = self.decryption_settings();
        boxed(self.machine.decrypt_room_event(raw, room, &settings)).await
    }

    /// Encrypts a room event's content for the room's `members`: their device lists are
    /// fetched, Olm sessions made where missing and the room key shared first. Returns the
    /// `m.room.encrypted` content.
    pub async fn encrypt(
        &self,
        room: &str,
        members: &[String],
        event_type: &str,
        content: &Value,
    ) -> Result<Value, CryptoError> {
        let room = room_id(room)?;
        let mut owned: Vec<OwnedUserId> = Vec::with_capacity(members.len());
        for member in members {
            owned.push(user_id(member)?);
        }
        let members: Vec<&UserId> = owned.iter().map(|u| &**u).collect();
        let _one_share = self.sharing.lock().await;
        boxed(self.machine.update_tracked_users(members.iter().copied()))
            .await
            .map_err(store_error)?;
        self.send_outgoing_requests().await?;
        let members = trust::pinned_only(self, members).await?;
        if let Some((request_id, claim)) =
            boxed(self.machine.get_missing_sessions(members.iter().copied()))
                .await
                .map_err(store_error)?
        {
            let request = matrix_sdk_crypto::types::requests::AnyOutgoingRequest::KeysClaim(claim);
            if let Some(http) = requests::http_request(&request)? {
                self.send(&request_id, http).await?;
            }
        }
        let settings = EncryptionSettings {
            sharing_strategy: self.settings.share_with.collect_strategy(),
            ..Default::default()
        };
        let shares = boxed(
            self.machine
                .share_room_key(&room, members.iter().copied(), settings),
        )
        .await
        .map_err(|e| CryptoError::Olm(e.to_string()))?;
        for share in shares {
            let http = requests::to_device(&share)?;
            self.send(&share.txn_id, http).await?;
        }
        let raw_content = serde_json::value::to_raw_value(content)
            .map(Raw::from_json)
            .map_err(|e| CryptoError::Invalid {
                what: "event content",
                reason: e.to_string(),
            })?;
        let encrypted = boxed(
            self.machine
                .encrypt_room_event_raw(&room, event_type, &raw_content),
        )
        .await
        .map_err(|e| CryptoError::Olm(e.to_string()))?;
        serde_json::from_str(encrypted.content.json().get()).map_err(|e| CryptoError::Invalid {
            what: "encrypted content",
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests;
