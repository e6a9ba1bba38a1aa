//! Intents: acting as one Matrix user (the bot or a ghost). They remember who is registered and
//! joined where, so ghosts are registered and joined lazily, once.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashSet;
use ruma::api::client::account::register::{self, LoginType, RegistrationKind};
use ruma::api::client::membership::{
    invite_user::{self, v3::InvitationRecipient},
    join_room_by_id, kick_user, leave_room,
};
use ruma::api::client::profile::ProfileFieldValue;
use ruma::api::client::{
    appservice::request_ping, message::send_message_event, profile::set_profile_field,
    receipt::create_receipt, redact::redact_event, room::create_room, state::send_state_event,
    typing::create_typing_event,
};
use ruma::events::room::message::RoomMessageEventContent;
use ruma::events::{AnyStateEventContent, MessageLikeEventContent, StateEventContent};
use ruma::{
    MilliSecondsSinceUnixEpoch, OwnedEventId, OwnedMxcUri, OwnedRoomId, OwnedTransactionId,
    OwnedUserId, RoomId, UserId,
};

use super::client::{HomeserverClient, MatrixError};

/// Media uploaded for a room: its `mxc://` URI, and in an encrypted room the `file` object
/// (`EncryptedFile`) that replaces `url` in the event.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadedMedia {
    pub mxc: String,
    pub file: Option<serde_json::Value>,
}

/// The shared caches behind every intent.
#[derive(Debug, Default)]
struct Caches {
    registered: DashSet<OwnedUserId>,
    joined: DashSet<(OwnedRoomId, OwnedUserId)>,
    /// End-to-bridge encryption, once the bot's device is ready: events sent into encrypted
    /// rooms go out as `m.room.encrypted`.
    encryption: std::sync::OnceLock<Arc<super::crypto::EncryptedRooms>>,
}

/// Hands out intents; holds the caches.
#[derive(Debug, Clone)]
pub struct Intents {
    client: HomeserverClient,
    caches: Arc<Caches>,
}

impl Intents {
    pub fn new(client: HomeserverClient) -> Self {
        let caches = Caches::default();
        // The bot is registered by the homeserver from the registration's sender_localpart.
        caches.registered.insert(client.bot().to_owned());
        Self {
            client,
            caches: Arc::new(caches),
        }
    }

    pub fn client(&self) -> &HomeserverClient {
        &self.client
    }

    /// The bot's intent.
    pub fn bot(&self) -> Intent {
        self.user(self.client.bot().to_owned())
    }

    /// The intent of any user in the appservice's namespace.
    pub fn user(&self, user_id: OwnedUserId) -> Intent {
        Intent {
            user_id,
            intents: self.clone(),
            puppet: None,
        }
    }

    /// The intent of a real user acting through `client` (double puppeting, see
    /// [`super::double_puppet`]): never registered by the bridge, and every event it sends
    /// carries `fi.mau.double_puppet_source`.
    pub fn puppet(&self, user_id: OwnedUserId, client: HomeserverClient, source: &str) -> Intent {
        self.caches.registered.insert(user_id.clone());
        Intent {
            user_id,
            intents: self.clone(),
            puppet: Some(Arc::new(super::double_puppet::Puppet {
                client,
                source: source.to_string(),
            })),
        }
    }

    /// Turns on end-to-bridge encryption for every intent (once; later calls are ignored).
    pub fn set_encryption(&self, rooms: Arc<super::crypto::EncryptedRooms>) {
        let _ = self.caches.encryption.set(rooms);
    }

    /// The bot's crypto, once ready.
    pub fn encryption(&self) -> Option<&Arc<super::crypto::EncryptedRooms>> {
        self.caches.encryption.get()
    }

    /// Forgets that users are joined to a room (after a leave or kick seen from the homeserver).
    pub fn forget_membership(&self, room_id: &RoomId, user_id: &UserId) {
        self.caches
            .joined
            .remove(&(room_id.to_owned(), user_id.to_owned()));
    }

    /// Records a membership learned from the homeserver.
    pub fn note_joined(&self, room_id: &RoomId, user_id: &UserId) {
        self.caches
            .joined
            .insert((room_id.to_owned(), user_id.to_owned()));
    }

    /// Pings the homeserver through the appservice ping endpoint (Matrix 1.7), once: the
    /// homeserver in turn calls the bridge, and its answer says whether that worked.
    pub async fn ping(&self, appservice_id: &str) -> Result<Duration, MatrixError> {
        let request = request_ping::v1::Request::new(appservice_id.to_string());
        let response = self.client.send_single(request, None).await?;
        Ok(response.duration)
    }
}

/// Acting as one user.
#[derive(Debug, Clone)]
pub struct Intent {
    pub(super) user_id: OwnedUserId,
    pub(super) intents: Intents,
    /// Set for a double puppet: its own client and the source it marks its events with.
    pub(super) puppet: Option<Arc<super::double_puppet::Puppet>>,
}

impl Intent {
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    pub(super) fn client(&self) -> &HomeserverClient {
        match &self.puppet {
            Some(p) => &p.client,
            None => &self.intents.client,
        }
    }

    /// Whether this intent acts as a real user (double puppeting).
    pub fn is_puppet(&self) -> bool {
        self.puppet.is_some()
    }

    fn who(&self) -> Option<&UserId> {
        Some(&self.user_id)
    }

    /// Registers the user on the homeserver unless known to be registered.
    pub async fn ensure_registered(&self) -> Result<(), MatrixError> {
        if self.intents.caches.registered.contains(&self.user_id) {
            return Ok(());
        }
        let mut request = register::v3::Request::new();
        request.username = Some(self.user_id.localpart().to_string());
        request.login_type = Some(LoginType::ApplicationService);
        request.inhibit_login = true;
        request.kind = RegistrationKind::User;
        match self.client().send(request, None).await {
            Ok(_) => {}
            Err(e) if e.errcode() == Some("M_USER_IN_USE") => {}
            Err(e) => return Err(e),
        }
        self.intents.caches.registered.insert(self.user_id.clone());
        Ok(())
    }

    /// Joins the room unless known to be joined; the bot invites the user first if needed.
    pub async fn ensure_joined(&self, room_id: &RoomId) -> Result<(), MatrixError> {
        let key = (room_id.to_owned(), self.user_id.clone());
        if self.intents.caches.joined.contains(&key) {
            return Ok(());
        }
        self.ensure_registered().await?;
        let join = join_room_by_id::v3::Request::new(room_id.to_owned());
        match self.client().send(join.clone(), self.who()).await {
            Ok(_) => {}
            Err(e)
                if e.errcode() == Some("M_FORBIDDEN") && *self.user_id != *self.client().bot() =>
            {
                self.intents.bot().invite(room_id, &self.user_id).await?;
                self.client().send(join, self.who()).await?;
            }
            Err(e) => return Err(e),
        }
        self.intents.caches.joined.insert(key);
        Ok(())
    }

    pub async fn join(&self, room_id: &RoomId) -> Result<(), MatrixError> {
        self.ensure_joined(room_id).await
    }

    pub async fn leave(&self, room_id: &RoomId) -> Result<(), MatrixError> {
        let request = leave_room::v3::Request::new(room_id.to_owned());
        self.client().send(request, self.who()).await?;
        self.intents.forget_membership(room_id, &self.user_id);
        Ok(())
    }

    /// Sets the user's presence: online, or offline.
    pub async fn set_presence(&self, online: bool) -> Result<(), MatrixError> {
        use ruma::api::client::presence::set_presence;
        use ruma::presence::PresenceState;
        let state = if online {
            PresenceState::Online
        } else {
            PresenceState::Offline
        };
        self.ensure_registered().await?;
        let request = set_presence::v3::Request::new(self.user_id.clone(), state);
        self.client().send(request, self.who()).await?;
        Ok(())
    }

    /// Whether `user_id` is online, as this user may see it (they share a room).
    pub async fn is_online(&self, user_id: &UserId) -> Result<bool, MatrixError> {
        use ruma::api::client::presence::get_presence;
        let request = get_presence::v3::Request::new(user_id.to_owned());
        let response = self.client().send(request, self.who()).await?;
        Ok(response.presence == ruma::presence::PresenceState::Online)
    }

    /// Removes `user_id` from the room (`reason` shown to them).
    pub async fn kick(
        &self,
        room_id: &RoomId,
        user_id: &UserId,
        reason: Option<&str>,
    ) -> Result<(), MatrixError> {
        let mut request = kick_user::v3::Request::new(room_id.to_owned(), user_id.to_owned());
        request.reason = reason.map(str::to_owned);
        self.client().send(request, self.who()).await?;
        self.intents.forget_membership(room_id, user_id);
        Ok(())
    }

    pub async fn invite(&self, room_id: &RoomId, user_id: &UserId) -> Result<(), MatrixError> {
        let request = invite_user::v3::Request::new(
            room_id.to_owned(),
            InvitationRecipient::UserId(invite_user::v3::InviteUserId::new(user_id.to_owned())),
        );
        match self.client().send(request, self.who()).await {
            Ok(_) => Ok(()),
            // Already in the room.
            Err(e) if e.errcode() == Some("M_FORBIDDEN") && is_already_member(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Creates a room as this user.
    pub async fn create_room(
        &self,
        request: create_room::v3::Request,
    ) -> Result<OwnedRoomId, MatrixError> {
        self.ensure_registered().await?;
        let response = self.client().send(request, self.who()).await?;
        self.intents.note_joined(&response.room_id, &self.user_id);
        Ok(response.room_id)
    }

    /// Sends a message-like event; `txn_id` makes retries idempotent, `ts` backdates it.
    pub async fn send_event<C>(
        &self,
        room_id: &RoomId,
        txn_id: OwnedTransactionId,
        content: &C,
        ts: Option<MilliSecondsSinceUnixEpoch>,
    ) -> Result<OwnedEventId, MatrixError>
    where
        C: MessageLikeEventContent,
    {
        if self.puppet.is_some() || self.intents.encryption().is_some() {
            let value = serde_json::to_value(content).map_err(|e| MatrixError::Protocol {
                endpoint: "message::send_message_event",
                reason: e.to_string(),
            })?;
            let kind = content.event_type().to_string();
            return self.send_raw(room_id, &kind, txn_id, &value, ts).await;
        }
        self.ensure_joined(room_id).await?;
        let mut request = send_message_event::v3::Request::new(room_id.to_owned(), txn_id, content)
            .map_err(|e| MatrixError::Protocol {
                endpoint: "message::send_message_event",
                reason: e.to_string(),
            })?;
        request.timestamp = ts;
        Ok(self.client().send(request, self.who()).await?.event_id)
    }

    /// Sends a message-like event given as raw JSON content (`m.room.message`, `m.reaction`, …).
    pub async fn send_raw(
        &self,
        room_id: &RoomId,
        event_type: &str,
        txn_id: OwnedTransactionId,
        content: &serde_json::Value,
        ts: Option<MilliSecondsSinceUnixEpoch>,
    ) -> Result<OwnedEventId, MatrixError> {
        self.ensure_joined(room_id).await?;
        let marked;
        let content = match &self.puppet {
            Some(p) => {
                marked = super::double_puppet::mark(content, &p.source);
                &marked
            }
            None => content,
        };
        let encrypted = match self.intents.encryption() {
            Some(rooms) => rooms
                .encrypt_if_needed(room_id.as_str(), event_type, content)
                .await
                .map_err(encryption_error)?,
            None => None,
        };
        let (event_type, content) = match &encrypted {
            Some(ciphertext) => ("m.room.encrypted", ciphertext),
            None => (event_type, content),
        };
        let raw = ruma::serde::Raw::new(content)
            .map_err(|e| MatrixError::Protocol {
                endpoint: "message::send_message_event",
                reason: e.to_string(),
            })?
            .cast_unchecked::<ruma::events::AnyMessageLikeEventContent>();
        let mut request = send_message_event::v3::Request::new_raw(
            room_id.to_owned(),
            txn_id,
            ruma::events::MessageLikeEventType::from(event_type),
            raw,
        );
        request.timestamp = ts;
        Ok(self.client().send(request, self.who()).await?.event_id)
    }

    /// Sends a message with a fresh transaction id.
    pub async fn send_message(
        &self,
        room_id: &RoomId,
        content: &RoomMessageEventContent,
    ) -> Result<OwnedEventId, MatrixError> {
        self.send_event(room_id, ruma::TransactionId::new(), content, None)
            .await
    }

    /// Sends a notice rendered from markdown.
    pub async fn send_notice(
        &self,
        room_id: &RoomId,
        markdown: &str,
    ) -> Result<OwnedEventId, MatrixError> {
        self.send_message(room_id, &RoomMessageEventContent::notice_markdown(markdown))
            .await
    }

    pub async fn send_state<C>(
        &self,
        room_id: &RoomId,
        state_key: &str,
        content: &C,
    ) -> Result<OwnedEventId, MatrixError>
    where
        C: StateEventContent,
    {
        self.ensure_joined(room_id).await?;
        let raw = ruma::serde::Raw::new(content)
            .map_err(|e| MatrixError::Protocol {
                endpoint: "state::send_state_event",
                reason: e.to_string(),
            })?
            .cast_unchecked::<AnyStateEventContent>();
        let request = send_state_event::v3::Request::new_raw(
            room_id.to_owned(),
            content.event_type(),
            state_key.to_string(),
            raw,
        );
        Ok(self.client().send(request, self.who()).await?.event_id)
    }

    pub async fn set_display_name(&self, name: &str) -> Result<(), MatrixError> {
        self.ensure_registered().await?;
        let request = set_profile_field::v3::Request::new(
            self.user_id.clone(),
            ProfileFieldValue::DisplayName(name.to_string()),
        );
        self.client().send(request, self.who()).await?;
        Ok(())
    }

    pub async fn set_avatar_url(&self, mxc: OwnedMxcUri) -> Result<(), MatrixError> {
        self.ensure_registered().await?;
        let request = set_profile_field::v3::Request::new(
            self.user_id.clone(),
            ProfileFieldValue::AvatarUrl(mxc),
        );
        self.client().send(request, self.who()).await?;
        Ok(())
    }

    /// Uploads media; returns its `mxc://` URI.
    pub async fn upload(
        &self,
        data: impl Into<bytes::Bytes>,
        content_type: &str,
    ) -> Result<OwnedMxcUri, MatrixError> {
        self.client()
            .upload(data.into(), content_type, self.who())
            .await
    }

    /// Uploads media meant for `room_id`: in an encrypted room it is encrypted first (a fresh
    /// key per file) and the answer carries the `file` object (`EncryptedFile`, with its
    /// `url`) to put in the event instead of `url`.
    pub async fn upload_to_room(
        &self,
        room_id: &RoomId,
        data: impl Into<bytes::Bytes>,
        content_type: &str,
    ) -> Result<UploadedMedia, MatrixError> {
        let encrypted = match self.intents.encryption() {
            Some(rooms) => rooms.is_encrypted(room_id.as_str()).await?,
            None => false,
        };
        if !encrypted {
            let mxc = self.upload(data, content_type).await?;
            return Ok(UploadedMedia {
                mxc: mxc.to_string(),
                file: None,
            });
        }
        let plain: bytes::Bytes = data.into();
        let (ciphertext, mut file) =
            tokio::task::spawn_blocking(move || super::crypto::encrypt_attachment(&plain))
                .await
                .map_err(|e| MatrixError::Protocol {
                    endpoint: "media::create_content (encrypting)",
                    reason: e.to_string(),
                })?;
        let mxc = self.upload(ciphertext, "application/octet-stream").await?;
        file["url"] = serde_json::json!(mxc.to_string());
        Ok(UploadedMedia {
            mxc: mxc.to_string(),
            file: Some(file),
        })
    }

    pub async fn redact(
        &self,
        room_id: &RoomId,
        event_id: &ruma::EventId,
        reason: Option<&str>,
    ) -> Result<OwnedEventId, MatrixError> {
        self.ensure_joined(room_id).await?;
        let mut request = redact_event::v3::Request::new(
            room_id.to_owned(),
            event_id.to_owned(),
            ruma::TransactionId::new(),
        );
        request.reason = reason.map(str::to_string);
        Ok(self.client().send(request, self.who()).await?.event_id)
    }

    pub async fn typing(
        &self,
        room_id: &RoomId,
        timeout: Option<Duration>,
    ) -> Result<(), MatrixError> {
        use ruma::api::client::typing::create_typing_event::v3::Typing;
        self.ensure_joined(room_id).await?;
        let state = match timeout {
            Some(t) => Typing::Yes(create_typing_event::v3::TypingInfo::new(t)),
            None => Typing::No,
        };
        let request =
            create_typing_event::v3::Request::new(self.user_id.clone(), room_id.to_owned(), state);
        self.client().send(request, self.who()).await?;
        Ok(())
    }

    pub async fn read_receipt(
        &self,
        room_id: &RoomId,
        event_id: &ruma::EventId,
    ) -> Result<(), MatrixError> {
        self.ensure_joined(room_id).await?;
        let request = create_receipt::v3::Request::new(
            room_id.to_owned(),
            create_receipt::v3::ReceiptType::Read,
            event_id.to_owned(),
        );
        self.client().send(request, self.who()).await?;
        Ok(())
    }
}

impl Intent {
    /// A room member's display name as this user sees the room (`None`: none set).
    pub async fn member_display_name(
        &self,
        room_id: &RoomId,
        user_id: &UserId,
    ) -> Result<Option<String>, MatrixError> {
        use ruma::api::client::state::get_state_event_for_key;
        let request = get_state_event_for_key::v3::Request::new(
            room_id.to_owned(),
            ruma::events::StateEventType::RoomMember,
            user_id.to_string(),
        );
        let response = self.client().send(request, self.who()).await?;
        let content: serde_json::Value =
            serde_json::from_str(response.event_or_content.get()).unwrap_or_default();
        Ok(content
            .get("displayname")
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string))
    }
}

fn is_already_member(e: &MatrixError) -> bool {
    match e {
        MatrixError::Api { message, .. } => message.contains("already in the room"),
        _ => false,
    }
}

/// A failed encryption as a homeserver error: the homeserver's own failure as it was (so a
/// transient one stays transient), anything else as a protocol error.
fn encryption_error(e: super::crypto::CryptoError) -> MatrixError {
    match e {
        super::crypto::CryptoError::Homeserver(e) => e,
        other => MatrixError::Protocol {
            endpoint: "message::send_message_event (encrypting)",
            reason: other.to_string(),
        },
    }
}
