//! The bridge: the only part that knows both Matrix and Instagram.
//!
//! Intake (appservice transactions, later realtime batches) is written to the durable inbox;
//! [`dispatch`] drains it into one ordered actor per room, which apply events through
//! [`matrix_events`] and the bot's [`commands`].

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use dashmap::DashMap;

use ruma::{OwnedUserId, UserId};
use serde_json::Value;
use tokio::sync::Notify;

use crate::config::{Config, PermissionLevel};
use crate::instagram::http::HttpConfig;
use crate::instagram::realtime::RealtimeConfig;
use crate::matrix::Intents;
use crate::matrix::appservice::{AppserviceHandler, Transaction};
use crate::store::Store;
use crate::store::inbox::{NewInboxEntry, SOURCE_MATRIX};

pub mod account;
pub mod bridge_state;
pub mod catch_up;
pub mod chat_state;
pub mod chat_state_saved;
pub mod commands;
pub mod continuity;
pub mod conversation;
pub mod convert;
pub mod dispatch;
pub mod encryption;
pub mod error;
pub mod first_sync;
pub mod ghost;
pub mod held;
pub mod ig_events;
pub mod items;
pub mod login_choice;
pub mod login_steps;
pub mod matrix_events;
pub mod media;
pub mod outcome;
pub mod outgoing;

pub mod portal;
pub mod presence;
pub mod provisioning;
pub mod proxy;
pub mod proxy_switch;
pub mod puppet;
pub mod recovery;
pub mod status;
pub mod sync;
pub mod user;

#[cfg(test)]
mod test_support;

/// Everything the bridge's workers share.
pub struct Bridge {
    pub config: Arc<Config>,
    pub store: Store,
    pub intents: Intents,
    pub bot: OwnedUserId,
    /// Woken whenever new rows enter the inbox.
    pub inbox_wake: Notify,
    /// This process's name in conversation claims. Stable across restarts (the appservice id),
    /// so that a process killed with its claims held takes them back at once when it starts
    /// again; several processes on one database would each need a name of their own.
    pub instance: String,
    /// Wakes conversations paused by a transient failure when the far side is back.
    pub recovery: Arc<recovery::Recovery>,
    /// Delivery reports waiting to be sent (see [`status`]).
    pub reports: status::Reports,
    /// The bridge's and each login's state (see [`bridge_state`]).
    pub bridge_states: bridge_state::BridgeStates,
    pub metrics: crate::metrics::Metrics,
    /// How Instagram clients are built.
    pub ig_http: HttpConfig,
    pub ig_realtime: RealtimeConfig,
    /// Running logins (Instagram accounts) by login id, the account's pk. A Matrix user may
    /// have several (see [`login_choice`]).
    pub accounts: DashMap<i64, Arc<user::IgUser>>,
    /// Login flows in progress by Matrix id.
    pub logins: tokio::sync::Mutex<HashMap<String, commands::login::LoginFlow>>,
    /// The content of inbox events that may carry a secret, kept out of the database.
    pub held: held::HeldSecrets,
    /// First syncs after a login whose end the user is waiting to hear about.
    pub first_syncs: first_sync::FirstSyncs,
    /// The users the bridge acts as (double puppeting, see [`puppet`]).
    pub puppets: puppet::Puppets,
    /// Mute, unread, low priority and favourite as each side has them (see [`chat_state`]).
    pub chat_states: chat_state::ChatStates,
    /// Presence last set for ghosts and sent for users (see [`presence`]).
    pub presences: presence::Presences,
    /// Whether new rooms give their creator implicit top power (room version 12+), so the
    /// bot must not be listed in `m.room.power_levels`. Learned from the homeserver.
    pub creators_implicit: std::sync::atomic::AtomicBool,
    /// The ffmpeg for media conversion, looked up on first use ([`Bridge::ffmpeg`]).
    ffmpeg: tokio::sync::OnceCell<Option<crate::media::Ffmpeg>>,
    me: Weak<Bridge>,
}

impl Bridge {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        intents: Intents,
        metrics: crate::metrics::Metrics,
    ) -> Arc<Self> {
        let bot = intents.client().bot().to_owned();
        let mut ig_http = http_config(&config);
        let errors = metrics.instagram_errors.clone();
        ig_http.on_error = Some(crate::instagram::http::config::ErrorHook(Arc::new(
            move |e| errors.with_label_values(&[e.kind()]).inc(),
        )));
        let bridge_states = bridge_state::BridgeStates::new(&config, metrics.clone());
        let ig_realtime = realtime_config(&config);
        let instance = config.appservice.id.clone();
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            config,
            store,
            intents,
            bot,
            inbox_wake: Notify::new(),
            instance,
            recovery: Arc::default(),
            reports: status::Reports::default(),
            bridge_states,
            metrics,
            ig_http,
            ig_realtime,
            accounts: DashMap::new(),
            logins: tokio::sync::Mutex::new(HashMap::new()),
            held: held::HeldSecrets::default(),
            first_syncs: first_sync::FirstSyncs::default(),
            puppets: puppet::Puppets::default(),
            chat_states: chat_state::ChatStates::default(),
            presences: presence::Presences::default(),
            creators_implicit: std::sync::atomic::AtomicBool::new(true),
            ffmpeg: tokio::sync::OnceCell::new(),
        })
    }

    /// The permission level of a Matrix user, if any.
    pub fn permission(&self, user: &UserId) -> Option<PermissionLevel> {
        self.config.permission_level(user.as_str())
    }

    /// Whether the user id belongs to the bridge (the bot or a ghost).
    pub fn is_bridge_user(&self, user: &str) -> bool {
        user == self.bot.as_str() || self.ghost_pk(user).is_some()
    }

    /// The Instagram pk of a ghost user id, if it is one.
    pub fn ghost_pk(&self, user: &str) -> Option<i64> {
        self.config.ghosts().pk_of(user)
    }
}

async fn apply_ephemeral(bridge: &Arc<Bridge>, event: &Value) {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind == "m.presence" {
        return presence::to_instagram(bridge, event).await;
    }
    let Some(room) = event.get("room_id").and_then(Value::as_str) else {
        return;
    };
    match kind {
        "m.typing" => {
            let users: Vec<String> = event
                .get("content")
                .and_then(|c| c.get("user_ids"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            outgoing::typing(bridge, room, &users).await;
        }
        "m.receipt" => {
            if let Some(content) = event.get("content") {
                outgoing::receipt(bridge, room, content).await;
            }
        }
        _ => {}
    }
}

/// The key that orders a Matrix event: its room.
fn matrix_portal_key(event: &Value) -> String {
    event
        .get("room_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl AppserviceHandler for Bridge {
    type Error = encryption::RecordError;

    async fn record_transaction(&self, txn: Transaction) -> Result<bool, Self::Error> {
        self.metrics.transactions.inc();
        encryption::receive(self, &txn).await?;
        let mut entries = Vec::with_capacity(txn.events.len());
        for event in &txn.events {
            if matrix_events::ignored_at_intake(self, event) {
                continue;
            }
            // A secret never reaches the database: its content waits in memory.
            let payload = if held::may_carry_secret(self, event).await {
                held::keep_out(self, event).to_string()
            } else {
                event.to_string()
            };
            entries.push(NewInboxEntry {
                source: SOURCE_MATRIX.into(),
                portal_key: matrix_portal_key(event),
                receiver: event
                    .get("sender")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                payload,
            });
        }
        // Typing and receipts are not durable: applied at once, in the background.
        if !txn.ephemeral.is_empty()
            && let Some(bridge) = self.me.upgrade()
        {
            let ephemeral = txn.ephemeral.clone();
            tokio::spawn(async move {
                for event in ephemeral {
                    apply_ephemeral(&bridge, &event).await;
                }
            });
        }
        // Nothing durable (the homeserver handing back the bridge's own sends): nothing to
        // write, and a replay of it would find nothing to do either.
        if entries.is_empty() {
            return Ok(true);
        }
        match self.store.record_transaction(&txn.txn_id, &entries).await {
            Ok(Some(_)) => {
                self.inbox_wake.notify_one();
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn query_user(&self, user_id: &str) -> bool {
        let Some(pk) = self.ghost_pk(user_id) else {
            return false;
        };
        match self.store.get_ghost(pk).await {
            Ok(Some(_)) => {
                let Ok(user) = UserId::parse(user_id) else {
                    return false;
                };
                self.intents.user(user).ensure_registered().await.is_ok()
            }
            _ => false,
        }
    }

    async fn query_room_alias(&self, _alias: &str) -> bool {
        false
    }
}

/// The Instagram HTTP client settings from the config.
pub fn http_config(config: &Config) -> HttpConfig {
    let ig = &config.instagram;
    HttpConfig {
        api_base: ig.api_base_url.to_string(),
        upload_base: ig.upload_base_url.to_string(),
        version: crate::instagram::http::config::AppVersion {
            app_version: ig.app_version.clone(),
            version_code: ig.version_code.clone(),
            bloks_version_id: ig.bloks_version_id.clone(),
        },
        min_request_gap: Duration::from_millis(ig.min_request_gap_ms),
        request_burst: ig.request_burst,
        // One retry policy: a failed request goes back to the conversation's worker, which
        // pauses and tries again (waiting out a rate limit as long as Instagram asks).
        max_retries: 0,
        max_rate_limit_retries: 0,
        extra_ca: ig.extra_ca_file.clone(),
        ..HttpConfig::default()
    }
}

/// The realtime client settings from the config.
pub fn realtime_config(config: &Config) -> RealtimeConfig {
    let mqtt = &config.instagram.mqtt;
    RealtimeConfig {
        host: mqtt.host.clone(),
        port: mqtt.port,
        tls: mqtt.tls,
        extra_ca: config.instagram.extra_ca_file.clone(),
        keepalive: Duration::from_secs(u64::from(mqtt.keepalive)),
        ..RealtimeConfig::default()
    }
}
