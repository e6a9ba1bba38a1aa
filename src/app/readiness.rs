//! Start-up with the homeserver: wait until the homeserver and the bridge reach each other,
//! explain what is wrong while they do not (in the direction it is wrong, naming the config
//! keys and the fix), then say once that the bridge is ready and set the bot's profile.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::bridge::Bridge;
use crate::config::Config;
use crate::matrix::MatrixError;

/// Why the homeserver and the bridge do not reach each other yet.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotReady {
    /// The bridge cannot reach `homeserver.address`.
    #[error(
        "cannot reach the homeserver at {address} (homeserver.address): {reason}; check that \
         the homeserver runs and that this address is reachable from the bridge"
    )]
    HomeserverUnreachable { address: String, reason: String },
    /// The homeserver answered, but could not reach the bridge back (ping: 502/504).
    #[error(
        "the homeserver could not reach the bridge at {address} (appservice.address): {detail}; \
         set appservice.address to a URL the homeserver can open, and make the bridge listen \
         there (appservice.hostname {hostname}, appservice.port {port}; inside a container use \
         hostname 0.0.0.0), then update the registration's `url` (generate-registration) and \
         restart the homeserver"
    )]
    BridgeUnreachable {
        address: String,
        hostname: String,
        port: u16,
        detail: String,
    },
    /// The homeserver reached something at `appservice.address` that refused its request.
    #[error(
        "the homeserver reached {address} (appservice.address) but got an error back: {detail}; \
         if it is this bridge, the registration's hs_token differs from appservice.hs_token: \
         run generate-registration again, give the homeserver the new file and restart it"
    )]
    BridgeRefused { address: String, detail: String },
    /// The registration's `url` is empty.
    #[error(
        "the registration loaded by the homeserver has no `url`: run generate-registration \
         (it writes appservice.address there) and restart the homeserver"
    )]
    UrlNotSet,
    /// The homeserver does not know the as_token: the registration is not loaded.
    #[error(
        "the homeserver does not know this bridge's as_token ({errcode}): the registration file \
         is not loaded, or is an older one. Synapse: list the file under \
         app_service_config_files in homeserver.yaml and restart Synapse; conduwuit/Conduit: \
         `!admin appservices register` with the file's YAML in the admin room; Dendrite: \
         app_service_api.config_files. If appservice.id changed, register the new file"
    )]
    RegistrationNotLoaded { errcode: String },
    /// Anything else, as the homeserver said it.
    #[error("{0}")]
    Other(MatrixError),
}

impl NotReady {
    /// A reason code that names no address, id or token (for the readiness probe).
    pub fn code(&self) -> &'static str {
        match self {
            Self::HomeserverUnreachable { .. } => "homeserver_unreachable",
            Self::BridgeUnreachable { .. } => "bridge_unreachable",
            Self::BridgeRefused { .. } => "bridge_refused",
            Self::UrlNotSet => "registration_url_not_set",
            Self::RegistrationNotLoaded { .. } => "registration_not_loaded",
            Self::Other(_) => "homeserver_error",
        }
    }
}

/// Explains a failed `/versions` call or ping in terms of what to fix.
pub fn diagnose(error: MatrixError, config: &Config) -> NotReady {
    let address = config.appservice.address.to_string();
    match error {
        MatrixError::Unreachable { reason, .. } => NotReady::HomeserverUnreachable {
            address: config.homeserver.address.to_string(),
            reason,
        },
        MatrixError::Api {
            status, errcode, ..
        } if errcode == "M_CONNECTION_FAILED"
            || errcode == "M_CONNECTION_TIMEOUT"
            || (errcode == "M_UNKNOWN" && (status == 502 || status == 504)) =>
        {
            NotReady::BridgeUnreachable {
                address,
                hostname: config.appservice.hostname.clone(),
                port: config.appservice.port,
                detail: format!("the homeserver answered {status} {errcode}"),
            }
        }
        MatrixError::Api {
            errcode, message, ..
        } if errcode == "M_BAD_STATUS" => NotReady::BridgeRefused {
            address,
            detail: if message.is_empty() { errcode } else { message },
        },
        MatrixError::Api { errcode, .. } if errcode == "M_URL_NOT_SET" => NotReady::UrlNotSet,
        MatrixError::Api {
            status, errcode, ..
        } if errcode == "M_UNKNOWN_TOKEN"
            || errcode == "M_MISSING_TOKEN"
            || (errcode == "M_FORBIDDEN" && status == 403)
            || status == 401 =>
        {
            NotReady::RegistrationNotLoaded { errcode }
        }
        other => NotReady::Other(other),
    }
}

/// The line printed once the homeserver has reached the bridge.
pub fn ready_line(config: &Config, pinged: bool) -> String {
    let how = if pinged {
        "the homeserver reached us"
    } else {
        "the homeserver answers (it cannot tell whether it reaches us: no appservice ping)"
    };
    format!(
        "ready: {how}; open a DM with {} and send `login`",
        config.bot_user_id()
    )
}

/// Asks the homeserver for its versions, then pings through it (which makes it call the
/// bridge). `Ok(true)` when the ping went through, `Ok(false)` when the homeserver has no
/// ping endpoint.
async fn probe(bridge: &Bridge) -> Result<bool, MatrixError> {
    bridge.intents.client().refresh_versions().await?;
    match bridge.intents.ping(&bridge.config.appservice.id).await {
        Ok(rtt) => {
            tracing::debug!(rtt_ms = rtt.as_millis() as u64, "appservice ping answered");
            Ok(true)
        }
        // Older homeservers have no ping endpoint: /versions answering is enough.
        Err(MatrixError::Api { status, .. }) if status == 404 || status == 405 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Waits until the homeserver and the bridge reach each other (one log line per attempt,
/// with a capped backoff), says so (in the log, to `health` and the bridge state), then sets
/// the bot's profile.
pub async fn prepare_homeserver(
    bridge: Arc<Bridge>,
    health: Arc<super::health::Health>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut delay = Duration::from_secs(1);
    let pinged = loop {
        let result = tokio::select! {
            r = probe(&bridge) => r,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        match result {
            Ok(pinged) => break pinged,
            Err(e) => {
                let why = diagnose(e, &bridge.config);
                health.not_reached(&why);
                tracing::warn!(retry_in_s = delay.as_secs(), "not ready: {why}");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    };
    health.reached();
    bridge.bridge_states.homeserver_ready();
    tracing::info!("{}", ready_line(&bridge.config, pinged));
    learn_room_version(&bridge).await;
    set_bot_profile(&bridge).await;
}

async fn set_bot_profile(bridge: &Bridge) {
    let bot = bridge.intents.bot();
    let profile = &bridge.config.appservice.bot;
    if let Err(e) = bot.set_display_name(&profile.displayname).await {
        tracing::warn!("cannot set the bot's display name: {e}");
    }
    if !profile.avatar.is_empty() {
        match ruma::OwnedMxcUri::from(profile.avatar.as_str()) {
            mxc if mxc.is_valid() => {
                if let Err(e) = bot.set_avatar_url(mxc).await {
                    tracing::warn!("cannot set the bot's avatar: {e}");
                }
            }
            _ => tracing::warn!("appservice.bot.avatar is not an mxc:// URI; not set"),
        }
    }
}

/// Asks which room version new rooms get: from version 12 on, room creators hold top power
/// implicitly and must not be listed in the power levels.
async fn learn_room_version(bridge: &Bridge) {
    let request = ruma::api::client::discovery::get_capabilities::v3::Request::new();
    match bridge.intents.client().send(request, None).await {
        Ok(response) => {
            let version = response.capabilities.room_versions.default;
            let implicit = version
                .as_str()
                .parse::<u32>()
                .map(|v| v >= 12)
                .unwrap_or(true);
            tracing::info!(%version, creators_implicit = implicit, "homeserver's default room version");
            bridge
                .creators_implicit
                .store(implicit, std::sync::atomic::Ordering::Relaxed);
        }
        Err(e) => tracing::warn!("cannot read the homeserver's capabilities: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text = include_str!("../../example-config.yaml")
            .replace("generate", "tok-4f9a2c")
            .replace("domain: example.com", "domain: chat.test");
        Config::from_yaml(&text, "t", std::iter::empty()).expect("config")
    }

    fn api(status: u16, errcode: &str, message: &str) -> MatrixError {
        MatrixError::Api {
            endpoint: "appservice::request_ping",
            status,
            errcode: errcode.into(),
            message: message.into(),
        }
    }

    #[test]
    fn a_failed_ping_blames_the_homeserver_to_bridge_direction() {
        let c = config();
        for e in [
            api(502, "M_CONNECTION_FAILED", "Connection refused"),
            api(504, "M_CONNECTION_TIMEOUT", "timed out"),
        ] {
            let text = diagnose(e, &c).to_string();
            assert!(
                text.starts_with(
                    "the homeserver could not reach the bridge at http://localhost:29330/"
                ),
                "{text}"
            );
            for key in [
                "appservice.address",
                "appservice.hostname 127.0.0.1",
                "appservice.port 29330",
                "0.0.0.0",
            ] {
                assert!(text.contains(key), "{key}: {text}");
            }
            assert!(!text.contains("homeserver unreachable"), "{text}");
        }
    }

    #[test]
    fn an_unknown_token_means_the_registration_is_not_loaded() {
        let c = config();
        for e in [
            api(401, "M_UNKNOWN_TOKEN", "Unrecognised access token"),
            api(
                403,
                "M_FORBIDDEN",
                "Provided token is not for this appservice",
            ),
        ] {
            let text = diagnose(e, &c).to_string();
            assert!(
                text.contains("does not know this bridge's as_token"),
                "{text}"
            );
            assert!(text.contains("app_service_config_files"), "{text}");
            assert!(text.contains("!admin appservices register"), "{text}");
            assert!(
                !text.contains(c.appservice.as_token.expose()),
                "never the token"
            );
        }
    }

    #[test]
    fn other_causes_are_told_apart() {
        let c = config();
        let down = MatrixError::Unreachable {
            endpoint: "discovery::get_supported_versions",
            attempts: 1,
            reason: "connection refused".into(),
        };
        let text = diagnose(down, &c).to_string();
        assert!(
            text.starts_with(
                "cannot reach the homeserver at http://localhost:8008/ (homeserver.address)"
            ),
            "{text}"
        );
        assert!(matches!(
            diagnose(api(400, "M_URL_NOT_SET", ""), &c),
            NotReady::UrlNotSet
        ));
        // The readiness probe's codes name nothing of the setup.
        let down = MatrixError::Unreachable {
            endpoint: "discovery::get_supported_versions",
            attempts: 1,
            reason: "connection refused to 10.0.0.7:8008".into(),
        };
        assert_eq!(diagnose(down, &c).code(), "homeserver_unreachable");
        assert_eq!(
            diagnose(api(502, "M_CONNECTION_FAILED", ""), &c).code(),
            "bridge_unreachable"
        );
        assert_eq!(
            diagnose(api(401, "M_UNKNOWN_TOKEN", ""), &c).code(),
            "registration_not_loaded"
        );
        let text = diagnose(api(502, "M_BAD_STATUS", "HTTP 403"), &c).to_string();
        assert!(text.contains("hs_token"), "{text}");
        assert_eq!(
            ready_line(&c, true),
            "ready: the homeserver reached us; open a DM with @instagrambot:chat.test and send `login`"
        );
    }
}
