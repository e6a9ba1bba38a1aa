//! Every way an Instagram call can fail (PROTOCOL F), and the pure classification of an HTTP
//! response into one of them. `Display` never contains secrets (only server messages).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The challenge Instagram asked for (PROTOCOL B.5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChallengeInfo {
    /// Web URL of the challenge (for the user).
    #[serde(default)]
    pub url: Option<String>,
    /// API path, e.g. `/challenge/123/abc/`.
    #[serde(default)]
    pub api_path: Option<String>,
    /// The `challenge_context` JSON string, passed back verbatim.
    #[serde(default)]
    pub challenge_context: Option<String>,
    #[serde(default)]
    pub lock: bool,
    #[serde(default)]
    pub logout: bool,
    #[serde(default)]
    pub native_flow: bool,
}

/// Errors of the Instagram client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The session is invalid (`login_required`, `user_has_logged_out`, HTTP 401).
    #[error("Instagram session is no longer valid: {message} (logout reason {logout_reason:?})")]
    LoginRequired {
        message: String,
        logout_reason: Option<i64>,
    },
    /// A security challenge must be solved (see `login::ChallengeState`).
    #[error("Instagram requires a security challenge")]
    ChallengeRequired(Box<ChallengeInfo>),
    /// Two-factor authentication is needed (login only: the login flow turns this into
    /// `LoginOutcome::TwoFactorRequired`). Holds `two_factor_info`.
    #[error("Instagram requires two-factor authentication")]
    TwoFactorRequired(Box<serde_json::Value>),
    /// A challenge step that cannot be solved over the API.
    #[error("Instagram challenge step {step_name:?} must be completed in the app")]
    ChallengeUnsupported {
        step_name: String,
        url: Option<String>,
    },
    /// A manual checkpoint (`checkpoint_required`).
    #[error("Instagram requires a checkpoint to be cleared in the app")]
    CheckpointRequired { url: Option<String>, lock: bool },
    /// Terms/consent must be accepted (`consent_required`).
    #[error("Instagram requires consent: {headline}")]
    ConsentRequired { headline: String },
    /// The action was blocked as spam (`feedback_required`); do not retry it.
    #[error("Instagram blocked the action: {message}")]
    FeedbackRequired {
        message: String,
        title: Option<String>,
        url: Option<String>,
    },
    /// Throttled (HTTP 429, `rate_limit_error`, "Please wait a few minutes").
    #[error("Instagram rate limit: {message}")]
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The IP or device is blocked (`sentry_block`).
    #[error("Instagram blocked this device or network: {message}")]
    SentryBlock { message: String },
    /// The account is disabled (`inactive_user`).
    #[error("Instagram account is disabled: {message}")]
    InactiveUser { message: String },
    /// Wrong password (`bad_password`, `UserInvalidCredentials`).
    #[error("wrong Instagram password")]
    BadPassword { message: String },
    /// Unknown username (`invalid_user`).
    #[error("unknown Instagram user")]
    InvalidUser { message: String },
    /// Wrong two-factor or challenge code.
    #[error("wrong security code")]
    BadCode { message: String },
    /// The two-factor code or nonce expired (`invalid_nonce`).
    #[error("the security code expired: {message}")]
    ExpiredNonce { message: String },
    /// The legacy login endpoint refused this app version (`needs_upgrade`).
    #[error("Instagram refused this app version: {message}")]
    NeedsUpgrade { message: String },
    /// The target does not exist (HTTP 404, unknown thread/user).
    #[error("not found on Instagram: {message}")]
    NotFound { message: String },
    /// Any other `status: fail` answer.
    #[error("Instagram error (HTTP {status}): {message}")]
    Api {
        status: u16,
        message: String,
        error_type: Option<String>,
    },
    /// Network failure, timeout or HTTP 5xx: try again later.
    #[error("temporary Instagram failure: {message}")]
    Transient { message: String },
    /// The response did not have the expected shape.
    #[error("unexpected Instagram response: {message}")]
    BadResponse { message: String },
    /// Invalid input from the caller (e.g. an unparseable cookie import).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Local setup failure (TLS, client construction).
    #[error("client setup failed: {0}")]
    Setup(String),
    /// The account's proxy failed; nothing was sent around it. Retrying later may succeed.
    #[error("{0}")]
    Proxy(crate::instagram::proxy::ProxyError),
}

impl Error {
    /// The session cannot be used any more: the user must log in again.
    pub fn is_session_dead(&self) -> bool {
        matches!(
            self,
            Error::LoginRequired { .. } | Error::InactiveUser { .. }
        )
    }

    /// The user must act (in the app or by answering a challenge) before the session works.
    pub fn needs_user_action(&self) -> bool {
        matches!(
            self,
            Error::ChallengeRequired(_)
                | Error::TwoFactorRequired(_)
                | Error::ChallengeUnsupported { .. }
                | Error::CheckpointRequired { .. }
                | Error::ConsentRequired { .. }
        )
    }

    /// Retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Transient { .. } | Error::RateLimited { .. } | Error::Proxy(_)
        )
    }

    /// A short word for what kind of failure this is (a metrics label): `rate_limited`,
    /// `challenge` (a challenge, checkpoint or consent to clear in the app), `login_required`
    /// (the session is dead or the account disabled), `network` (network, timeout, 5xx),
    /// `proxy` (the account's proxy failed), `blocked` (spam or device block), `refused`
    /// (wrong password, code or user), `not_found`, `bad_response`, `other`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::RateLimited { .. } => "rate_limited",
            Error::ChallengeRequired(_)
            | Error::TwoFactorRequired(_)
            | Error::ChallengeUnsupported { .. }
            | Error::CheckpointRequired { .. }
            | Error::ConsentRequired { .. } => "challenge",
            Error::LoginRequired { .. } | Error::InactiveUser { .. } => "login_required",
            Error::Transient { .. } => "network",
            Error::Proxy(_) => "proxy",
            Error::FeedbackRequired { .. } | Error::SentryBlock { .. } => "blocked",
            Error::BadPassword { .. }
            | Error::InvalidUser { .. }
            | Error::BadCode { .. }
            | Error::ExpiredNonce { .. } => "refused",
            Error::NotFound { .. } => "not_found",
            Error::BadResponse { .. } => "bad_response",
            Error::NeedsUpgrade { .. }
            | Error::Api { .. }
            | Error::InvalidInput(_)
            | Error::Setup(_) => "other",
        }
    }

    /// How long to wait before retrying, when Instagram or the error kind says so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => {
                Some(retry_after.unwrap_or(Duration::from_secs(60)))
            }
            Error::Transient { .. } | Error::Proxy(_) => Some(Duration::from_secs(5)),
            _ => None,
        }
    }

    /// A sentence to show to the user.
    pub fn user_message(&self) -> String {
        match self {
            Error::LoginRequired { .. } => {
                "Your Instagram session has ended. Please log in again.".into()
            }
            Error::ChallengeRequired(_) => {
                "Instagram wants to verify this login. Open the Instagram app and approve this login, or enter the security code Instagram sends you.".into()
            }
            Error::ChallengeUnsupported { .. } | Error::CheckpointRequired { .. } => {
                "Instagram needs you to confirm this login. Open the Instagram app and approve this login, then try again.".into()
            }
            Error::ConsentRequired { headline } => format!(
                "Instagram needs you to accept something in the app first ({headline}). Open the Instagram app, then try again."
            ),
            Error::FeedbackRequired { message, .. } => {
                format!("Instagram blocked this action: {message}")
            }
            Error::RateLimited { .. } => {
                "Instagram is rate-limiting requests. Please wait a few minutes and try again.".into()
            }
            Error::SentryBlock { .. } => {
                "Instagram blocked logins from this server. Try again later or log in by importing cookies.".into()
            }
            Error::InactiveUser { .. } => "This Instagram account is disabled.".into(),
            Error::BadPassword { .. } => "The password is incorrect.".into(),
            Error::InvalidUser { .. } => "There is no Instagram account with that username.".into(),
            Error::BadCode { .. } => "That security code is incorrect. Please try again.".into(),
            Error::ExpiredNonce { .. } => {
                "That security code has expired. Please start the login again.".into()
            }
            Error::NeedsUpgrade { .. } => {
                "Instagram refused the configured app version; the bridge needs a newer one.".into()
            }
            Error::NotFound { .. } => "Instagram could not find that.".into(),
            Error::Transient { .. } => {
                "Instagram could not be reached. The bridge will try again.".into()
            }
            Error::Proxy(e) => format!(
                "Your proxy failed, so nothing was sent to Instagram ({e}). The bridge will try \
                 again; use `proxy` to check or change it."
            ),
            other => format!("Instagram request failed: {other}"),
        }
    }

    /// Classifies a non-success response (or a 200 with `status: fail`).
    pub fn from_response(status: u16, body: &str, retry_after: Option<Duration>) -> Error {
        let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let Some(v) = json.filter(|v| v.is_object()) else {
            let snippet: String = body.chars().take(200).collect();
            return match status {
                429 => Error::RateLimited {
                    message: "HTTP 429".into(),
                    retry_after,
                },
                401 => Error::LoginRequired {
                    message: "HTTP 401".into(),
                    logout_reason: None,
                },
                404 => Error::NotFound { message: snippet },
                408 | 500..=599 => Error::Transient {
                    message: format!("HTTP {status}"),
                },
                _ => Error::BadResponse {
                    message: format!("HTTP {status}: {snippet}"),
                },
            };
        };
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        let message = s("message").unwrap_or_default();
        let error_type = s("error_type").unwrap_or_default();
        let text = || {
            if message.is_empty() {
                error_type.clone()
            } else {
                message.clone()
            }
        };
        if v.get("two_factor_required").and_then(|x| x.as_bool()) == Some(true) {
            let info = v.get("two_factor_info").cloned().unwrap_or_default();
            return Error::TwoFactorRequired(Box::new(info));
        }
        if message == "login_required" || message == "user_has_logged_out" || status == 401 {
            return Error::LoginRequired {
                message: text(),
                logout_reason: v.get("logout_reason").and_then(|x| x.as_i64()),
            };
        }
        if message == "challenge_required" {
            let c = v.get("challenge").cloned().unwrap_or_default();
            let info = ChallengeInfo {
                url: c.get("url").and_then(|x| x.as_str()).map(str::to_owned),
                api_path: c
                    .get("api_path")
                    .and_then(|x| x.as_str())
                    .map(str::to_owned),
                challenge_context: c
                    .get("challenge_context")
                    .and_then(|x| x.as_str())
                    .map(str::to_owned),
                lock: c.get("lock").and_then(|x| x.as_bool()).unwrap_or(false),
                logout: c.get("logout").and_then(|x| x.as_bool()).unwrap_or(false),
                native_flow: c
                    .get("native_flow")
                    .and_then(|x| x.as_bool())
                    .unwrap_or(false),
            };
            return Error::ChallengeRequired(Box::new(info));
        }
        if message == "checkpoint_required" {
            return Error::CheckpointRequired {
                url: s("checkpoint_url"),
                lock: v.get("lock").and_then(|x| x.as_bool()).unwrap_or(false),
            };
        }
        if message == "consent_required" {
            let headline = v
                .pointer("/consent_data/headline")
                .and_then(|x| x.as_str())
                .unwrap_or("consent required")
                .to_owned();
            return Error::ConsentRequired { headline };
        }
        if message == "feedback_required" || v.get("spam").and_then(|x| x.as_bool()) == Some(true) {
            return Error::FeedbackRequired {
                message: s("feedback_message").unwrap_or_else(text),
                title: s("feedback_title"),
                url: s("feedback_url"),
            };
        }
        match error_type.as_str() {
            "rate_limit_error" => {
                return Error::RateLimited {
                    message: text(),
                    retry_after,
                };
            }
            "sentry_block" => return Error::SentryBlock { message: text() },
            "inactive_user" => return Error::InactiveUser { message: text() },
            "bad_password" | "unusable_password" => return Error::BadPassword { message: text() },
            "invalid_user" => return Error::InvalidUser { message: text() },
            "sms_code_validation_code_invalid" | "invalid_verification_code" => {
                return Error::BadCode { message: text() };
            }
            "invalid_nonce" => return Error::ExpiredNonce { message: text() },
            "needs_upgrade" => return Error::NeedsUpgrade { message: text() },
            _ => {}
        }
        if s("exception_name").as_deref() == Some("UserInvalidCredentials") {
            return Error::BadPassword { message: text() };
        }
        if status == 429 || message.to_ascii_lowercase().contains("wait a few minutes") {
            return Error::RateLimited {
                message: text(),
                retry_after,
            };
        }
        match status {
            404 => Error::NotFound { message: text() },
            408 | 500..=599 => Error::Transient {
                message: format!("HTTP {status}: {}", text()),
            },
            _ => Error::Api {
                status,
                message: text(),
                error_type: (!error_type.is_empty()).then_some(error_type.clone()),
            },
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        // reqwest errors may embed the URL; ours never carry secrets in URLs.
        if e.is_decode() {
            Error::BadResponse {
                message: e.to_string(),
            }
        } else if e.is_builder() {
            Error::Setup(e.to_string())
        } else {
            Error::Transient {
                message: e.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_protocol_f_shapes() {
        let e = Error::from_response(
            403,
            r#"{"message":"login_required","status":"fail","logout_reason":2}"#,
            None,
        );
        assert!(matches!(
            e,
            Error::LoginRequired {
                logout_reason: Some(2),
                ..
            }
        ));
        assert!(e.is_session_dead() && !e.is_transient());
        let e = Error::from_response(
            400,
            r#"{"message":"challenge_required","challenge":{"url":"https://i.instagram.com/challenge/1/a/","api_path":"/challenge/1/a/","native_flow":true,"challenge_context":"{}"},"status":"fail"}"#,
            None,
        );
        match &e {
            Error::ChallengeRequired(c) => {
                assert_eq!(c.api_path.as_deref(), Some("/challenge/1/a/"))
            }
            other => panic!("{other:?}"),
        }
        assert!(e.needs_user_action());
        let e = Error::from_response(
            429,
            r#"{"message":"Please wait a few minutes before you try again.","status":"fail"}"#,
            None,
        );
        assert!(e.is_transient() && e.retry_after().is_some());
        let e = Error::from_response(
            400,
            r#"{"message":"Please wait a few minutes before you try again.","status":"fail"}"#,
            None,
        );
        assert!(matches!(e, Error::RateLimited { .. }));
        let e = Error::from_response(
            400,
            r#"{"message":"feedback_required","spam":true,"feedback_message":"blocked","status":"fail"}"#,
            None,
        );
        assert!(matches!(e, Error::FeedbackRequired { ref message, .. } if message == "blocked"));
        for (ty, check) in [
            ("bad_password", "BadPassword"),
            ("invalid_user", "InvalidUser"),
            ("sentry_block", "SentryBlock"),
            ("inactive_user", "InactiveUser"),
            ("sms_code_validation_code_invalid", "BadCode"),
            ("invalid_nonce", "ExpiredNonce"),
            ("rate_limit_error", "RateLimited"),
            ("needs_upgrade", "NeedsUpgrade"),
        ] {
            let e = Error::from_response(
                400,
                &format!(r#"{{"message":"x","error_type":"{ty}","status":"fail"}}"#),
                None,
            );
            assert!(format!("{e:?}").starts_with(check), "{ty}: {e:?}");
        }
        assert!(matches!(
            Error::from_response(502, "<html>", None),
            Error::Transient { .. }
        ));
        assert!(matches!(
            Error::from_response(
                400,
                r#"{"message":"checkpoint_required","checkpoint_url":"u"}"#,
                None
            ),
            Error::CheckpointRequired { .. }
        ));
        assert!(matches!(
            Error::from_response(
                400,
                r#"{"message":"consent_required","consent_data":{"headline":"h"}}"#,
                None
            ),
            Error::ConsentRequired { .. }
        ));
        assert!(matches!(
            Error::from_response(404, "Not Found", None),
            Error::NotFound { .. }
        ));
    }
}
