//! Bridging what a thread missed, in Instagram's order: a new room's history, and after a gap
//! (reconnect, restart, refused cursor) every message since the last one bridged.
//!
//! The thread is read over HTTP newest page first, then older pages (`oldest_cursor`,
//! `direction=older`) until an item that is already bridged, the beginning of the thread, or
//! the configured bound; the missing items are then bridged oldest first. Everything runs in
//! the thread's worker, so a live item queued behind the catch-up finds itself bridged and
//! is skipped, and one queued ahead of it waits for it ([`before_live_item`]).

use std::collections::HashSet;
use std::sync::Arc;

use ruma::RoomId;

use super::Bridge;
use super::conversation::Portal;
use super::error::ApplyError;
use super::items::apply_item;
use super::portal;
use super::user::IgUser;
use crate::instagram::http::direct::Direction;
use crate::instagram::ids::ThreadId;
use crate::instagram::types::{Thread, ThreadItem};
use crate::store::portals::PortalRow;

/// Items asked for per older page.
const PAGE: u32 = 20;

/// What a walk back through a thread found.
#[derive(Debug, Default)]
pub struct Walk {
    /// The items not bridged yet, oldest first.
    pub items: Vec<ThreadItem>,
    /// The walk stopped at the bound with older unbridged items left.
    pub bound_hit: bool,
}

/// What the bridge knows of an item a walk meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Not bridged: it is missing.
    No,
    /// Sent from Matrix by us: not missing, but no proof that what is older was bridged (it
    /// may have been sent while Instagram messages were being missed), so the walk goes on.
    OurSend,
    /// Bridged from Instagram: everything older was bridged before it; the walk stops.
    Bridged,
}

/// Where a walk reads older pages and learns what is bridged.
pub trait ThreadSource {
    /// The page before `cursor`.
    fn older(&mut self, cursor: &str) -> impl Future<Output = Result<Thread, ApplyError>> + Send;
    /// What is known of the item.
    fn known(
        &mut self,
        item: &ThreadItem,
    ) -> impl Future<Output = Result<Known, ApplyError>> + Send;
}

/// Walks back from `first` (the newest page) until an item bridged from Instagram, the
/// thread's beginning, or `bound` missing items; our own sends are passed over.
pub async fn walk_back(
    first: Thread,
    bound: usize,
    source: &mut impl ThreadSource,
) -> Result<Walk, ApplyError> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let mut page = first;
    loop {
        let mut fresh = false;
        for item in std::mem::take(&mut page.items) {
            let id = item.item_id.as_str().to_string();
            if id.is_empty() || !seen.insert(id) {
                continue;
            }
            fresh = true;
            match source.known(&item).await? {
                Known::Bridged => return Ok(finish(found, false)),
                Known::OurSend => continue,
                Known::No => {}
            }
            if found.len() >= bound {
                return Ok(finish(found, bound > 0));
            }
            found.push(item);
        }
        let cursor = page.oldest_cursor.take().filter(|c| !c.is_empty());
        match cursor {
            // A page that brought nothing new cannot lead anywhere new either.
            Some(cursor) if fresh && page.has_older == Some(true) => {
                page = source.older(&cursor).await?;
            }
            _ => return Ok(finish(found, false)),
        }
    }
}

fn finish(mut newest_first: Vec<ThreadItem>, bound_hit: bool) -> Walk {
    newest_first.reverse();
    Walk {
        items: newest_first,
        bound_hit,
    }
}

/// The thread over HTTP, and the store's record of what is bridged.
struct Live<'a> {
    bridge: &'a Bridge,
    user: &'a IgUser,
    portal: &'a PortalRow,
}

impl ThreadSource for Live<'_> {
    async fn older(&mut self, cursor: &str) -> Result<Thread, ApplyError> {
        let thread_id = self.portal.thread_id.as_str();
        self.user
            .client
            .thread(
                &ThreadId::new(thread_id),
                Some(cursor),
                Direction::Older,
                PAGE,
            )
            .await
            .map_err(|e| ApplyError::from_instagram(&e, &format!("cannot read thread {thread_id}")))
    }

    /// Recorded by its id (bridged from Instagram when its first part carries the content
    /// hash that only the Instagram → Matrix path records), or our own send by its
    /// `client_context`.
    async fn known(&mut self, item: &ThreadItem) -> Result<Known, ApplyError> {
        let (store, receiver) = (&self.bridge.store, self.portal.receiver.as_str());
        let parts = store
            .get_message_parts(item.item_id.as_str(), receiver)
            .await?;
        if let Some(first) = parts.first() {
            return Ok(if first.content_hash.is_some() {
                Known::Bridged
            } else {
                Known::OurSend
            });
        }
        let ours = match &item.client_context {
            Some(ctx) => store
                .get_message_by_client_context(ctx, receiver)
                .await?
                .is_some(),
            None => false,
        };
        Ok(if ours { Known::OurSend } else { Known::No })
    }
}

/// The first page a catch-up reads.
async fn first_page(bridge: &Bridge, user: &IgUser, thread_id: &str) -> Result<Thread, ApplyError> {
    portal::fetch_thread(
        user,
        thread_id,
        bridge.config.backfill.initial_messages.max(1),
    )
    .await
}

/// Bridges the items of the thread that are missing from the room, oldest first: for a new
/// room its history (`backfill.initial_messages`), else everything since the last bridged
/// item (`backfill.max_missed_messages`, with a notice when older ones are left out).
pub async fn bridge_missing(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    user: &IgUser,
    portal: &PortalRow,
    first: Thread,
    new_room: bool,
) -> Result<(), ApplyError> {
    let backfill = &bridge.config.backfill;
    let history = if backfill.enabled {
        backfill.initial_messages as usize
    } else {
        0
    };
    let anchored = !new_room
        && bridge
            .store
            .last_message_in_thread(&portal.thread_id, &portal.receiver)
            .await?
            .is_some();
    // Without a bridged message to stop at, a catch-up is bounded like a new room's history.
    let bound = if anchored {
        backfill.max_missed_messages as usize
    } else {
        history
    };
    let (receiver, thread_id) = (portal.receiver.as_str(), portal.thread_id.as_str());
    let mut source = Live {
        bridge,
        user,
        portal,
    };
    let walk = walk_back(first, bound, &mut source).await?;
    if walk.bound_hit && anchored {
        tell_bound_hit(bridge, portal, bound).await;
    }
    if !walk.items.is_empty() {
        tracing::info!(
            thread = thread_id,
            receiver,
            n = walk.items.len(),
            new_room,
            "bridging missed items, oldest first"
        );
    }
    for item in &walk.items {
        apply_item(bridge, conv, user, portal, item, false).await?;
    }
    Ok(())
}

/// Tells the room that the catch-up left older messages out (only logged if it cannot).
async fn tell_bound_hit(bridge: &Bridge, portal: &PortalRow, bound: usize) {
    let Some(room) = portal
        .room_id
        .as_deref()
        .and_then(|r| RoomId::parse(r).ok())
    else {
        return;
    };
    let text = format!(
        "More than {bound} messages were missed while the bridge was away from this \
         conversation; only the newest {bound} are bridged below (see \
         `backfill.max_missed_messages`)."
    );
    if let Err(e) = bridge.intents.bot().send_notice(&room, &text).await {
        tracing::warn!(%room, "cannot tell the room that older missed messages are left out: {e}");
    }
}

/// Applies a `SyncThread` row: reads the thread, makes its room if needed, and bridges what
/// is missing.
pub async fn sync_thread(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    user: &IgUser,
    thread_id: &str,
) -> Result<(), ApplyError> {
    let epoch = user.continuity.epoch();
    let first = first_page(bridge, user, thread_id).await?;
    let (portal, created) =
        portal::ensure_portal(bridge, conv, user, thread_id, Some(first.clone())).await?;
    if created.is_none() {
        portal::update_from_thread(bridge, conv, user, &portal, &first).await?;
    }
    super::chat_state::from_instagram(bridge, &user.mxid, &portal, &first).await?;
    bridge_missing(bridge, conv, user, &portal, first, created.is_some()).await?;
    user.continuity.caught_up(thread_id, epoch);
    Ok(())
}

/// A room just made for a thread: its history.
pub async fn new_room(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    user: &IgUser,
    portal: &PortalRow,
    thread: Thread,
) -> Result<(), ApplyError> {
    let epoch = user.continuity.epoch();
    bridge_missing(bridge, conv, user, portal, thread, true).await?;
    user.continuity.caught_up(&portal.thread_id, epoch);
    Ok(())
}

/// Before a live item is bridged: when the account's connection may have missed events since
/// the thread was last caught up, catch it up first, so the item cannot overtake them.
pub async fn before_live_item(
    bridge: &Arc<Bridge>,
    conv: &mut Portal,
    user: &IgUser,
    portal: &PortalRow,
) -> Result<(), ApplyError> {
    let thread_id = portal.thread_id.as_str();
    let Some(epoch) = user.continuity.needs_catch_up(thread_id) else {
        return Ok(());
    };
    let first = match first_page(bridge, user, thread_id).await {
        Ok(first) => first,
        Err(e @ ApplyError::Transient { .. }) => return Err(e),
        Err(e) => {
            // The thread cannot be read (gone, refused): the live item goes on alone.
            tracing::warn!(thread = thread_id, "cannot catch the thread up: {e}");
            user.continuity.caught_up(thread_id, epoch);
            return Ok(());
        }
    };
    bridge_missing(bridge, conv, user, portal, first, false).await?;
    user.continuity.caught_up(thread_id, epoch);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread of `n` items with ids "1"…"n" (newest last), read in pages of `size`.
    fn page(n: usize, before: Option<usize>, size: usize) -> Thread {
        let end = before.unwrap_or(n + 1) - 1;
        let start = end.saturating_sub(size);
        let items: Vec<serde_json::Value> = (start + 1..=end)
            .rev()
            .map(|i| serde_json::json!({"item_id": i.to_string(), "timestamp": i * 1000}))
            .collect();
        let oldest = items
            .last()
            .and_then(|i| i["item_id"].as_str())
            .unwrap_or("")
            .to_string();
        serde_json::from_value(serde_json::json!({
            "thread_id": "t", "items": items, "has_older": start > 0, "oldest_cursor": oldest,
        }))
        .expect("thread")
    }

    /// Pages of a thread of `n` items; items up to `bridged_up_to` are bridged, and the ids
    /// in `ours` are our own sends.
    struct Fake {
        n: usize,
        bridged_up_to: usize,
        pages_read: usize,
        repeat: bool,
        ours: Vec<usize>,
    }

    impl ThreadSource for Fake {
        async fn older(&mut self, cursor: &str) -> Result<Thread, ApplyError> {
            self.pages_read += 1;
            if self.repeat {
                let mut again = page(self.n, None, 20);
                again.has_older = Some(true);
                return Ok(again);
            }
            let before = cursor
                .parse()
                .map_err(|_| ApplyError::Permanent(format!("bad cursor {cursor}")))?;
            Ok(page(self.n, Some(before), 20))
        }

        async fn known(&mut self, item: &ThreadItem) -> Result<Known, ApplyError> {
            let id = item.item_id.as_str().parse::<usize>().unwrap_or(0);
            Ok(if self.ours.contains(&id) {
                Known::OurSend
            } else if id <= self.bridged_up_to {
                Known::Bridged
            } else {
                Known::No
            })
        }
    }

    async fn walk(n: usize, bridged_up_to: usize, bound: usize) -> (Vec<usize>, bool, usize) {
        walk_with(n, bridged_up_to, bound, Vec::new()).await
    }

    async fn walk_with(
        n: usize,
        bridged_up_to: usize,
        bound: usize,
        ours: Vec<usize>,
    ) -> (Vec<usize>, bool, usize) {
        let mut fake = Fake {
            n,
            bridged_up_to,
            pages_read: 1,
            repeat: false,
            ours,
        };
        let w = walk_back(page(n, None, 20), bound, &mut fake)
            .await
            .expect("walk");
        let ids = w
            .items
            .iter()
            .map(|i| i.item_id.as_str().parse().unwrap_or(0))
            .collect();
        (ids, w.bound_hit, fake.pages_read)
    }

    #[tokio::test]
    async fn a_gap_longer_than_a_page_is_walked_back_to_the_last_bridged_item() {
        let (ids, bound_hit, pages) = walk(100, 45, 1000).await;
        assert_eq!(
            ids,
            (46..=100).collect::<Vec<_>>(),
            "oldest first, none left out"
        );
        assert!(!bound_hit);
        assert_eq!(pages, 3);
    }

    #[tokio::test]
    async fn our_own_sends_newer_than_missed_items_do_not_stop_the_walk() {
        // Missed 41..=50 from Instagram while we sent 49 and 50 from Matrix.
        let (ids, bound_hit, _) = walk_with(50, 40, 1000, vec![49, 50]).await;
        assert_eq!(ids, (41..=48).collect::<Vec<_>>());
        assert!(!bound_hit);
    }

    #[tokio::test]
    async fn nothing_missing_reads_one_page() {
        let (ids, bound_hit, pages) = walk(100, 100, 1000).await;
        assert!(ids.is_empty());
        assert!(!bound_hit);
        assert_eq!(pages, 1);
    }

    #[tokio::test]
    async fn the_bound_keeps_the_newest_and_says_so() {
        let (ids, bound_hit, _) = walk(100, 10, 30).await;
        assert_eq!(ids, (71..=100).collect::<Vec<_>>());
        assert!(bound_hit);
        // Exactly the bound missing is not "left out".
        let (ids, bound_hit, _) = walk(100, 70, 30).await;
        assert_eq!(ids.len(), 30);
        assert!(!bound_hit);
    }

    #[tokio::test]
    async fn the_walk_stops_at_the_beginning_of_the_thread() {
        let (ids, bound_hit, pages) = walk(45, 0, 1000).await;
        assert_eq!(ids, (1..=45).collect::<Vec<_>>());
        assert!(!bound_hit);
        assert_eq!(pages, 3);
    }

    #[tokio::test]
    async fn a_page_that_repeats_itself_ends_the_walk() {
        let mut first = page(10, None, 20);
        first.has_older = Some(true);
        let mut fake = Fake {
            n: 10,
            bridged_up_to: 0,
            pages_read: 1,
            repeat: true,
            ours: Vec::new(),
        };
        let w = walk_back(first, 1000, &mut fake).await.expect("walk");
        assert_eq!(w.items.len(), 10);
    }
}
