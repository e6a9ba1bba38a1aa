//! Typed events coming out of the realtime client.
//!
//! Items and threads are decoded once, here, into the typed models of
//! [`crate::instagram::types`] (losslessly: fields not modelled are kept in their `extra`
//! maps), with the [`ThreadId`]/[`ItemId`]/[`UserPk`] newtypes. A payload that does not fit
//! the model is not dropped: it comes out as [`SyncEvent::Undecodable`], whole, with the reason.

use crate::instagram::ids::{ItemId, ThreadId, UserPk};
use crate::instagram::types::{Thread, ThreadItem};

/// Everything the client reports.
#[derive(Debug, Clone, PartialEq)]
pub enum RealtimeEvent {
    /// Connection lifecycle.
    State(ConnectionState),
    /// The iris subscription succeeded. If `latest_seq_id > seq_id` the server is ahead (E.8).
    IrisSubscribed {
        seq_id: Option<i64>,
        latest_seq_id: Option<i64>,
        subscribed_at_ms: Option<i64>,
    },
    /// The iris subscription was refused (queue overflow/underflow): the stored cursor is
    /// useless, the caller must resync over HTTP and then call `update_cursor`/`reconnect`.
    ResyncRequired {
        error_type: Option<i64>,
        error_message: String,
    },
    /// One `/ig_message_sync` batch. Persist `seq_id` after applying `events`, then confirm it
    /// with `RealtimeClient::update_cursor`.
    MessageSync(SyncBatch),
    /// Typing from `/ig_realtime_sub` or `/pubsub` (boxed: it is the largest event, and every
    /// slot of each account's event channel is as large as the largest event).
    Typing(Box<Typing>),
    /// App presence of a user.
    Presence(Presence),
    /// `/t_region_hint`.
    RegionHint(String),
}

/// Connection states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    Connecting {
        attempt: u32,
    },
    /// CONNACK 0 received (subscriptions follow).
    Connected,
    /// The connection ended; the client will retry unless it was shut down.
    Disconnected {
        reason: String,
        cause: DisconnectCause,
    },
    /// CONNACK 5. The caller should probe the HTTP session before declaring the user logged out;
    /// the client keeps retrying with backoff meanwhile.
    AuthFailed,
    /// CONNACK with another non-zero code.
    Refused {
        code: u8,
    },
    /// `shutdown` was called; no more events follow.
    Stopped,
}

/// Why a connection ended, in one word (for metrics and states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectCause {
    /// TCP failure (connect, read, write).
    Network,
    /// TLS setup or handshake.
    Tls,
    /// The account's proxy failed.
    Proxy,
    /// The peer sent something that is not MQTT.
    Protocol,
    /// No CONNACK, PINGRESP or iris answer in time.
    Timeout,
    /// The server closed the connection.
    Closed,
    /// The server or the caller asked for a reconnect.
    Requested,
    Other,
}

impl DisconnectCause {
    /// The cause of the error that ended a connection.
    pub fn of(error: &super::Error) -> Self {
        use super::Error;
        match error {
            Error::Network(_) => Self::Network,
            Error::Tls(_) => Self::Tls,
            Error::Proxy(_) => Self::Proxy,
            Error::Protocol(_) => Self::Protocol,
            Error::Timeout(_) => Self::Timeout,
            Error::Closed => Self::Closed,
            Error::ReconnectRequested => Self::Requested,
            _ => Self::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::Tls => "tls",
            Self::Proxy => "proxy",
            Self::Protocol => "protocol",
            Self::Timeout => "timeout",
            Self::Closed => "closed",
            Self::Requested => "requested",
            Self::Other => "other",
        }
    }
}

/// One message-sync batch: the events of a `/ig_message_sync` publish, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncBatch {
    /// The max `seq_id` over the batch, if any event carried one.
    pub seq_id: Option<i64>,
    pub events: Vec<SyncEvent>,
}

/// What one patch operation means (E.8 path table).
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    NewItem(ItemEvent),
    /// Edit, media ready, reactions snapshot.
    ItemReplaced(ItemEvent),
    /// Unsend/delete.
    ItemRemoved {
        thread_id: ThreadId,
        item_id: ItemId,
    },
    ReactionAdded(Reaction),
    ReactionRemoved(Reaction),
    Seen {
        thread_id: ThreadId,
        user_id: UserPk,
        item_id: Option<ItemId>,
        timestamp_us: Option<i64>,
    },
    Typing(Typing),
    ThreadAdded {
        thread_id: ThreadId,
        thread: Box<Thread>,
    },
    ThreadReplaced {
        thread_id: ThreadId,
        thread: Box<Thread>,
    },
    ThreadRemoved {
        thread_id: ThreadId,
    },
    AdminChanged {
        thread_id: ThreadId,
        user_id: UserPk,
        is_admin: bool,
    },
    ApprovalRequired {
        thread_id: ThreadId,
        value: serde_json::Value,
    },
    ThreadImage {
        thread_id: ThreadId,
        image: serde_json::Value,
    },
    UnseenCount {
        count: i64,
        ts_us: Option<i64>,
    },
    /// An item or thread whose JSON does not fit the typed model (a field of an unexpected
    /// type): kept whole so that the bridge can set it aside with the reason, not lose it.
    Undecodable(Undecodable),
}

/// A payload the typed model refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Undecodable {
    pub thread_id: ThreadId,
    /// The iris path it came at (`/direct_v2/threads/…/items/…`).
    pub path: String,
    /// The payload as received (parsed losslessly).
    pub raw: serde_json::Value,
    /// Why the model refused it.
    pub error: String,
}

/// A thread item (PROTOCOL.md D.2), decoded. Its `item_id` is filled from the op's path
/// when the payload has none.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemEvent {
    pub thread_id: ThreadId,
    /// The op's `mutation_token` (iris envelope), if any.
    pub mutation_token: Option<String>,
    pub item: Box<ThreadItem>,
}

impl ItemEvent {
    pub fn item_id(&self) -> &ItemId {
        &self.item.item_id
    }
    /// The sender.
    pub fn user_id(&self) -> Option<UserPk> {
        self.item.user_id
    }
    pub fn timestamp_us(&self) -> Option<i64> {
        self.item.timestamp.map(|t| t.0)
    }
    pub fn item_type(&self) -> Option<&str> {
        self.item.item_type.as_deref()
    }
    /// The sender's OTID; equals ours for our own echoed sends.
    pub fn client_context(&self) -> Option<&str> {
        self.item.client_context.as_deref()
    }
}

/// One user's reaction on one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    pub thread_id: ThreadId,
    pub item_id: ItemId,
    /// `likes` or `emojis`.
    pub kind: String,
    pub user_id: UserPk,
    /// Absent on removal.
    pub emoji: Option<String>,
    pub timestamp_us: Option<i64>,
    pub super_react_type: Option<String>,
    /// The reactor's client_context (the op's `mutation_token`).
    pub client_context: Option<String>,
}

/// A typing indicator. `active == false` means stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Typing {
    pub thread_id: ThreadId,
    pub activity_indicator_id: String,
    pub sender_id: Option<UserPk>,
    /// 0 off, 1 text, 2 visual.
    pub activity_status: i64,
    pub active: bool,
    pub ttl_ms: Option<i64>,
    pub timestamp_us: Option<i64>,
}

/// `{"presence_event":{...}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    pub user_id: i64,
    pub is_active: bool,
    pub last_activity_at_ms: Option<i64>,
    pub in_threads: Vec<String>,
}
