//! Instagram → Matrix: the durable form of realtime events (inbox payloads) and how each one
//! is applied to its portal. Applying is idempotent: every item and reaction is recorded
//! against its Instagram id, so a replayed row changes nothing.

use std::sync::Arc;

use ruma::{EventId, RoomId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Bridge;
use super::catch_up;
use super::convert::to_matrix;
use super::convert::txn;
use super::error::ApplyError;
use super::ghost;
pub use super::items::apply_item;
use super::items::room_of;
use super::portal;
use super::user::IgUser;
use crate::instagram::realtime::SyncEvent;
use crate::instagram::types::{Thread, ThreadItem};
use crate::store::inbox::{NewInboxEntry, SOURCE_INSTAGRAM};
use crate::store::messages::ReactionRow;

/// One Instagram-side event as stored in the inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IgEvent {
    /// A new item, or a new version of one (`replaced`: edit, media ready).
    Item {
        thread_id: String,
        item_id: String,
        replaced: bool,
        item: Value,
    },
    ItemRemoved {
        thread_id: String,
        item_id: String,
    },
    /// A user's reaction set (`Some`) or removed (`None`).
    Reaction {
        thread_id: String,
        item_id: String,
        user_id: i64,
        emoji: Option<String>,
        /// Instagram's time of the change (tells a re-added reaction from the first).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp_us: Option<i64>,
    },
    Seen {
        thread_id: String,
        user_id: i64,
        item_id: Option<String>,
    },
    /// A thread was added or changed (title, users).
    ThreadUpdated {
        thread_id: String,
        thread: Value,
    },
    ThreadRemoved {
        thread_id: String,
    },
    /// Read the thread over HTTP and bridge what is missing, making its room if needed.
    SyncThread {
        thread_id: String,
    },
    /// Typing (never stored: applied at once).
    Typing {
        thread_id: String,
        user_id: i64,
        active: bool,
        ttl_ms: Option<i64>,
    },
}

impl IgEvent {
    pub fn thread_id(&self) -> &str {
        match self {
            IgEvent::Item { thread_id, .. }
            | IgEvent::ItemRemoved { thread_id, .. }
            | IgEvent::Reaction { thread_id, .. }
            | IgEvent::Seen { thread_id, .. }
            | IgEvent::ThreadUpdated { thread_id, .. }
            | IgEvent::ThreadRemoved { thread_id }
            | IgEvent::SyncThread { thread_id }
            | IgEvent::Typing { thread_id, .. } => thread_id,
        }
    }

    /// The durable form of a realtime sync event; `None` for what the bridge ignores.
    pub fn from_sync(event: &SyncEvent) -> Option<IgEvent> {
        Some(match event {
            SyncEvent::NewItem(i) | SyncEvent::ItemReplaced(i) => IgEvent::Item {
                thread_id: i.thread_id.clone(),
                item_id: i.item_id.clone(),
                replaced: matches!(event, SyncEvent::ItemReplaced(_)),
                item: i.item.clone(),
            },
            SyncEvent::ItemRemoved { thread_id, item_id } => IgEvent::ItemRemoved {
                thread_id: thread_id.clone(),
                item_id: item_id.clone(),
            },
            SyncEvent::ReactionAdded(r) | SyncEvent::ReactionRemoved(r) => IgEvent::Reaction {
                thread_id: r.thread_id.clone(),
                item_id: r.item_id.clone(),
                user_id: r.user_id,
                emoji: match event {
                    SyncEvent::ReactionAdded(_) => {
                        Some(r.emoji.clone().unwrap_or_else(|| "❤️".to_string()))
                    }
                    _ => None,
                },
                timestamp_us: r.timestamp_us,
            },
            SyncEvent::Seen {
                thread_id,
                user_id,
                item_id,
                ..
            } => IgEvent::Seen {
                thread_id: thread_id.clone(),
                user_id: *user_id,
                item_id: item_id.clone(),
            },
            SyncEvent::Typing(t) => IgEvent::Typing {
                thread_id: t.thread_id.clone(),
                user_id: t.sender_id?,
                active: t.active,
                ttl_ms: t.ttl_ms,
            },
            SyncEvent::ThreadAdded { thread_id, thread }
            | SyncEvent::ThreadReplaced { thread_id, thread } => IgEvent::ThreadUpdated {
                thread_id: thread_id.clone(),
                thread: thread.clone(),
            },
            SyncEvent::ThreadRemoved { thread_id } => IgEvent::ThreadRemoved {
                thread_id: thread_id.clone(),
            },
            SyncEvent::AdminChanged { .. }
            | SyncEvent::ApprovalRequired { .. }
            | SyncEvent::ThreadImage { .. }
            | SyncEvent::UnseenCount { .. } => return None,
        })
    }
}

/// The inbox row of an event for a user.
pub fn entry(mxid: &str, event: &IgEvent) -> NewInboxEntry {
    NewInboxEntry {
        source: SOURCE_INSTAGRAM.into(),
        portal_key: event.thread_id().to_string(),
        receiver: mxid.to_string(),
        payload: serde_json::to_string(event).unwrap_or_default(),
    }
}

/// The started user an event belongs to. A user who still has a session but is not started
/// yet (start-up, login in progress) is a transient failure: the conversation waits and is
/// woken when an account starts; one without a session is gone for good.
async fn logged_in_user(bridge: &Bridge, receiver: &str) -> Result<Arc<IgUser>, ApplyError> {
    if let Some(user) = bridge.users.get(receiver).map(|u| u.clone()) {
        return Ok(user);
    }
    let has_session = bridge
        .store
        .get_user(receiver)
        .await?
        .is_some_and(|u| u.session.is_some());
    if !has_session {
        return Err(ApplyError::Permanent(format!(
            "{receiver} is no longer logged in to Instagram"
        )));
    }
    Err(ApplyError::transient(
        crate::bridge::error::Side::Instagram,
        format!("{receiver} is not connected to Instagram yet"),
    ))
}

/// Applies one stored Instagram event for the user it belongs to.
pub async fn apply(bridge: &Arc<Bridge>, receiver: &str, payload: &str) -> Result<(), ApplyError> {
    let event: IgEvent = serde_json::from_str(payload)
        .map_err(|e| ApplyError::Permanent(format!("unreadable Instagram event: {e}")))?;
    let user = logged_in_user(bridge, receiver).await?;
    match event {
        IgEvent::Item {
            thread_id,
            item_id,
            replaced,
            item,
        } => apply_new_item(bridge, &user, &thread_id, &item_id, replaced, item).await,
        IgEvent::ItemRemoved { thread_id, item_id } => {
            apply_removed(bridge, &user, &thread_id, &item_id).await
        }
        IgEvent::Reaction {
            thread_id,
            item_id,
            user_id,
            emoji,
            timestamp_us,
        } => {
            let reaction = ReactionChange {
                item_id: &item_id,
                reactor: user_id,
                emoji,
                timestamp_us,
            };
            apply_reaction(bridge, &user, &thread_id, reaction).await
        }
        IgEvent::Seen {
            thread_id,
            user_id,
            item_id,
        } => apply_seen(bridge, &user, &thread_id, user_id, item_id).await,
        IgEvent::ThreadUpdated { thread_id, thread } => {
            apply_thread(bridge, &user, &thread_id, thread).await
        }
        IgEvent::ThreadRemoved { thread_id } => {
            tracing::info!(
                thread = thread_id,
                user = user.mxid,
                "thread removed on Instagram"
            );
            Ok(())
        }
        IgEvent::SyncThread { thread_id } => catch_up::sync_thread(bridge, &user, &thread_id).await,
        IgEvent::Typing {
            thread_id,
            user_id,
            active,
            ttl_ms,
        } => portal::ghost_typing(bridge, &user.mxid, &thread_id, user_id, active, ttl_ms).await,
    }
}

/// A new or replaced item: its portal first (created, or caught up after a gap), then the item.
async fn apply_new_item(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    thread_id: &str,
    item_id: &str,
    replaced: bool,
    item: Value,
) -> Result<(), ApplyError> {
    let mut item: ThreadItem = serde_json::from_value(item)
        .map_err(|e| ApplyError::Permanent(format!("unreadable item {item_id}: {e}")))?;
    if item.item_id.as_str().is_empty() {
        item.item_id = crate::instagram::ids::ItemId::new(item_id);
    }
    let (portal, created) = portal::ensure_portal(bridge, user, thread_id, None).await?;
    match created {
        Some(thread) => catch_up::new_room(bridge, user, &portal, thread).await?,
        None if !replaced => catch_up::before_live_item(bridge, user, &portal).await?,
        None => {}
    }
    apply_item(bridge, user, &portal, &item, replaced).await
}

/// An item unsent on Instagram: its Matrix events are redacted.
async fn apply_removed(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    thread_id: &str,
    item_id: &str,
) -> Result<(), ApplyError> {
    let Some(portal) = portal::find_portal(bridge, thread_id, &user.mxid).await? else {
        return Ok(());
    };
    let room = room_of(&portal)?;
    let parts = bridge
        .store
        .get_message_parts(item_id, &portal.receiver)
        .await?;
    for part in &parts {
        // Your own message, unsent from your phone, is redacted by you (double puppeting).
        let redactor = super::puppet::own(bridge, user, &portal, part.sender_pk)
            .unwrap_or_else(|| bridge.intents.bot());
        if let Ok(event) = EventId::parse(&part.event_id)
            && let Err(e) = redactor
                .redact(&room, &event, Some("Unsent on Instagram"))
                .await
        {
            tracing::warn!("cannot redact unsent message: {e}");
        }
    }
    bridge
        .store
        .delete_message(item_id, &portal.receiver)
        .await?;
    Ok(())
}

/// Someone else read the thread up to an item: their ghost's read receipt.
async fn apply_seen(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    thread_id: &str,
    reader: i64,
    item_id: Option<String>,
) -> Result<(), ApplyError> {
    if reader == user.pk && super::puppet::intent(bridge, &user.mxid).is_none() {
        return Ok(());
    }
    let (Some(item_id), Some(portal)) = (
        item_id,
        portal::find_portal(bridge, thread_id, &user.mxid).await?,
    ) else {
        return Ok(());
    };
    let room = room_of(&portal)?;
    if let Some(part) = bridge
        .store
        .get_message_parts(&item_id, &portal.receiver)
        .await?
        .last()
        && let Ok(event) = EventId::parse(&part.event_id)
    {
        if reader == user.pk {
            // Read on your phone: your own read marker (double puppeting).
            return super::puppet::read_up_to(bridge, user, &room, &event).await;
        }
        ghost::ghost_intent(bridge, reader)?
            .read_receipt(&room, &event)
            .await?;
    }
    Ok(())
}

/// A thread's name, picture or members changed (or a thread we have no room for yet).
async fn apply_thread(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    thread_id: &str,
    thread: Value,
) -> Result<(), ApplyError> {
    let thread: Thread = serde_json::from_value(thread)
        .map_err(|e| ApplyError::Permanent(format!("unreadable thread {thread_id}: {e}")))?;
    match portal::find_portal(bridge, thread_id, &user.mxid).await? {
        Some(p) if p.room_id.is_some() => {
            portal::update_from_thread(bridge, user, &p, &thread).await
        }
        _ => {
            let (portal, created) =
                portal::ensure_portal(bridge, user, thread_id, Some(thread)).await?;
            if let Some(thread) = created {
                catch_up::new_room(bridge, user, &portal, thread).await?;
            }
            Ok(())
        }
    }
}

/// A reaction set or removed on Instagram.
struct ReactionChange<'a> {
    item_id: &'a str,
    reactor: i64,
    emoji: Option<String>,
    timestamp_us: Option<i64>,
}

async fn apply_reaction(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    thread_id: &str,
    change: ReactionChange<'_>,
) -> Result<(), ApplyError> {
    let ReactionChange {
        item_id,
        reactor,
        emoji,
        timestamp_us,
    } = change;
    let Some(portal) = portal::find_portal(bridge, thread_id, &user.mxid).await? else {
        return Ok(());
    };
    let room = room_of(&portal)?;
    let receiver = portal.receiver.as_str();
    let Some(target) = bridge
        .store
        .get_message_parts(item_id, receiver)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    let existing = bridge
        .store
        .get_reaction(item_id, receiver, reactor)
        .await?;
    if existing.as_ref().map(|r| Some(r.emoji.as_str())) == Some(emoji.as_deref()) {
        return Ok(());
    }
    if let Some(old) = &existing {
        if let Ok(event) = EventId::parse(&old.event_id) {
            match super::puppet::own(bridge, user, &portal, reactor) {
                Some(puppet) if puppet.redact(&room, &event, None).await.is_ok() => {}
                _ => redact_reaction(bridge, &room, &event, reactor).await,
            }
        }
        bridge
            .store
            .delete_reaction(item_id, receiver, reactor)
            .await?;
    }
    let Some(emoji) = emoji else {
        return Ok(());
    };
    let intent = match super::puppet::own(bridge, user, &portal, reactor) {
        Some(puppet) => puppet,
        None => ghost::ensure_ghost(bridge, user, reactor, None).await?,
    };
    let content = to_matrix::reaction_content(&target.event_id, &emoji);
    let txn = txn::reaction(item_id, receiver, reactor, &emoji, timestamp_us);
    let event_id = match intent
        .send_raw(&room, "m.reaction", txn, &content, None)
        .await
    {
        Ok(event_id) => event_id,
        Err(e) => return Err(super::puppet::send_failed(bridge, &intent, e).await),
    };
    bridge
        .store
        .upsert_reaction(&ReactionRow {
            item_id: item_id.to_string(),
            receiver: receiver.to_string(),
            sender_pk: reactor,
            room_id: room.to_string(),
            event_id: event_id.to_string(),
            emoji,
            timestamp_us: crate::store::now_ms() * 1000,
        })
        .await?;
    Ok(())
}

/// Redacts a bridged reaction as the ghost who reacted (it sent the event, so it may redact
/// it); the bot only when the ghost cannot (a reaction sent from Matrix by the user).
async fn redact_reaction(bridge: &Bridge, room: &RoomId, event: &EventId, reactor: i64) {
    let by_ghost = match ghost::ghost_intent(bridge, reactor) {
        Ok(intent) => intent.redact(room, event, None).await.map(|_| ()),
        Err(e) => {
            tracing::debug!(reactor, "no ghost to redact the reaction: {e}");
            return redact_as_bot(bridge, room, event).await;
        }
    };
    if let Err(e) = by_ghost {
        tracing::debug!(
            reactor,
            "the ghost cannot redact the reaction ({e}); the bot does"
        );
        redact_as_bot(bridge, room, event).await;
    }
}

async fn redact_as_bot(bridge: &Bridge, room: &RoomId, event: &EventId) {
    if let Err(e) = bridge.intents.bot().redact(room, event, None).await {
        tracing::warn!("cannot redact a removed reaction: {e}");
    }
}
