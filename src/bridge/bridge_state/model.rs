//! The `com.beeper.bridge_state` JSON and what each failure maps to: the state, an error code
//! in the `ig-…` style, a sentence for people, and what the user should do.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::instagram::Error as IgError;
use crate::instagram::realtime::DisconnectCause;

/// A state of the bridge (global) or of one login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StateEvent {
    Starting,
    Unconfigured,
    Running,
    Connecting,
    Backfilling,
    Connected,
    TransientDisconnect,
    BadCredentials,
    UnknownError,
    LoggedOut,
}

impl StateEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "STARTING",
            Self::Unconfigured => "UNCONFIGURED",
            Self::Running => "RUNNING",
            Self::Connecting => "CONNECTING",
            Self::Backfilling => "BACKFILLING",
            Self::Connected => "CONNECTED",
            Self::TransientDisconnect => "TRANSIENT_DISCONNECT",
            Self::BadCredentials => "BAD_CREDENTIALS",
            Self::UnknownError => "UNKNOWN_ERROR",
            Self::LoggedOut => "LOGGED_OUT",
        }
    }
}

/// What the user has to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserAction {
    /// Open the Instagram app (a challenge, checkpoint or consent waits there).
    OpenNative,
    /// Log in again.
    Relogin,
}

/// How long a state stays valid, in seconds: errors are re-checked sooner.
const TTL: u64 = 21_600;
const ERROR_TTL: u64 = 3_600;

/// One state as POSTed to `homeserver.status_endpoint`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BridgeState {
    pub state_event: StateEvent,
    /// Seconds since the epoch.
    pub timestamp: i64,
    pub ttl: u64,
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_action: Option<UserAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The Instagram account's numeric id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// The Instagram username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_profile: Option<Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub info: Map<String, Value>,
}

impl BridgeState {
    /// A state with nothing else said, stamped now.
    pub fn new(state_event: StateEvent) -> Self {
        Self {
            state_event,
            timestamp: crate::store::now_ms() / 1000,
            ttl: TTL,
            source: "bridge",
            error: None,
            message: None,
            user_action: None,
            user_id: None,
            remote_id: None,
            remote_name: None,
            remote_profile: None,
            info: Map::new(),
        }
    }

    /// With an error code and its sentence (and the shorter TTL of errors).
    pub fn with_problem(mut self, problem: &Problem) -> Self {
        self.state_event = problem.state;
        self.error = Some(problem.code);
        self.message = Some(problem.message.clone());
        self.user_action = problem.action;
        self.ttl = ERROR_TTL;
        if let Some(cause) = problem.cause {
            self.info.insert("cause".into(), Value::from(cause));
        }
        self
    }

    /// Whether `other` says the same thing (time aside): a repeat not worth sending.
    pub fn same_as(&self, other: &BridgeState) -> bool {
        self.state_event == other.state_event
            && self.error == other.error
            && self.user_action == other.user_action
            && self.remote_name == other.remote_name
            && self.message == other.message
            && self.info == other.info
    }

    /// Whether it is still valid `now_s` (seconds since the epoch).
    pub fn fresh_at(&self, now_s: i64) -> bool {
        now_s < self.timestamp.saturating_add(self.ttl as i64)
    }

    /// Whether it is an error a user may need to hear about.
    pub fn is_error(&self) -> bool {
        matches!(
            self.state_event,
            StateEvent::BadCredentials | StateEvent::UnknownError
        ) || self.user_action == Some(UserAction::OpenNative)
    }
}

/// A failure of a login: the state it puts the login in and how it is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub state: StateEvent,
    pub code: &'static str,
    pub message: String,
    pub action: Option<UserAction>,
    /// A short word for why a connection ended, when that is the problem.
    pub cause: Option<&'static str>,
}

impl Problem {
    fn new(state: StateEvent, code: &'static str, message: &str) -> Self {
        Self {
            state,
            code,
            message: message.into(),
            action: None,
            cause: None,
        }
    }

    fn act(mut self, action: UserAction) -> Self {
        self.action = Some(action);
        self
    }

    /// The bridge logs such a session out itself and tells the user then: no state notice.
    pub fn logged_out_by_bridge(code: &str) -> bool {
        code == AUTH_ERROR || code == ACCOUNT_SUSPENDED
    }
}

/// The realtime connection ended and is being retried.
pub const CONNECTION_ERROR: &str = "ig-connection-error";
/// Instagram's realtime server answered "unavailable" (CONNACK 3).
pub const SERVER_UNAVAILABLE: &str = "ig-server-unavailable";
/// Another refusal of the realtime server.
pub const CONNECTION_REFUSED: &str = "ig-connection-refused";
/// The session is no longer valid.
pub const AUTH_ERROR: &str = "ig-auth-error";
pub const ACCOUNT_SUSPENDED: &str = "ig-account-suspended";
pub const CHALLENGE_REQUIRED: &str = "ig-challenge-required";
pub const CHECKPOINT: &str = "ig-checkpoint";
pub const CONSENT_REQUIRED: &str = "ig-consent-required";
pub const RATE_LIMIT: &str = "ig-rate-limit";
pub const BLOCKED: &str = "ig-blocked";
/// The HTTP session works but the realtime server refuses it.
pub const MQTT_UNAUTHORIZED: &str = "ig-mqtt-unauthorized";
/// The login could not be started.
pub const CONNECT_FAILED: &str = "ig-connect-failed";
/// The account's proxy failed (nothing is sent around it; the bridge keeps retrying).
pub const PROXY_FAILED: &str = "ig-proxy-failed";

/// The account's proxy failed: `reason` names the proxy (password masked) and how it failed.
pub fn proxy_failed(reason: &str) -> Problem {
    Problem::new(
        StateEvent::UnknownError,
        PROXY_FAILED,
        &format!("{reason}; nothing is sent to Instagram without it, retrying"),
    )
}

/// A realtime connection that ended (the client reconnects by itself).
pub fn disconnected(cause: DisconnectCause) -> Problem {
    let mut p = Problem::new(
        StateEvent::TransientDisconnect,
        CONNECTION_ERROR,
        "Disconnected from Instagram, reconnecting",
    );
    p.cause = Some(cause.as_str());
    p
}

/// A CONNACK refusal other than "not authorized".
pub fn refused(code: u8) -> Problem {
    if code == 3 {
        Problem::new(
            StateEvent::TransientDisconnect,
            SERVER_UNAVAILABLE,
            "Instagram's realtime server is unavailable, retrying",
        )
    } else {
        Problem::new(
            StateEvent::UnknownError,
            CONNECTION_REFUSED,
            "Instagram's realtime server refused the connection",
        )
    }
}

/// The realtime server said "not authorized" and the HTTP session was probed: `error` is what
/// the probe failed with (`None`: the HTTP session works).
pub fn auth_probe(error: Option<&IgError>) -> Problem {
    let Some(e) = error else {
        return Problem::new(
            StateEvent::UnknownError,
            MQTT_UNAUTHORIZED,
            "Instagram's realtime server refuses this session though it works otherwise",
        );
    };
    match e {
        IgError::LoginRequired { .. } => Problem::new(
            StateEvent::BadCredentials,
            AUTH_ERROR,
            "Logged out of Instagram, log in again to continue",
        )
        .act(UserAction::Relogin),
        IgError::InactiveUser { .. } => Problem::new(
            StateEvent::BadCredentials,
            ACCOUNT_SUSPENDED,
            "The Instagram account is disabled, check the Instagram app",
        )
        .act(UserAction::OpenNative),
        IgError::ChallengeRequired(_) | IgError::TwoFactorRequired(_) => Problem::new(
            StateEvent::BadCredentials,
            CHALLENGE_REQUIRED,
            "Instagram wants to verify this login, approve it in the Instagram app",
        )
        .act(UserAction::OpenNative),
        IgError::CheckpointRequired { .. } | IgError::ChallengeUnsupported { .. } => Problem::new(
            StateEvent::BadCredentials,
            CHECKPOINT,
            "Instagram needs a checkpoint cleared in the Instagram app",
        )
        .act(UserAction::OpenNative),
        IgError::ConsentRequired { .. } => Problem::new(
            StateEvent::BadCredentials,
            CONSENT_REQUIRED,
            "Instagram needs something accepted in the Instagram app",
        )
        .act(UserAction::OpenNative),
        IgError::RateLimited { .. } => Problem::new(
            StateEvent::TransientDisconnect,
            RATE_LIMIT,
            "Instagram is rate-limiting the bridge, retrying in a few minutes",
        ),
        IgError::Transient { .. } => disconnected(DisconnectCause::Network),
        IgError::Proxy(e) => proxy_failed(&e.to_string()),
        IgError::SentryBlock { .. } | IgError::FeedbackRequired { .. } => Problem::new(
            StateEvent::UnknownError,
            BLOCKED,
            "Instagram blocked this device or network",
        ),
        _ => Problem::new(
            StateEvent::UnknownError,
            MQTT_UNAUTHORIZED,
            "Instagram's realtime server refuses this session",
        ),
    }
}

/// Starting the login failed (`reason` is a sentence for the user, without secrets).
pub fn start_failed(reason: &str) -> Problem {
    Problem::new(StateEvent::UnknownError, CONNECT_FAILED, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_has_the_mautrix_shape() {
        let mut s = BridgeState::new(StateEvent::TransientDisconnect)
            .with_problem(&disconnected(DisconnectCause::Timeout));
        s.timestamp = 1_700_000_000;
        s.user_id = Some("@u:x".into());
        s.remote_id = Some("42".into());
        s.remote_name = Some("someone".into());
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({
                "state_event": "TRANSIENT_DISCONNECT",
                "timestamp": 1_700_000_000,
                "ttl": 3600,
                "source": "bridge",
                "error": "ig-connection-error",
                "message": "Disconnected from Instagram, reconnecting",
                "user_id": "@u:x",
                "remote_id": "42",
                "remote_name": "someone",
                "info": {"cause": "timeout"},
            })
        );
        let plain = serde_json::to_value(BridgeState::new(StateEvent::Running)).unwrap();
        assert_eq!(plain["ttl"], 21_600);
        assert!(plain.get("error").is_none() && plain.get("info").is_none());
    }

    #[test]
    fn a_failing_proxy_is_an_error_at_once() {
        let p = proxy_failed("proxy http://u:***@h:1: cannot reach the proxy: refused");
        assert_eq!((p.state, p.code), (StateEvent::UnknownError, PROXY_FAILED));
        assert!(
            p.message
                .starts_with("proxy http://u:***@h:1: cannot reach"),
            "{}",
            p.message
        );
    }

    #[test]
    fn probe_failures_are_classified() {
        let dead = IgError::LoginRequired {
            message: "login_required".into(),
            logout_reason: Some(1),
        };
        let p = auth_probe(Some(&dead));
        assert_eq!(
            (p.state, p.code, p.action),
            (
                StateEvent::BadCredentials,
                AUTH_ERROR,
                Some(UserAction::Relogin)
            )
        );
        assert!(Problem::logged_out_by_bridge(p.code));
        let challenge = IgError::ChallengeRequired(Box::default());
        let p = auth_probe(Some(&challenge));
        assert_eq!(
            (p.state, p.code, p.action),
            (
                StateEvent::BadCredentials,
                CHALLENGE_REQUIRED,
                Some(UserAction::OpenNative)
            )
        );
        assert!(!Problem::logged_out_by_bridge(p.code));
        let consent = IgError::ConsentRequired {
            headline: "terms".into(),
        };
        assert_eq!(auth_probe(Some(&consent)).code, CONSENT_REQUIRED);
        let checkpoint = IgError::CheckpointRequired {
            url: None,
            lock: false,
        };
        assert_eq!(auth_probe(Some(&checkpoint)).code, CHECKPOINT);
        let suspended = IgError::InactiveUser {
            message: "x".into(),
        };
        assert_eq!(auth_probe(Some(&suspended)).code, ACCOUNT_SUSPENDED);
        let slow = IgError::RateLimited {
            message: "wait".into(),
            retry_after: None,
        };
        assert_eq!(
            auth_probe(Some(&slow)).state,
            StateEvent::TransientDisconnect
        );
        let blip = IgError::Transient {
            message: "reset".into(),
        };
        assert_eq!(auth_probe(Some(&blip)).code, CONNECTION_ERROR);
        assert_eq!(auth_probe(None).code, MQTT_UNAUTHORIZED);
        assert_eq!(refused(3).state, StateEvent::TransientDisconnect);
        assert_eq!(refused(2).state, StateEvent::UnknownError);
    }

    #[test]
    fn repeats_and_freshness() {
        let a = BridgeState::new(StateEvent::Connected);
        let mut b = a.clone();
        b.timestamp += 100;
        assert!(a.same_as(&b));
        assert!(a.fresh_at(a.timestamp + 21_599));
        assert!(!a.fresh_at(a.timestamp + 21_600));
        let c = BridgeState::new(StateEvent::TransientDisconnect)
            .with_problem(&disconnected(DisconnectCause::Network));
        assert!(!a.same_as(&c));
        assert!(!c.is_error());
        assert!(
            BridgeState::new(StateEvent::UnknownError)
                .with_problem(&refused(1))
                .is_error()
        );
    }
}
