//! Moving a running account onto another proxy: a client on the same session with the new
//! settings, the account restarted with it (`account::start_user`, realtime connection
//! included), then one request to see whether Instagram answers through it. Used by the
//! `proxy` command and the provisioning API.

use std::sync::Arc;

use super::Bridge;
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

/// Moves `mxid`'s running account (if any) onto `proxy`: a client on the same session with
/// the new settings, the realtime connection restarted through it, then one request to see
/// whether Instagram answers.
pub async fn switch(bridge: &Arc<Bridge>, mxid: &str, proxy: Option<ProxyUrl>) -> Switched {
    let Some(user) = bridge.users.get(mxid).map(|u| u.clone()) else {
        return Switched::NotLoggedIn;
    };
    let session = user.client.session_json();
    let client = match InstagramClient::from_session_json(bridge.http_config_with(proxy), session) {
        Ok(c) => c,
        Err(e) => return Switched::NotRestarted(e.to_string()),
    };
    let username = user.username.clone();
    drop(user);
    tracing::info!(
        user = mxid,
        proxy = %client.config().proxy.as_ref().map_or("none".into(), ToString::to_string),
        "restarting the Instagram account on its new proxy"
    );
    if let Err(e) = super::account::start_user(bridge, mxid, client.clone(), username, false).await
    {
        return Switched::NotRestarted(e.to_string());
    }
    match client.current_user().await {
        Ok(_) => Switched::Working,
        Err(e) => Switched::Failing(e),
    }
}
