//! What the user hears about the first sync after a login: "bridging your N most recent
//! conversations…" when the threads are queued, then one count when the last of them has been
//! applied (bridged, held as a request, or failed). Kept in memory: a restart in the middle
//! only loses the final count.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ruma::{OwnedRoomId, RoomId};

use super::Bridge;
use super::ig_events::IgEvent;
use crate::config::MessageRequests;
use crate::store::inbox::{InboxRow, SOURCE_INSTAGRAM};

/// How the sync of one thread ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Bridged,
    /// Not bridged on purpose (a message request held until `accept`).
    Held,
    Failed,
}

#[derive(Debug)]
struct Progress {
    room: OwnedRoomId,
    waiting: HashSet<String>,
    bridged: usize,
    held: usize,
    failed: usize,
}

/// The first syncs in progress, by login (id).
#[derive(Debug, Default)]
pub struct FirstSyncs {
    by_login: Mutex<HashMap<String, Progress>>,
}

impl FirstSyncs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Progress>> {
        self.by_login.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn track(&self, login: &str, room: OwnedRoomId, threads: HashSet<String>) {
        let progress = Progress {
            room,
            waiting: threads,
            bridged: 0,
            held: 0,
            failed: 0,
        };
        self.lock().insert(login.to_string(), progress);
    }

    /// Whether login `login`'s first sync is running.
    pub(crate) fn tracks(&self, login: &str) -> bool {
        self.lock().contains_key(login)
    }

    /// Records a thread's outcome; when it was the last one, returns the room and the count
    /// to tell.
    fn done(
        &self,
        login: &str,
        thread_id: &str,
        outcome: Outcome,
    ) -> Option<(OwnedRoomId, String)> {
        let mut map = self.lock();
        let progress = map.get_mut(login)?;
        if !progress.waiting.remove(thread_id) {
            return None;
        }
        match outcome {
            Outcome::Bridged => progress.bridged += 1,
            Outcome::Held => progress.held += 1,
            Outcome::Failed => progress.failed += 1,
        }
        if !progress.waiting.is_empty() {
            return None;
        }
        let progress = map.remove(login)?;
        Some((
            progress.room,
            summary(progress.bridged, progress.held, progress.failed),
        ))
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The notice when the threads are queued.
fn started(conversations: usize, requests: usize, policy: MessageRequests) -> String {
    let recent = match conversations {
        0 => None,
        1 => Some("your most recent conversation".to_string()),
        n => Some(format!("your {n} most recent conversations")),
    };
    let r = plural(requests, "message request", "message requests");
    let text = match (recent, requests, policy) {
        (Some(recent), 0, _) => format!("Bridging {recent}"),
        (Some(recent), _, MessageRequests::Bridge) => format!("Bridging {recent} and {r}"),
        (Some(recent), _, MessageRequests::Hold) => {
            format!("Bridging {recent} (and announcing {r} here)")
        }
        (None, _, MessageRequests::Bridge) => format!("Bridging {r}"),
        (None, _, MessageRequests::Hold) => format!("Announcing {r} here"),
    };
    format!("{text}…")
}

/// The notice when the last queued thread is done.
fn summary(bridged: usize, held: usize, failed: usize) -> String {
    let mut parts = Vec::new();
    if bridged > 0 || held + failed == 0 {
        parts.push(format!(
            "{} bridged.",
            plural(bridged, "conversation", "conversations")
        ));
    }
    if held > 0 {
        parts.push(format!(
            "{} for `accept` (see `requests`).",
            plural(held, "message request waits", "message requests wait")
        ));
    }
    if failed > 0 {
        parts.push(format!(
            "{} could not be bridged (the bridge's log says why); `sync` tries again.",
            plural(failed, "conversation", "conversations")
        ));
    }
    format!("Done: {}", parts.join(" "))
}

/// The user's management room, if they have one.
async fn management_room(bridge: &Bridge, mxid: &str) -> Option<OwnedRoomId> {
    let row = bridge.store.get_user(mxid).await.ok()??;
    RoomId::parse(row.management_room.as_deref()?).ok()
}

async fn notice(bridge: &Bridge, room: &RoomId, text: &str) {
    if let Err(e) = bridge.intents.bot().send_notice(room, text).await {
        tracing::warn!("cannot tell the user about the first sync: {e}");
    }
}

/// Tells the user what is about to be bridged and starts counting (before the threads are
/// queued, so the count can never come first).
pub async fn start(
    bridge: &Arc<Bridge>,
    mxid: &str,
    login: &str,
    conversations: &[String],
    requests: &[String],
) {
    let Some(room) = management_room(bridge, mxid).await else {
        return;
    };
    if conversations.is_empty() && requests.is_empty() {
        notice(
            bridge,
            &room,
            "You have no recent conversations on Instagram yet; new ones get a room as they come.",
        )
        .await;
        return;
    }
    let threads = conversations.iter().chain(requests).cloned().collect();
    bridge.first_syncs.track(login, room.clone(), threads);
    let policy = bridge.config.bridge.message_requests;
    notice(
        bridge,
        &room,
        &started(conversations.len(), requests.len(), policy),
    )
    .await;
}

/// Stops counting (the threads could not be queued).
pub fn forget(bridge: &Bridge, login: &str) {
    bridge.first_syncs.lock().remove(login);
}

/// Called for every inbox row once it is done with; counts the first sync's threads.
pub async fn row_done(bridge: &Bridge, row: &InboxRow, outcome: Outcome) {
    if row.source != SOURCE_INSTAGRAM || !bridge.first_syncs.tracks(&row.receiver) {
        return;
    }
    let Ok(IgEvent::SyncThread { thread_id }) = serde_json::from_str(&row.payload) else {
        return;
    };
    if let Some((room, text)) = bridge
        .first_syncs
        .done(&row.receiver, thread_id.as_str(), outcome)
    {
        bridge.bridge_states.backfill_done(&row.receiver);
        notice(bridge, &room, &text).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notices() {
        assert_eq!(
            started(20, 0, MessageRequests::Bridge),
            "Bridging your 20 most recent conversations…"
        );
        assert_eq!(
            started(1, 0, MessageRequests::Hold),
            "Bridging your most recent conversation…"
        );
        assert_eq!(
            started(2, 1, MessageRequests::Hold),
            "Bridging your 2 most recent conversations (and announcing 1 message request here)…"
        );
        assert_eq!(
            started(2, 3, MessageRequests::Bridge),
            "Bridging your 2 most recent conversations and 3 message requests…"
        );
        assert_eq!(
            started(0, 1, MessageRequests::Hold),
            "Announcing 1 message request here…"
        );
        assert_eq!(summary(1, 0, 0), "Done: 1 conversation bridged.");
        assert_eq!(
            summary(0, 2, 0),
            "Done: 2 message requests wait for `accept` (see `requests`)."
        );
        assert_eq!(
            summary(2, 1, 1),
            "Done: 2 conversations bridged. 1 message request waits for `accept` (see \
             `requests`). 1 conversation could not be bridged (the bridge's log says why); \
             `sync` tries again."
        );
    }

    #[test]
    fn the_count_comes_once_when_the_last_thread_is_done() {
        let syncs = FirstSyncs::default();
        let room = OwnedRoomId::try_from("!r:x").unwrap();
        syncs.track("@u:x", room.clone(), ["a", "b"].map(String::from).into());
        assert_eq!(syncs.done("@u:x", "a", Outcome::Bridged), None);
        // Another thread, or the same one again, does not count.
        assert_eq!(syncs.done("@u:x", "zz", Outcome::Bridged), None);
        assert_eq!(syncs.done("@u:x", "a", Outcome::Bridged), None);
        assert_eq!(
            syncs.done("@u:x", "b", Outcome::Held),
            Some((
                room,
                "Done: 1 conversation bridged. 1 message request waits for `accept` (see \
                 `requests`)."
                    .to_string()
            ))
        );
        assert!(!syncs.tracks("@u:x"));
        assert_eq!(syncs.done("@u:x", "b", Outcome::Bridged), None);
    }
}
