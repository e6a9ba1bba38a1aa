//! `whoami` (the bridge and the user's login) and `logout/{login|all}`.

use serde_json::{Value, json};

use super::Provisioning;
use super::error::ProvError;
use super::steps;
use crate::bridge::login_steps;

pub async fn whoami(prov: &Provisioning, mxid: &str) -> Result<Value, ProvError> {
    let bridge = &prov.bridge;
    let management_room = bridge
        .store
        .get_user(mxid)
        .await?
        .and_then(|row| row.management_room);
    let logins: Vec<Value> = match bridge.users.get(mxid) {
        None => vec![],
        Some(u) => {
            let state = bridge
                .bridge_states
                .current(mxid)
                .and_then(|s| serde_json::to_value(s).ok())
                .unwrap_or_else(|| {
                    json!({"state_event": "CONNECTING",
                           "timestamp": crate::store::now_ms() / 1000})
                });
            vec![json!({
                "id": u.pk.to_string(),
                "name": u.username,
                "state": state,
                "profile": {"username": u.username},
            })]
        }
    };
    let mut answer = json!({
        "network": {
            "displayname": "Instagram",
            "network_url": "https://www.instagram.com",
            "network_icon": "",
            "network_id": "instagram",
            "beeper_bridge_type": "instagram",
        },
        "login_flows": steps::flows(),
        "homeserver": bridge.config.homeserver.domain,
        "bridge_bot": bridge.bot.as_str(),
        "command_prefix": bridge.config.bridge.command_prefix,
        "logins": logins,
    });
    if let Some(room) = management_room {
        answer["management_room"] = json!(room);
    }
    Ok(answer)
}

pub async fn logout(prov: &Provisioning, mxid: &str, login: &str) -> Result<Value, ProvError> {
    let current = prov.bridge.users.get(mxid).map(|u| u.pk.to_string());
    if current.is_none() || (login != "all" && current.as_deref() != Some(login)) {
        return Err(ProvError::NotFound("Login not found".into()));
    }
    if !login_steps::logout(&prov.bridge, mxid).await? {
        return Err(ProvError::NotFound("Login not found".into()));
    }
    Ok(json!({}))
}
