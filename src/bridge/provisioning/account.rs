//! `whoami` (the bridge and every login of the user) and `logout/{login|all}`.

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
    let logins: Vec<Value> = bridge
        .logins_of(mxid)
        .iter()
        .map(|u| {
            let state = bridge
                .bridge_states
                .current(&u.receiver())
                .and_then(|s| serde_json::to_value(s).ok())
                .unwrap_or_else(|| {
                    json!({"state_event": "CONNECTING",
                           "timestamp": crate::store::now_ms() / 1000})
                });
            json!({
                "id": u.receiver(),
                "name": u.username,
                "state": state,
                "profile": {"username": u.username},
            })
        })
        .collect();
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

/// Logs out the login `login` (its id), or every login of the user with `all`.
pub async fn logout(prov: &Provisioning, mxid: &str, login: &str) -> Result<Value, ProvError> {
    let targets: Vec<i64> = match login {
        "all" => prov.bridge.logins_of(mxid).iter().map(|u| u.pk).collect(),
        id => id.parse().ok().into_iter().collect(),
    };
    let mut any = false;
    for pk in targets {
        any |= login_steps::logout(&prov.bridge, mxid, pk).await?;
    }
    if !any {
        return Err(ProvError::NotFound("Login not found".into()));
    }
    Ok(json!({}))
}
