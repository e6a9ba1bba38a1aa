//! Drains the durable inbox into one ordered actor per portal key (room or thread).
//!
//! Rows are dispatched in id order; an actor applies its rows one at a time, retrying
//! transient failures with backoff, and removes a row only once it is applied (or given up).
//! On shutdown, actors finish the row in hand and stop; what is left stays in the inbox and is
//! replayed at the next start.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::Bridge;
use super::first_sync::Outcome;
use crate::store::inbox::{InboxRow, SOURCE_INSTAGRAM, SOURCE_MATRIX};

/// Rows waiting per actor before the dispatcher waits (backpressure, not memory).
const ACTOR_QUEUE: usize = 64;
/// Attempts before a row is given up.
const MAX_ATTEMPTS: u32 = 5;

/// Why applying a row failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Worth trying again (homeserver unreachable, database busy).
    #[error("{0}")]
    Transient(String),
    /// Will never work (malformed event); logged and dropped.
    #[error("{0}")]
    Permanent(String),
    /// Deliberately not applied (a held message request): no error.
    #[error("{0}")]
    Skipped(String),
}

/// Runs until `shutdown` turns true.
pub async fn run(bridge: Arc<Bridge>, mut shutdown: watch::Receiver<bool>) {
    let mut last_id = 0i64;
    let mut actors: HashMap<String, mpsc::Sender<InboxRow>> = HashMap::new();
    let mut tasks = JoinSet::new();
    'outer: loop {
        if *shutdown.borrow() {
            break;
        }
        let rows = match bridge.store.inbox_pending(last_id, 256).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!("cannot read the inbox: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    _ = shutdown.changed() => break,
                }
            }
        };
        if rows.is_empty() {
            tokio::select! {
                _ = bridge.inbox_wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        for row in rows {
            last_id = row.id;
            let key = actor_key(&bridge, &row).await;
            let mut row = row;
            // An actor that went idle has closed its queue: the row comes back and a new
            // actor takes it.
            loop {
                let sender = actors.entry(key.clone()).or_insert_with(|| {
                    let (tx, rx) = mpsc::channel(ACTOR_QUEUE);
                    tasks.spawn(actor(bridge.clone(), rx, shutdown.clone()));
                    tx
                });
                tokio::select! {
                    sent = sender.send(row) => match sent {
                        Ok(()) => break,
                        Err(mpsc::error::SendError(back)) => {
                            if *shutdown.borrow() {
                                // Stopping: the row stays in the inbox.
                                break 'outer;
                            }
                            tracing::debug!(key, "the conversation's worker went idle; starting a new one");
                            actors.remove(&key);
                            row = back;
                        }
                    },
                    _ = shutdown.changed() => break 'outer,
                }
            }
        }
        // Forget the actors that stopped for idleness.
        while tasks.try_join_next().is_some() {}
        actors.retain(|_, sender| !sender.is_closed());
    }
    drop(actors);
    while tasks.join_next().await.is_some() {}
    tracing::debug!("inbox dispatcher stopped");
}

/// Events of one Instagram thread go to one actor whichever side they come from, so that a
/// Matrix send and the echo of it can never race.
async fn actor_key(bridge: &Bridge, row: &InboxRow) -> String {
    if row.source == SOURCE_MATRIX
        && !row.portal_key.is_empty()
        && let Ok(Some(portal)) = bridge.store.get_portal_by_room(&row.portal_key).await
    {
        return format!("thread:{}", portal.thread_id);
    }
    match row.source.as_str() {
        SOURCE_MATRIX => format!("room:{}", row.portal_key),
        _ => format!("thread:{}", row.portal_key),
    }
}

async fn actor(bridge: Arc<Bridge>, rx: mpsc::Receiver<InboxRow>, shutdown: watch::Receiver<bool>) {
    // Applied rows leave the inbox in batches: one statement when the queue runs dry (or every
    // 64 rows) instead of one commit per row. A crash before that only replays applied rows,
    // which applying idempotently makes harmless.
    let mut applied = Vec::new();
    // An actor with nothing to do stops after a while (each costs a task and a queue); the
    // next event of its thread starts a new one.
    let idle = Duration::from_secs(bridge.config.bridge.portal_idle_secs.max(1));
    let mut queue = Queue::new(rx, idle);
    while let Some(row) = queue.next(&shutdown).await {
        if let Some(outcome) = apply_with_retries(&bridge, &row, &shutdown).await {
            applied.push(row.id);
            super::first_sync::row_done(&bridge, &row, outcome).await;
        }
        if queue.is_empty() || applied.len() >= 64 {
            remove_applied(&bridge, &mut applied).await;
        }
    }
    remove_applied(&bridge, &mut applied).await;
}

/// An actor's queue. It ends when the dispatcher drops it, at shutdown, or after `idle` with
/// nothing to do. Going idle closes it first and still yields what was already in it, so no
/// row is lost: a send after that fails, giving the row back to the dispatcher, which starts
/// a new actor.
struct Queue {
    rx: mpsc::Receiver<InboxRow>,
    idle: Duration,
    closing: bool,
}

impl Queue {
    fn new(rx: mpsc::Receiver<InboxRow>, idle: Duration) -> Self {
        Self {
            rx,
            idle,
            closing: false,
        }
    }

    async fn next(&mut self, shutdown: &watch::Receiver<bool>) -> Option<InboxRow> {
        if !self.closing {
            match tokio::time::timeout(self.idle, self.rx.recv()).await {
                Ok(row) => return row.filter(|_| !*shutdown.borrow()),
                Err(_) => {
                    tracing::debug!("a conversation's worker is idle and stops");
                    self.rx.close();
                    self.closing = true;
                }
            }
        }
        self.rx.recv().await.filter(|_| !*shutdown.borrow())
    }

    fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }
}

async fn remove_applied(bridge: &Bridge, applied: &mut Vec<i64>) {
    if applied.is_empty() {
        return;
    }
    if let Err(e) = bridge.store.inbox_remove_many(applied).await {
        tracing::error!(
            rows = applied.len(),
            "cannot remove applied events from the inbox: {e}"
        );
    }
    applied.clear();
}

/// Applies a row; returns how it ended once it is done with (applied, skipped or given up),
/// i.e. may leave the inbox; `None` when it stays for the next start.
async fn apply_with_retries(
    bridge: &Arc<Bridge>,
    row: &InboxRow,
    shutdown: &watch::Receiver<bool>,
) -> Option<Outcome> {
    let mut delay = Duration::from_millis(500);
    let mut attempt = row.attempts.max(0) as u32;
    loop {
        attempt += 1;
        let result = apply(bridge, row).await;
        match result {
            Ok(()) => {
                bridge
                    .metrics
                    .events
                    .with_label_values(&[row.source.as_str()])
                    .inc();
                return Some(Outcome::Bridged);
            }
            Err(ApplyError::Skipped(reason)) => {
                tracing::info!(row = row.id, "not bridged: {reason}");
                return Some(Outcome::Held);
            }
            Err(ApplyError::Permanent(reason)) => {
                tracing::warn!(
                    row = row.id,
                    source = row.source,
                    "dropping event: {reason}"
                );
                bridge.metrics.event_failures.inc();
                return Some(Outcome::Failed);
            }
            Err(ApplyError::Transient(reason)) => {
                if attempt >= MAX_ATTEMPTS {
                    tracing::error!(row = row.id, attempt, "giving up on event: {reason}");
                    bridge.metrics.event_failures.inc();
                    return Some(Outcome::Failed);
                }
                tracing::warn!(row = row.id, attempt, "event failed, will retry: {reason}");
                let _ = bridge.store.inbox_bump_attempts(row.id).await;
                if *shutdown.borrow() {
                    // Leave it in the inbox for the next start.
                    return None;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

async fn apply(bridge: &Arc<Bridge>, row: &InboxRow) -> Result<(), ApplyError> {
    match row.source.as_str() {
        SOURCE_MATRIX => super::matrix_events::apply(bridge, &row.payload).await,
        SOURCE_INSTAGRAM => super::ig_events::apply(bridge, &row.receiver, &row.payload).await,
        other => Err(ApplyError::Permanent(format!(
            "unknown inbox source {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64) -> InboxRow {
        InboxRow {
            id,
            source: SOURCE_INSTAGRAM.into(),
            portal_key: "t".into(),
            receiver: String::new(),
            payload: String::new(),
            attempts: 0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_actor_stops_and_hands_back_later_rows() {
        let (tx, rx) = mpsc::channel(8);
        let (_stop, shutdown) = watch::channel(false);
        tx.send(row(1)).await.unwrap();
        tx.send(row(2)).await.unwrap();
        let mut queue = Queue::new(rx, Duration::from_secs(300));
        let mut seen = Vec::new();
        while let Some(r) = queue.next(&shutdown).await {
            seen.push(r.id);
        }
        // Both rows in order, then idleness ended it.
        assert_eq!(seen, vec![1, 2]);
        // The queue is closed: a later row comes back to the sender instead of being lost.
        let back = tx.send(row(3)).await.unwrap_err().0;
        assert_eq!(back.id, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn rows_queued_as_the_actor_goes_idle_are_still_handled() {
        let (tx, rx) = mpsc::channel(8);
        let (_stop, shutdown) = watch::channel(false);
        let feeder = tokio::spawn(async move {
            // Arrives exactly as the idle time runs out.
            tokio::time::sleep(Duration::from_secs(10)).await;
            tx.send(row(7)).await.map_err(|e| e.0.id)
        });
        let mut queue = Queue::new(rx, Duration::from_secs(10));
        let mut seen = Vec::new();
        while let Some(r) = queue.next(&shutdown).await {
            seen.push(r.id);
        }
        match feeder.await.unwrap() {
            // Delivered before the queue closed: handled.
            Ok(()) => assert_eq!(seen, vec![7]),
            // Refused: the dispatcher still holds it.
            Err(id) => {
                assert_eq!(id, 7);
                assert!(seen.is_empty());
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_the_queue() {
        let (tx, rx) = mpsc::channel(8);
        let (stop, shutdown) = watch::channel(false);
        tx.send(row(1)).await.unwrap();
        stop.send(true).unwrap();
        let mut queue = Queue::new(rx, Duration::from_secs(300));
        assert!(queue.next(&shutdown).await.is_none());
    }
}
