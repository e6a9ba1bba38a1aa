//! Presence, both ways and both off by default (`bridge.presence`): a contact's Instagram
//! activity status (realtime presence events, and `direct_v2/get_presence/` when an account
//! starts) is their ghost's Matrix presence; the user's own Matrix presence is their
//! Instagram foreground state (what shows them active), never sent unless enabled.

use std::sync::Arc;

use dashmap::DashMap;
use serde_json::Value;

use super::Bridge;
use super::ghost;
use super::user::IgUser;

/// The presence last set for each ghost, and last sent for each user.
#[derive(Default)]
pub struct Presences {
    ghosts: DashMap<i64, bool>,
    users: DashMap<String, bool>,
}

/// Whether `online` is news for the ghost of `pk` (and remembers it).
fn ghost_changed(presences: &Presences, pk: i64, online: bool) -> bool {
    presences.ghosts.insert(pk, online) != Some(online)
}

/// A contact's activity status from Instagram → their ghost's presence.
pub async fn from_instagram(bridge: &Bridge, user: &IgUser, pk: i64, active: bool) {
    if !bridge.config.bridge.presence.from_instagram || pk == user.pk {
        return;
    }
    if !ghost_changed(&bridge.presences, pk, active) {
        return;
    }
    let result = match ghost::ghost_intent(bridge, pk) {
        Ok(intent) => intent.set_presence(active).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        bridge.presences.ghosts.remove(&pk);
        tracing::warn!(ghost = pk, "cannot set the ghost's presence: {e}");
    }
}

/// When an account starts: its contacts' presence as Instagram has it now, and the user's
/// own as the homeserver has it (it changed before the account ran, so no `m.presence` event
/// will say it again).
pub fn poll(bridge: &Arc<Bridge>, user: &Arc<IgUser>) {
    let config = bridge.config.bridge.presence;
    if config.to_instagram {
        let (bridge, user) = (bridge.clone(), user.clone());
        tokio::spawn(async move {
            let Ok(mxid) = ruma::UserId::parse(user.mxid.as_str()) else {
                return;
            };
            // The bot sees the user's presence: they share the management room.
            match bridge.intents.bot().is_online(&mxid).await {
                Ok(online) => set_own(&bridge, &user, online).await,
                Err(e) => tracing::debug!(user = user.mxid, "cannot read the user's presence: {e}"),
            }
        });
    }
    if !config.from_instagram {
        return;
    }
    let (bridge, user) = (bridge.clone(), user.clone());
    tokio::spawn(async move {
        let presence = match user.client.presence().await {
            Ok(p) => p,
            Err(e) => return tracing::warn!(user = user.mxid, "cannot read presence: {e}"),
        };
        for (pk, p) in presence {
            if let Ok(pk) = pk.parse::<i64>() {
                from_instagram(&bridge, &user, pk, p.is_active).await;
            }
        }
    });
}

/// The user's own presence → their foreground state on Instagram, when it changed.
async fn set_own(bridge: &Bridge, user: &IgUser, online: bool) {
    let users = &bridge.presences.users;
    if users.insert(user.receiver(), online) == Some(online) {
        return;
    }
    if !user.set_active(online).await {
        users.remove(&user.receiver());
        tracing::debug!(
            user = user.mxid,
            "presence not sent: no realtime connection"
        );
    }
}

/// An `m.presence` event from the homeserver: a logged-in user's own presence, sent to
/// Instagram as their foreground state when `to_instagram` is on.
pub async fn to_instagram(bridge: &Bridge, event: &Value) {
    if !bridge.config.bridge.presence.to_instagram {
        return;
    }
    let Some(sender) = event.get("sender").and_then(Value::as_str) else {
        return;
    };
    let online = event["content"]["presence"].as_str() == Some("online");
    for user in bridge.logins_of(sender) {
        set_own(bridge, &user, online).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_of_a_ghosts_presence_are_news() {
        let p = Presences::default();
        assert!(ghost_changed(&p, 1, true));
        assert!(!ghost_changed(&p, 1, true));
        assert!(ghost_changed(&p, 1, false));
        assert!(ghost_changed(&p, 2, false));
    }
}
