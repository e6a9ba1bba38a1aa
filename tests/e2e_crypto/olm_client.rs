//! The Matrix user's client in the encryption tests: a device of its own with
//! matrix-sdk-crypto's `OlmMachine` (what Element X and other matrix-rust-sdk clients run),
//! driven by a `/sync` loop here, with requests built from ruma's own request types. It shares
//! no code with the bridge's `matrix::crypto` module.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use matrix_sdk_crypto::types::requests::AnyOutgoingRequest;
use matrix_sdk_crypto::{
    DecryptionSettings, EncryptionSettings, EncryptionSyncChanges, OlmMachine, TrustRequirement,
};
use ruma16::api::auth_scheme::{AuthScheme, SendAccessToken};
use ruma16::api::client::keys::get_keys;
use ruma16::api::client::to_device::send_event_to_device;
use ruma16::api::path_builder::PathBuilder;
use ruma16::api::{IncomingResponse, MatrixVersion, OutgoingRequest, SupportedVersions};
use ruma16::serde::Raw;
use ruma16::{OwnedRoomId, OwnedUserId, RoomId, UserId};
use serde_json::{Value, json};

/// When the room key of a message is sent to the room's devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Before,
    After,
    Never,
}

/// A registered user with one encrypting device.
pub struct OlmUser {
    token: String,
    base: String,
    http: reqwest::Client,
    machine: OlmMachine,
    since: tokio::sync::Mutex<Option<String>>,
    /// Every room event seen, per room, decrypted where possible.
    seen: tokio::sync::Mutex<HashMap<String, Vec<Value>>>,
    invites: tokio::sync::Mutex<HashMap<String, Vec<Value>>>,
}

fn versions() -> SupportedVersions {
    SupportedVersions {
        versions: [MatrixVersion::V1_1, MatrixVersion::V1_11]
            .into_iter()
            .collect(),
        features: Default::default(),
    }
}

fn settings() -> DecryptionSettings {
    DecryptionSettings {
        sender_device_trust_requirement: TrustRequirement::Untrusted,
    }
}

impl OlmUser {
    /// Registers a fresh user and uploads its device's keys.
    pub async fn register(base: &str, localpart: &str) -> OlmUser {
        matrix_instagram::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let resp = http
            .post(format!("{base}/_matrix/client/v3/register"))
            .json(&json!({
                "username": localpart,
                "password": format!("pw-{localpart}-secret"),
                "auth": {"type": "m.login.dummy"},
            }))
            .send()
            .await
            .expect("register request");
        let body: Value = resp.json().await.expect("register response");
        let user_id = body["user_id"].as_str().expect("user_id");
        let device_id = body["device_id"].as_str().expect("device_id");
        let owned_user: OwnedUserId = UserId::parse(user_id).expect("user id");
        let owned_device: ruma16::OwnedDeviceId = device_id.into();
        let machine = OlmMachine::new(&owned_user, &owned_device).await;
        let user = OlmUser {
            token: body["access_token"].as_str().expect("token").to_string(),
            base: base.to_string(),
            http,
            machine,
            since: Default::default(),
            seen: Default::default(),
            invites: Default::default(),
        };
        user.send_outgoing().await;
        user
    }

    async fn send<R>(&self, request: R) -> R::IncomingResponse
    where
        R: OutgoingRequest,
        for<'a> R::Authentication: AuthScheme<Input<'a> = SendAccessToken<'a>>,
        for<'a> R::PathBuilder: PathBuilder<Input<'a> = Cow<'a, SupportedVersions>>,
    {
        let http_request = request
            .try_into_http_request::<Vec<u8>>(
                &self.base,
                SendAccessToken::IfRequired(&self.token),
                Cow::Owned(versions()),
            )
            .expect("request");
        let request = reqwest::Request::try_from(http_request).expect("reqwest request");
        let response = self
            .http
            .execute(request)
            .await
            .expect("homeserver answers");
        let status = response.status();
        let body = response.bytes().await.expect("body");
        assert!(
            status.is_success(),
            "{status}: {}",
            String::from_utf8_lossy(&body)
        );
        let response = http::Response::builder()
            .status(status)
            .body(body.to_vec())
            .expect("response");
        R::IncomingResponse::try_from_http_response(response).expect("a valid answer")
    }

    /// Sends what the machine has waiting and marks the answers.
    pub async fn send_outgoing(&self) {
        let requests = self.machine.outgoing_requests().await.expect("requests");
        for request in requests {
            let id = request.request_id();
            match request.request() {
                AnyOutgoingRequest::KeysUpload(r) => {
                    let answer = self.send(r.clone()).await;
                    self.machine.mark_request_as_sent(id, &answer).await
                }
                AnyOutgoingRequest::KeysQuery(r) => {
                    let mut query = get_keys::v3::Request::new();
                    query.device_keys = r.device_keys.clone();
                    query.timeout = r.timeout;
                    let answer = self.send(query).await;
                    self.machine.mark_request_as_sent(id, &answer).await
                }
                AnyOutgoingRequest::KeysClaim(r) => {
                    let answer = self.send(r.clone()).await;
                    self.machine.mark_request_as_sent(id, &answer).await
                }
                AnyOutgoingRequest::ToDeviceRequest(r) => {
                    let answer = self.to_device(r).await;
                    self.machine.mark_request_as_sent(id, &answer).await
                }
                AnyOutgoingRequest::SignatureUpload(r) => {
                    let answer = self.send(r.clone()).await;
                    self.machine.mark_request_as_sent(id, &answer).await
                }
                AnyOutgoingRequest::RoomMessage(_) => Ok(()),
            }
            .expect("answer marked");
        }
    }

    async fn to_device(
        &self,
        r: &matrix_sdk_crypto::types::requests::ToDeviceRequest,
    ) -> send_event_to_device::v3::Response {
        let request = send_event_to_device::v3::Request::new_raw(
            r.event_type.clone(),
            r.txn_id.clone(),
            r.messages.clone(),
        );
        self.send(request).await
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    /// Encrypts a file as Element does (matrix-sdk-crypto's `AttachmentEncryptor`, used
    /// directly), uploads the ciphertext and returns the `file` object for the event.
    pub async fn upload_encrypted(&self, plain: &[u8]) -> Value {
        let mut reader = std::io::Cursor::new(plain);
        let mut encryptor = matrix_sdk_crypto::AttachmentEncryptor::new(&mut reader);
        let mut ciphertext = Vec::new();
        std::io::Read::read_to_end(&mut encryptor, &mut ciphertext).expect("encrypted");
        let mut file = serde_json::to_value(encryptor.finish()).expect("file info");
        let resp = self
            .http
            .post(format!("{}/_matrix/media/v3/upload", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/octet-stream")
            .body(ciphertext)
            .send()
            .await
            .expect("upload request");
        let status = resp.status();
        let answer: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "upload: {status} {answer}");
        file["url"] = answer["content_uri"].clone();
        file
    }

    /// Downloads an encrypted attachment's ciphertext (authenticated media) and decrypts it
    /// with its `file` object (matrix-sdk-crypto's `AttachmentDecryptor`, used directly).
    pub async fn download_decrypted(&self, file: &Value) -> Vec<u8> {
        let mxc = file["url"].as_str().expect("file.url");
        let path = mxc.strip_prefix("mxc://").expect("an mxc:// URI");
        let resp = self
            .http
            .get(format!(
                "{}/_matrix/client/v1/media/download/{path}",
                self.base
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("download request");
        assert!(
            resp.status().is_success(),
            "download {mxc}: {}",
            resp.status()
        );
        let ciphertext = resp.bytes().await.expect("download body").to_vec();
        let mut info = file.clone();
        info.as_object_mut().expect("file object").remove("url");
        let info: matrix_sdk_crypto::MediaEncryptionInfo =
            serde_json::from_value(info).expect("a v2 EncryptedFile");
        let mut reader = std::io::Cursor::new(ciphertext);
        let mut decryptor =
            matrix_sdk_crypto::AttachmentDecryptor::new(&mut reader, info).expect("decryptor");
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut decryptor, &mut plain).expect("hash and key match");
        plain
    }

    /// A GET on the client-server API: the status and the JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// One `/sync` (waiting up to a second for news): crypto changes to the machine, room
    /// events and invites remembered.
    pub async fn sync_once(&self) {
        let mut since = self.since.lock().await;
        let mut path = "/_matrix/client/v3/sync?timeout=1000".to_string();
        if let Some(s) = since.as_deref() {
            path.push_str(&format!("&since={s}"));
        }
        let sync = self.call(reqwest::Method::GET, &path, None).await;
        *since = sync["next_batch"].as_str().map(str::to_string);
        drop(since);
        let to_device: Vec<Raw<_>> = sync["to_device"]["events"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| Raw::from_json(serde_json::value::to_raw_value(e).expect("raw")))
            .collect();
        let lists = serde_json::from_value(sync["device_lists"].clone()).unwrap_or_default();
        let counts: BTreeMap<ruma16::OneTimeKeyAlgorithm, ruma16::UInt> =
            serde_json::from_value(sync["device_one_time_keys_count"].clone()).unwrap_or_default();
        let fallback: Option<Vec<ruma16::OneTimeKeyAlgorithm>> =
            serde_json::from_value(sync["device_unused_fallback_key_types"].clone()).ok();
        self.machine
            .receive_sync_changes(
                EncryptionSyncChanges {
                    to_device_events: to_device,
                    changed_devices: &lists,
                    one_time_keys_counts: &counts,
                    unused_fallback_keys: fallback.as_deref(),
                    next_batch_token: None,
                },
                &settings(),
            )
            .await
            .expect("sync changes");
        self.send_outgoing().await;
        if let Some(rooms) = sync["rooms"]["join"].as_object() {
            let mut seen = self.seen.lock().await;
            for (room, data) in rooms {
                let events = data["timeline"]["events"].as_array().cloned();
                seen.entry(room.clone())
                    .or_default()
                    .extend(events.into_iter().flatten());
            }
        }
        if let Some(rooms) = sync["rooms"]["invite"].as_object() {
            let mut invites = self.invites.lock().await;
            for (room, data) in rooms {
                let events = data["invite_state"]["events"].as_array().cloned();
                invites.insert(room.clone(), events.unwrap_or_default());
            }
        }
        self.decrypt_seen().await;
    }

    /// Decrypts the encrypted events seen so far whose keys are here now (the plaintext
    /// event replaces the encrypted one, marked `"decrypted": true`).
    async fn decrypt_seen(&self) {
        let mut seen = self.seen.lock().await;
        for (room, events) in seen.iter_mut() {
            let Ok(room_id) = RoomId::parse(room.as_str()) else {
                continue;
            };
            for event in events.iter_mut() {
                if event["type"] != "m.room.encrypted" {
                    continue;
                }
                let raw = Raw::from_json(serde_json::value::to_raw_value(event).expect("raw"));
                if let Ok(plain) = self
                    .machine
                    .decrypt_room_event(&raw, &room_id, &settings())
                    .await
                {
                    let mut value: Value =
                        serde_json::from_str(plain.event.json().get()).expect("plaintext");
                    value["decrypted"] = json!(true);
                    *event = value;
                }
            }
        }
    }

    /// An event of `room` seen so far that matches.
    pub async fn seen_in(&self, room: &str, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        self.seen
            .lock()
            .await
            .get(room)
            .and_then(|events| events.iter().find(|e| pred(e)).cloned())
    }

    /// Syncs until an event of `room` matches; returns it.
    pub async fn wait_for(&self, room: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(found) = self
                .seen
                .lock()
                .await
                .get(room)
                .and_then(|events| events.iter().find(|e| pred(e)).cloned())
            {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} in {room}; seen: {:?}",
                self.seen.lock().await.get(room)
            );
            self.sync_once().await;
        }
    }

    /// Syncs until an invite's state matches; returns the room.
    pub async fn wait_for_invite(&self, what: &str, pred: impl Fn(&[Value]) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(room) = self
                .invites
                .lock()
                .await
                .iter()
                .find(|(_, state)| pred(state))
                .map(|(room, _)| room.clone())
            {
                return room;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            self.sync_once().await;
        }
    }

    pub async fn join(&self, room: &str) {
        let path = format!("/_matrix/client/v3/rooms/{room}/join");
        self.call(reqwest::Method::POST, &path, Some(json!({})))
            .await;
    }

    pub async fn create_dm(&self, other: &str) -> String {
        let created = self
            .call(
                reqwest::Method::POST,
                "/_matrix/client/v3/createRoom",
                Some(json!({"is_direct": true, "invite": [other], "preset": "private_chat"})),
            )
            .await;
        created["room_id"].as_str().expect("room_id").to_string()
    }

    /// Sends an unencrypted event; returns its id.
    pub async fn send_plain(&self, room: &str, event_type: &str, content: Value) -> String {
        let path = format!(
            "/_matrix/client/v3/rooms/{room}/send/{event_type}/{}",
            uuid::Uuid::new_v4()
        );
        let sent = self.call(reqwest::Method::PUT, &path, Some(content)).await;
        sent["event_id"].as_str().expect("event_id").to_string()
    }

    /// Redacts an event (redactions are never encrypted); returns the redaction's id.
    pub async fn redact(&self, room: &str, event_id: &str) -> String {
        let path = format!(
            "/_matrix/client/v3/rooms/{room}/redact/{event_id}/{}",
            uuid::Uuid::new_v4()
        );
        let sent = self
            .call(reqwest::Method::PUT, &path, Some(json!({})))
            .await;
        sent["event_id"].as_str().expect("event_id").to_string()
    }

    /// The homeserver's `/keys/query` answer for one user, as JSON.
    pub async fn query_keys(&self, user: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/_matrix/client/v3/keys/query",
            Some(json!({"device_keys": {user: []}})),
        )
        .await
    }

    /// Whether this client's own crypto (after downloading the user's keys) sees the user's
    /// device as signed by that user's self-signing key, and the user's master key it holds.
    pub async fn sees_cross_signed(&self, user: &str, device: &str) -> (bool, Option<String>) {
        let user_id: OwnedUserId = UserId::parse(user).expect("user id");
        self.machine
            .update_tracked_users([user_id.as_ref()])
            .await
            .expect("tracked");
        self.send_outgoing().await;
        let device_id: ruma16::OwnedDeviceId = device.into();
        let found = self
            .machine
            .get_device(&user_id, &device_id, Some(Duration::from_secs(10)))
            .await
            .expect("device looked up");
        let signed = found.is_some_and(|d| d.is_cross_signed_by_owner());
        let master = self
            .machine
            .get_identity(&user_id, None)
            .await
            .expect("identity looked up")
            .and_then(|i| match i {
                matrix_sdk_crypto::UserIdentity::Other(o) => {
                    o.master_key().get_first_key().map(|k| k.to_base64())
                }
                matrix_sdk_crypto::UserIdentity::Own(o) => {
                    o.master_key().get_first_key().map(|k| k.to_base64())
                }
            });
        (signed, master)
    }

    pub async fn set_state(&self, room: &str, event_type: &str, content: Value) {
        let path = format!("/_matrix/client/v3/rooms/{room}/state/{event_type}/");
        self.call(reqwest::Method::PUT, &path, Some(content)).await;
    }

    /// The joined and invited members of a room.
    async fn members(&self, room: &str) -> Vec<OwnedUserId> {
        let path = format!("/_matrix/client/v3/rooms/{room}/members");
        let answer = self.call(reqwest::Method::GET, &path, None).await;
        answer["chunk"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| matches!(e["content"]["membership"].as_str(), Some("join" | "invite")))
            .filter_map(|e| e["state_key"].as_str())
            .filter_map(|u| UserId::parse(u).ok())
            .collect()
    }

    /// Encrypts and sends a message into an encrypted room, as Element would: the members'
    /// devices are looked up, Olm sessions made, the room key shared; returns the event id.
    pub async fn send_encrypted(&self, room: &str, event_type: &str, content: Value) -> String {
        self.encrypt_and_send(room, event_type, content, Key::Before)
            .await
    }

    /// As [`send_encrypted`](Self::send_encrypted), with a fresh session whose room key is
    /// never sent to anyone: nobody can decrypt the message.
    pub async fn send_encrypted_key_never(&self, room: &str, content: Value) -> String {
        let room_id: OwnedRoomId = RoomId::parse(room).expect("room id");
        self.machine
            .discard_room_key(&room_id)
            .await
            .expect("session discarded");
        let id = self
            .encrypt_and_send(room, "m.room.message", content, Key::Never)
            .await;
        // Later messages use a session whose key is shared again.
        self.machine
            .discard_room_key(&room_id)
            .await
            .expect("session discarded");
        id
    }

    /// As [`send_encrypted`](Self::send_encrypted), but the room key (of a fresh session) is
    /// sent only after the message: the bridge sees the message before its key.
    pub async fn send_encrypted_key_late(&self, room: &str, content: Value) -> String {
        let room_id: OwnedRoomId = RoomId::parse(room).expect("room id");
        self.machine
            .discard_room_key(&room_id)
            .await
            .expect("session discarded");
        self.encrypt_and_send(room, "m.room.message", content, Key::After)
            .await
    }

    async fn encrypt_and_send(
        &self,
        room: &str,
        event_type: &str,
        content: Value,
        key: Key,
    ) -> String {
        let room_id: OwnedRoomId = RoomId::parse(room).expect("room id");
        let members = self.members(room).await;
        self.machine
            .update_tracked_users(members.iter().map(|u| u.as_ref()))
            .await
            .expect("tracked");
        self.send_outgoing().await;
        if let Some((id, claim)) = self
            .machine
            .get_missing_sessions(members.iter().map(|u| u.as_ref()))
            .await
            .expect("missing sessions")
        {
            let answer = self.send(claim).await;
            self.machine
                .mark_request_as_sent(&id, &answer)
                .await
                .expect("claimed");
        }
        let shares = self
            .machine
            .share_room_key(
                &room_id,
                members.iter().map(|u| u.as_ref()),
                EncryptionSettings::default(),
            )
            .await
            .expect("room key shared");
        if key == Key::Before {
            self.send_shares(&shares).await;
        }
        let raw = Raw::from_json(serde_json::value::to_raw_value(&content).expect("raw"));
        let encrypted = self
            .machine
            .encrypt_room_event_raw(&room_id, event_type, &raw)
            .await
            .expect("encrypted");
        let content: Value = serde_json::from_str(encrypted.content.json().get()).expect("json");
        let event_id = self.send_plain(room, "m.room.encrypted", content).await;
        if key == Key::After {
            self.send_shares(&shares).await;
        }
        event_id
    }

    async fn send_shares(
        &self,
        shares: &[std::sync::Arc<matrix_sdk_crypto::types::requests::ToDeviceRequest>],
    ) {
        for share in shares {
            let answer = self.to_device(share).await;
            self.machine
                .mark_request_as_sent(&share.txn_id, &answer)
                .await
                .expect("share marked");
        }
    }
}
