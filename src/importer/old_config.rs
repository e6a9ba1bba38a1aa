//! The parts of mautrix-instagram's `config.yaml` the import needs: the database, the ghost
//! user-id template, where its appservice listens (to see whether it runs) and its
//! registration (id, tokens: compared, never printed).

use std::path::Path;

use serde::Deserialize;

use super::ImportError;
use crate::secret::Secret;

/// mautrix-instagram's default ghost template.
pub const DEFAULT_TEMPLATE: &str = "instagram_{userid}";
/// mautrix-instagram's default appservice port.
pub const DEFAULT_PORT: u16 = 29330;

#[derive(Debug, Default, Deserialize)]
pub struct OldConfig {
    #[serde(default)]
    pub homeserver: OldHomeserver,
    #[serde(default)]
    pub appservice: OldAppservice,
    #[serde(default)]
    pub bridge: OldBridge,
}

#[derive(Debug, Default, Deserialize)]
pub struct OldHomeserver {
    pub domain: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OldAppservice {
    pub hostname: Option<String>,
    pub port: Option<u16>,
    pub database: Option<Secret>,
    pub id: Option<String>,
    pub bot_username: Option<String>,
    pub as_token: Option<Secret>,
    pub hs_token: Option<Secret>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OldBridge {
    pub username_template: Option<String>,
}

impl OldConfig {
    pub fn load(path: &Path) -> Result<Self, ImportError> {
        let text = std::fs::read_to_string(path).map_err(|e| ImportError::OldConfig {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text).map_err(|reason| ImportError::OldConfig {
            path: path.display().to_string(),
            reason,
        })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }

    /// The ghost template (mautrix's default when the config does not say).
    pub fn template(&self) -> &str {
        self.bridge
            .username_template
            .as_deref()
            .unwrap_or(DEFAULT_TEMPLATE)
    }

    /// Where its appservice listens (a wildcard address is asked on loopback).
    pub fn listener(&self) -> (String, u16) {
        let host = match self.appservice.hostname.as_deref() {
            None | Some("0.0.0.0") | Some("::") | Some("") => "127.0.0.1",
            Some(h) => h,
        };
        (
            host.to_string(),
            self.appservice.port.unwrap_or(DEFAULT_PORT),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_of_mautrix_instagrams_config_are_read() {
        let text = r#"
homeserver:
    address: https://example.com
    domain: example.com
appservice:
    address: http://localhost:29331
    hostname: 0.0.0.0
    port: 29331
    database: sqlite:///data/mautrix-instagram.db
    id: instagram
    bot_username: instagrambot
    as_token: "This value is generated when generating the registration"
    hs_token: "This value is generated when generating the registration"
bridge:
    username_template: "ig_{userid}"
    displayname_template: "{displayname} (Instagram)"
"#;
        let c = OldConfig::parse(text).unwrap();
        assert_eq!(c.template(), "ig_{userid}");
        assert_eq!(c.listener(), ("127.0.0.1".to_string(), 29331));
        assert_eq!(
            c.appservice.database.as_ref().map(Secret::expose),
            Some("sqlite:///data/mautrix-instagram.db")
        );
        assert_eq!(c.homeserver.domain.as_deref(), Some("example.com"));
        let empty = OldConfig::parse("{}").unwrap();
        assert_eq!(empty.template(), DEFAULT_TEMPLATE);
        assert_eq!(empty.listener().1, DEFAULT_PORT);
    }
}
