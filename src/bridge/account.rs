//! An account's life: starting it (cursor, realtime connection, event pump, session
//! persistence), restoring every stored login at start-up, turning realtime events into
//! durable inbox rows, following the connection's state, and losing the session.

use std::sync::Arc;

use ruma::RoomId;
use tokio::sync::mpsc;

use super::Bridge;
use super::ig_events::{self, IgEvent};
use super::sync::{initial_sync, spawn_catch_up};
use super::user::{Connection, IgUser};
use crate::instagram::http::InstagramClient;
use crate::instagram::ids::{ThreadId, UserPk};
use crate::instagram::realtime::{
    self, ConnectParams, ConnectionState, Cursor, RealtimeClient, RealtimeEvent, SyncBatch,
};
use crate::store::now_ms;

/// Why an account could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the Instagram session has no user id")]
    NoUserId,
    #[error("the Instagram session has no sessionid or authorization")]
    NoCredentials,
    #[error("the bridge's database failed: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("the first sync failed: {0}")]
    FirstSync(String),
    #[error("cannot start the realtime connection: {0}")]
    Realtime(String),
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

/// Starts (or restarts) one login of a user (the Instagram account of `client`): cursor,
/// realtime connection, event pump and session persistence. On a fresh login (or without a
/// stored cursor) it reads the inbox first and queues the recent threads for portal creation
/// and backfill. The user's other logins run on.
pub async fn start_user(
    bridge: &Arc<Bridge>,
    mxid: &str,
    client: InstagramClient,
    username: String,
    fresh_login: bool,
) -> Result<Arc<IgUser>, StartError> {
    let pk = client
        .user_pk()
        .map(|p| p.get())
        .ok_or(StartError::NoUserId)?;
    // Newer than the old login's handle, so the old one's stop is not a logout.
    let bridge_state = bridge.bridge_states.login(&pk.to_string());
    if let Some((_, old)) = bridge.accounts.remove(&pk) {
        old.stop().await;
    }
    let row = bridge.store.get_login(pk).await?;
    let stored_cursor = row
        .as_ref()
        .and_then(|r| match (r.seq_id, r.snapshot_at_ms) {
            (Some(seq_id), Some(snapshot_at_ms)) => Some(Cursor {
                seq_id,
                snapshot_at_ms,
            }),
            _ => None,
        });
    let bridge_state = bridge_state.connecting(mxid, pk, &username);
    let user = Arc::new(IgUser::new(
        mxid,
        pk,
        username,
        client.clone(),
        bridge_state,
    ));
    // The double puppet too (one per Matrix user, whatever their logins), so the first
    // events already act as the user.
    if !bridge.has_login(mxid) {
        super::puppet::start(bridge, mxid).await;
        super::chat_state::watch(bridge, mxid);
    }
    // Registered before anything is queued for it, so its events find it.
    bridge.accounts.insert(pk, user.clone());
    bridge.recovery.instagram_connected();
    let cursor = match (fresh_login, stored_cursor) {
        (false, Some(cursor)) => cursor,
        _ => match initial_sync(bridge, mxid, pk, &client).await {
            Ok(c) => c,
            Err(e) => {
                bridge.accounts.remove(&pk);
                user.bridge_state.failed(&e);
                return Err(StartError::FirstSync(e));
            }
        },
    };

    let password = client
        .mqtt_password()
        .and_then(|w| realtime_password(&w))
        .ok_or(StartError::NoCredentials)?;
    let device = client.session().device;
    let params = ConnectParams::new(
        pk,
        device.user_agent(client.config()),
        device.phone_id.clone(),
        password,
        client.config().version.app_version.clone(),
    );
    let (rt, events) = RealtimeClient::start(bridge.realtime_config_for(&client), params, cursor)
        .map_err(|e| StartError::Realtime(e.to_string()))?;

    let pump = tokio::spawn(pump_events(bridge.clone(), user.clone(), events));
    let persist = tokio::spawn(persist_session(bridge.clone(), user.clone()));
    user.run(rt, [pump, persist]);
    super::presence::poll(bridge, &user);
    Ok(user)
}

/// Persists the session whenever the client says it changed (cookies, claims…).
async fn persist_session(bridge: Arc<Bridge>, user: Arc<IgUser>) {
    let mut changes = user.client.session_changes();
    while changes.changed().await.is_ok() {
        let json = user.client.session_json().to_string();
        if let Err(e) = bridge.store.set_session(user.pk, &json).await {
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
                store_sync_batches(&bridge, &user, batches).await;
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
                let behind = match (seq_id, latest_seq_id) {
                    (Some(seq), Some(latest)) => (latest > seq).then_some((seq, latest)),
                    _ => None,
                };
                let gapless =
                    matches!((seq_id, latest_seq_id), (Some(seq), Some(latest)) if latest <= seq);
                user.continuity.subscribed(gapless);
                if let Some((seq, latest)) = behind {
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
            RealtimeEvent::Presence(p) => {
                let (bridge, user) = (bridge.clone(), user.clone());
                tokio::spawn(async move {
                    super::presence::from_instagram(&bridge, &user, p.user_id, p.is_active).await;
                });
            }
            RealtimeEvent::RegionHint(_) => {}
        }
    }
}

/// Writes realtime batches to the inbox together with the newest cursor among them, then
/// confirms that cursor to the realtime client and wakes the dispatcher.
async fn store_sync_batches(bridge: &Arc<Bridge>, user: &Arc<IgUser>, batches: Vec<SyncBatch>) {
    let seq = batches.iter().filter_map(|b| b.seq_id).max();
    let mut entries = Vec::with_capacity(batches.iter().map(|b| b.events.len()).sum());
    for ev in batches.into_iter().flat_map(|b| b.events) {
        match IgEvent::from_sync(ev) {
            Some(IgEvent::Typing {
                thread_id,
                user_id,
                active,
                ttl_ms,
            }) => {
                spawn_typing(bridge, user, thread_id, user_id, active, ttl_ms);
            }
            Some(e) => entries.push(ig_events::entry(&user.receiver(), &e)),
            None => {}
        }
    }
    let stored = match seq {
        Some(seq) => bridge
            .store
            .enqueue_with_cursor(user.pk, seq, now_ms(), &entries)
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
    let connection = match &state {
        ConnectionState::Connecting { .. } => Connection::Connecting,
        ConnectionState::Connected => Connection::Connected,
        ConnectionState::Disconnected { reason, .. } => {
            user.set_status(|s| s.last_error = Some(reason.clone()));
            Connection::Disconnected
        }
        ConnectionState::AuthFailed => Connection::NotAuthorized,
        ConnectionState::Refused { code } => Connection::Refused(*code),
        ConnectionState::Stopped => Connection::Stopped,
    };
    let text = connection.to_string();
    tracing::info!(user = user.mxid, state = text, "realtime connection");
    user.bridge_state.realtime(&state);
    if connection == Connection::Connected {
        // Before any event of this connection is stored (they come after this one).
        user.continuity.connected();
        bridge.recovery.instagram_connected();
    }
    user.set_status(|s| s.realtime = connection);
    let _ = bridge.store.set_connection_state(user.pk, &text).await;
    if matches!(state, ConnectionState::AuthFailed) {
        // Probe the HTTP session before declaring the user logged out.
        let probe = user.client.current_user().await;
        user.bridge_state.auth_probe(probe.as_ref().err());
        match probe {
            Err(e) if e.is_session_dead() => {
                // In a task of its own: stopping the user ends this very pump.
                let bridge = bridge.clone();
                let (mxid, pk) = (user.mxid.clone(), user.pk);
                let reason = e.user_message();
                tokio::spawn(async move {
                    session_lost(&bridge, &mxid, pk, &reason).await;
                });
            }
            _ => {}
        }
    }
}

fn spawn_typing(
    bridge: &Arc<Bridge>,
    user: &Arc<IgUser>,
    thread_id: ThreadId,
    sender: UserPk,
    active: bool,
    ttl_ms: Option<i64>,
) {
    if sender.get() == user.pk {
        return;
    }
    let bridge = bridge.clone();
    let login = user.receiver();
    tokio::spawn(async move {
        if let Err(e) =
            super::portal::ghost_typing(&bridge, &login, &thread_id, sender, active, ttl_ms).await
        {
            tracing::debug!("typing not bridged: {e}");
        }
    });
}

/// Reconnects every login with a stored session (at start-up).
pub async fn restore_all(bridge: &Arc<Bridge>) {
    let users = match bridge.store.logged_in_logins().await {
        Ok(u) => u,
        Err(e) => {
            tracing::error!("cannot list logged-in users: {e}");
            return;
        }
    };
    for row in users {
        let Some(session) = row.session.as_ref().map(crate::secret::Secret::expose) else {
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
        // Behind the account's proxy, or not at all: never directly instead.
        let proxy = match super::proxy::effective(bridge, &row.mxid).await {
            Ok(effective) => effective.proxy,
            Err(e) => {
                tracing::error!(user = row.mxid, "cannot reconnect to Instagram: {e}");
                let username = row.ig_username.as_deref().unwrap_or_default();
                (bridge.bridge_states.login(&row.receiver()))
                    .connecting(&row.mxid, row.ig_pk, username)
                    .failed(&e.to_string());
                continue;
            }
        };
        let config = bridge.http_config_with(proxy);
        let client = match InstagramClient::from_session_json(config, json) {
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

/// The session is gone on Instagram's side (password changed, logged out elsewhere): stop the
/// account, forget the login, and tell the user in the management room.
pub async fn session_lost(bridge: &Arc<Bridge>, mxid: &str, pk: i64, reason: &str) {
    let username = match bridge.accounts.remove(&pk) {
        Some((_, u)) => {
            u.stop().await;
            u.username.clone()
        }
        None => pk.to_string(),
    };
    if !bridge.has_login(mxid) {
        super::puppet::stop(bridge, mxid);
    }
    if let Err(e) = bridge.store.delete_login(pk).await {
        tracing::error!(user = mxid, "cannot record the logout: {e}");
    }
    tracing::warn!(user = mxid, "Instagram session lost: {reason}");
    if let Ok(Some(row)) = bridge.store.get_user(mxid).await
        && let Some(room) = row.management_room.as_deref()
        && let Ok(room) = RoomId::parse(room)
    {
        let _ = bridge
            .intents
            .bot()
            .send_notice(
                &room,
                &format!(
                    "You were logged out of Instagram as @{username}: {reason}\n\n\
                     Use `login` to log in again."
                ),
            )
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
