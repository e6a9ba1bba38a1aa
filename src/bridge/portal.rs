//! One Instagram thread ↔ one Matrix room. DMs are per receiving login (a thread two logins
//! of one user share is two rooms); groups are shared by every bridge user in them (their
//! rows have an empty receiver).
//!
//! Everything here runs inside the thread's actor (see `dispatch`), so one thread's events
//! never race.

use std::sync::Arc;
use std::time::Duration;

use ruma::api::client::room::create_room;
use ruma::serde::Raw;
use ruma::{OwnedRoomId, RoomId, UserId};
use serde_json::json;

use super::Bridge;
use super::conversation::Portal;
use super::error::ApplyError;
use super::ghost;
use super::user::IgUser;
use crate::instagram::http::direct::Direction;
use crate::instagram::ids::{ThreadId, UserPk};
use crate::instagram::types::Thread;
use crate::store::portals::PortalRow;

/// The receiver key of a portal: the login (its id) for DMs, empty for groups.
pub fn receiver_key(is_group: bool, login: &str) -> String {
    if is_group {
        String::new()
    } else {
        login.to_string()
    }
}

/// The portal of a thread as one login (`receiver`, its id) sees it, if it exists.
pub async fn find_portal(
    bridge: &Bridge,
    thread_id: &str,
    receiver: &str,
) -> Result<Option<PortalRow>, ApplyError> {
    if let Some(p) = bridge.store.get_portal(thread_id, receiver).await? {
        return Ok(Some(p));
    }
    Ok(bridge.store.get_portal(thread_id, "").await?)
}

/// Fetches a thread's first page over HTTP.
pub async fn fetch_thread(
    user: &IgUser,
    thread_id: &str,
    limit: u32,
) -> Result<Thread, ApplyError> {
    user.client
        .thread(&ThreadId::new(thread_id), None, Direction::Older, limit)
        .await
        .map_err(|e| ApplyError::from_instagram(&e, &format!("cannot read thread {thread_id}")))
}

/// Returns the user's portal of the thread with its room, creating the room when needed.
/// `thread` is the thread when already at hand. The second value is the thread if it was
/// fetched or given and the room was created now (the caller backfills it).
pub async fn ensure_portal(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    user: &IgUser,
    thread_id: &str,
    thread: Option<Thread>,
) -> Result<(PortalRow, Option<Thread>), ApplyError> {
    if let Some(p) = find_portal(bridge, thread_id, &user.receiver()).await?
        && let Some(room) = p.room_id.as_deref()
    {
        if p.is_group {
            // A group portal is shared: make sure this user is in it too.
            invite_user_once(bridge, conv, room, &user.mxid).await;
        }
        return Ok((p, None));
    }
    let thread = match thread {
        Some(t) => t,
        None => {
            fetch_thread(
                user,
                thread_id,
                bridge.config.backfill.initial_messages.max(1),
            )
            .await?
        }
    };
    if thread.pending == Some(true)
        && bridge.config.bridge.message_requests == crate::config::MessageRequests::Hold
    {
        announce_request(bridge, user, &thread).await;
        return Err(ApplyError::Skipped(format!(
            "message request {thread_id} is held until `accept`"
        )));
    }
    let portal = create_portal_room(bridge, conv, user, &thread).await?;
    Ok((portal, Some(thread)))
}

/// Tells the user about a held message request, once per thread and run.
async fn announce_request(bridge: &Bridge, user: &IgUser, thread: &Thread) {
    if !user.announce_request_once(thread.thread_id.as_str()) {
        return;
    }
    let from = thread
        .users
        .iter()
        .map(|u| format!("@{}", u.username))
        .collect::<Vec<_>>()
        .join(", ");
    let Ok(Some(row)) = bridge.store.get_user(&user.mxid).await else {
        return;
    };
    let Some(room) = row
        .management_room
        .as_deref()
        .and_then(|r| RoomId::parse(r).ok())
    else {
        return;
    };
    let text = format!(
        "New message request from {from}. Send `accept {}` to bridge it.",
        thread.thread_id
    );
    if let Err(e) = bridge.intents.bot().send_notice(&room, &text).await {
        tracing::warn!("cannot announce a message request: {e}");
    }
}

/// Invites a bridge user to a group room, tried once per worker's life: an invite to someone
/// already in the room is refused by the homeserver, harmlessly, and must not cost a request
/// per message.
async fn invite_user_once(bridge: &Bridge, conv: &mut Portal, room: &str, mxid: &str) {
    if conv.invited(mxid) {
        return;
    }
    conv.mark_invited(mxid);
    if let (Ok(room_id), Ok(user)) = (RoomId::parse(room), UserId::parse(mxid)) {
        match bridge.intents.bot().invite(&room_id, &user).await {
            Ok(()) => super::puppet::join_portal(bridge, mxid, &room_id, None).await,
            Err(e) => tracing::debug!(room, mxid, "invite not sent: {e}"),
        }
    }
}

fn room_name(bridge: &Bridge, thread: &Thread, is_group: bool) -> Option<String> {
    let templates = &bridge.config.bridge;
    if is_group {
        let title = thread.thread_title.clone().unwrap_or_else(|| {
            thread
                .users
                .iter()
                .map(|u| u.username.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        });
        Some(templates.group_chat_name_template.replace("{name}", &title))
            .filter(|n| !n.trim().is_empty())
    } else {
        let other = thread.users.first()?;
        let name = other
            .full_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&other.username);
        Some(
            templates
                .private_chat_name_template
                .replace("{displayname}", name)
                .replace("{username}", &other.username),
        )
        .filter(|n| !n.trim().is_empty())
    }
}

fn bridge_state(
    bridge: &Bridge,
    thread: &Thread,
    name: Option<&str>,
) -> Vec<Raw<ruma::events::AnyInitialStateEvent>> {
    let state_key = format!("net.matrix-instagram://instagram/{}", thread.thread_id);
    let content = json!({
        "bridgebot": bridge.bot.as_str(),
        "protocol": { "id": "instagram", "displayname": "Instagram", "external_url": "https://www.instagram.com/" },
        "channel": { "id": thread.thread_id.to_string(), "displayname": name },
    });
    ["m.bridge", "uk.half-shot.bridge"]
        .iter()
        .filter_map(|kind| {
            let event = json!({ "type": kind, "state_key": state_key, "content": content });
            serde_json::value::to_raw_value(&event)
                .ok()
                .map(Raw::from_json)
        })
        .collect()
}

async fn create_portal_room(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    user: &IgUser,
    thread: &Thread,
) -> Result<PortalRow, ApplyError> {
    let is_group = thread.is_group.unwrap_or(thread.users.len() > 1);
    let receiver = receiver_key(is_group, &user.receiver());
    let thread_id = thread.thread_id.to_string();
    conv.remember(bridge, thread, Some(user)).await;
    // Ghost profiles first, so the room shows names from the start.
    let mut ghosts = Vec::new();
    for u in &thread.users {
        match ghost::ensure_ghost(bridge, user, u.pk.get(), Some(u)).await {
            Ok(intent) => ghosts.push(intent),
            Err(e) => tracing::warn!(pk = u.pk.get(), "ghost not ready: {e}"),
        }
    }
    let name = room_name(bridge, thread, is_group);
    let invitee = UserId::parse(&user.mxid)
        .map_err(|e| ApplyError::Permanent(format!("bad user id {}: {e}", user.mxid)))?;
    let mut request = create_room::v3::Request::new();
    request.name = name.clone();
    request.is_direct = !is_group;
    request.invite = vec![invitee];
    request.preset = Some(create_room::v3::RoomPreset::PrivateChat);
    request.initial_state = bridge_state(bridge, thread, name.as_deref());
    let encrypted = super::encryption::new_portals_encrypted(bridge);
    if encrypted {
        request
            .initial_state
            .extend(super::encryption::initial_state());
    }
    // The user may rename the room and change its avatar (bridged to Instagram for groups).
    let mut users = serde_json::Map::new();
    users.insert(user.mxid.clone(), json!(100));
    if !bridge
        .creators_implicit
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        users.insert(bridge.bot.to_string(), json!(100));
    }
    request.power_level_content_override =
        serde_json::value::to_raw_value(&json!({ "users": users }))
            .ok()
            .map(Raw::from_json);
    let room_id: OwnedRoomId = bridge.intents.bot().create_room(request).await?;
    tracing::info!(thread = thread_id, room = %room_id, is_group, "created portal room");
    if encrypted {
        super::encryption::created_encrypted(bridge, room_id.as_str());
    }
    let portal = PortalRow {
        thread_id: thread_id.clone(),
        receiver,
        room_id: Some(room_id.to_string()),
        is_group,
        name: name.clone(),
        name_set: name.is_some(),
        pending: thread.pending.unwrap_or(false),
        encrypted,
        ..Default::default()
    };
    bridge.store.upsert_portal(&portal).await?;
    conv.mark_invited(&user.mxid);
    for intent in ghosts {
        if let Err(e) = intent.ensure_joined(&room_id).await {
            tracing::warn!(ghost = %intent.user_id(), "ghost cannot join the portal: {e}");
        }
    }
    // Joined as the user, a DM listed in their m.direct (double puppeting).
    let dm_with = (!is_group)
        .then(|| thread.users.first())
        .flatten()
        .map(|u| ghost::ghost_user_id(bridge, u.pk.get()));
    super::puppet::join_portal(bridge, &user.mxid, &room_id, dm_with.as_deref()).await;
    let portal = super::media::sync_group_avatar(bridge, user, &portal, thread)
        .await
        .unwrap_or(portal);
    Ok(portal)
}

/// Updates a group portal's name and members from a fresh thread.
pub async fn update_from_thread(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    user: &IgUser,
    portal: &PortalRow,
    thread: &Thread,
) -> Result<(), ApplyError> {
    conv.remember(bridge, thread, Some(user)).await;
    let Some(room) = portal.room_id.as_deref() else {
        return Ok(());
    };
    let room_id = RoomId::parse(room).map_err(|e| ApplyError::Permanent(e.to_string()))?;
    for u in &thread.users {
        let intent = ghost::ensure_ghost(bridge, user, u.pk.get(), Some(u)).await?;
        intent.ensure_joined(&room_id).await?;
    }
    for u in &thread.left_users {
        let intent = ghost::ghost_intent(bridge, u.pk.get())?;
        if let Err(e) = intent.leave(&room_id).await {
            tracing::debug!("ghost leave: {e}");
        }
    }
    let synced = super::media::sync_group_avatar(bridge, user, portal, thread).await;
    let portal = synced.as_ref().unwrap_or(portal);
    if portal.is_group {
        let name = room_name(bridge, thread, true);
        if name.is_some() && name != portal.name {
            let content = ruma::events::room::name::RoomNameEventContent::new(
                name.clone().unwrap_or_default(),
            );
            bridge
                .intents
                .bot()
                .send_state(&room_id, "", &content)
                .await?;
            let mut updated = portal.clone();
            updated.name = name;
            updated.name_set = true;
            bridge.store.upsert_portal(&updated).await?;
        }
    }
    Ok(())
}

/// Shows (or stops) a ghost typing in the login's (`login`: its id) portal of a thread, for
/// Instagram's `ttl` (12 s when absent, kept within 1–60 s).
pub async fn ghost_typing(
    bridge: &Arc<Bridge>,
    login: &str,
    thread_id: &ThreadId,
    sender: UserPk,
    active: bool,
    ttl_ms: Option<i64>,
) -> Result<(), ApplyError> {
    let ttl =
        active.then(|| Duration::from_millis(ttl_ms.unwrap_or(12_000).clamp(1_000, 60_000) as u64));
    let Some(portal) = find_portal(bridge, thread_id.as_str(), login).await? else {
        return Ok(());
    };
    let Some(room) = portal.room_id.as_deref() else {
        return Ok(());
    };
    let room_id = RoomId::parse(room).map_err(|e| ApplyError::Permanent(e.to_string()))?;
    let intent = ghost::ghost_intent(bridge, sender.get())?;
    intent.typing(&room_id, ttl).await?;
    Ok(())
}
