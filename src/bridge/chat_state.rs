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
//! first time a thread is seen, what Instagram has set). A value the bridge wrote waits (up
//! to a minute) for its echo: what that side reports otherwise meanwhile was made before the
//! write (a sync between two tag writes) and is ignored. What is known is also stored
//! ([`super::chat_state_saved`]), so a change made on either side while the bridge was down
//! crosses at its next look; only rooms whose Matrix side was never seen take the first sync
//! of a watcher as their baseline.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dashmap::{DashMap, DashSet};
use ruma::{OwnedRoomId, RoomId};

use super::Bridge;
use super::chat_state_saved as saved;
use super::error::ApplyError;
use super::puppet;
use crate::instagram::ids::ThreadId;
use crate::instagram::types::Thread;
use crate::matrix::Intent;
use crate::matrix::chat_state::{self as mx, AccountDataSync, RoomChatState};
use crate::store::Store;
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

/// How long a value the bridge wrote to one side waits for its echo; until then, what that
/// side reports otherwise is older than the write and is ignored.
const ECHO_WAIT: Duration = Duration::from_secs(60);

/// One side as the bridge knows it: its values, and those the bridge wrote there whose echo
/// has not come back yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Side {
    pub state: RoomChatState,
    pending: [Option<(bool, Instant)>; 4],
    /// This side has reported something, or been written by the bridge, at least once (in
    /// this run or an earlier one): its values are known, not assumed.
    pub observed: bool,
}

impl Side {
    /// The side reports `v` for `f`: whether that is a change. The echo of the bridge's own
    /// write ends the wait for it; another value during the wait is older than the write.
    fn observe(&mut self, f: Field, v: bool, now: Instant) -> bool {
        self.observed = true;
        let i = f as usize;
        if let Some((p, at)) = self.pending[i]
            && now.duration_since(at) < ECHO_WAIT
        {
            if v == p {
                self.pending[i] = None;
            }
            return false;
        }
        self.pending[i] = None;
        let changed = get(&self.state, f) != v;
        set(&mut self.state, f, v);
        changed
    }

    /// The bridge writes `v` for `f` on this side.
    fn wrote(&mut self, f: Field, v: bool, now: Instant) {
        self.observed = true;
        set(&mut self.state, f, v);
        self.pending[f as usize] = Some((v, now));
    }
}

/// What each side of one (user, room) is known to have. Before a thread is first seen,
/// everything is off on both sides: then only what is on crosses (a Matrix tag of the user's
/// own is not taken away by a thread that never had it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Known {
    pub matrix: Side,
    pub instagram: Side,
}

/// Whether a change made on Matrix has an Instagram endpoint: favourite has none known; an
/// unread mark is cleared by reading, and a hidden thread comes back with its next message,
/// so neither is sent when turned off.
fn has_endpoint(f: Field, v: bool) -> bool {
    match f {
        Field::Muted => true,
        Field::Unread | Field::LowPriority => v,
        Field::Favourite => false,
    }
}

/// Instagram reports `seen`: what changed there is to be written on Matrix (recorded here as
/// written).
pub fn to_matrix(known: &mut Known, seen: &Seen, now: Instant) -> Vec<(Field, bool)> {
    let mut changes = Vec::new();
    for f in FIELDS {
        if let Some(v) = seen.get(f)
            && known.instagram.observe(f, v, now)
        {
            known.matrix.wrote(f, v, now);
            changes.push((f, v));
        }
    }
    changes
}

/// Matrix reports `seen`: what changed there and Instagram has otherwise, where it has an
/// endpoint, is to be sent (recorded here as sent). `first_sync`: the first sync of a watcher,
/// which is only remembered for a room whose Matrix side was never seen before.
pub fn to_instagram(
    known: &mut Known,
    seen: &Seen,
    first_sync: bool,
    now: Instant,
) -> Vec<(Field, bool)> {
    let baseline = first_sync && !known.matrix.observed;
    let mut changes = Vec::new();
    for f in FIELDS {
        let Some(v) = seen.get(f) else { continue };
        if !known.matrix.observe(f, v, now)
            || baseline
            || !has_endpoint(f, v)
            || get(&known.instagram.state, f) == v
        {
            continue;
        }
        // A hidden thread is not an archived one: Instagram goes on saying `archived: false`,
        // which must not take the tag away, so its side is left as it was.
        if f != Field::LowPriority {
            known.instagram.wrote(f, v, now);
        }
        changes.push((f, v));
    }
    changes
}

/// The chat state the bridge knows (read from the store on first use, written back on every
/// change), and the account-data watchers running.
#[derive(Default)]
pub struct ChatStates {
    known: DashMap<(String, OwnedRoomId), Known>,
    /// Held while a (user, room) is written to the store, so that writes land in the order of
    /// the changes.
    saving: tokio::sync::Mutex<()>,
    /// (user, thread) hidden on Instagram from Matrix: its removal is our own echo.
    hidden_by_us: DashSet<(String, String)>,
    /// The running watcher's generation per user.
    watchers: DashMap<String, u64>,
    generation: AtomicU64,
}

impl ChatStates {
    /// What is known of (user, room): from memory, else from the store.
    async fn known(&self, store: &Store, mxid: &str, room: &RoomId) -> Known {
        let key = (mxid.to_owned(), room.to_owned());
        if let Some(k) = self.known.get(&key) {
            return *k;
        }
        let mut loaded = Known::default();
        if let Some((matrix, instagram)) = saved::load(store, mxid, room.as_str()).await {
            (loaded.matrix.state, loaded.matrix.observed) = (matrix.state, matrix.observed);
            (loaded.instagram.state, loaded.instagram.observed) =
                (instagram.state, instagram.observed);
        }
        *self.known.entry(key).or_insert(loaded)
    }

    /// Changes what is known of (user, room), and stores it when a value or what was seen
    /// changed.
    async fn update(&self, store: &Store, mxid: &str, room: &RoomId, f: impl FnOnce(&mut Known)) {
        let before = self.known(store, mxid, room).await;
        let key = (mxid.to_owned(), room.to_owned());
        let after = {
            let mut entry = self.known.entry(key.clone()).or_insert(before);
            f(&mut entry);
            *entry
        };
        if saved_part(&after) == saved_part(&before) {
            return;
        }
        let _order = self.saving.lock().await;
        let Some(now) = self.known.get(&key).map(|k| *k) else {
            return;
        };
        let (matrix, instagram) = saved_part(&now);
        saved::save(store, mxid, room.as_str(), matrix, instagram).await;
    }
}

/// What of `known` is stored (the echo waits are not: they end with the run).
fn saved_part(known: &Known) -> (saved::SavedSide, saved::SavedSide) {
    let side = |s: &Side| saved::SavedSide {
        state: s.state,
        observed: s.observed,
    };
    (side(&known.matrix), side(&known.instagram))
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
    let Ok(room) = super::items::room_of(portal) else {
        return Ok(());
    };
    let seen = of_thread(thread);
    let (states, store) = (&bridge.chat_states, &bridge.store);
    let before = states.known(store, mxid, &room).await;
    // Recorded before writing, so the write's echo in the account-data sync changes nothing.
    let mut changes = Vec::new();
    states
        .update(store, mxid, &room, |k| {
            changes = to_matrix(k, &seen, Instant::now())
        })
        .await;
    for (f, v) in changes {
        if let Err(e) = write_matrix(&intent, &room, f, v).await {
            states.update(store, mxid, &room, |k| *k = before).await;
            return Err(puppet::send_failed(bridge, &intent, e).await);
        }
        tracing::debug!(user = mxid, %room, field = ?f, value = v, "chat state from Instagram");
    }
    Ok(())
}

/// The user read the thread on Instagram (or from Matrix): Instagram's unread mark is gone.
pub async fn read_on_instagram(bridge: &Bridge, mxid: &str, room: &str) {
    let Ok(room) = RoomId::parse(room) else {
        return;
    };
    let states = &bridge.chat_states;
    if !states
        .known(&bridge.store, mxid, &room)
        .await
        .instagram
        .state
        .unread
    {
        return;
    }
    states
        .update(&bridge.store, mxid, &room, |known| {
            let ig = &mut known.instagram;
            ig.state.unread = false;
            ig.pending[Field::Unread as usize] = None;
        })
        .await;
}

/// A thread deleted or hidden on Instagram (not by the bridge): the user is told in the room,
/// which stays as it is (nothing is deleted; a new message brings the thread back there).
pub async fn thread_removed(
    bridge: &Bridge,
    user: &super::user::IgUser,
    thread_id: &ThreadId,
) -> Result<(), ApplyError> {
    let mxid = user.mxid.as_str();
    if bridge
        .chat_states
        .hidden_by_us
        .remove(&(mxid.to_owned(), thread_id.to_string()))
        .is_some()
    {
        return Ok(());
    }
    let receiver = user.receiver();
    let Some(portal) = super::portal::find_portal(bridge, thread_id.as_str(), &receiver).await?
    else {
        return Ok(());
    };
    let Ok(room) = super::items::room_of(&portal) else {
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

/// Forgets what is known of the user's chat state (their double puppet is off: their Matrix
/// side can no longer be seen, so a later puppet starts from a baseline again).
pub async fn forget(bridge: &Bridge, mxid: &str) {
    let states = &bridge.chat_states;
    let _order = states.saving.lock().await;
    states.known.retain(|(user, _), _| user != mxid);
    if let Err(e) = bridge.store.delete_chat_states(mxid).await {
        tracing::warn!(user = mxid, "cannot forget the known chat states: {e}");
    }
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
                    let first_sync = since.is_none();
                    since = Some(sync.next_batch.clone());
                    matrix_changed(&bridge, &mxid, sync, first_sync).await;
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

/// The rooms one sync may have changed, with what it says of each. `stored`: the rooms whose
/// chat state the store knows for this user (a room unmuted while the bridge was down is in
/// no push rule any more).
fn changed_rooms(
    states: &ChatStates,
    mxid: &str,
    sync: &AccountDataSync,
    stored: &[String],
) -> Vec<(OwnedRoomId, Seen)> {
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
        rooms.extend(
            stored
                .iter()
                .filter_map(|r| OwnedRoomId::try_from(r.as_str()).ok()),
        );
    }
    rooms
        .into_iter()
        .map(|room| {
            let data = sync.rooms.get(&room);
            let tags = data.and_then(|d| d.tags.as_ref());
            let seen = Seen {
                muted: muted.as_ref().map(|m| m.contains(room.as_str())),
                unread: data.and_then(|d| d.marked_unread),
                low_priority: tags.map(|t| t.contains(mx::LOW_PRIORITY)),
                favourite: tags.map(|t| t.contains(mx::FAVOURITE)),
            };
            (room, seen)
        })
        .collect()
}

/// Matrix → Instagram: what one sync changed in the user's portals. The first sync of a
/// watcher is the baseline of the rooms whose Matrix side was never seen: remembered, not
/// sent.
async fn matrix_changed(bridge: &Bridge, mxid: &str, sync: AccountDataSync, first_sync: bool) {
    let (states, store) = (&bridge.chat_states, &bridge.store);
    let stored = if first_sync && sync.push_rules.is_some() {
        store.chat_state_rooms(mxid).await.unwrap_or_else(|e| {
            tracing::warn!(user = mxid, "cannot read the known chat states: {e}");
            Vec::new()
        })
    } else {
        Vec::new()
    };
    for (room, seen) in changed_rooms(states, mxid, &sync, &stored) {
        let portal = match bridge.store.get_portal_by_room(room.as_str()).await {
            Ok(Some(p)) if p.is_group || users_dm(bridge, mxid, &p) => p,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(user = mxid, %room, "cannot read the portal: {e}");
                continue;
            }
        };
        let before = states.known(store, mxid, &room).await.instagram;
        let mut changes = Vec::new();
        states
            .update(store, mxid, &room, |k| {
                changes = to_instagram(k, &seen, first_sync, Instant::now());
            })
            .await;
        for (f, v) in changes {
            if !send_instagram(bridge, mxid, &room, &portal, f, v).await {
                states
                    .update(store, mxid, &room, |k| {
                        set(&mut k.instagram.state, f, get(&before.state, f));
                        k.instagram.pending[f as usize] = None;
                    })
                    .await;
            }
        }
    }
}

/// Whether a DM portal is one of the user's logins'.
fn users_dm(bridge: &Bridge, mxid: &str, portal: &PortalRow) -> bool {
    bridge
        .account_of_receiver(&portal.receiver)
        .is_some_and(|u| u.mxid == mxid)
}

/// One chat-state change sent to Instagram (already recorded as sent); a failure is told in
/// the room. Whether it was sent.
async fn send_instagram(
    bridge: &Bridge,
    mxid: &str,
    room: &RoomId,
    portal: &PortalRow,
    f: Field,
    v: bool,
) -> bool {
    let Some(user) = bridge.login_for_portal(mxid, portal).await else {
        return false;
    };
    let thread = ThreadId::new(portal.thread_id.clone());
    let (result, what) = match f {
        Field::Muted => {
            let what = if v { "mute" } else { "unmute" };
            (user.client.set_muted(&thread, v).await, what)
        }
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
        Field::Favourite => return false,
    };
    match result {
        Ok(()) => {
            tracing::info!(user = mxid, %room, action = what, "chat state sent to Instagram");
            true
        }
        Err(e) => {
            tracing::warn!(user = mxid, %room, action = what, "chat state not sent: {e}");
            let text = format!("Could not {what} this conversation on Instagram: {e}");
            if let Err(e) = bridge.intents.bot().send_notice(room, &text).await {
                tracing::warn!(%room, "cannot tell about the chat state: {e}");
            }
            false
        }
    }
}

#[cfg(test)]
#[path = "chat_state_tests.rs"]
mod tests;
