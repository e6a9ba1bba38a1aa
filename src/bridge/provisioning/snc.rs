//! Starting chats: `search_users`, `resolve_identifier/{username}`, `create_dm/{username}`
//! and `contacts` (the people of the user's recent one-to-one chats), for the logged-in user.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::error::ProvError;
use super::{Params, Provisioning};
use crate::bridge::ig_events::{self, IgEvent};
use crate::bridge::user::IgUser;
use crate::bridge::{ghost, portal};
use crate::instagram::http::InboxKind;
use crate::instagram::ids::UserPk;
use crate::instagram::types::User;

/// How long `create_dm` waits for the chat's room.
const ROOM_WAIT: Duration = Duration::from_secs(60);

/// The user's login: the one `login_id` names, else the preferred one.
async fn login(prov: &Provisioning, mxid: &str, params: &Params) -> Result<Arc<IgUser>, ProvError> {
    let user = match params.login_id.as_deref() {
        Some(id) => prov
            .bridge
            .account_of_receiver(id)
            .filter(|u| u.mxid == mxid),
        None => prov.bridge.preferred_login(mxid).await,
    };
    user.ok_or_else(|| ProvError::NotFound("Login not found".into()))
}

fn resolved(prov: &Provisioning, user: &User) -> Value {
    json!({
        "id": user.pk.get().to_string(),
        "name": user.full_name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&user.username),
        "identifiers": [format!("instagram:{}", user.username)],
        "mxid": ghost::ghost_user_id(&prov.bridge, user.pk.get()),
    })
}

pub async fn search(
    prov: &Provisioning,
    mxid: &str,
    params: &Params,
    query: &str,
) -> Result<Value, ProvError> {
    let u = login(prov, mxid, params).await?;
    if query.trim().is_empty() {
        return Err(ProvError::BadJson("query is required".into()));
    }
    let users = u
        .client
        .search_users(query.trim(), 10)
        .await
        .map_err(|e| ProvError::instagram(&e))?;
    let results: Vec<Value> = users.iter().map(|x| resolved(prov, x)).collect();
    Ok(json!({"results": results}))
}

async fn lookup(u: &IgUser, identifier: &str) -> Result<User, ProvError> {
    let username = identifier.trim().trim_start_matches('@');
    let username = username.strip_prefix("instagram:").unwrap_or(username);
    if username.is_empty() {
        return Err(ProvError::BadJson("a username is required".into()));
    }
    u.client
        .user_by_username(username)
        .await
        .map_err(|e| ProvError::instagram(&e))
}

pub async fn resolve(
    prov: &Provisioning,
    mxid: &str,
    params: &Params,
    identifier: &str,
) -> Result<Value, ProvError> {
    let u = login(prov, mxid, params).await?;
    let user = lookup(&u, identifier).await?;
    let mut answer = resolved(prov, &user);
    if let Ok(thread) = u.client.thread_by_participants(&[user.pk]).await
        && let Some(room) =
            portal::find_portal(&prov.bridge, &thread.thread_id.to_string(), &u.receiver())
                .await?
                .and_then(|p| p.room_id)
    {
        answer["dm_room_mxid"] = json!(room);
    }
    Ok(answer)
}

/// Opens the one-to-one chat (its room is made by the thread's worker) and waits for its room.
pub async fn create_dm(
    prov: &Provisioning,
    mxid: &str,
    params: &Params,
    identifier: &str,
) -> Result<Value, ProvError> {
    let u = login(prov, mxid, params).await?;
    let user = lookup(&u, identifier).await?;
    let thread = u
        .client
        .thread_by_participants(&[UserPk(user.pk.get())])
        .await
        .map_err(|e| ProvError::instagram(&e))?;
    let thread_id = thread.thread_id.to_string();
    let bridge = &prov.bridge;
    let receiver = u.receiver();
    let receiver = receiver.as_str();
    let room = |thread_id: String| async move {
        portal::find_portal(bridge, &thread_id, receiver)
            .await
            .map(|p| p.and_then(|p| p.room_id))
    };
    if room(thread_id.clone()).await?.is_none() {
        let entry = ig_events::entry(
            receiver,
            &IgEvent::SyncThread {
                thread_id: thread.thread_id.clone(),
            },
        );
        bridge.store.enqueue(&[entry]).await?;
        bridge.inbox_wake.notify_one();
    }
    let deadline = Instant::now() + ROOM_WAIT;
    loop {
        if let Some(room) = room(thread_id.clone()).await? {
            let mut answer = resolved(prov, &user);
            answer["dm_room_mxid"] = json!(room);
            return Ok(answer);
        }
        if Instant::now() > deadline {
            return Err(ProvError::Internal(
                "The chat's room was not created in time; it will come as an invite".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn contacts(
    prov: &Provisioning,
    mxid: &str,
    params: &Params,
) -> Result<Value, ProvError> {
    let u = login(prov, mxid, params).await?;
    let (threads, _, _) = u
        .client
        .inbox_threads(InboxKind::Main, 50)
        .await
        .map_err(|e| ProvError::instagram(&e))?;
    let mut seen = std::collections::HashSet::new();
    let contacts: Vec<Value> = threads
        .iter()
        .filter(|t| !t.is_group.unwrap_or(false) && t.users.len() == 1)
        .flat_map(|t| t.users.iter())
        .filter(|user| user.pk.get() != u.pk && seen.insert(user.pk.get()))
        .map(|user| resolved(prov, user))
        .collect();
    Ok(json!({"contacts": contacts}))
}
