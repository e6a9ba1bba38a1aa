//! Each account's proxy: which one applies (the user's own choice, stored in `users.proxy`,
//! else the config's `instagram.proxy`), and the client settings that carry it. (Moving a
//! running account onto another proxy is the `proxy` command's, `commands/proxy.rs`.)
//!
//! The proxy is part of the account's client settings ([`Bridge::ig_http`] with `proxy` set),
//! so the HTTP API, media and the realtime connection all use the same one; there is no
//! fallback to a direct connection when it fails.

use super::Bridge;
use crate::instagram::http::{HttpConfig, InstagramClient};
use crate::instagram::proxy::{ProxyUrl, ProxyUrlError};
use crate::instagram::realtime::RealtimeConfig;
use crate::secret::Secret;
use crate::store::users::ProxySetting;

/// Why an account's proxy could not be found out.
#[derive(Debug, thiserror::Error)]
pub enum ProxyLookupError {
    #[error("the bridge's database failed: {0}")]
    Store(#[from] crate::store::StoreError),
    /// A stored URL that no longer parses (never used directly instead).
    #[error("your stored proxy is not usable ({0}); set it again with `proxy`")]
    Stored(ProxyUrlError),
}

/// Where an account's proxy comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The user's `proxy` command.
    User,
    /// The config's `instagram.proxy`.
    Default,
}

/// The proxy an account uses, if any, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub proxy: Option<ProxyUrl>,
    pub source: Source,
}

/// The proxy that applies to `mxid`'s Instagram traffic.
pub async fn effective(bridge: &Bridge, mxid: &str) -> Result<Effective, ProxyLookupError> {
    Ok(match bridge.store.get_proxy(mxid).await? {
        ProxySetting::Default => Effective {
            proxy: bridge.config.instagram.proxy.clone(),
            source: Source::Default,
        },
        ProxySetting::Direct => Effective {
            proxy: None,
            source: Source::User,
        },
        ProxySetting::Url(url) => Effective {
            proxy: Some(ProxyUrl::parse(url.expose()).map_err(ProxyLookupError::Stored)?),
            source: Source::User,
        },
    })
}

/// Stores `mxid`'s new choice and returns the proxy that now applies (the account itself
/// moves with [`super::proxy_switch::switch`]).
pub async fn set(
    bridge: &Bridge,
    mxid: &str,
    setting: &ProxySetting,
) -> Result<Effective, ProxyLookupError> {
    bridge.store.ensure_user(mxid).await?;
    bridge.store.set_proxy(mxid, setting).await?;
    effective(bridge, mxid).await
}

/// A choice as a user writes it: `off` (or `none`, `direct`), `default` (or `reset`), or a
/// proxy URL. The error never repeats the text (it may hold a password).
pub fn parse_setting(text: &str) -> Result<ProxySetting, ProxyUrlError> {
    let text = text.trim();
    Ok(match text.to_lowercase().as_str() {
        "off" | "none" | "direct" => ProxySetting::Direct,
        "default" | "reset" => ProxySetting::Default,
        _ => setting_of(Some(&ProxyUrl::parse(text)?)),
    })
}

/// How a proxy choice is stored.
pub fn setting_of(proxy: Option<&ProxyUrl>) -> ProxySetting {
    match proxy {
        Some(p) => ProxySetting::Url(Secret::new(p.expose())),
        None => ProxySetting::Direct,
    }
}

impl Bridge {
    /// The HTTP client settings with `proxy`.
    pub fn http_config_with(&self, proxy: Option<ProxyUrl>) -> HttpConfig {
        HttpConfig {
            proxy,
            ..self.ig_http.clone()
        }
    }

    /// The realtime client settings of an account whose HTTP client is `client` (same proxy).
    pub fn realtime_config_for(&self, client: &InstagramClient) -> RealtimeConfig {
        RealtimeConfig {
            proxy: client.config().proxy.clone(),
            ..self.ig_realtime.clone()
        }
    }

    /// A fresh Instagram client for a Matrix user's next login, behind their proxy, on the
    /// device derived for them (for a user who has logins already, one derived for the
    /// next: two accounts never share a device).
    pub async fn new_instagram_client(
        &self,
        mxid: &str,
    ) -> Result<InstagramClient, crate::instagram::Error> {
        let setup = |e: &dyn std::fmt::Display| crate::instagram::Error::Setup(e.to_string());
        let proxy = effective(self, mxid).await.map_err(|e| setup(&e))?.proxy;
        let existing = self.store.logins_of(mxid).await.map_err(|e| setup(&e))?;
        let seed = self.config.instagram.device_seed.expose().as_bytes();
        let used: Vec<String> = existing
            .iter()
            .filter_map(|l| l.session.as_ref())
            .filter_map(|s| serde_json::from_str::<serde_json::Value>(s.expose()).ok())
            .filter_map(|j| j["device"]["uuid"].as_str().map(str::to_owned))
            .collect();
        let derive = |n: usize| match n {
            0 => crate::instagram::http::Device::derive(seed, mxid),
            n => crate::instagram::http::Device::derive(seed, &format!("{mxid}#{n}")),
        };
        let device = (0..=used.len())
            .map(derive)
            .find(|d| !used.contains(&d.uuid))
            .unwrap_or_else(|| derive(used.len() + 1));
        InstagramClient::new(self.http_config_with(proxy), device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_as_users_write_them() {
        assert_eq!(parse_setting(" OFF "), Ok(ProxySetting::Direct));
        assert_eq!(parse_setting("none"), Ok(ProxySetting::Direct));
        assert_eq!(parse_setting("default"), Ok(ProxySetting::Default));
        assert_eq!(
            parse_setting("socks5h://u:p%40ss@h:1"),
            Ok(ProxySetting::Url(Secret::new("socks5h://u:p%40ss@h:1")))
        );
        let e = parse_setting("ftp://u:hunter2@h").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }
}
