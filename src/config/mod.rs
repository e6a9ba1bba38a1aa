//! The bridge configuration: a YAML file in mautrix layout, overridable by environment variables.
//!
//! Every key of the file can be overridden by an environment variable named
//! `MATRIX_INSTAGRAM__` followed by the key path in upper case with `__` between the parts, e.g.
//! `MATRIX_INSTAGRAM__DATABASE__URI=postgres://…` or `MATRIX_INSTAGRAM__APPSERVICE__PORT=29331`.
//! A bad file stops start-up with one line naming the key at fault.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The prefix of environment variables that override config keys.
pub const ENV_PREFIX: &str = "MATRIX_INSTAGRAM__";

/// The placeholder that `generate-registration` replaces with a fresh random secret.
pub const GENERATE: &str = "generate";

/// Why a configuration could not be loaded. The message names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid YAML: {reason}")]
    Syntax { path: String, reason: String },
    #[error("config key `{key}`: {reason}")]
    Key { key: String, reason: String },
}

fn key_error(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        key: key.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub homeserver: HomeserverConfig,
    pub appservice: AppserviceConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub bridge: BridgeConfig,
    #[serde(default)]
    pub instagram: InstagramConfig,
    #[serde(default)]
    pub backfill: BackfillConfig,
    #[serde(default)]
    pub media: MediaConfig,
    #[serde(default)]
    pub logging: LoggingConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub provisioning: ProvisioningConfig,
    #[serde(default)]
    pub double_puppet: DoublePuppetConfig,
    #[serde(default)]
    pub encryption: EncryptionConfig,
}

impl Config {
    /// Reads the file at `path`, applies environment overrides and validates the result.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml(&text, &path.display().to_string(), std::env::vars())
    }

    /// Parses YAML text, applies the given `(name, value)` environment overrides and validates.
    pub fn from_yaml(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut tree: serde_json::Value =
            serde_saphyr::from_str(text).map_err(|e| ConfigError::Syntax {
                path: origin.to_string(),
                reason: first_line(&e.to_string()),
            })?;
        if tree.is_null() {
            tree = serde_json::Value::Object(Default::default());
        }
        apply_env_overrides(&mut tree, env)?;
        let config: Config = serde_path_to_error::deserialize(tree).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            let (key, reason) = match missing_field(&inner) {
                Some(field) if path == "." => (field.to_string(), "is missing".to_string()),
                Some(field) => (format!("{path}.{field}"), "is missing".to_string()),
                None => (path, inner),
            };
            key_error(key, reason)
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.homeserver.domain.trim().is_empty() {
            return Err(key_error("homeserver.domain", "must not be empty"));
        }
        let endpoints = [
            (
                "homeserver.status_endpoint",
                &self.homeserver.status_endpoint,
            ),
            (
                "homeserver.message_send_checkpoint_endpoint",
                &self.homeserver.message_send_checkpoint_endpoint,
            ),
        ];
        let optional = endpoints
            .into_iter()
            .filter_map(|(key, url)| url.as_ref().map(|u| (key, u)));
        for (key, url) in [
            ("homeserver.address", &self.homeserver.address),
            ("appservice.address", &self.appservice.address),
            ("instagram.api_base_url", &self.instagram.api_base_url),
            ("instagram.upload_base_url", &self.instagram.upload_base_url),
        ]
        .into_iter()
        .chain(optional)
        {
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(key_error(key, format!("`{url}` is not an http(s) URL")));
            }
        }
        for (key, token) in [
            ("appservice.as_token", &self.appservice.as_token),
            ("appservice.hs_token", &self.appservice.hs_token),
        ] {
            if token.is_empty() {
                return Err(key_error(key, "must not be empty"));
            }
        }
        if !self.bridge.username_template.contains("{userid}") {
            return Err(key_error(
                "bridge.username_template",
                "must contain `{userid}`",
            ));
        }
        let localpart_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._=-/+".contains(c))
        };
        if !localpart_ok(&self.bridge.username_template.replace("{userid}", "0")) {
            return Err(key_error(
                "bridge.username_template",
                "gives invalid Matrix localparts (use lowercase letters, digits, ._=-/)",
            ));
        }
        if !localpart_ok(&self.appservice.bot.username) {
            return Err(key_error(
                "appservice.bot.username",
                "is not a valid Matrix localpart",
            ));
        }
        if self.bridge.command_prefix.trim().is_empty() {
            return Err(key_error("bridge.command_prefix", "must not be empty"));
        }
        if self.bridge.permissions.is_empty() {
            return Err(key_error(
                "bridge.permissions",
                "is empty: nobody could use the bridge",
            ));
        }
        let uri = self.database.uri.expose();
        if !(uri.starts_with("sqlite:")
            || uri.starts_with("postgres://")
            || uri.starts_with("postgresql://"))
        {
            return Err(key_error(
                "database.uri",
                "must start with `sqlite:` or `postgres://`",
            ));
        }
        if self.database.max_open_conns == 0 {
            return Err(key_error("database.max_open_conns", "must be at least 1"));
        }
        if self.instagram.mqtt.keepalive == 0 {
            return Err(key_error("instagram.mqtt.keepalive", "must be at least 1"));
        }
        if self.media.max_size_mb == 0 {
            return Err(key_error("media.max_size_mb", "must be at least 1"));
        }
        if self.media.timeout_secs == 0 {
            return Err(key_error("media.timeout_secs", "must be at least 1"));
        }
        if self.metrics.enabled && self.metrics.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(key_error(
                "metrics.listen",
                "must be an address like 127.0.0.1:8001",
            ));
        }
        self.double_puppet.validate()?;
        self.encryption.validate()?;
        self.bridge.relay.validate()?;
        if let Err(e) = crate::logging::check_filter(&self.logging.level) {
            return Err(key_error("logging.level", e.to_string()));
        }
        if !self.logging.stdout && self.logging.file.trim().is_empty() {
            return Err(key_error(
                "logging.stdout",
                "is false and logging.file is empty: the bridge would log nowhere",
            ));
        }
        Ok(())
    }

    /// Values of `example-config.yaml` that were left in and almost certainly mean the file
    /// was not edited for this homeserver: one warning each, naming the key.
    pub fn example_values_left(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.homeserver.domain == "example.com" {
            warnings.push(
                "homeserver.domain is still `example.com`: set it to your homeserver's server \
                 name (the part after `:` in your user id), or nobody can use the bridge"
                    .to_string(),
            );
        }
        let example: Vec<&str> = self
            .bridge
            .permissions
            .keys()
            .map(String::as_str)
            .filter(|k| *k == "example.com" || k.ends_with(":example.com"))
            .collect();
        if !example.is_empty() && self.homeserver.domain != "example.com" {
            warnings.push(format!(
                "bridge.permissions still has the example's entries ({}): replace them with \
                 your server name and your admin's user id",
                example.join(", ")
            ));
        }
        warnings
    }

    /// The permission level of a Matrix user: the user id, then its server name, then `*`.
    pub fn permission_level(&self, user_id: &str) -> Option<PermissionLevel> {
        let perms = &self.bridge.permissions;
        if let Some(level) = perms.get(user_id) {
            return Some(*level);
        }
        let server = user_id.split_once(':').map(|(_, s)| s);
        if let Some(level) = server.and_then(|s| perms.get(s)) {
            return Some(*level);
        }
        perms.get("*").copied()
    }

    /// The bot's full user id.
    pub fn bot_user_id(&self) -> String {
        format!(
            "@{}:{}",
            self.appservice.bot.username, self.homeserver.domain
        )
    }

    /// Whether any secret still says `generate`.
    pub fn needs_generation(&self) -> bool {
        [
            &self.appservice.as_token,
            &self.appservice.hs_token,
            &self.instagram.device_seed,
            &self.provisioning.shared_secret,
        ]
        .iter()
        .any(|v| v.expose() == GENERATE)
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// Applies `MATRIX_INSTAGRAM__A__B=value` variables to the tree. A value keeps the type of the
/// value it replaces; a new key is parsed as a YAML scalar.
fn apply_env_overrides(
    tree: &mut serde_json::Value,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    use serde_json::Value;
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    vars.sort();
    for (name, raw) in vars {
        let path: Vec<String> = name[ENV_PREFIX.len()..]
            .split("__")
            .map(|p| p.to_ascii_lowercase())
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(key_error(name, "is not a valid override name"));
        }
        let shown = path.join(".");
        let mut node = &mut *tree;
        for (i, part) in path.iter().enumerate() {
            let Value::Object(map) = node else {
                return Err(key_error(
                    shown,
                    "cannot be overridden: a parent key is not a mapping",
                ));
            };
            if i + 1 == path.len() {
                let value = match map.get(part.as_str()) {
                    Some(Value::String(_)) => Value::String(raw.clone()),
                    Some(Value::Number(_)) => match raw.parse::<i64>() {
                        Ok(n) => Value::from(n),
                        Err(_) => Value::String(raw.clone()),
                    },
                    Some(Value::Bool(_)) => match raw.as_str() {
                        "true" | "1" | "yes" => Value::Bool(true),
                        "false" | "0" | "no" => Value::Bool(false),
                        _ => Value::String(raw.clone()),
                    },
                    _ => serde_saphyr::from_str::<Value>(&raw)
                        .unwrap_or_else(|_| Value::String(raw.clone())),
                };
                map.insert(part.clone(), value);
                break;
            }
            node = map
                .entry(part.clone())
                .or_insert_with(|| Value::Object(Default::default()));
        }
    }
    Ok(())
}

/// Replaces every `key: generate` line of a config text with a fresh random secret, keeping
/// comments and layout. Returns the new text and whether anything changed.
pub fn fill_generated_secrets(text: &str) -> (String, bool) {
    let mut changed = false;
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let replaced = [
            "as_token",
            "hs_token",
            "device_seed",
            "shared_secret",
            "pickle_key",
        ]
        .iter()
        .find_map(|key| {
            let trimmed = body.trim_start();
            let indent = &body[..body.len() - trimmed.len()];
            let value = trimmed.strip_prefix(key)?.strip_prefix(':')?.trim();
            let value = value.split(" #").next().unwrap_or("").trim();
            let value = value.trim_matches(['"', '\'']);
            (value == GENERATE).then(|| format!("{indent}{key}: {}", random_secret()))
        });
        let replaced = replaced.or_else(|| fill_puppet_secret(body));
        match replaced {
            Some(new) => {
                changed = true;
                out.push_str(&new);
                out.push_str(ending);
            }
            None => out.push_str(line),
        }
    }
    (out, changed)
}

/// A `server: as_token:generate` line (under `double_puppet.secrets`) with a fresh token.
fn fill_puppet_secret(body: &str) -> Option<String> {
    let (key, value) = body.split_once(':')?;
    let value = value.split(" #").next().unwrap_or("").trim();
    let value = value.trim_matches(['"', '\'']);
    let placeholder = format!("{}{GENERATE}", double_puppet::AS_TOKEN_PREFIX);
    (value == placeholder && !key.trim().is_empty()).then(|| {
        format!(
            "{key}: \"{}{}\"",
            double_puppet::AS_TOKEN_PREFIX,
            random_secret()
        )
    })
}

/// A 64-character random alphanumeric secret.
pub fn random_secret() -> String {
    use rand::Rng;
    use rand::distributions::Alphanumeric;
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(64)
        .map(char::from)
        .collect()
}

mod ghost;
pub use ghost::{GhostIds, regex_escape};
mod sections;
pub use sections::*;
pub mod provisioning;
pub use provisioning::ProvisioningConfig;
pub mod status;
pub use status::StatusNotices;
pub mod double_puppet;
pub use double_puppet::DoublePuppetConfig;
pub mod relay;
pub use relay::RelayConfig;
pub mod encryption;
pub use encryption::EncryptionConfig;

#[cfg(test)]
mod tests;
