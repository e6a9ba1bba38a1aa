//! Why an end-to-bridge encryption step failed.

use crate::matrix::MatrixError;

/// A failure of the bot's crypto machine or of a request it needed.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The crypto store could not be opened (a wrong pickle key reads as this too).
    #[error("cannot open the crypto store at {path}: {reason}")]
    Open { path: String, reason: String },
    /// The crypto store failed while in use.
    #[error("crypto store: {0}")]
    Store(String),
    /// A key, to-device or device request to the homeserver failed.
    #[error(transparent)]
    Homeserver(#[from] MatrixError),
    /// The homeserver answered with something the crypto machine could not read.
    #[error("unexpected answer to {endpoint}: {reason}")]
    Answer {
        endpoint: &'static str,
        reason: String,
    },
    /// An id or event from outside is not what Matrix allows.
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    /// Olm or Megolm refused (encrypting, sharing a room key).
    #[error("encryption failed: {0}")]
    Olm(String),
}

impl CryptoError {
    /// Whether trying again later may succeed (the homeserver unreachable or busy).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Homeserver(MatrixError::Unreachable { .. }) => true,
            Self::Homeserver(MatrixError::Api { status, .. }) => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// Why an encrypted event could not be decrypted.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    /// The room key has not arrived (yet): worth retrying when keys arrive.
    #[error("the room key (session {session_id}) has not arrived{}", withheld.as_ref().map(|w| format!(" (withheld: {w})")).unwrap_or_default())]
    MissingKey {
        session_id: String,
        withheld: Option<String>,
    },
    /// The event cannot be decrypted, ever (malformed, wrong keys, untrusted sender).
    #[error("cannot decrypt: {0}")]
    Undecryptable(String),
    /// Decrypted, but the sending device is below `encryption.verification_levels.send`.
    #[error(
        "the sending device is not trusted enough (encryption.verification_levels.send is {required}): {reason}"
    )]
    Untrusted {
        required: &'static str,
        reason: String,
    },
    /// The sender's device keys, needed to judge it, could not be fetched (worth retrying).
    #[error("the sender's device keys could not be fetched: {0}")]
    KeysUnavailable(String),
    /// The crypto store failed.
    #[error("crypto store: {0}")]
    Store(String),
}
