//! One conversation's worker: claims the conversation in the database, applies its rows one
//! at a time in order, and settles each:
//! - applied or skipped: it leaves the inbox (in batches);
//! - a transient failure: the conversation pauses with a capped backoff and tries the same row
//!   again, at once when the failed side is back ([`Recovery`](super::super::recovery));
//!   nothing is ever dropped for a transient failure;
//! - a permanent failure or a panic: the row moves to the dead letters, the room is told, and
//!   the worker goes on with the next row.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::watch;
use tokio::time::Instant;

use super::queue::{Item, Receiver};
use super::report;
use crate::bridge::Bridge;
use crate::bridge::conversation::Portal;
use crate::bridge::error::ApplyError;
use crate::bridge::first_sync::{self, Outcome};
use crate::bridge::outcome;
use crate::store::inbox::{InboxRow, SOURCE_INSTAGRAM, SOURCE_MATRIX};

/// The first pause after a transient failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest pause between two attempts of one row.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long a claim lasts without renewal, and how often it is renewed.
const CLAIM_TTL_MS: i64 = 60_000;
const CLAIM_RENEW: Duration = Duration::from_secs(20);
/// Applied rows removed from the inbox per statement, at most.
const REMOVE_BATCH: usize = 64;

/// How one row ended.
enum Settled {
    /// Applied or skipped: remove it from the inbox.
    Done(Outcome),
    /// Moved to the dead letters (already out of the inbox).
    DeadLettered,
    /// Shutdown came first: the row stays in the inbox for the next start.
    Stopped,
}

/// Runs one conversation until it is idle or the bridge stops.
pub async fn run(
    bridge: Arc<Bridge>,
    key: String,
    queue: Receiver,
    shutdown: watch::Receiver<bool>,
) {
    if !claim(&bridge, &key, &shutdown).await {
        return;
    }
    let mut claimed_at = Instant::now();
    let idle = Duration::from_secs(bridge.config.bridge.portal_idle_secs.max(1));
    let mut applied = Vec::new();
    let mut fetched = std::collections::VecDeque::new();
    // What this conversation knows between rows, owned here (see `conversation`).
    let mut portal = Portal::new();
    'rows: loop {
        let row = match fetched.pop_front() {
            Some(row) => row,
            None => match queue.next(idle, &shutdown).await {
                None => break,
                Some(Item::Row(row)) => row,
                Some(Item::Id(id)) => {
                    let mut ids = vec![id];
                    ids.extend(queue.next_ids(REMOVE_BATCH));
                    fetched = fetch(&bridge, &ids, &shutdown).await;
                    continue;
                }
            },
        };
        if claimed_at.elapsed() > CLAIM_RENEW {
            if !claim(&bridge, &key, &shutdown).await {
                break 'rows;
            }
            claimed_at = Instant::now();
        }
        match settle(&bridge, &mut portal, &row, &key, &shutdown).await {
            Settled::Done(outcome) => {
                applied.push(row.id);
                first_sync::row_done(&bridge, &row, outcome).await;
            }
            Settled::DeadLettered => first_sync::row_done(&bridge, &row, Outcome::Failed).await,
            Settled::Stopped => break,
        }
        if (fetched.is_empty() && queue.is_empty()) || applied.len() >= REMOVE_BATCH {
            remove_applied(&bridge, &mut applied).await;
        }
    }
    remove_applied(&bridge, &mut applied).await;
    if let Err(e) = bridge
        .store
        .release_conversation(&key, &bridge.instance)
        .await
    {
        tracing::debug!(key, "cannot release the conversation's claim: {e}");
    }
}

/// Claims (or renews) the conversation for this process, waiting while another process holds
/// it. Returns false at shutdown.
async fn claim(bridge: &Bridge, key: &str, shutdown: &watch::Receiver<bool>) -> bool {
    let mut shutdown = shutdown.clone();
    loop {
        if *shutdown.borrow() {
            return false;
        }
        match bridge
            .store
            .claim_conversation(key, &bridge.instance, CLAIM_TTL_MS)
            .await
        {
            Ok(true) => return true,
            Ok(false) => tracing::debug!(key, "another bridge process works on this conversation"),
            Err(e) => tracing::warn!(key, "cannot claim the conversation: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// The rows behind queued ids, read from the inbox (retrying while the database fails).
async fn fetch(
    bridge: &Bridge,
    ids: &[i64],
    shutdown: &watch::Receiver<bool>,
) -> std::collections::VecDeque<InboxRow> {
    let mut delay = FIRST_BACKOFF;
    loop {
        match bridge.store.inbox_rows(ids).await {
            Ok(rows) => return rows.into(),
            Err(e) => {
                tracing::warn!("cannot read queued events from the inbox: {e}");
                if *shutdown.borrow() {
                    return Default::default();
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Applies one row until it is settled (and reports how, when it is a message).
async fn settle(
    bridge: &Arc<Bridge>,
    portal: &mut Portal,
    row: &InboxRow,
    key: &str,
    shutdown: &watch::Receiver<bool>,
) -> Settled {
    let mut shutdown = shutdown.clone();
    let mut delay = FIRST_BACKOFF;
    let mut attempt = row.attempts.max(0) as u32;
    let message = report::message(bridge, row, key);
    let settled = |outcome, tries, reason: Option<&str>| {
        if let Some(m) = &message {
            report::settled(bridge, row, m, outcome, tries, reason);
        }
    };
    if let Some(m) = message.as_ref().filter(|_| attempt == 0) {
        report::received(bridge, m);
    }
    loop {
        attempt += 1;
        let (result, marked) = outcome::track(apply_caught(bridge, portal, row)).await;
        let (side, reason, wait) = match result {
            Ok(()) => {
                bridge
                    .metrics
                    .events
                    .with_label_values(&[row.source.as_str()])
                    .inc();
                let (how, why) = report::Outcome::of(marked.as_ref());
                settled(how, attempt - 1, why);
                return Settled::Done(Outcome::Bridged);
            }
            Err(ApplyError::Skipped(reason)) => {
                tracing::info!(row = row.id, "not bridged: {reason}");
                settled(report::Outcome::Skipped, attempt - 1, Some(&reason));
                return Settled::Done(Outcome::Held);
            }
            Err(ApplyError::Permanent(reason)) => {
                let end = dead_letter(bridge, row, &reason, &shutdown).await;
                if matches!(end, Settled::DeadLettered) {
                    settled(report::Outcome::DeadLettered, attempt - 1, Some(&reason));
                }
                return end;
            }
            Err(ApplyError::Transient { side, reason, wait }) => (side, reason, wait),
        };
        if let Some(m) = &message {
            report::will_retry(bridge, m, attempt, &reason);
        }
        // Registered before the failure is reported, so the wake-up cannot be missed.
        let back = bridge.recovery.back(side);
        bridge.recovery.failed(side, bridge.intents.client());
        tracing::warn!(
            row = row.id,
            attempt,
            retry_in_ms = delay.as_millis() as u64,
            ?side,
            "event failed, the conversation waits and tries again: {reason}"
        );
        if let Err(e) = bridge.store.inbox_bump_attempts(row.id).await {
            tracing::debug!(row = row.id, "cannot count the attempt: {e}");
        }
        match wait {
            // A rate limit is waited out whatever else happens (but shutdown).
            Some(wait) => tokio::select! {
                _ = tokio::time::sleep(wait.max(delay)) => {}
                _ = shutdown.changed() => {}
            },
            None => tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = back => tracing::debug!(row = row.id, ?side, "woken: the far side is back"),
                _ = shutdown.changed() => {}
            },
        }
        if *shutdown.borrow() {
            return Settled::Stopped;
        }
        delay = (delay * 2).min(MAX_BACKOFF);
    }
}

/// Applies a row; a panic inside becomes a permanent failure instead of killing the worker.
async fn apply_caught(
    bridge: &Arc<Bridge>,
    portal: &mut Portal,
    row: &InboxRow,
) -> Result<(), ApplyError> {
    match AssertUnwindSafe(apply(bridge, portal, row))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => {
            // What the conversation knew may be half-updated: start it afresh.
            *portal = Portal::new();
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(row = row.id, "applying an event panicked: {what}");
            Err(ApplyError::Permanent(format!(
                "the bridge hit an internal error on it ({what})"
            )))
        }
    }
}

/// Applies a row. The futures of applying are large (a login, a media conversion, a
/// catch-up walk): they live on the heap, so that the worker's own frames (which move their
/// futures around, in debug builds especially) stay small on the runtime thread's stack.
async fn apply(
    bridge: &Arc<Bridge>,
    portal: &mut Portal,
    row: &InboxRow,
) -> Result<(), ApplyError> {
    match row.source.as_str() {
        SOURCE_MATRIX => {
            Box::pin(crate::bridge::matrix_events::apply(
                bridge,
                portal,
                &row.payload,
            ))
            .await
        }
        SOURCE_INSTAGRAM => {
            let receiver = &row.receiver;
            Box::pin(crate::bridge::ig_events::apply(
                bridge,
                portal,
                receiver,
                &row.payload,
            ))
            .await
        }
        other => Err(ApplyError::Permanent(format!(
            "unknown inbox source {other}"
        ))),
    }
}

/// Moves a row to the dead letters and tells the room.
async fn dead_letter(
    bridge: &Arc<Bridge>,
    row: &InboxRow,
    reason: &str,
    shutdown: &watch::Receiver<bool>,
) -> Settled {
    tracing::warn!(
        row = row.id,
        source = row.source,
        "dead-lettering an event: {reason}"
    );
    let mut delay = FIRST_BACKOFF;
    while let Err(e) = bridge.store.dead_letter(row, reason).await {
        tracing::warn!(row = row.id, "cannot dead-letter the event yet: {e}");
        if *shutdown.borrow() {
            return Settled::Stopped;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_BACKOFF);
    }
    bridge.metrics.event_failures.inc();
    super::notice::dead_lettered(bridge, row, reason).await;
    Settled::DeadLettered
}

async fn remove_applied(bridge: &Bridge, applied: &mut Vec<i64>) {
    if applied.is_empty() {
        return;
    }
    if let Err(e) = bridge.store.inbox_remove_many(applied).await {
        // They stay in the inbox and are replayed at the next start, harmlessly.
        tracing::error!(
            rows = applied.len(),
            "cannot remove applied events from the inbox: {e}"
        );
    }
    applied.clear();
}
