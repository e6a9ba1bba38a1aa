//! Chat state both ways, for users with double puppeting: a thread muted, marked unread,
//! archived or pinned on Instagram is the user's room push rule, `m.marked_unread`,
//! `m.lowpriority` and `m.favourite` on Matrix, and back where Instagram has an endpoint (mute
//! and unmute, mark unread, hide).
//!
//! Instagram → Matrix: the thread fields (`muted`, `read_state`, `archived`, `is_pin`) of
//! every thread the bridge reads (realtime thread updates, inbox and thread syncs), written as
//! the user through their double puppet. Matrix → Instagram: account data never reaches an
//! appservice in its transactions, so each double-puppeted user has one long-polling `/sync`
//! through their puppet, filtered down to push rules and room account data (see
//! [`watch`]).
//!
//! What each side is known to have is kept per (user, room), so that a change is carried
//! over once and its echo from the other side changes nothing; only a change crosses (the
//! first time a thread is seen, what Instagram has set). It lives in memory: after a restart,
//! the first sync of each user is a baseline, and changes made while the bridge was down are
//! not carried over.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::{DashMap, DashSet};
use ruma::{OwnedRoomId, RoomId};

use super::Bridge;
use super::error::ApplyError;
use super::puppet;
use crate::instagram::ids::ThreadId;
use crate::instagram::types::Thread;
use crate::matrix::Intent;
use crate::matrix::chat_state::{self as mx, AccountDataSync, RoomChatState};
use crate::store::portals::PortalRow;

/// How long one account-data `/sync` waits for a change.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// One part of the chat state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Muted,
    Unread,
    LowPriority,
    Favourite,
}

const FIELDS: [Field; 4] = [
    Field::Muted,
    Field::Unread,
    Field::LowPriority,
    Field::Favourite,
];

fn get(s: &RoomChatState, f: Field) -> bool {
    match f {
        Field::Muted => s.muted,
        Field::Unread => s.unread,
        Field::LowPriority => s.low_priority,
        Field::Favourite => s.favourite,
    }
}

fn set(s: &mut RoomChatState, f: Field, v: bool) {
    match f {
        Field::Muted => s.muted = v,
        Field::Unread => s.unread = v,
        Field::LowPriority => s.low_priority = v,
        Field::Favourite => s.favourite = v,
    }
}

/// A thread's chat state as Instagram sent it (`None`: the thread did not say).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    pub muted: Option<bool>,
    pub unread: Option<bool>,
    pub low_priority: Option<bool>,
    pub favourite: Option<bool>,
}

impl Seen {
    fn get(&self, f: Field) -> Option<bool> {
        match f {
            Field::Muted => self.muted,
            Field::Unread => self.unread,
            Field::LowPriority => self.low_priority,
            Field::Favourite => self.favourite,
        }
    }
}

/// The chat state in a thread's fields: `muted`, `read_state` (non-zero: marked unread
/// [uncertain]), `archived`, `is_pin`.
pub fn of_thread(thread: &Thread) -> Seen {
    Seen {
        muted: thread.muted,
        unread: thread.read_state.map(|r| r != 0),
        low_priority: thread.archived,
        favourite: thread.is_pin,
    }
}

/// What each side of one (user, room) is known to have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Known {
    pub matrix: RoomChatState,
    /// `None` until Instagram's state of the thread is first seen.
    pub instagram: Option<RoomChatState>,
}

/// Instagram says `seen`: the changes to make on Matrix. A field crosses when Instagram's
/// value changed (or, on first sight, is set) and Matrix does not have it already.
pub fn to_matrix(known: &Known, seen: &Seen) -> Vec<(Field, bool)> {
    let before = known.instagram.unwrap_or_default();
    FIELDS
        .into_iter()
        .filter_map(|f| {
            let v = seen.get(f)?;
            (v != get(&before, f) && v != get(&known.matrix, f)).then_some((f, v))
        })
        .collect()
}

/// Instagram's state after `seen` (fields it did not mention keep their value).
pub fn instagram_after(known: &Known, seen: &Seen) -> RoomChatState {
    let mut after = known.instagram.unwrap_or_default();
    for f in FIELDS {
        if let Some(v) = seen.get(f) {
            set(&mut after, f, v);
        }
    }
    after
}

/// Matrix now has `now`: the changes to send to Instagram — the fields that changed on
/// Matrix and that Instagram has (or may have) otherwise, where Instagram has an endpoint for
/// them (favourite has none known; an unread mark is cleared by reading, and a hidden thread
/// comes back with its next message, so neither is sent when turned off).
pub fn to_instagram(known: &Known, now: &RoomChatState) -> Vec<(Field, bool)> {
    FIELDS
        .into_iter()
        .filter(|&f| get(now, f) != get(&known.matrix, f))
        .map(|f| (f, get(now, f)))
        .filter(|&(f, v)| known.instagram.is_none_or(|ig| get(&ig, f) != v))
        .filter(|&(f, v)| match f {
            Field::Muted => true,
            Field::Unread | Field::LowPriority => v,
            Field::Favourite => false,
        })
        .collect()
}

/// The chat state the bridge knows, and the account-data watchers running.
#[derive(Default)]
pub struct ChatStates {
    known: DashMap<(String, OwnedRoomId), Known>,
    /// (user, thread) hidden on Instagram from Matrix: its removal is our own echo.
    hidden_by_us: DashSet<(String, String)>,
    /// The running watcher's generation per user.
    watchers: DashMap<String, u64>,
    generation: AtomicU64,
}

impl ChatStates {
    fn known(&self, mxid: &str, room: &RoomId) -> Known {
        self.known
            .get(&(mxid.to_owned(), room.to_owned()))
            .map(|k| *k)
            .unwrap_or_default()
    }

    fn update(&self, mxid: &str, room: &RoomId, f: impl FnOnce(&mut Known)) {
        f(&mut self
            .known
            .entry((mxid.to_owned(), room.to_owned()))
            .or_default());
    }
}

async fn write_matrix(
    intent: &Intent,
    room: &RoomId,
    f: Field,
    v: bool,
) -> Result<(), crate::matrix::MatrixError> {
    match f {
        Field::Muted => intent.set_room_muted(room, v).await,
        Field::Unread => intent.set_marked_unread(room, v).await,
        Field::LowPriority => intent.set_room_tag(room, mx::LOW_PRIORITY, v).await,
        Field::Favourite => intent.set_room_tag(room, mx::FAVOURITE, v).await,
    }
}

/// Instagram → Matrix: the thread's chat state, as the user (double puppeting only).
pub async fn from_instagram(
    bridge: &Bridge,
    mxid: &str,
    portal: &PortalRow,
    thread: &Thread,
) -> Result<(), ApplyError> {
    let Some(intent) = puppet::intent(bridge, mxid) else {
        return Ok(());
    };
    let Some(room) = portal
        .room_id
        .as_deref()
        .and_then(|r| RoomId::parse(r).ok())
    else {
        return Ok(());
    };
    let seen = of_thread(thread);
    let states = &bridge.chat_states;
    let known = states.known(mxid, &room);
    let changes = to_matrix(&known, &seen);
    // Recorded before writing, so the write's echo in the account-data sync changes nothing.
    states.update(mxid, &room, |k| {
        for &(f, v) in &changes {
            set(&mut k.matrix, f, v);
        }
        k.instagram = Some(instagram_after(k, &seen));
    });
    for (f, v) in changes {
        if let Err(e) = write_matrix(&intent, &room, f, v).await {
            states.update(mxid, &room, |k| *k = known);
            return Err(puppet::send_failed(bridge, &intent, e).await);
        }
        tracing::debug!(user = mxid, %room, field = ?f, value = v, "chat state from Instagram");
    }
    Ok(())
}

/// The user read the thread on Instagram (or from Matrix): Instagram's unread mark is gone.
pub fn read_on_instagram(bridge: &Bridge, mxid: &str, room: &str) {
    let Ok(room) = RoomId::parse(room) else {
        return;
    };
    let key = (mxid.to_owned(), room);
    if let Some(mut known) = bridge.chat_states.known.get_mut(&key)
        && let Some(ig) = known.instagram.as_mut()
    {
        ig.unread = false;
    }
}

/// A thread deleted or hidden on Instagram (not by the bridge): the user is told in the room,
/// which stays as it is (nothing is deleted; a new message brings the thread back there).
pub async fn thread_removed(
    bridge: &Bridge,
    mxid: &str,
    thread_id: &ThreadId,
) -> Result<(), ApplyError> {
    if bridge
        .chat_states
        .hidden_by_us
        .remove(&(mxid.to_owned(), thread_id.to_string()))
        .is_some()
    {
        return Ok(());
    }
    let Some(portal) = super::portal::find_portal(bridge, thread_id.as_str(), mxid).await? else {
        return Ok(());
    };
    let Some(room) = portal
        .room_id
        .as_deref()
        .and_then(|r| RoomId::parse(r).ok())
    else {
        return Ok(());
    };
    tracing::info!(thread = %thread_id, user = mxid, "thread removed on Instagram");
    bridge
        .intents
        .bot()
        .send_notice(
            &room,
            "This conversation was deleted or hidden on Instagram. The room stays as it is; \
             if the conversation starts again, its messages arrive here.",
        )
        .await?;
    Ok(())
}

/// Starts (or restarts) the user's account-data watcher, when they have a double puppet.
pub fn watch(bridge: &Arc<Bridge>, mxid: &str) {
    if puppet::intent(bridge, mxid).is_none() {
        return;
    }
    let states = &bridge.chat_states;
    let generation = states.generation.fetch_add(1, Ordering::Relaxed) + 1;
    states.watchers.insert(mxid.to_owned(), generation);
    let (bridge, mxid) = (bridge.clone(), mxid.to_owned());
    tokio::spawn(async move {
        let mut since: Option<String> = None;
        let mut delay = Duration::from_secs(1);
        loop {
            let current = bridge.chat_states.watchers.get(&mxid).map(|g| *g);
            let intent = puppet::intent(&bridge, &mxid);
            let (Some(intent), Some(true)) = (intent, current.map(|g| g == generation)) else {
                bridge
                    .chat_states
                    .watchers
                    .remove_if(&mxid, |_, g| *g == generation);
                return;
            };
            match intent
                .sync_account_data(since.as_deref(), SYNC_TIMEOUT)
                .await
            {
                Ok(sync) => {
                    let baseline = since.is_none();
                    since = Some(sync.next_batch.clone());
                    matrix_changed(&bridge, &mxid, sync, baseline).await;
                    delay = Duration::from_secs(1);
                }
                Err(e) if crate::matrix::double_puppet::is_dead_token(&e) => {
                    puppet::send_failed(&bridge, &intent, e).await;
                }
                Err(e) => {
                    tracing::warn!(user = mxid, "account data sync failed: {e}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
            }
        }
    });
}

/// The rooms one sync may have changed, with their new Matrix state.
fn changed_rooms(
    states: &ChatStates,
    mxid: &str,
    sync: &AccountDataSync,
) -> Vec<(OwnedRoomId, RoomChatState)> {
    let muted = sync.push_rules.as_ref().map(mx::muted_rooms);
    let mut rooms: BTreeSet<OwnedRoomId> = sync.rooms.keys().cloned().collect();
    if let Some(muted) = &muted {
        rooms.extend(
            muted
                .iter()
                .filter_map(|r| OwnedRoomId::try_from(r.as_str()).ok()),
        );
        rooms.extend(
            states
                .known
                .iter()
                .filter(|e| e.key().0 == mxid)
                .map(|e| e.key().1.clone()),
        );
    }
    rooms
        .into_iter()
        .map(|room| {
            let mut now = states.known(mxid, &room).matrix;
            if let Some(muted) = &muted {
                now.muted = muted.contains(room.as_str());
            }
            if let Some(data) = sync.rooms.get(&room) {
                if let Some(tags) = &data.tags {
                    now.low_priority = tags.contains(mx::LOW_PRIORITY);
                    now.favourite = tags.contains(mx::FAVOURITE);
                }
                if let Some(unread) = data.marked_unread {
                    now.unread = unread;
                }
            }
            (room, now)
        })
        .collect()
}

/// Matrix → Instagram: what one sync changed in the user's portals. The first sync of a
/// watcher is the baseline: remembered, not sent.
async fn matrix_changed(bridge: &Bridge, mxid: &str, sync: AccountDataSync, baseline: bool) {
    let states = &bridge.chat_states;
    for (room, now) in changed_rooms(states, mxid, &sync) {
        let known = states.known(mxid, &room);
        if known.matrix == now {
            continue;
        }
        let portal = match bridge.store.get_portal_by_room(room.as_str()).await {
            Ok(Some(p)) if p.receiver == mxid || p.receiver.is_empty() => p,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(user = mxid, %room, "cannot read the portal: {e}");
                continue;
            }
        };
        let changes = if baseline {
            Vec::new()
        } else {
            to_instagram(&known, &now)
        };
        states.update(mxid, &room, |k| k.matrix = now);
        for (f, v) in changes {
            send_instagram(bridge, mxid, &room, &portal, f, v).await;
        }
    }
}

/// One chat-state change sent to Instagram; a failure is told in the room.
async fn send_instagram(
    bridge: &Bridge,
    mxid: &str,
    room: &RoomId,
    portal: &PortalRow,
    f: Field,
    v: bool,
) {
    let Some(user) = bridge.users.get(mxid).map(|u| u.clone()) else {
        return;
    };
    let thread = ThreadId::new(portal.thread_id.clone());
    // Recorded before sending, so the echo of the change from Instagram changes nothing.
    let before = bridge.chat_states.known(mxid, room).instagram;
    bridge.chat_states.update(mxid, room, |k| {
        let mut ig = k.instagram.unwrap_or_default();
        set(&mut ig, f, v);
        k.instagram = Some(ig);
    });
    let (result, what) = match f {
        Field::Muted => (
            user.client.set_muted(&thread, v).await,
            if v { "mute" } else { "unmute" },
        ),
        Field::Unread => (user.client.mark_unread(&thread).await, "mark unread"),
        Field::LowPriority => {
            let key = (mxid.to_owned(), portal.thread_id.clone());
            bridge.chat_states.hidden_by_us.insert(key.clone());
            let result = user.client.hide_thread(&thread).await;
            if result.is_err() {
                bridge.chat_states.hidden_by_us.remove(&key);
            }
            (result, "hide")
        }
        Field::Favourite => return,
    };
    match result {
        Ok(()) => tracing::info!(user = mxid, %room, action = what, "chat state sent to Instagram"),
        Err(e) => {
            bridge
                .chat_states
                .update(mxid, room, |k| k.instagram = before);
            tracing::warn!(user = mxid, %room, action = what, "chat state not sent: {e}");
            let text = format!("Could not {what} this conversation on Instagram: {e}");
            if let Err(e) = bridge.intents.bot().send_notice(room, &text).await {
                tracing::warn!(%room, "cannot tell about the chat state: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(muted: bool, unread: bool, low: bool, fav: bool) -> RoomChatState {
        RoomChatState {
            muted,
            unread,
            low_priority: low,
            favourite: fav,
        }
    }

    #[test]
    fn first_sight_carries_only_what_instagram_has_set() {
        let known = Known::default();
        let seen = Seen {
            muted: Some(true),
            unread: Some(false),
            low_priority: None,
            favourite: Some(true),
        };
        assert_eq!(
            to_matrix(&known, &seen),
            [(Field::Muted, true), (Field::Favourite, true)]
        );
        // A Matrix tag of the user's own is not taken away by a thread that never had it.
        let mine = Known {
            matrix: state(false, false, true, false),
            instagram: None,
        };
        let seen = Seen {
            low_priority: Some(false),
            ..Seen::default()
        };
        assert!(to_matrix(&mine, &seen).is_empty());
    }

    #[test]
    fn only_changes_on_instagram_cross_and_echoes_do_nothing() {
        let known = Known {
            matrix: state(true, false, false, false),
            instagram: Some(state(true, false, false, false)),
        };
        let unmuted = Seen {
            muted: Some(false),
            ..Seen::default()
        };
        assert_eq!(to_matrix(&known, &unmuted), [(Field::Muted, false)]);
        let after = instagram_after(&known, &unmuted);
        assert_eq!(after, state(false, false, false, false));
        // The same thread again: nothing.
        let known = Known {
            matrix: after,
            instagram: Some(after),
        };
        assert!(to_matrix(&known, &unmuted).is_empty());
    }

    #[test]
    fn matrix_changes_cross_where_instagram_has_an_endpoint() {
        let known = Known {
            matrix: RoomChatState::default(),
            instagram: Some(RoomChatState::default()),
        };
        assert_eq!(
            to_instagram(&known, &state(true, true, true, true)),
            [
                (Field::Muted, true),
                (Field::Unread, true),
                (Field::LowPriority, true)
            ]
        );
        let all = state(true, true, true, true);
        let known = Known {
            matrix: all,
            instagram: Some(all),
        };
        assert_eq!(
            to_instagram(&known, &RoomChatState::default()),
            [(Field::Muted, false)]
        );
        // Instagram already has it (the echo of a change that came from there): nothing.
        let known = Known {
            matrix: RoomChatState::default(),
            instagram: Some(state(true, false, false, false)),
        };
        assert!(to_instagram(&known, &state(true, false, false, false)).is_empty());
    }

    #[test]
    fn read_state_is_the_unread_mark() {
        let thread: Thread = serde_json::from_value(serde_json::json!({
            "thread_id": "1", "muted": true, "read_state": 1, "archived": false
        }))
        .unwrap();
        let seen = of_thread(&thread);
        assert_eq!(seen.unread, Some(true));
        assert_eq!(seen.muted, Some(true));
        assert_eq!(seen.low_priority, Some(false));
        assert_eq!(seen.favourite, None);
    }
}
