//! Drains the durable inbox into one worker per conversation (an Instagram thread, with the
//! rooms bridged to it; or a room without a portal).
//!
//! The dispatcher reads rows in id order and hands each to its conversation's queue without
//! ever waiting ([`queue`]), so a slow or paused conversation delays no other. Each worker
//! ([`worker`]) claims its conversation in the database, applies the rows in order, waits out
//! transient failures (never dropping a row for one) and dead-letters permanent ones. On
//! shutdown the workers finish the row in hand; what is left stays in the inbox and is
//! replayed at the next start.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::Bridge;
use crate::store::inbox::{InboxRow, SOURCE_MATRIX};

pub mod notice;
pub mod queue;
pub mod report;
pub mod worker;

pub use super::error::ApplyError;

/// Inbox rows read at a time.
const PAGE: i64 = 256;

/// Runs until `shutdown` turns true.
pub async fn run(bridge: Arc<Bridge>, mut shutdown: watch::Receiver<bool>) {
    if let Err(e) = bridge.store.release_all_claims(&bridge.instance).await {
        tracing::warn!("cannot clear this process's old conversation claims: {e}");
    }
    let mut last_id = 0i64;
    let mut workers = Workers::new(bridge.clone(), shutdown.clone());
    loop {
        if *shutdown.borrow() {
            break;
        }
        let rows = match bridge.store.inbox_pending(last_id, PAGE).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!("cannot read the inbox: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    _ = shutdown.changed() => break,
                }
            }
        };
        // A short page is all there was: the next read waits for a wake-up (a row written
        // since this read left its permit in `inbox_wake`, so none is missed).
        let more = rows.len() as i64 >= PAGE;
        for row in rows {
            last_id = row.id;
            let key = conversation_key(&bridge, &row).await;
            workers.hand(key, row);
        }
        workers.tidy();
        if !more {
            tokio::select! {
                _ = bridge.inbox_wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
    workers.stop().await;
    tracing::debug!("inbox dispatcher stopped");
}

/// The running workers by conversation key.
struct Workers {
    bridge: Arc<Bridge>,
    shutdown: watch::Receiver<bool>,
    senders: HashMap<String, queue::Sender>,
    tasks: JoinSet<()>,
}

impl Workers {
    fn new(bridge: Arc<Bridge>, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            bridge,
            shutdown,
            senders: HashMap::new(),
            tasks: JoinSet::new(),
        }
    }

    fn spawn(&mut self, key: &str) -> queue::Sender {
        let (tx, rx) = queue::queue();
        self.tasks.spawn(worker::run(
            self.bridge.clone(),
            key.to_string(),
            rx,
            self.shutdown.clone(),
        ));
        self.senders.insert(key.to_string(), tx.clone());
        tx
    }

    /// Gives a row to its conversation's worker, starting one if none runs (or the last one
    /// stopped for idleness). Never waits.
    fn hand(&mut self, key: String, row: InboxRow) {
        let mut row = row;
        loop {
            let sender = match self.senders.get(&key) {
                Some(s) => s.clone(),
                None => self.spawn(&key),
            };
            match sender.offer(row) {
                Ok(()) => return,
                Err(back) => {
                    tracing::debug!(key, "the conversation's worker stopped; starting a new one");
                    self.senders.remove(&key);
                    row = back;
                }
            }
        }
    }

    /// Forgets stopped workers; what a dead one left goes to a new worker, in order.
    fn tidy(&mut self) {
        while let Some(done) = self.tasks.try_join_next() {
            if let Err(e) = done {
                tracing::error!("a conversation worker ended abnormally: {e}");
            }
        }
        let closed: Vec<(String, queue::Sender)> = self
            .senders
            .iter()
            .filter(|(_, s)| s.is_closed())
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect();
        for (key, sender) in closed {
            self.senders.remove(&key);
            let leftovers = sender.take_leftovers();
            if leftovers.is_empty() {
                continue;
            }
            tracing::warn!(
                key,
                n = leftovers.len(),
                "restarting a conversation worker that died"
            );
            let fresh = self.spawn(&key);
            for item in leftovers {
                // A fresh queue is open; should it close at once, the rows are still in the
                // inbox and come back at the next start.
                if fresh.requeue(item).is_err() {
                    break;
                }
            }
        }
    }

    async fn stop(mut self) {
        self.senders.clear();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Events of one Instagram thread go to one worker whichever side they come from, so that a
/// Matrix send and the echo of it can never race.
async fn conversation_key(bridge: &Bridge, row: &InboxRow) -> String {
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
