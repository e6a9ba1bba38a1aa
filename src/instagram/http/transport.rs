//! The HTTP transport: one `reqwest` client (connection pool, TLS, gzip) per distinct setting
//! (TLS, timeout, proxy), shared by every account that uses it: accounts behind one proxy
//! share one pool, accounts behind different proxies (or none) never share a connection.
//!
//! A client per account used to cost each account its own pool, TLS configuration and idle
//! connections. Nothing account-specific lives here: reqwest's cookie store is off, and each
//! request carries its own account's cookies and headers from that account's
//! [`super::Session`] (see `client.rs`), so sharing the pool shares no identity.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::config::HttpConfig;
use crate::instagram::Error;
use crate::instagram::proxy::ProxyUrl;

/// Idle connections kept per host, whatever the number of accounts.
const MAX_IDLE_PER_HOST: usize = 16;

/// What makes two transports differ.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    extra_ca: Option<PathBuf>,
    timeout: Duration,
    proxy: Option<ProxyUrl>,
}

/// The transport for `cfg`'s TLS and timeout settings, built on first use.
pub(crate) fn shared(cfg: &HttpConfig) -> Result<Arc<reqwest::Client>, Error> {
    static TRANSPORTS: OnceLock<Mutex<HashMap<Key, Arc<reqwest::Client>>>> = OnceLock::new();
    let key = Key {
        extra_ca: cfg.extra_ca.clone(),
        timeout: cfg.request_timeout,
        proxy: cfg.proxy.clone(),
    };
    let mut map = TRANSPORTS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(client) = map.get(&key) {
        return Ok(client.clone());
    }
    let client = Arc::new(build(&key)?);
    map.insert(key, client.clone());
    Ok(client)
}

fn build(key: &Key) -> Result<reqwest::Client, Error> {
    let tls = crate::tls::shared_client_config(key.extra_ca.as_deref())
        .map_err(|e| Error::Setup(e.to_string()))?;
    let mut builder = reqwest::Client::builder();
    if let Some(proxy) = &key.proxy {
        // Everything through it (no exceptions, loopback included); reqwest reads the user
        // name and password from the URL. Its error would quote the URL: not shown.
        let all = reqwest::Proxy::all(proxy.expose())
            .map_err(|_| Error::Setup(format!("reqwest does not take the proxy URL {proxy}")))?;
        builder = builder.proxy(all);
    }
    builder
        .tls_backend_preconfigured((*tls).clone())
        .timeout(key.timeout)
        .connect_timeout(key.timeout)
        .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
        .gzip(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Setup(e.to_string()))
}
