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
/// or the other). With `encryption.appservice`, ephemeral events are on (MSC2409 also carries
/// to-device events) and `org.matrix.msc3202` asks for device lists and one-time-key counts in
/// transactions; `io.element.msc4190` follows `encryption.msc4190`.
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
    #[serde(
        rename = "org.matrix.msc3202",
        default,
        skip_serializing_if = "is_false"
    )]
    pub msc3202: bool,
    #[serde(
        rename = "io.element.msc4190",
        default,
        skip_serializing_if = "is_false"
    )]
    pub msc4190: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
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
        // As mautrix: the registration follows `encryption.appservice` alone, so one
        // registration serves a bridge with encryption turned on or off.
        let crypto_in_transactions = config.encryption.appservice;
        let ephemeral = config.appservice.ephemeral_events || crypto_in_transactions;
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
            receive_ephemeral: ephemeral,
            push_ephemeral: ephemeral,
            msc3202: crypto_in_transactions,
            msc4190: crypto_in_transactions && config.encryption.msc4190,
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
    fn encryption_asks_for_the_msc_fields() {
        let text = include_str!("../../example-config.yaml").replace("generate", "tok");
        let plain = Config::from_yaml(&text, "t", std::iter::empty()).unwrap();
        let yaml = Registration::from_config(&plain).to_yaml().unwrap();
        assert!(
            !yaml.contains("msc3202") && !yaml.contains("msc4190"),
            "{yaml}"
        );
        let env = [("APPSERVICE", "true"), ("MSC4190", "true")]
            .map(|(k, v)| (format!("MATRIX_INSTAGRAM__ENCRYPTION__{k}"), v.to_string()))
            .into_iter()
            .chain([(
                "MATRIX_INSTAGRAM__APPSERVICE__EPHEMERAL_EVENTS".to_string(),
                "false".to_string(),
            )]);
        let config = Config::from_yaml(&text, "t", env).unwrap();
        let reg = Registration::from_config(&config);
        assert!(reg.msc3202 && reg.msc4190 && reg.push_ephemeral && reg.receive_ephemeral);
        let yaml = reg.to_yaml().unwrap();
        assert!(yaml.contains("org.matrix.msc3202: true"), "{yaml}");
        assert!(yaml.contains("io.element.msc4190: true"), "{yaml}");
        assert!(
            yaml.contains("de.sorunome.msc2409.push_ephemeral: true"),
            "{yaml}"
        );
        let back: Registration = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, reg);
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
