//! The bridge: the only part that knows both Matrix and Instagram.
//!
//! Intake (appservice transactions, later realtime batches) is written to the durable inbox;
//! [`dispatch`] drains it into one ordered actor per room, which apply events through
//! [`matrix_events`] and the bot's [`commands`].

use std::sync::Arc;

use ruma::{OwnedUserId, UserId};
use serde_json::Value;
use tokio::sync::Notify;

use crate::config::{Config, PermissionLevel};
use crate::matrix::Intents;
use crate::matrix::appservice::{AppserviceHandler, Transaction};
use crate::store::Store;
use crate::store::inbox::{NewInboxEntry, SOURCE_MATRIX};

pub mod commands;
pub mod convert;
pub mod dispatch;
pub mod matrix_events;

/// Everything the bridge's workers share.
pub struct Bridge {
    pub config: Arc<Config>,
    pub store: Store,
    pub intents: Intents,
    pub bot: OwnedUserId,
    /// Woken whenever new rows enter the inbox.
    pub inbox_wake: Notify,
    pub metrics: crate::metrics::Metrics,
}

impl Bridge {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        intents: Intents,
        metrics: crate::metrics::Metrics,
    ) -> Arc<Self> {
        let bot = intents.client().bot().to_owned();
        Arc::new(Self {
            config,
            store,
            intents,
            bot,
            inbox_wake: Notify::new(),
            metrics,
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
        let (localpart, server) = user.strip_prefix('@')?.split_once(':')?;
        if server != self.config.homeserver.domain {
            return None;
        }
        let template = &self.config.bridge.username_template;
        let (before, after) = template.split_once("{userid}")?;
        let id = localpart.strip_prefix(before)?.strip_suffix(after)?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        id.parse().ok()
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
    async fn record_transaction(&self, txn: Transaction) -> Result<bool, String> {
        self.metrics.transactions.inc();
        let entries: Vec<NewInboxEntry> = txn
            .events
            .iter()
            .map(|event| NewInboxEntry {
                source: SOURCE_MATRIX.into(),
                portal_key: matrix_portal_key(event),
                receiver: event
                    .get("sender")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                payload: event.to_string(),
            })
            .collect();
        for event in &txn.ephemeral {
            // Typing, receipts and presence are not durable; the Instagram side of the bridge
            // consumes them once portals exist.
            let kind = event.get("type").and_then(|t| t.as_str()).unwrap_or("?");
            tracing::trace!(kind, "ephemeral event");
        }
        match self.store.record_transaction(&txn.txn_id, &entries).await {
            Ok(Some(_)) => {
                self.inbox_wake.notify_one();
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(e.to_string()),
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
