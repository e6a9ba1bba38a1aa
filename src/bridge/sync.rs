//! Reading the inbox over HTTP and queueing its threads: at login (with the realtime resume
//! point) and when catching up after a gap. Message requests (`direct_v2/pending_inbox/`) are
//! read too, so a request pending at login, or sent while the bridge was down, is covered like
//! one that arrives live: bridged with `message_requests: bridge`, announced with `hold`.

use std::sync::Arc;

use super::Bridge;
use super::first_sync;
use super::ig_events::{self, IgEvent};
use super::user::IgUser;
use crate::config::MessageRequests;
use crate::instagram::http::InstagramClient;
use crate::instagram::http::direct::InboxKind;
use crate::instagram::ids::ThreadId;
use crate::instagram::realtime::Cursor;
use crate::instagram::types::Thread;
use crate::store::inbox::NewInboxEntry;
use crate::store::now_ms;

/// Threads read per inbox page.
const PAGE: u32 = 20;

/// The ids of the threads to bridge at login: at most `max`, none idle for longer than
/// `max_age_ms` (0: no limit).
fn recent(threads: &[Thread], max: usize, max_age_ms: i64, now: i64) -> Vec<String> {
    threads
        .iter()
        .take(max)
        .filter(|t| {
            let last_ms = t.last_activity_at.map(|t| t.as_millis()).unwrap_or(now);
            max_age_ms <= 0 || now - last_ms <= max_age_ms
        })
        .map(|t| t.thread_id.to_string())
        .collect()
}

/// The first page of message requests; an error here only loses the requests (logged).
async fn pending_threads(client: &InstagramClient, mxid: &str) -> Vec<Thread> {
    match client.inbox(InboxKind::Pending, None, None, PAGE).await {
        Ok(inbox) => inbox.inbox.threads,
        Err(e) => {
            tracing::warn!(
                user = mxid,
                "cannot read the message requests: {}",
                e.user_message()
            );
            Vec::new()
        }
    }
}

/// `SyncThread` rows for the threads, read by login `login` (its id).
fn sync_entries<'a>(login: &str, ids: impl IntoIterator<Item = &'a String>) -> Vec<NewInboxEntry> {
    ids.into_iter()
        .map(|thread_id| {
            ig_events::entry(
                login,
                &IgEvent::SyncThread {
                    thread_id: ThreadId::new(thread_id.as_str()),
                },
            )
        })
        .collect()
}

/// Reads the first inbox page and the pending requests: the realtime resume point, and the
/// threads to bridge. Tells the user how many, and (through [`first_sync`]) when they are done.
pub async fn initial_sync(
    bridge: &Arc<Bridge>,
    mxid: &str,
    pk: i64,
    client: &InstagramClient,
) -> Result<Cursor, String> {
    let login = pk.to_string();
    let inbox = client
        .inbox(InboxKind::Main, None, None, PAGE)
        .await
        .map_err(|e| e.user_message())?;
    let cursor = Cursor {
        seq_id: inbox.seq_id.unwrap_or(0),
        snapshot_at_ms: inbox.snapshot_at_ms.unwrap_or_else(now_ms),
    };
    let backfill = &bridge.config.backfill;
    let max = backfill.max_initial_conversations as usize;
    let max_age_ms = i64::from(backfill.max_conversation_age_days) * 86_400_000;
    let now = now_ms();
    let main = recent(&inbox.inbox.threads, max, max_age_ms, now);
    let mut requests = recent(&pending_threads(client, mxid).await, max, max_age_ms, now);
    requests.retain(|id| !main.contains(id));
    let entries = sync_entries(&login, main.iter().chain(&requests));
    first_sync::start(bridge, mxid, &login, &main, &requests).await;
    // The threads and the resume point they are the snapshot of, in one transaction: the
    // snapshot replaces whatever cursor an earlier session left.
    let stored = bridge
        .store
        .enqueue_with_fresh_cursor(pk, cursor.seq_id, cursor.snapshot_at_ms, &entries)
        .await;
    if let Err(e) = stored {
        first_sync::forget(bridge, &login);
        return Err(e.to_string());
    }
    bridge.inbox_wake.notify_one();
    Ok(cursor)
}

/// Re-reads the inbox and queues a catch-up of every recent thread; with `resubscribe`, also
/// moves the realtime cursor to the fresh inbox snapshot and reconnects.
pub fn spawn_catch_up(bridge: &Arc<Bridge>, user: &Arc<IgUser>, resubscribe: bool) {
    let bridge = bridge.clone();
    let user = user.clone();
    tokio::spawn(async move {
        if let Err(e) = catch_up(&bridge, &user, resubscribe).await {
            tracing::warn!(user = user.mxid, "catch-up failed: {e}");
            user.set_status(|s| s.last_error = Some(format!("catch-up failed: {e}")));
        }
    });
}

/// The requests a catch-up looks at: all of them when they are bridged; under `hold`, those
/// not announced yet in this run.
fn requests_to_sync(bridge: &Bridge, user: &IgUser, pending: Vec<Thread>) -> Vec<String> {
    pending
        .into_iter()
        .map(|t| t.thread_id.to_string())
        .filter(|id| {
            bridge.config.bridge.message_requests == MessageRequests::Bridge
                || !user.request_announced(id)
        })
        .collect()
}

/// Queues a sync of the recent threads and requests; returns how many.
pub async fn catch_up(
    bridge: &Arc<Bridge>,
    user: &Arc<IgUser>,
    resubscribe: bool,
) -> Result<usize, String> {
    let inbox = user
        .client
        .inbox(InboxKind::Main, None, None, PAGE)
        .await
        .map_err(|e| e.user_message())?;
    let main: Vec<String> = inbox
        .inbox
        .threads
        .iter()
        .map(|t| t.thread_id.to_string())
        .collect();
    let pending = pending_threads(&user.client, &user.mxid).await;
    let mut requests = requests_to_sync(bridge, user, pending);
    requests.retain(|id| !main.contains(id));
    let entries = sync_entries(&user.receiver(), main.iter().chain(&requests));
    let count = entries.len();
    // With `resubscribe`, the threads to catch up and the fresh snapshot they cover are
    // written in one transaction: a crash between the two can neither skip the threads nor
    // leave the refused cursor in place.
    let fresh = match (resubscribe, inbox.seq_id) {
        (true, Some(seq)) => Some((seq, inbox.snapshot_at_ms.unwrap_or_else(now_ms))),
        _ => None,
    };
    let stored = match fresh {
        Some((seq, snapshot)) => {
            bridge
                .store
                .enqueue_with_fresh_cursor(user.pk, seq, snapshot, &entries)
                .await
        }
        None => bridge.store.enqueue(&entries).await,
    };
    stored.map_err(|e| e.to_string())?;
    if let (Some((seq, snapshot)), Some(rt)) = (fresh, user.realtime()) {
        let _ = rt
            .update_cursor(Cursor {
                seq_id: seq,
                snapshot_at_ms: snapshot,
            })
            .await;
        let _ = rt.reconnect().await;
    }
    bridge.inbox_wake.notify_one();
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(id: &str, last_ms: Option<i64>) -> Thread {
        let mut v = serde_json::json!({"thread_id": id});
        if let Some(ms) = last_ms {
            v["last_activity_at"] = (ms * 1000).into();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn recent_threads_by_count_and_age() {
        let now = 10 * 86_400_000;
        let threads = [
            thread("1", Some(now - 1000)),
            thread("2", Some(now - 3 * 86_400_000)),
            thread("3", None),
            thread("4", Some(now)),
        ];
        assert_eq!(recent(&threads, 3, 0, now), vec!["1", "2", "3"]);
        assert_eq!(recent(&threads, 10, 86_400_000, now), vec!["1", "3", "4"]);
    }
}
