//! The appservice registration file the homeserver loads.

use serde::{Deserialize, Serialize};

use crate::config::{Config, regex_escape};
use crate::secret::Secret;

/// A user/alias/room namespace entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    pub exclusive: bool,
    pub regex: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Namespaces {
    pub users: Vec<Namespace>,
    pub aliases: Vec<Namespace>,
    pub rooms: Vec<Namespace>,
}

/// The registration, with both spellings of the ephemeral-events switch (homeservers read one
/// or the other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub id: String,
    pub url: String,
    pub as_token: Secret,
    pub hs_token: Secret,
    pub sender_localpart: String,
    pub namespaces: Namespaces,
    pub rate_limited: bool,
    pub protocols: Vec<String>,
    pub receive_ephemeral: bool,
    #[serde(rename = "de.sorunome.msc2409.push_ephemeral")]
    pub push_ephemeral: bool,
}

/// Escapes regex metacharacters.
impl Registration {
    /// Builds the registration for a config (whose secrets are already generated).
    pub fn from_config(config: &Config) -> Self {
        let domain = regex_escape(&config.homeserver.domain);
        let ghosts = config.ghosts().namespace_regex();
        let bot = format!(
            "@{}:{domain}",
            regex_escape(&config.appservice.bot.username)
        );
        Self {
            id: config.appservice.id.clone(),
            url: config
                .appservice
                .address
                .as_str()
                .trim_end_matches('/')
                .to_string(),
            as_token: config.appservice.as_token.clone(),
            hs_token: config.appservice.hs_token.clone(),
            sender_localpart: config.appservice.bot.username.clone(),
            namespaces: Namespaces {
                users: vec![
                    Namespace {
                        exclusive: true,
                        regex: bot,
                    },
                    Namespace {
                        exclusive: true,
                        regex: ghosts,
                    },
                ],
                aliases: vec![],
                rooms: vec![],
            },
            rate_limited: false,
            protocols: vec!["instagram".into()],
            receive_ephemeral: config.appservice.ephemeral_events,
            push_ephemeral: config.appservice.ephemeral_events,
        }
    }

    /// The registration as YAML.
    pub fn to_yaml(&self) -> Result<String, RegistrationError> {
        serde_saphyr::to_string(self).map_err(|e| RegistrationError(e.to_string()))
    }
}

/// The second registration double puppeting uses (`double_puppet.secrets`): no URL (the
/// homeserver sends it nothing), a non-exclusive namespace over every user of the server, its
/// own tokens, no rate limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoublePuppetRegistration {
    pub id: String,
    pub url: Option<String>,
    pub as_token: Secret,
    pub hs_token: Secret,
    pub sender_localpart: String,
    pub namespaces: Namespaces,
    pub rate_limited: bool,
}

impl DoublePuppetRegistration {
    /// The registration for users of `domain`, acting with `as_token`.
    pub fn new(domain: &str, as_token: Secret) -> Self {
        Self {
            id: "doublepuppet".into(),
            url: None,
            as_token,
            hs_token: Secret::new(crate::config::random_secret()),
            sender_localpart: crate::config::random_secret().to_lowercase(),
            namespaces: Namespaces {
                users: vec![Namespace {
                    exclusive: false,
                    regex: format!("@.*:{}", regex_escape(domain)),
                }],
                aliases: vec![],
                rooms: vec![],
            },
            rate_limited: false,
        }
    }

    pub fn to_yaml(&self) -> Result<String, RegistrationError> {
        serde_saphyr::to_string(self).map_err(|e| RegistrationError(e.to_string()))
    }
}

/// The registration could not be written as YAML.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the registration as YAML: {0}")]
pub struct RegistrationError(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_from_example_config() {
        let text = include_str!("../../example-config.yaml").replace("generate", "tok");
        let config = Config::from_yaml(&text, "t", std::iter::empty()).unwrap();
        let reg = Registration::from_config(&config);
        assert_eq!(reg.sender_localpart, "instagrambot");
        assert_eq!(reg.url, "http://localhost:29330");
        assert!(!reg.rate_limited);
        assert!(reg.receive_ephemeral && reg.push_ephemeral);
        let yaml = reg.to_yaml().unwrap();
        assert!(
            yaml.contains("de.sorunome.msc2409.push_ephemeral: true"),
            "{yaml}"
        );
        assert!(yaml.contains("receive_ephemeral: true"), "{yaml}");
        // It reads back the same.
        let back: Registration = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, reg);
        assert_eq!(
            back.namespaces.users[1].regex,
            "@instagram_.+:example\\.com"
        );
        assert_eq!(
            back.namespaces.users[0].regex,
            "@instagrambot:example\\.com"
        );
    }

    #[test]
    fn double_puppet_registration() {
        let reg = DoublePuppetRegistration::new("example.com", Secret::new("tok"));
        let yaml = reg.to_yaml().unwrap();
        assert!(yaml.contains("url: null"), "{yaml}");
        assert!(yaml.contains("rate_limited: false"), "{yaml}");
        let back: DoublePuppetRegistration = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, reg);
        assert_eq!(back.as_token.expose(), "tok");
        assert!(!back.namespaces.users[0].exclusive);
        assert_eq!(back.namespaces.users[0].regex, "@.*:example\\.com");
        assert_ne!(back.hs_token.expose(), back.as_token.expose());
    }

    #[test]
    fn namespace_follows_the_template() {
        let text = include_str!("../../example-config.yaml")
            .replace("generate", "tok")
            .replace("instagram_{userid}", "ig.{userid}.x");
        let config = Config::from_yaml(&text, "t", std::iter::empty()).unwrap();
        let reg = Registration::from_config(&config);
        assert_eq!(reg.namespaces.users[1].regex, "@ig\\..+\\.x:example\\.com");
    }
}
