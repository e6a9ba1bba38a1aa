//! The durable form of an Instagram event: what the realtime pump and the catch-up write to
//! the inbox, and what a conversation's worker reads back.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::instagram::ids::{ItemId, ThreadId, UserPk};
use crate::instagram::realtime::SyncEvent;
use crate::instagram::types::{Thread, ThreadItem};
use crate::store::inbox::{NewInboxEntry, SOURCE_INSTAGRAM};

/// One Instagram-side event as stored in the inbox: the realtime decoder's typed values,
/// kept as they are (the payload is their JSON; rows written by earlier versions, which held
/// the item and thread as plain JSON, read the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IgEvent {
    /// A new item, or a new version of one (`replaced`: edit, media ready).
    Item {
        thread_id: ThreadId,
        item_id: ItemId,
        replaced: bool,
        item: Box<ThreadItem>,
    },
    ItemRemoved {
        thread_id: ThreadId,
        item_id: ItemId,
    },
    /// A user's reaction set (`Some`) or removed (`None`).
    Reaction {
        thread_id: ThreadId,
        item_id: ItemId,
        user_id: UserPk,
        emoji: Option<String>,
        /// Instagram's time of the change (tells a re-added reaction from the first).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp_us: Option<i64>,
    },
    Seen {
        thread_id: ThreadId,
        user_id: UserPk,
        item_id: Option<ItemId>,
    },
    /// A thread was added or changed (title, users).
    ThreadUpdated {
        thread_id: ThreadId,
        thread: Box<Thread>,
    },
    ThreadRemoved {
        thread_id: ThreadId,
    },
    /// Read the thread over HTTP and bridge what is missing, making its room if needed.
    SyncThread {
        thread_id: ThreadId,
    },
    /// Typing (never stored: applied at once).
    Typing {
        thread_id: ThreadId,
        user_id: UserPk,
        active: bool,
        ttl_ms: Option<i64>,
    },
    /// A payload the typed model refused: stored whole so that applying it sets it aside as a
    /// dead letter with the reason (and a later version may read it on `retry-dead-letters`).
    Undecodable {
        thread_id: ThreadId,
        path: String,
        raw: Value,
        error: String,
    },
}

impl IgEvent {
    pub fn thread_id(&self) -> &ThreadId {
        match self {
            IgEvent::Item { thread_id, .. }
            | IgEvent::ItemRemoved { thread_id, .. }
            | IgEvent::Reaction { thread_id, .. }
            | IgEvent::Seen { thread_id, .. }
            | IgEvent::ThreadUpdated { thread_id, .. }
            | IgEvent::ThreadRemoved { thread_id }
            | IgEvent::SyncThread { thread_id }
            | IgEvent::Typing { thread_id, .. }
            | IgEvent::Undecodable { thread_id, .. } => thread_id,
        }
    }

    /// The durable form of a realtime sync event; `None` for what the bridge ignores.
    pub fn from_sync(event: SyncEvent) -> Option<IgEvent> {
        let replaced = matches!(event, SyncEvent::ItemReplaced(_));
        let added = matches!(event, SyncEvent::ReactionAdded(_));
        Some(match event {
            SyncEvent::NewItem(i) | SyncEvent::ItemReplaced(i) => IgEvent::Item {
                thread_id: i.thread_id,
                item_id: i.item.item_id.clone(),
                replaced,
                item: i.item,
            },
            SyncEvent::ItemRemoved { thread_id, item_id } => {
                IgEvent::ItemRemoved { thread_id, item_id }
            }
            SyncEvent::ReactionAdded(r) | SyncEvent::ReactionRemoved(r) => IgEvent::Reaction {
                thread_id: r.thread_id,
                item_id: r.item_id,
                user_id: r.user_id,
                emoji: added.then(|| r.emoji.unwrap_or_else(|| "❤️".to_string())),
                timestamp_us: r.timestamp_us,
            },
            SyncEvent::Seen {
                thread_id,
                user_id,
                item_id,
                ..
            } => IgEvent::Seen {
                thread_id,
                user_id,
                item_id,
            },
            SyncEvent::Typing(t) => IgEvent::Typing {
                thread_id: t.thread_id,
                user_id: t.sender_id?,
                active: t.active,
                ttl_ms: t.ttl_ms,
            },
            SyncEvent::ThreadAdded { thread_id, thread }
            | SyncEvent::ThreadReplaced { thread_id, thread } => {
                IgEvent::ThreadUpdated { thread_id, thread }
            }
            SyncEvent::ThreadRemoved { thread_id } => IgEvent::ThreadRemoved { thread_id },
            SyncEvent::Undecodable(u) => IgEvent::Undecodable {
                thread_id: u.thread_id,
                path: u.path,
                raw: u.raw,
                error: u.error,
            },
            SyncEvent::AdminChanged { .. }
            | SyncEvent::ApprovalRequired { .. }
            | SyncEvent::ThreadImage { .. }
            | SyncEvent::UnseenCount { .. } => return None,
        })
    }
}

/// The inbox row of an event read by a login (`login`: its id, the row's receiver).
pub fn entry(login: &str, event: &IgEvent) -> NewInboxEntry {
    NewInboxEntry {
        source: SOURCE_INSTAGRAM.into(),
        portal_key: event.thread_id().as_str().to_owned(),
        receiver: login.to_string(),
        payload: serde_json::to_string(event).unwrap_or_default(),
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
