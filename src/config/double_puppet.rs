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

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn with_section(section: &str) -> Result<Config, String> {
        let text = include_str!("../../example-config.yaml")
            .replace("generate", "tok")
            .replace(
                "double_puppet:\n    # Client-server",
                &format!("double_puppet:\n{section}\n    # Client-server"),
            );
        Config::from_yaml(&text, "t", std::iter::empty()).map_err(|e| e.to_string())
    }

    #[test]
    fn the_example_has_no_secret() {
        let config = with_section("").unwrap();
        assert!(config.double_puppet.secrets.is_empty());
        assert_eq!(config.double_puppet.as_token("example.com"), None);
    }

    #[test]
    fn secrets_and_servers_are_checked_by_key() {
        let text = include_str!("../../example-config.yaml")
            .replace("generate", "tok")
            .replace(
                "    secrets: {}",
                "    secrets:\n        example.com: as_token:abc\n        other.org: \"sharedsecret\"",
            );
        let err = Config::from_yaml(&text, "t", std::iter::empty())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`double_puppet.secrets.other.org`") && err.contains("as_token:"),
            "{err}"
        );
        assert!(
            !err.contains("sharedsecret"),
            "the secret is not printed: {err}"
        );

        let text = include_str!("../../example-config.yaml")
            .replace("generate", "tok")
            .replace(
                "    secrets: {}",
                "    secrets:\n        example.com: as_token:abc",
            )
            .replace(
                "    servers: {}",
                "    servers:\n        other.org: https://matrix.other.org",
            );
        let config = Config::from_yaml(&text, "t", std::iter::empty()).unwrap();
        assert_eq!(
            config
                .double_puppet
                .as_token("example.com")
                .map(|t| t.expose().to_string()),
            Some("abc".to_string())
        );
        assert_eq!(config.double_puppet.as_token("other.org"), None);
        assert!(!format!("{:?}", config.double_puppet).contains("abc"));

        let text = include_str!("../../example-config.yaml")
            .replace("generate", "tok")
            .replace(
                "    secrets: {}",
                "    secrets:\n        example.com: \"as_token:\"",
            );
        let err = Config::from_yaml(&text, "t", std::iter::empty())
            .unwrap_err()
            .to_string();
        assert!(err.contains("`double_puppet.secrets.example.com`"), "{err}");

        let text = include_str!("../../example-config.yaml")
            .replace("generate", "tok")
            .replace(
                "    servers: {}",
                "    servers:\n        other.org: ftp://x",
            );
        let err = Config::from_yaml(&text, "t", std::iter::empty())
            .unwrap_err()
            .to_string();
        assert!(err.contains("`double_puppet.servers.other.org`"), "{err}");
    }

    #[test]
    fn relay_formats_from_the_file() {
        let text = include_str!("../../example-config.yaml")
            .replace("generate", "tok")
            .replace(
                "        enabled: false\n        # Only admins",
                "        enabled: true\n        # Only admins",
            )
            .replace(
                "            m.text: \"{{ .Sender.DisplayName }}: {{ .Message }}\"",
                "            m.text: \"[{{ .Sender.UserID }}] {{ .Message }}\"",
            );
        let config = Config::from_yaml(&text, "t", std::iter::empty()).unwrap();
        assert!(config.bridge.relay.enabled);
        let values = crate::config::relay::RelayValues {
            sender_user_id: "@a:x",
            message: "hi",
            ..Default::default()
        };
        assert_eq!(
            config.bridge.relay.format("m.text").render(&values),
            "[@a:x] hi"
        );
        let bad = text.replace("[{{ .Sender.UserID }}]", "{{ .Sender.Name }}");
        let err = Config::from_yaml(&bad, "t", std::iter::empty())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`bridge.relay.message_formats.m.text`"),
            "{err}"
        );
    }
}
