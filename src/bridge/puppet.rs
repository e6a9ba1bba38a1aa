//! Double puppeting as the bridge uses it: which users it acts as, and the hooks that make
//! what a user does on Instagram themselves (from the app on their phone) appear as them —
//! their messages, edits, reactions, unsends and reads — and their portals joined and listed
//! in `m.direct` without invites to accept.
//!
//! A user's puppet is set up when their account starts: with the stored `login-matrix` token,
//! else with the double-puppet appservice token of their server (`double_puppet.secrets`). A
//! token the homeserver stops accepting turns the puppet off with a notice; the event that
//! met it is tried again as the ghost, so nothing is lost.

use std::sync::Arc;

use dashmap::{DashMap, DashSet};
use ruma::{EventId, OwnedUserId, RoomId, UserId};

use super::Bridge;
use super::error::{ApplyError, Side};
use super::user::IgUser;
use crate::matrix::double_puppet::{self, Credential, PuppetError};
use crate::matrix::{Intent, MatrixError};
use crate::store::double_puppets::DoublePuppetRow;
use crate::store::portals::PortalRow;

/// The value of `fi.mau.double_puppet_source` in events the bridge sends as a user.
pub const SOURCE: &str = "matrix-instagram";

/// The users the bridge acts as in this run.
#[derive(Default)]
pub struct Puppets {
    intents: DashMap<String, Intent>,
    /// (room, event) read receipts set as a user, whose echo must not go back to Instagram.
    own_receipts: DashSet<(String, String)>,
}

/// The user's double puppet, if they have one.
pub fn intent(bridge: &Bridge, mxid: &str) -> Option<Intent> {
    bridge.puppets.intents.get(mxid).map(|i| i.clone())
}

/// The intent for something `sender_pk` did in `portal`, when that is a bridge user with a
/// double puppet (`None`: the ghost acts): the user themselves, or, in a group (shared by
/// every bridge user in it), another logged-in user of the bridge. A DM room is one user's, so
/// another user's puppet never speaks there.
pub fn own(bridge: &Bridge, user: &IgUser, portal: &PortalRow, sender_pk: i64) -> Option<Intent> {
    if sender_pk == user.pk {
        return intent(bridge, &user.mxid);
    }
    if !portal.is_group {
        return None;
    }
    let other = bridge.account(sender_pk)?.mxid.clone();
    intent(bridge, &other)
}

/// The homeserver URL of a user's server: `None` for the bridge's own, the configured or
/// discovered one for others.
async fn base_url(bridge: &Bridge, user: &UserId) -> Result<Option<String>, PuppetError> {
    let server = user.server_name().as_str();
    let config = &bridge.config.double_puppet;
    if server == bridge.config.homeserver.domain {
        return Ok(None);
    }
    if let Some(url) = config.servers.get(server) {
        return Ok(Some(url.as_str().trim_end_matches('/').to_string()));
    }
    if config.allow_discovery {
        return double_puppet::discover(server).await.map(Some);
    }
    Err(PuppetError::Discovery {
        server: server.to_string(),
        reason: "it is not in double_puppet.servers".into(),
    })
}

/// Sets up the user's puppet when their account starts (login or restore): with their
/// `login-matrix` token, else their server's appservice token. Quiet when neither exists.
pub async fn start(bridge: &Arc<Bridge>, mxid: &str) {
    let Ok(user_id) = UserId::parse(mxid) else {
        return;
    };
    let stored = match bridge.store.get_double_puppet(mxid).await {
        Ok(row) => row,
        Err(e) => {
            tracing::warn!(user = mxid, "cannot read the double puppet: {e}");
            return;
        }
    };
    let server = user_id.server_name().as_str();
    let (credential, base) = match &stored {
        Some(DoublePuppetRow {
            access_token: Some(token),
            base_url,
            ..
        }) => (Credential::AccessToken(token.clone()), base_url.clone()),
        _ => match bridge.config.double_puppet.as_token(server) {
            Some(token) => match base_url(bridge, &user_id).await {
                Ok(base) => (Credential::AppserviceToken(token), base),
                Err(e) => return tell(bridge, mxid, &off_because(&e)).await,
            },
            None => return,
        },
    };
    match double_puppet::login(
        &bridge.intents,
        &user_id,
        base.as_deref(),
        &credential,
        SOURCE,
    )
    .await
    {
        Ok(intent) => {
            if stored.is_none()
                && let Err(e) = bridge
                    .store
                    .upsert_double_puppet(&DoublePuppetRow {
                        mxid: mxid.to_string(),
                        access_token: None,
                        base_url: base,
                    })
                    .await
            {
                tracing::warn!(user = mxid, "cannot record the double puppet: {e}");
            }
            tracing::info!(user = mxid, "double puppeting on");
            bridge.puppets.intents.insert(mxid.to_string(), intent);
            if stored.is_none() {
                join_existing(bridge, mxid);
            }
        }
        // The homeserver is not reachable now: act on the token anyway; a dead one is caught
        // when first used.
        Err(PuppetError::Matrix(e))
            if matches!(ApplyError::from(e.clone()), ApplyError::Transient { .. }) =>
        {
            tracing::warn!(user = mxid, "double puppet not checked ({e}); using it");
            let client = puppet_client(bridge, base.as_deref(), &credential);
            let intent = bridge.intents.puppet(user_id.clone(), client, SOURCE);
            bridge.puppets.intents.insert(mxid.to_string(), intent);
        }
        Err(e) => {
            if matches!(credential, Credential::AccessToken(_)) {
                let _ = bridge.store.delete_double_puppet(mxid).await;
            }
            tell(bridge, mxid, &off_because(&e)).await;
        }
    }
}

fn puppet_client(
    bridge: &Bridge,
    base: Option<&str>,
    credential: &Credential,
) -> crate::matrix::HomeserverClient {
    use crate::matrix::client::TokenKind;
    let (token, kind) = match credential {
        Credential::AppserviceToken(t) => (t.clone(), TokenKind::PuppetAppservice),
        Credential::AccessToken(t) => (t.clone(), TokenKind::UserAccess),
    };
    bridge.intents.client().with_token(base, token, kind)
}

fn off_because(e: &PuppetError) -> String {
    format!(
        "Double puppeting is off: {e}. Your own Instagram messages will appear from your \
         Instagram ghost. Use `login-matrix <access token>` to turn it on."
    )
}

/// Why `login-matrix` did not turn double puppeting on.
#[derive(Debug, thiserror::Error)]
pub enum LoginMatrixError {
    #[error(transparent)]
    Puppet(#[from] PuppetError),
    #[error("the bridge's database failed: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// `login-matrix <token>`: the user's own access token, checked with `whoami` and stored.
pub async fn login_with_token(
    bridge: &Arc<Bridge>,
    user: &UserId,
    token: &str,
) -> Result<(), LoginMatrixError> {
    let base = base_url(bridge, user).await?;
    let credential = Credential::AccessToken(token.into());
    let intent =
        double_puppet::login(&bridge.intents, user, base.as_deref(), &credential, SOURCE).await?;
    bridge
        .store
        .upsert_double_puppet(&DoublePuppetRow {
            mxid: user.to_string(),
            access_token: Some(token.into()),
            base_url: base,
        })
        .await?;
    bridge.puppets.intents.insert(user.to_string(), intent);
    join_existing(bridge, user.as_str());
    Ok(())
}

/// `logout-matrix`: forgets the user's puppet (and stored token). False when there was none.
pub async fn logout(bridge: &Bridge, mxid: &str) -> Result<bool, ApplyError> {
    let had = bridge.puppets.intents.remove(mxid).is_some();
    let stored = bridge.store.delete_double_puppet(mxid).await?;
    Ok(had || stored)
}

/// Stops acting as the user for this run (an Instagram logout); what is stored stays for the
/// next login.
pub fn stop(bridge: &Bridge, mxid: &str) {
    bridge.puppets.intents.remove(mxid);
}

/// The error of a send by `intent`. A dead puppet token turns the puppet off (with a notice)
/// and becomes a transient failure, so the event is tried again, as the ghost.
pub async fn send_failed(bridge: &Bridge, intent: &Intent, e: MatrixError) -> ApplyError {
    if !(intent.is_puppet() && double_puppet::is_dead_token(&e)) {
        return e.into();
    }
    let mxid = intent.user_id().as_str();
    tracing::warn!(user = mxid, "the double puppet's token is dead: {e}");
    bridge.puppets.intents.remove(mxid);
    if let Ok(Some(row)) = bridge.store.get_double_puppet(mxid).await
        && row.access_token.is_some()
    {
        let _ = bridge.store.delete_double_puppet(mxid).await;
    }
    tell(
        bridge,
        mxid,
        "The homeserver no longer accepts the token the bridge used to act as you, so \
         double puppeting is off: your own Instagram messages appear from your Instagram \
         ghost again. Use `login-matrix <access token>` to turn it back on.",
    )
    .await;
    ApplyError::transient(
        Side::Homeserver,
        "double puppet token dead; retrying as the ghost",
    )
}

/// After a portal's room exists (or the user is invited to a group's): the puppet joins it,
/// and a DM is listed in the user's `m.direct` under the contact's ghost.
pub async fn join_portal(bridge: &Bridge, mxid: &str, room: &RoomId, dm_with: Option<&str>) {
    let Some(intent) = intent(bridge, mxid) else {
        return;
    };
    if let Err(e) = intent.ensure_joined(room).await {
        tracing::warn!(user = mxid, %room, "the double puppet cannot join the portal: {e}");
        return;
    }
    if let Some(other) = dm_with.and_then(|o| OwnedUserId::try_from(o).ok())
        && let Err(e) = intent.add_direct_chat(&other, room).await
    {
        tracing::warn!(user = mxid, %room, "cannot add the portal to m.direct: {e}");
    }
}

/// Double puppeting just turned on for the user: the portals they already have (their DMs,
/// and the groups they are a member of) are joined as them and their DMs listed in
/// `m.direct`, so the invites sent before need no accepting. Best effort, in the background.
pub fn join_existing(bridge: &Arc<Bridge>, mxid: &str) {
    let (bridge, mxid) = (bridge.clone(), mxid.to_owned());
    tokio::spawn(async move {
        let logins = match bridge.store.logins_of(&mxid).await {
            Ok(logins) => logins,
            Err(e) => return tracing::warn!(user = mxid, "cannot list the user's logins: {e}"),
        };
        let mut portals = Vec::new();
        for login in logins {
            match bridge.store.portals_of_receiver(&login.receiver()).await {
                Ok(dms) => portals.extend(dms),
                Err(e) => {
                    return tracing::warn!(user = mxid, "cannot list the user's portals: {e}");
                }
            }
        }
        portals.extend(
            bridge
                .store
                .portals_of_receiver("")
                .await
                .unwrap_or_default(),
        );
        for portal in portals {
            let Some(room) = portal
                .room_id
                .as_deref()
                .and_then(|r| RoomId::parse(r).ok())
            else {
                continue;
            };
            let members = bridge
                .store
                .thread_members(&portal.thread_id)
                .await
                .unwrap_or_default();
            if portal.is_group && !members.iter().any(|m| m.mxid == mxid) {
                continue; // a group this user is not in
            }
            let other = (!portal.is_group)
                .then(|| members.iter().find(|m| m.mxid != mxid))
                .flatten()
                .map(|m| m.mxid.clone());
            join_portal(&bridge, &mxid, &room, other.as_deref()).await;
        }
    });
}

/// Instagram says the user read the thread up to `event` (from their phone): their `m.read`.
pub async fn read_up_to(
    bridge: &Bridge,
    user: &IgUser,
    room: &RoomId,
    event: &EventId,
) -> Result<(), ApplyError> {
    let Some(intent) = intent(bridge, &user.mxid) else {
        return Ok(());
    };
    let key = (room.to_string(), event.to_string());
    bridge.puppets.own_receipts.insert(key.clone());
    if let Err(e) = intent.read_receipt(room, event).await {
        bridge.puppets.own_receipts.remove(&key);
        return Err(send_failed(bridge, &intent, e).await);
    }
    Ok(())
}

/// Whether a Matrix read receipt is the echo of one set by [`read_up_to`] (then forgotten).
pub fn is_own_receipt(bridge: &Bridge, room: &str, event: &str) -> bool {
    bridge
        .puppets
        .own_receipts
        .remove(&(room.to_string(), event.to_string()))
        .is_some()
}

/// A notice in the user's management room.
async fn tell(bridge: &Bridge, mxid: &str, text: &str) {
    if let Ok(Some(row)) = bridge.store.get_user(mxid).await
        && let Some(room) = row.management_room.as_deref()
        && let Ok(room) = RoomId::parse(room)
        && let Err(e) = bridge.intents.bot().send_notice(&room, text).await
    {
        tracing::warn!(user = mxid, "cannot tell about double puppeting: {e}");
    }
}
