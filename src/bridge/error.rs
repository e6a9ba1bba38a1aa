//! What applying an inbox row can end in, besides success.
//!
//! A transient failure says which far side failed, so the conversation can wait for that side
//! to come back; a permanent one goes to the dead letters with a notice; a skipped row was
//! deliberately not bridged and is no error at all.

use crate::matrix::MatrixError;
use crate::store::StoreError;

/// The side whose failure made an apply transient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Homeserver,
    Instagram,
    Database,
}

/// Why applying a row did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Worth trying again once `side` works again (unreachable, 5xx, 429, timeouts, busy).
    /// `wait`: the far side asked for at least this long (a rate limit).
    #[error("{reason}")]
    Transient {
        side: Side,
        reason: String,
        wait: Option<std::time::Duration>,
    },
    /// Will never work (malformed or refused event): dead-lettered with a notice.
    #[error("{0}")]
    Permanent(String),
    /// Deliberately not applied (a held message request): not an error.
    #[error("{0}")]
    Skipped(String),
}

impl ApplyError {
    pub fn transient(side: Side, reason: impl Into<String>) -> Self {
        Self::Transient {
            side,
            reason: reason.into(),
            wait: None,
        }
    }

    /// A rate limit: try again, but not before `wait`.
    pub fn rate_limited(side: Side, reason: impl Into<String>, wait: std::time::Duration) -> Self {
        Self::Transient {
            side,
            reason: reason.into(),
            wait: Some(wait),
        }
    }

    /// From an Instagram failure, by its own classification.
    pub fn from_instagram(e: &crate::instagram::Error, context: &str) -> Self {
        if let crate::instagram::Error::RateLimited { .. } = e {
            let wait = e
                .retry_after()
                .unwrap_or(std::time::Duration::from_secs(60));
            Self::rate_limited(
                Side::Instagram,
                format!("{context}: {}", e.user_message()),
                wait,
            )
        } else if e.is_transient() {
            Self::transient(Side::Instagram, format!("{context}: {}", e.user_message()))
        } else {
            Self::Permanent(format!("{context}: {}", e.user_message()))
        }
    }
}

impl From<MatrixError> for ApplyError {
    fn from(e: MatrixError) -> Self {
        match e {
            MatrixError::Unreachable { .. } => Self::transient(Side::Homeserver, e.to_string()),
            MatrixError::Api { status, .. } if status >= 500 || status == 429 => {
                Self::transient(Side::Homeserver, e.to_string())
            }
            _ => Self::Permanent(e.to_string()),
        }
    }
}

impl From<StoreError> for ApplyError {
    fn from(e: StoreError) -> Self {
        Self::transient(Side::Database, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified_by_side() {
        let down = MatrixError::Unreachable {
            endpoint: "send",
            attempts: 1,
            reason: "connection refused".into(),
        };
        assert!(matches!(
            ApplyError::from(down),
            ApplyError::Transient {
                side: Side::Homeserver,
                ..
            }
        ));
        let refused = MatrixError::Api {
            endpoint: "send",
            status: 403,
            errcode: "M_FORBIDDEN".into(),
            message: "no".into(),
        };
        assert!(matches!(
            ApplyError::from(refused),
            ApplyError::Permanent(_)
        ));
        let busy = MatrixError::Api {
            endpoint: "send",
            status: 502,
            errcode: "M_UNKNOWN".into(),
            message: String::new(),
        };
        assert!(matches!(
            ApplyError::from(busy),
            ApplyError::Transient { .. }
        ));
        let blip = crate::instagram::Error::Transient {
            message: "reset".into(),
        };
        assert!(matches!(
            ApplyError::from_instagram(&blip, "send"),
            ApplyError::Transient {
                side: Side::Instagram,
                ..
            }
        ));
    }
}
