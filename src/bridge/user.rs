//! One logged-in Matrix user ↔ one Instagram account: the HTTP client, the realtime
//! connection, and the pump that turns realtime batches into durable inbox rows.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Bridge;
use super::ig_events::{self, IgEvent};
use super::sync::{initial_sync, spawn_catch_up};
use crate::instagram::http::InstagramClient;
use crate::instagram::http::direct::{ReplyTo as HttpReplyTo, SendTarget};
use crate::instagram::ids::{ClientContext, ItemId, ThreadId, UserPk};
use crate::instagram::realtime::{
    self, ConnectParams, ConnectionState, Cursor, RealtimeClient, RealtimeEvent, SyncBatch,
    TextOptions,
};
use crate::store::now_ms;

/// What `ping` reports.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub realtime: String,
    pub last_event_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// A connected Instagram account.
pub struct IgUser {
    pub mxid: String,
    pub pk: i64,
    pub username: String,
    pub client: InstagramClient,
    realtime: Mutex<Option<RealtimeClient>>,
    pub status: Mutex<Status>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// When the last resync started and the delay before the next one may start: a cursor
    /// refused again right after a resync must not become a tight loop against Instagram.
    resync: Mutex<(Option<std::time::Instant>, Duration)>,
    /// Where this login's state changes are reported (see `bridge_state`).
    pub bridge_state: super::bridge_state::LoginHandle,
}

/// Why a send to Instagram failed.
#[derive(Debug, Clone)]
pub struct SendError {
    pub message: String,
    pub invalid_emoji: bool,
    /// Trying again later may work (network, 5xx, rate limit).
    pub transient: bool,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<crate::instagram::Error> for SendError {
    fn from(e: crate::instagram::Error) -> Self {
        SendError {
            message: e.user_message(),
            invalid_emoji: false,
            transient: e.is_transient(),
        }
    }
}

impl From<realtime::Error> for SendError {
    fn from(e: realtime::Error) -> Self {
        let invalid_emoji = matches!(e, realtime::Error::InvalidEmoji);
        // A refusal is final; anything else (a timeout, a dropped connection) may pass later.
        let transient = !matches!(
            e,
            realtime::Error::InvalidEmoji | realtime::Error::Rejected { .. }
        );
        SendError {
            message: e.to_string(),
            invalid_emoji,
            transient,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl IgUser {
    pub(super) fn realtime(&self) -> Option<RealtimeClient> {
        lock(&self.realtime).clone()
    }

    pub fn status(&self) -> Status {
        lock(&self.status).clone()
    }

    pub(super) fn set_status(&self, f: impl FnOnce(&mut Status)) {
        f(&mut lock(&self.status));
    }

    /// Sends text; over the realtime connection when it is up, else over HTTP. Returns the
    /// new item's id when Instagram said it.
    pub async fn send_text(
        &self,
        thread_id: &str,
        text: &str,
        client_context: &str,
        reply_to: Option<(String, Option<String>)>,
        mentions: &[i64],
    ) -> Result<Option<String>, SendError> {
        if let Some(rt) = self.realtime_if_connected() {
            let opts = TextOptions {
                client_context: Some(client_context.to_string()),
                reply_to: reply_to.clone().map(|(item_id, client_context)| {
                    realtime::commands::ReplyTo {
                        item_id,
                        client_context,
                    }
                }),
                mentioned_user_ids: mentions.to_vec(),
            };
            match rt.send_text(thread_id, text, opts).await {
                Ok(ack) => return Ok(ack.item_id),
                Err(e @ (realtime::Error::Rejected { .. } | realtime::Error::InvalidEmoji)) => {
                    return Err(e.into());
                }
                Err(e) => tracing::warn!("realtime send failed, trying HTTP: {e}"),
            }
        }
        let reply = reply_to.map(|(item_id, client_context)| HttpReplyTo {
            item_id: ItemId::new(item_id),
            client_context,
        });
        let mentions: Vec<UserPk> = mentions.iter().map(|p| UserPk(*p)).collect();
        let ack = self
            .client
            .send_text(
                &SendTarget::Thread(ThreadId::new(thread_id)),
                text,
                &ClientContext::new(client_context),
                reply.as_ref(),
                &mentions,
            )
            .await?;
        Ok(ack
            .item()
            .and_then(|i| i.item_id.as_ref())
            .map(|i| i.to_string()))
    }

    /// Adds (`Some`) or removes (`None`) our reaction on an item.
    pub async fn send_reaction(
        &self,
        thread_id: &str,
        item_id: &str,
        emoji: Option<&str>,
    ) -> Result<(), SendError> {
        if let Some(rt) = self.realtime_if_connected() {
            match rt.send_reaction(thread_id, item_id, emoji, "text").await {
                Ok(_) => return Ok(()),
                Err(e @ (realtime::Error::Rejected { .. } | realtime::Error::InvalidEmoji)) => {
                    return Err(e.into());
                }
                Err(e) => tracing::warn!("realtime reaction failed, trying HTTP: {e}"),
            }
        }
        self.client
            .send_reaction(
                &ThreadId::new(thread_id),
                &ItemId::new(item_id),
                emoji,
                &ClientContext::generate(),
            )
            .await?;
        Ok(())
    }

    pub async fn mark_seen(&self, thread_id: &str, item_id: &str) -> Result<(), SendError> {
        if let Some(rt) = self.realtime_if_connected()
            && rt.mark_seen(thread_id, item_id).await.is_ok()
        {
            return Ok(());
        }
        self.client
            .mark_seen(
                &ThreadId::new(thread_id),
                &ItemId::new(item_id),
                &ClientContext::generate(),
            )
            .await?;
        Ok(())
    }

    pub async fn set_typing(&self, thread_id: &str, typing: bool) -> Result<(), SendError> {
        if let Some(rt) = self.realtime_if_connected()
            && rt.indicate_activity(thread_id, typing).await.is_ok()
        {
            return Ok(());
        }
        self.client
            .set_typing(
                &ThreadId::new(thread_id),
                typing,
                &ClientContext::generate(),
            )
            .await?;
        Ok(())
    }

    /// How long to wait before the next resync: none normally, growing (5 s doubling to 5 min)
    /// while Instagram keeps refusing fresh cursors.
    fn next_resync_delay(&self) -> Duration {
        let mut state = lock(&self.resync);
        let now = std::time::Instant::now();
        let delay = resync_delay(state.0, state.1, now);
        *state = (Some(now + delay), delay);
        delay
    }

    fn realtime_if_connected(&self) -> Option<RealtimeClient> {
        let connected = lock(&self.status).realtime == "connected";
        if connected { self.realtime() } else { None }
    }

    /// Asks the realtime connection to reconnect.
    pub async fn reconnect(&self) -> Result<(), String> {
        match self.realtime() {
            Some(rt) => rt.reconnect().await.map_err(|e| e.to_string()),
            None => Err("the realtime connection is not running".into()),
        }
    }

    /// Stops the realtime connection and the background tasks.
    pub async fn stop(&self) {
        let rt = lock(&self.realtime).take();
        if let Some(rt) = rt {
            let _ = rt.shutdown().await;
        }
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        self.set_status(|s| s.realtime = "stopped".into());
        self.bridge_state.stopped();
    }
}

/// The wait before a resync, given when the previous one started and how long it waited.
fn resync_delay(
    last_start: Option<std::time::Instant>,
    last_delay: Duration,
    now: std::time::Instant,
) -> Duration {
    match last_start {
        Some(last) if now < last + Duration::from_secs(60) => {
            (last_delay * 2).clamp(Duration::from_secs(5), Duration::from_secs(300))
        }
        _ => Duration::ZERO,
    }
}

/// The realtime password of a session, from the HTTP client's wire form.
fn realtime_password(wire: &str) -> Option<realtime::Password> {
    if let Some(a) = wire.strip_prefix("authorization=") {
        Some(realtime::Password::Authorization(a.to_string()))
    } else {
        wire.strip_prefix("sessionid=")
            .map(|s| realtime::Password::SessionId(s.to_string()))
    }
}

/// Starts (or restarts) a user's Instagram side: cursor, realtime connection, event pump and
/// session persistence. On a fresh login (or without a stored cursor) it reads the inbox first
/// and queues the recent threads for portal creation and backfill.
pub async fn start_user(
    bridge: &Arc<Bridge>,
    mxid: &str,
    client: InstagramClient,
    username: String,
    fresh_login: bool,
) -> Result<Arc<IgUser>, String> {
    // Newer than the old login's handle, so the old one's stop is not a logout.
    let bridge_state = bridge.bridge_states.login(mxid);
    if let Some((_, old)) = bridge.users.remove(mxid) {
        old.stop().await;
    }
    let pk = client
        .user_pk()
        .map(|p| p.get())
        .ok_or("the Instagram session has no user id")?;
    let row = bridge
        .store
        .get_user(mxid)
        .await
        .map_err(|e| e.to_string())?;
    let stored_cursor = row
        .as_ref()
        .and_then(|r| match (r.seq_id, r.snapshot_at_ms) {
            (Some(seq_id), Some(snapshot_at_ms)) => Some(Cursor {
                seq_id,
                snapshot_at_ms,
            }),
            _ => None,
        });
    let bridge_state = bridge_state.connecting(pk, &username);
    let user = Arc::new(IgUser {
        mxid: mxid.to_string(),
        pk,
        username,
        client: client.clone(),
        realtime: Mutex::new(None),
        status: Mutex::new(Status {
            realtime: "connecting".into(),
            ..Default::default()
        }),
        tasks: Mutex::new(Vec::new()),
        resync: Mutex::new((None, Duration::ZERO)),
        bridge_state,
    });
    // Registered before anything is queued for it, so its events find it.
    bridge.users.insert(mxid.to_string(), user.clone());
    bridge.recovery.instagram_connected();
    let cursor = match (fresh_login, stored_cursor) {
        (false, Some(cursor)) => cursor,
        _ => match initial_sync(bridge, mxid, &client).await {
            Ok(c) => c,
            Err(e) => {
                bridge.users.remove(mxid);
                user.bridge_state.failed(&e);
                return Err(e);
            }
        },
    };

    let password = client
        .mqtt_password()
        .and_then(|w| realtime_password(&w))
        .ok_or("the Instagram session has no sessionid or authorization")?;
    let device = client.session().device;
    let params = ConnectParams::new(
        pk,
        device.user_agent(client.config()),
        device.phone_id.clone(),
        password,
        client.config().version.app_version.clone(),
    );
    let (rt, events) = RealtimeClient::start(bridge.ig_realtime.clone(), params, cursor)
        .map_err(|e| format!("cannot start the realtime connection: {e}"))?;
    *lock(&user.realtime) = Some(rt);

    let pump = tokio::spawn(pump_events(bridge.clone(), user.clone(), events));
    let persist = tokio::spawn(persist_session(bridge.clone(), user.clone()));
    lock(&user.tasks).extend([pump, persist]);
    Ok(user)
}

/// Persists the session whenever the client says it changed (cookies, claims…).
async fn persist_session(bridge: Arc<Bridge>, user: Arc<IgUser>) {
    let mut changes = user.client.session_changes();
    while changes.changed().await.is_ok() {
        let json = user.client.session_json().to_string();
        if let Err(e) = bridge.store.set_session(&user.mxid, &json).await {
            tracing::warn!(
                user = user.mxid,
                "cannot persist the Instagram session: {e}"
            );
        }
    }
}

/// Realtime batches stored in one database transaction at most.
const MAX_BATCHES_PER_COMMIT: usize = 256;

/// Turns realtime events into inbox rows (durably, with the cursor) and ephemeral actions.
async fn pump_events(
    bridge: Arc<Bridge>,
    user: Arc<IgUser>,
    mut events: mpsc::Receiver<RealtimeEvent>,
) {
    let mut next = None;
    loop {
        let event = match next.take() {
            Some(event) => event,
            None => match events.recv().await {
                Some(event) => event,
                None => break,
            },
        };
        user.set_status(|s| s.last_event_ms = Some(now_ms()));
        match event {
            RealtimeEvent::State(state) => on_state(&bridge, &user, state).await,
            RealtimeEvent::MessageSync(batch) => {
                // The batches already waiting behind this one are stored with it, in one
                // transaction with the newest cursor: one commit per burst, not per batch.
                let mut batches = vec![batch];
                while batches.len() < MAX_BATCHES_PER_COMMIT {
                    match events.try_recv() {
                        Ok(RealtimeEvent::MessageSync(batch)) => batches.push(batch),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                store_sync_batches(&bridge, &user, &batches).await;
            }
            RealtimeEvent::Typing(t) => {
                if let Some(sender) = t.sender_id {
                    spawn_typing(&bridge, &user, t.thread_id, sender, t.active, t.ttl_ms);
                }
            }
            RealtimeEvent::IrisSubscribed {
                seq_id,
                latest_seq_id,
                ..
            } => {
                if let (Some(seq), Some(latest)) = (seq_id, latest_seq_id)
                    && latest > seq
                {
                    tracing::info!(user = user.mxid, seq, latest, "catching up over HTTP");
                    spawn_catch_up(&bridge, &user, false);
                }
            }
            RealtimeEvent::ResyncRequired { error_message, .. } => {
                let delay = user.next_resync_delay();
                tracing::warn!(
                    user = user.mxid,
                    delay_s = delay.as_secs(),
                    "realtime cursor refused ({error_message}); resyncing"
                );
                if !delay.is_zero() {
                    user.set_status(|s| {
                        s.last_error = Some(format!(
                            "Instagram keeps refusing the realtime cursor ({error_message}); \
                             retrying in {} s",
                            delay.as_secs()
                        ))
                    });
                }
                let (bridge, user) = (bridge.clone(), user.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    spawn_catch_up(&bridge, &user, true);
                });
            }
            RealtimeEvent::Presence(_) | RealtimeEvent::RegionHint(_) => {}
        }
    }
}

/// Writes realtime batches to the inbox together with the newest cursor among them, then
/// confirms that cursor to the realtime client and wakes the dispatcher.
async fn store_sync_batches(bridge: &Arc<Bridge>, user: &Arc<IgUser>, batches: &[SyncBatch]) {
    let mut entries = Vec::with_capacity(batches.iter().map(|b| b.events.len()).sum());
    for ev in batches.iter().flat_map(|b| &b.events) {
        match IgEvent::from_sync(ev) {
            Some(IgEvent::Typing {
                thread_id,
                user_id,
                active,
                ttl_ms,
            }) => {
                spawn_typing(bridge, user, thread_id, user_id, active, ttl_ms);
            }
            Some(e) => entries.push(ig_events::entry(&user.mxid, &e)),
            None => {}
        }
    }
    let seq = batches.iter().filter_map(|b| b.seq_id).max();
    let stored = match seq {
        Some(seq) => bridge
            .store
            .enqueue_with_cursor(&user.mxid, seq, now_ms(), &entries)
            .await
            .map(|_| Some(seq)),
        None => bridge.store.enqueue(&entries).await.map(|_| None),
    };
    match stored {
        Ok(seq) => {
            bridge.inbox_wake.notify_one();
            if let (Some(seq_id), Some(rt)) = (seq, user.realtime()) {
                let _ = rt
                    .update_cursor(Cursor {
                        seq_id,
                        snapshot_at_ms: now_ms(),
                    })
                    .await;
            }
        }
        Err(e) => {
            // Not stored: the cursor did not move, so the batches come again after a
            // reconnect.
            tracing::error!(user = user.mxid, "cannot store a realtime batch: {e}");
            if let Some(rt) = user.realtime() {
                // Not awaited here: the event loop may be waiting for this pump.
                tokio::spawn(async move {
                    let _ = rt.reconnect().await;
                });
            }
        }
    }
}

async fn on_state(bridge: &Arc<Bridge>, user: &Arc<IgUser>, state: ConnectionState) {
    let text = match &state {
        ConnectionState::Connecting { .. } => "connecting".to_string(),
        ConnectionState::Connected => "connected".to_string(),
        ConnectionState::Disconnected { reason, .. } => {
            user.set_status(|s| s.last_error = Some(reason.clone()));
            "disconnected".to_string()
        }
        ConnectionState::AuthFailed => "not authorized".to_string(),
        ConnectionState::Refused { code } => format!("refused (code {code})"),
        ConnectionState::Stopped => "stopped".to_string(),
    };
    tracing::info!(user = user.mxid, state = text, "realtime connection");
    user.bridge_state.realtime(&state);
    if matches!(state, ConnectionState::Connected) {
        bridge.recovery.instagram_connected();
    }
    user.set_status(|s| s.realtime = text.clone());
    let _ = bridge.store.set_connection_state(&user.mxid, &text).await;
    if matches!(state, ConnectionState::AuthFailed) {
        // Probe the HTTP session before declaring the user logged out.
        let probe = user.client.current_user().await;
        user.bridge_state.auth_probe(probe.as_ref().err());
        match probe {
            Err(e) if e.is_session_dead() => {
                // In a task of its own: stopping the user ends this very pump.
                let bridge = bridge.clone();
                let mxid = user.mxid.clone();
                let reason = e.user_message();
                tokio::spawn(async move {
                    super::commands::session_lost(&bridge, &mxid, &reason).await;
                });
            }
            _ => {}
        }
    }
}

fn spawn_typing(
    bridge: &Arc<Bridge>,
    user: &Arc<IgUser>,
    thread_id: String,
    sender: i64,
    active: bool,
    ttl_ms: Option<i64>,
) {
    if sender == user.pk {
        return;
    }
    let bridge = bridge.clone();
    let mxid = user.mxid.clone();
    tokio::spawn(async move {
        if let Err(e) =
            super::portal::ghost_typing(&bridge, &mxid, &thread_id, sender, active, ttl_ms).await
        {
            tracing::debug!("typing not bridged: {e}");
        }
    });
}

/// Reconnects every user with a stored session (at start-up).
pub async fn restore_all(bridge: &Arc<Bridge>) {
    let users = match bridge.store.logged_in_users().await {
        Ok(u) => u,
        Err(e) => {
            tracing::error!("cannot list logged-in users: {e}");
            return;
        }
    };
    for row in users {
        let Some(session) = row.session.as_deref() else {
            continue;
        };
        let json: serde_json::Value = match serde_json::from_str(session) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(
                    user = row.mxid,
                    "stored Instagram session is unreadable: {e}"
                );
                continue;
            }
        };
        let client = match InstagramClient::from_session_json(bridge.ig_http.clone(), json) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(user = row.mxid, "cannot restore the Instagram session: {e}");
                continue;
            }
        };
        let username = row.ig_username.clone().unwrap_or_default();
        match start_user(bridge, &row.mxid, client, username, false).await {
            Ok(_) => tracing::info!(user = row.mxid, "reconnected to Instagram"),
            Err(e) => tracing::error!(user = row.mxid, "cannot reconnect to Instagram: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn repeated_resyncs_back_off() {
        let now = Instant::now();
        assert_eq!(resync_delay(None, Duration::ZERO, now), Duration::ZERO);
        let d1 = resync_delay(Some(now), Duration::ZERO, now + Duration::from_secs(1));
        assert_eq!(d1, Duration::from_secs(5));
        let d2 = resync_delay(Some(now), d1, now + Duration::from_secs(2));
        assert_eq!(d2, Duration::from_secs(10));
        let capped = resync_delay(Some(now), Duration::from_secs(250), now);
        assert_eq!(capped, Duration::from_secs(300));
        // A resync long after the last one starts afresh.
        let later = now + Duration::from_secs(61);
        assert_eq!(resync_delay(Some(now), d2, later), Duration::ZERO);
    }

    #[test]
    fn realtime_passwords_from_the_session() {
        assert!(matches!(
            realtime_password("authorization=Bearer IGT:2:abc"),
            Some(realtime::Password::Authorization(a)) if a == "Bearer IGT:2:abc"
        ));
        assert!(matches!(
            realtime_password("sessionid=1%3Ax"),
            Some(realtime::Password::SessionId(s)) if s == "1%3Ax"
        ));
        assert!(realtime_password("cookie=1").is_none());
    }
}
