//! Whether a thread's live events can be trusted to follow on from what is bridged.
//!
//! Every realtime (re)connection may have missed events: Iris then answers the subscribe with
//! a `latest_seq_id` past ours, and a catch-up over HTTP queues the threads to sync. But live
//! events of the new connection may be queued before that catch-up, and bridging one of them
//! first would put it ahead of the older messages that were missed. So each connection opens
//! an *epoch*; one whose subscribe proves nothing was missed is clean, any other is a gap; and
//! a thread whose last catch-up is older than the last gap is caught up (over HTTP, oldest
//! first) before its next live item is bridged. Kept in memory: a restart starts clean, and
//! the first subscribe after it says whether the stored cursor is behind.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
struct State {
    /// The current connection's number (0 before the first).
    epoch: u64,
    /// The last connection that may have missed events (0: none yet).
    gap: u64,
    /// `gap` as it was before the current connection, restored when it proves clean.
    gap_before: u64,
    /// The epoch each thread was last caught up in.
    synced: HashMap<String, u64>,
}

/// One account's connections and the threads caught up since.
#[derive(Debug, Default)]
pub struct Continuity {
    state: Mutex<State>,
}

impl Continuity {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new realtime connection: until its subscribe says otherwise, it may have a gap.
    /// Called before any event of the connection is stored.
    pub fn connected(&self) {
        let mut s = self.lock();
        s.epoch += 1;
        s.gap_before = s.gap;
        s.gap = s.epoch;
    }

    /// The connection's Iris subscribe answered; `gapless` when nothing was missed (the
    /// latest sequence id is ours).
    pub fn subscribed(&self, gapless: bool) {
        let mut s = self.lock();
        if gapless && s.gap == s.epoch {
            s.gap = s.gap_before;
        }
    }

    /// `Some(epoch)` when the thread must be caught up before its next live item; pass the
    /// epoch to [`Continuity::caught_up`] once done.
    pub fn needs_catch_up(&self, thread_id: &str) -> Option<u64> {
        let s = self.lock();
        let synced = s.synced.get(thread_id).copied().unwrap_or(0);
        (synced < s.gap).then_some(s.epoch)
    }

    /// The epoch the next catch-up of a thread starts in.
    pub fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// The thread was caught up with everything Instagram had when the catch-up started in
    /// `epoch`; later events come live.
    pub fn caught_up(&self, thread_id: &str, epoch: u64) {
        let mut s = self.lock();
        let entry = s.synced.entry(thread_id.to_string()).or_insert(0);
        *entry = (*entry).max(epoch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_subscribe_needs_no_catch_up() {
        let c = Continuity::default();
        assert_eq!(
            c.needs_catch_up("t"),
            None,
            "nothing before the first connection"
        );
        c.connected();
        // Live events may be applied before the subscribe answers: catch up to be safe.
        assert_eq!(c.needs_catch_up("t"), Some(1));
        c.subscribed(true);
        assert_eq!(c.needs_catch_up("t"), None);
    }

    #[test]
    fn a_gap_makes_every_thread_catch_up_once() {
        let c = Continuity::default();
        c.connected();
        c.subscribed(false);
        let epoch = c.needs_catch_up("a").expect("a gap");
        assert_eq!(c.needs_catch_up("b"), Some(epoch));
        c.caught_up("a", epoch);
        assert_eq!(c.needs_catch_up("a"), None);
        assert_eq!(c.needs_catch_up("b"), Some(epoch));
        // A later clean connection does not hide the earlier gap from a thread not caught up.
        c.connected();
        c.subscribed(true);
        assert_eq!(c.needs_catch_up("a"), None);
        assert!(c.needs_catch_up("b").is_some());
        // Another gap: every thread again.
        c.connected();
        c.subscribed(false);
        assert!(c.needs_catch_up("a").is_some());
    }

    #[test]
    fn a_catch_up_started_before_a_new_gap_does_not_cover_it() {
        let c = Continuity::default();
        c.connected();
        c.subscribed(false);
        let started = c.epoch();
        c.connected();
        c.subscribed(false);
        c.caught_up("a", started);
        assert!(c.needs_catch_up("a").is_some());
    }
}
