//! Read-through caches of small, hot rows (portals, ghosts), kept in step by the store's own
//! write paths. Only one bridge process uses a database, so every change of a cached table goes
//! through a [`Store`](super::Store) method that updates the cache after its write committed.
//!
//! A reader that missed fills the cache only if no write happened since it started reading
//! (an epoch counter checked under the lock), so a slow read can never put back a row that a
//! concurrent write has just replaced or deleted.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Cached lookups by key; `None` values remember that there is no row.
#[derive(Debug)]
pub(crate) struct RowCache<K, V> {
    inner: Mutex<Inner<K, V>>,
}

#[derive(Debug)]
struct Inner<K, V> {
    epoch: u64,
    rows: HashMap<K, Option<V>>,
}

/// A reader's ticket: the epoch it started at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

impl<K: Eq + Hash, V: Clone> Default for RowCache<K, V> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                epoch: 0,
                rows: HashMap::new(),
            }),
        }
    }
}

impl<K: Eq + Hash, V: Clone> RowCache<K, V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached lookup, or a ticket to fill it after reading the database.
    pub(crate) fn get<Q>(&self, key: &Q) -> Result<Option<V>, Ticket>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let inner = self.lock();
        match inner.rows.get(key) {
            Some(v) => Ok(v.clone()),
            None => Err(Ticket(inner.epoch)),
        }
    }

    /// Remembers what a read found, unless a write happened since the ticket was taken.
    pub(crate) fn fill(&self, ticket: Ticket, key: K, value: Option<V>) {
        let mut inner = self.lock();
        if inner.epoch == ticket.0 {
            inner.rows.insert(key, value);
        }
    }

    /// Forgets a key before a write of it, so that a write that commits but never reaches
    /// [`set`](Self::set) (its future dropped) leaves no stale entry behind.
    pub(crate) fn invalidate<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.rows.remove(key);
    }

    /// Forgets everything (a write whose old keys are not known, such as a portal moving to
    /// another room), so that no read that began before it can fill an entry afterwards.
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.rows.clear();
    }

    /// Records a committed write (`None`: the row was deleted).
    pub(crate) fn set(&self, key: K, value: Option<V>) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.rows.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_during_a_read_wins() {
        let cache: RowCache<String, i32> = RowCache::default();
        let Err(ticket) = cache.get("a") else {
            panic!("empty cache hit")
        };
        // A write lands while the reader is still at the database with the old value.
        cache.set("a".into(), Some(2));
        cache.fill(ticket, "a".into(), Some(1));
        assert_eq!(cache.get("a").ok(), Some(Some(2)));
        // Deletions are remembered too.
        cache.set("a".into(), None);
        assert_eq!(cache.get("a").ok(), Some(None));
        let Err(ticket) = cache.get("b") else {
            panic!("b was never read")
        };
        cache.fill(ticket, "b".into(), None);
        assert_eq!(cache.get("b").ok(), Some(None));
    }

    #[test]
    fn a_clear_forgets_everything_and_wins_over_reads_begun_before_it() {
        let cache: RowCache<String, i32> = RowCache::default();
        cache.set("a".into(), Some(1));
        let Err(ticket) = cache.get("b") else {
            panic!("b was never read")
        };
        cache.clear();
        assert!(cache.get("a").is_err(), "a is forgotten");
        cache.fill(ticket, "b".into(), Some(7));
        assert!(
            cache.get("b").is_err(),
            "a read begun before the clear fills nothing"
        );
    }
}
