//! The `double_puppet` section (mautrix bridgev2's shape): acting as the real Matrix user for
//! what they do on Instagram themselves.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

use super::{ConfigError, key_error};
use crate::secret::Secret;

/// The prefix of an appservice-token secret.
pub const AS_TOKEN_PREFIX: &str = "as_token:";

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DoublePuppetConfig {
    /// Client-server API URLs of other servers whose users may use double puppeting
    /// (`login-matrix`). The bridge's own server is never listed.
    pub servers: BTreeMap<String, Url>,
    /// Find other servers' URLs through `.well-known/matrix/client`.
    pub allow_discovery: bool,
    /// Per server name, `as_token:<token>` of a second appservice registration: its users get
    /// double puppeting automatically at login.
    pub secrets: BTreeMap<String, Secret>,
}

impl DoublePuppetConfig {
    /// The appservice token for users of `server`, if one is configured.
    pub fn as_token(&self, server: &str) -> Option<Secret> {
        let secret = self.secrets.get(server)?;
        secret
            .expose()
            .strip_prefix(AS_TOKEN_PREFIX)
            .map(Secret::new)
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (server, secret) in &self.secrets {
            let key = format!("double_puppet.secrets.{server}");
            let Some(token) = secret.expose().strip_prefix(AS_TOKEN_PREFIX) else {
                return Err(key_error(
                    key,
                    "must be `as_token:<token>` (the as_token of the double-puppet registration; \
                     shared-secret logins are not supported)",
                ));
            };
            if token.trim().is_empty() || token == super::GENERATE {
                return Err(key_error(
                    key,
                    "has no token after `as_token:` (run generate-registration --double-puppet)",
                ));
            }
        }
        for (server, url) in &self.servers {
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(key_error(
                    format!("double_puppet.servers.{server}"),
                    format!("`{url}` is not an http(s) URL"),
                ));
            }
        }
        Ok(())
    }
}
