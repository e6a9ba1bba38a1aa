//! Moving a running account onto another proxy: a client on the same session with the new
//! settings, the account restarted with it (`account::start_user`, realtime connection
//! included), then one request to see whether Instagram answers through it. Used by the
//! `proxy` command and the provisioning API.

use std::sync::Arc;

use super::Bridge;
use super::user::IgUser;
use crate::instagram::http::InstagramClient;
use crate::instagram::proxy::ProxyUrl;

/// What moving a running account to another proxy gave.
#[derive(Debug)]
pub enum Switched {
    /// Not logged in: the next login uses the new proxy.
    NotLoggedIn,
    /// Restarted behind the new proxy, and Instagram answered through it.
    Working,
    /// Restarted behind the new proxy, which failed: the account keeps retrying through it.
    Failing(crate::instagram::Error),
    /// The account could not be restarted.
    NotRestarted(String),
}

/// Moves `mxid`'s running accounts (if any; the proxy is the user's, for all their logins)
/// onto `proxy`: a client on the same session with the new settings, the realtime connection
/// restarted through it, then one request to see whether Instagram answers. The first
/// account that did not work out says so.
pub async fn switch(bridge: &Arc<Bridge>, mxid: &str, proxy: Option<ProxyUrl>) -> Switched {
    let logins = bridge.logins_of(mxid);
    if logins.is_empty() {
        return Switched::NotLoggedIn;
    }
    let mut outcome = Switched::Working;
    for user in logins {
        let switched = switch_one(bridge, &user, proxy.clone()).await;
        if matches!(outcome, Switched::Working) {
            outcome = switched;
        }
    }
    outcome
}

async fn switch_one(bridge: &Arc<Bridge>, user: &IgUser, proxy: Option<ProxyUrl>) -> Switched {
    let session = user.client.session_json();
    let client = match InstagramClient::from_session_json(bridge.http_config_with(proxy), session) {
        Ok(c) => c,
        Err(e) => return Switched::NotRestarted(e.to_string()),
    };
    let (mxid, username) = (user.mxid.clone(), user.username.clone());
    tracing::info!(
        user = mxid,
        login = user.pk,
        proxy = %client.config().proxy.as_ref().map_or("none".into(), ToString::to_string),
        "restarting the Instagram account on its new proxy"
    );
    if let Err(e) = super::account::start_user(bridge, &mxid, client.clone(), username, false).await
    {
        return Switched::NotRestarted(e.to_string());
    }
    match client.current_user().await {
        Ok(_) => Switched::Working,
        Err(e) => Switched::Failing(e),
    }
}
