//! A conversation worker's queue: what the dispatcher hands over, in order, without ever
//! waiting. The first rows are kept whole; past [`IN_MEMORY`] only their ids are kept (the
//! rows are in the database already), so a stalled conversation costs 8 bytes per waiting
//! row and never slows the dispatcher or any other conversation.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::store::inbox::InboxRow;

/// Rows kept whole per conversation; beyond, ids only.
pub const IN_MEMORY: usize = 64;

/// A queued row, whole or by id.
#[derive(Debug)]
pub enum Item {
    Row(InboxRow),
    Id(i64),
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Item>,
    /// The worker stopped taking items (idle, shutdown or gone).
    closed: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the queue inconsistent (each change is
        // a single push or pop), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The dispatcher's end.
#[derive(Debug, Clone)]
pub struct Sender {
    shared: Arc<Shared>,
}

/// The worker's end. Dropping it closes the queue.
#[derive(Debug)]
pub struct Receiver {
    shared: Arc<Shared>,
}

/// A new queue.
pub fn queue() -> (Sender, Receiver) {
    let shared = Arc::new(Shared::default());
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl Sender {
    /// Queues a row; never waits. Gives the row back when the worker has stopped.
    pub fn offer(&self, row: InboxRow) -> Result<(), InboxRow> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(row);
        }
        if state.items.len() < IN_MEMORY {
            state.items.push_back(Item::Row(row));
        } else {
            state.items.push_back(Item::Id(row.id));
        }
        drop(state);
        self.shared.wake.notify_one();
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Queues an item a dead worker left behind; gives it back when this worker has stopped.
    pub fn requeue(&self, item: Item) -> Result<(), Item> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(item);
        }
        state.items.push_back(item);
        drop(state);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// What a stopped worker left unapplied (only a worker that died leaves anything).
    pub fn take_leftovers(&self) -> Vec<Item> {
        let mut state = self.shared.lock();
        if !state.closed {
            return Vec::new();
        }
        state.items.drain(..).collect()
    }

    /// How many items wait (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shared.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Receiver {
    /// The next item; `None` at shutdown, or after `idle` with nothing queued (the queue is
    /// then closed under the same lock that checked it is empty, so no item is stranded: a
    /// later offer is refused and the dispatcher starts a new worker).
    pub async fn next(&self, idle: Duration, shutdown: &watch::Receiver<bool>) -> Option<Item> {
        let mut shutdown = shutdown.clone();
        let mut idle_over = false;
        loop {
            if *shutdown.borrow() {
                return None;
            }
            {
                let mut state = self.shared.lock();
                if let Some(item) = state.items.pop_front() {
                    return Some(item);
                }
                if idle_over {
                    state.closed = true;
                    tracing::debug!("a conversation's worker is idle and stops");
                    return None;
                }
            }
            tokio::select! {
                _ = self.shared.wake.notified() => {}
                _ = tokio::time::sleep(idle) => idle_over = true,
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Takes the ids queued right behind the current one (up to `max`), to fetch together.
    pub fn next_ids(&self, max: usize) -> Vec<i64> {
        let mut state = self.shared.lock();
        let mut ids = Vec::new();
        while ids.len() < max {
            match state.items.front() {
                Some(Item::Id(id)) => {
                    ids.push(*id);
                    state.items.pop_front();
                }
                _ => break,
            }
        }
        ids
    }

    /// Whether nothing is queued right now.
    pub fn is_empty(&self) -> bool {
        self.shared.lock().items.is_empty()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::inbox::SOURCE_INSTAGRAM;

    fn row(id: i64) -> InboxRow {
        InboxRow {
            id,
            source: SOURCE_INSTAGRAM.into(),
            portal_key: "t".into(),
            receiver: String::new(),
            payload: String::new(),
            attempts: 0,
            created_at_ms: 0,
        }
    }

    fn id_of(item: &Item) -> i64 {
        match item {
            Item::Row(r) => r.id,
            Item::Id(id) => *id,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn offers_never_wait_and_keep_order_past_the_memory_bound() {
        let (tx, rx) = queue();
        let (_stop, shutdown) = watch::channel(false);
        for id in 1..=(IN_MEMORY as i64 + 100) {
            tx.offer(row(id)).expect("open queue");
        }
        let mut seen = Vec::new();
        let mut whole = 0;
        while let Some(item) = rx.next(Duration::from_secs(1), &shutdown).await {
            if matches!(item, Item::Row(_)) {
                whole += 1;
            }
            seen.push(id_of(&item));
        }
        assert_eq!(seen, (1..=(IN_MEMORY as i64 + 100)).collect::<Vec<_>>());
        assert_eq!(whole, IN_MEMORY, "only the first rows are held whole");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_worker_closes_and_later_rows_come_back() {
        let (tx, rx) = queue();
        let (_stop, shutdown) = watch::channel(false);
        tx.offer(row(1)).unwrap();
        assert_eq!(
            rx.next(Duration::from_secs(300), &shutdown)
                .await
                .as_ref()
                .map(id_of),
            Some(1)
        );
        assert!(rx.next(Duration::from_secs(300), &shutdown).await.is_none());
        assert!(tx.is_closed());
        assert_eq!(tx.offer(row(2)).unwrap_err().id, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_row_offered_as_the_idle_time_runs_out_is_not_lost() {
        let (tx, rx) = queue();
        let (_stop, shutdown) = watch::channel(false);
        let feeder = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            tx.offer(row(7)).map_err(|r| r.id)
        });
        let mut seen = Vec::new();
        while let Some(item) = rx.next(Duration::from_secs(10), &shutdown).await {
            seen.push(id_of(&item));
        }
        match feeder.await.unwrap() {
            Ok(()) => assert_eq!(seen, vec![7]),
            Err(id) => {
                assert_eq!(id, 7);
                assert!(seen.is_empty());
            }
        }
    }

    #[tokio::test]
    async fn a_worker_that_dies_leaves_its_items_to_the_dispatcher() {
        let (tx, rx) = queue();
        tx.offer(row(1)).unwrap();
        tx.offer(row(2)).unwrap();
        assert!(tx.take_leftovers().is_empty(), "nothing while it lives");
        drop(rx);
        let left: Vec<i64> = tx.take_leftovers().iter().map(id_of).collect();
        assert_eq!(left, vec![1, 2]);
        assert!(tx.offer(row(3)).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_the_queue() {
        let (tx, rx) = queue();
        let (stop, shutdown) = watch::channel(false);
        tx.offer(row(1)).unwrap();
        stop.send(true).unwrap();
        assert!(rx.next(Duration::from_secs(300), &shutdown).await.is_none());
    }
}
