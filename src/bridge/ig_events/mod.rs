//! Instagram → Matrix: the durable form of realtime events (inbox payloads) and how each one
//! is applied to its portal. Applying is idempotent: every item and reaction is recorded
//! against its Instagram id, so a replayed row changes nothing.

use std::sync::Arc;

use ruma::{EventId, RoomId};
use serde::Deserialize;
use serde_json::Value;

mod event;
pub use event::{IgEvent, entry};

use super::Bridge;
use super::catch_up;
use super::conversation::Portal;
use super::convert::to_matrix;
use super::convert::txn;
use super::error::ApplyError;
use super::ghost;
pub use super::items::apply_item;
use super::items::room_of;
use super::portal;
use super::user::IgUser;
use crate::instagram::ids::{ItemId, ThreadId, UserPk};
use crate::instagram::types::{Thread, ThreadItem};
use crate::store::messages::ReactionRow;

/// The started login an event belongs to (`receiver`: its id). A login that still has a
/// session but is not started yet (start-up, login in progress) is a transient failure: the
/// conversation waits and is woken when an account starts; one without a session is gone
/// for good.
async fn logged_in_user(bridge: &Bridge, receiver: &str) -> Result<Arc<IgUser>, ApplyError> {
    if let Some(user) = bridge.account_of_receiver(receiver) {
        return Ok(user);
    }
    let has_session = match receiver.parse::<i64>() {
        Ok(pk) => bridge
            .store
            .get_login(pk)
            .await?
            .is_some_and(|l| l.session.is_some()),
        Err(_) => false,
    };
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
pub async fn apply(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    receiver: &str,
    payload: &str,
) -> Result<(), ApplyError> {
    let event: IgEvent = serde_json::from_str(payload)
        .map_err(|e| ApplyError::Permanent(format!("unreadable Instagram event: {e}")))?;
    let user = logged_in_user(bridge, receiver).await?;
    match event {
        IgEvent::Item {
            thread_id,
            item_id,
            replaced,
            item,
        } => apply_new_item(bridge, conv, &user, &thread_id, &item_id, replaced, *item).await,
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
                item_id: item_id.as_str(),
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
            apply_thread(bridge, conv, &user, &thread_id, *thread).await
        }
        IgEvent::ThreadRemoved { thread_id } => {
            super::chat_state::thread_removed(bridge, &user, &thread_id).await
        }
        IgEvent::SyncThread { thread_id } => {
            catch_up::sync_thread(bridge, conv, &user, thread_id.as_str()).await
        }
        IgEvent::Typing {
            thread_id,
            user_id,
            active,
            ttl_ms,
        } => {
            let login = user.receiver();
            portal::ghost_typing(bridge, &login, &thread_id, user_id, active, ttl_ms).await
        }
        IgEvent::Undecodable {
            thread_id,
            path,
            raw,
            error,
        } => apply_undecodable(bridge, conv, &user, &thread_id, &path, raw, &error).await,
    }
}

/// A payload the realtime decoder could not type: read again (a later version may know its
/// shape), else set aside as a dead letter with the reason.
async fn apply_undecodable(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    user: &IgUser,
    thread_id: &ThreadId,
    path: &str,
    raw: Value,
    error: &str,
) -> Result<(), ApplyError> {
    let is_item = path.contains("/items/");
    if is_item && let Ok(item) = ThreadItem::deserialize(&raw) {
        let item_id = item.item_id.clone();
        return apply_new_item(bridge, conv, user, thread_id, &item_id, false, item).await;
    }
    if !is_item && let Ok(thread) = serde_json::from_value::<Thread>(raw) {
        return apply_thread(bridge, conv, user, thread_id, thread).await;
    }
    Err(ApplyError::Permanent(format!(
        "an Instagram {} this bridge cannot read ({error})",
        if is_item { "message" } else { "thread update" }
    )))
}

/// A new or replaced item: its portal first (created, or caught up after a gap), then the item.
async fn apply_new_item(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    user: &IgUser,
    thread_id: &ThreadId,
    item_id: &ItemId,
    replaced: bool,
    mut item: ThreadItem,
) -> Result<(), ApplyError> {
    if item.item_id.as_str().is_empty() {
        item.item_id = item_id.clone();
    }
    let thread_id = thread_id.as_str();
    let (portal, created) = portal::ensure_portal(bridge, conv, user, thread_id, None).await?;
    match created {
        Some(thread) => catch_up::new_room(bridge, conv, user, &portal, thread).await?,
        None if !replaced => catch_up::before_live_item(bridge, conv, user, &portal).await?,
        None => {}
    }
    apply_item(bridge, conv, user, &portal, &item, replaced).await
}

/// An item unsent on Instagram: its Matrix events are redacted.
async fn apply_removed(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    thread_id: &ThreadId,
    item_id: &ItemId,
) -> Result<(), ApplyError> {
    let item_id = item_id.as_str();
    let Some(portal) = portal::find_portal(bridge, thread_id.as_str(), &user.receiver()).await?
    else {
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
    thread_id: &ThreadId,
    reader: UserPk,
    item_id: Option<ItemId>,
) -> Result<(), ApplyError> {
    if reader.get() == user.pk && super::puppet::intent(bridge, &user.mxid).is_none() {
        return Ok(());
    }
    let (Some(item_id), Some(portal)) = (
        item_id,
        portal::find_portal(bridge, thread_id.as_str(), &user.receiver()).await?,
    ) else {
        return Ok(());
    };
    let room = room_of(&portal)?;
    if let Some(part) = bridge
        .store
        .get_message_parts(item_id.as_str(), &portal.receiver)
        .await?
        .last()
        && let Ok(event) = EventId::parse(&part.event_id)
    {
        if reader.get() == user.pk {
            // Read on your phone: your own read marker (double puppeting).
            super::chat_state::read_on_instagram(bridge, &user.mxid, room.as_str()).await;
            return super::puppet::read_up_to(bridge, user, &room, &event).await;
        }
        ghost::ghost_intent(bridge, reader.get())?
            .read_receipt(&room, &event)
            .await?;
    }
    Ok(())
}

/// A thread's name, picture or members changed (or a thread we have no room for yet).
async fn apply_thread(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    user: &IgUser,
    thread_id: &ThreadId,
    thread: Thread,
) -> Result<(), ApplyError> {
    let thread_id = thread_id.as_str();
    match portal::find_portal(bridge, thread_id, &user.receiver()).await? {
        Some(p) if p.room_id.is_some() => {
            portal::update_from_thread(bridge, conv, user, &p, &thread).await?;
            super::chat_state::from_instagram(bridge, &user.mxid, &p, &thread).await
        }
        _ => {
            let (portal, created) =
                portal::ensure_portal(bridge, conv, user, thread_id, Some(thread.clone())).await?;
            if let Some(thread) = created {
                catch_up::new_room(bridge, conv, user, &portal, thread).await?;
            }
            super::chat_state::from_instagram(bridge, &user.mxid, &portal, &thread).await
        }
    }
}

/// A reaction set or removed on Instagram.
struct ReactionChange<'a> {
    item_id: &'a str,
    reactor: UserPk,
    emoji: Option<String>,
    timestamp_us: Option<i64>,
}

async fn apply_reaction(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    thread_id: &ThreadId,
    change: ReactionChange<'_>,
) -> Result<(), ApplyError> {
    let ReactionChange {
        item_id,
        reactor,
        emoji,
        timestamp_us,
    } = change;
    let reactor = reactor.get();
    let Some(portal) = portal::find_portal(bridge, thread_id.as_str(), &user.receiver()).await?
    else {
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
