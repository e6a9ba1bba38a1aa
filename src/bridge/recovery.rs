//! Wake-ups for conversations paused by a transient failure: the moment the homeserver
//! answers again, or an Instagram account (re)connects, every conversation waiting on that
//! side tries again instead of sleeping out its backoff.
//!
//! While anyone waits on the homeserver, one probe asks `/versions` every second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use super::error::Side;
use crate::matrix::HomeserverClient;

/// How often the homeserver is probed while it is down.
const PROBE_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Recovery {
    homeserver: Notify,
    instagram: Notify,
    /// Never notified: a database failure waits out its backoff.
    database: Notify,
    probing: AtomicBool,
}

impl Recovery {
    /// Resolves when `side` is back (the database never wakes early: only the backoff does).
    /// Create the future *before* reporting the failure, so no wake-up is missed.
    pub fn back(&self, side: Side) -> tokio::sync::futures::Notified<'_> {
        match side {
            Side::Homeserver => self.homeserver.notified(),
            Side::Instagram => self.instagram.notified(),
            Side::Database => self.database.notified(),
        }
    }

    /// Reports that `side` failed: for the homeserver, starts the probe if none runs.
    pub fn failed(self: &Arc<Self>, side: Side, client: &HomeserverClient) {
        if side != Side::Homeserver || self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self.clone();
        let client = client.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                if client.refresh_versions().await.is_ok() {
                    tracing::info!("the homeserver answers again; resuming paused conversations");
                    me.probing.store(false, Ordering::Release);
                    me.homeserver.notify_waiters();
                    break;
                }
            }
        });
    }

    /// An Instagram account connected: conversations waiting on Instagram try again.
    pub fn instagram_connected(&self) {
        self.instagram.notify_waiters();
    }
}
