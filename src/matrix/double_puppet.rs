//! Double puppeting: acting as a real Matrix user rather than as a ghost, with either a second
//! appservice's token (`as_token:` secrets, `?user_id=` on every request) or the user's own
//! access token. Every event such an intent sends carries `fi.mau.double_puppet_source`, so
//! the bridge can tell its own sends from the user's and never bridges them back.

use std::time::Duration;

use ruma::api::client::account::whoami;
use ruma::api::client::config::{get_global_account_data, set_global_account_data};
use ruma::events::GlobalAccountDataEventType;
use ruma::{OwnedUserId, RoomId, UserId};
use serde_json::Value;

use super::client::{HomeserverClient, MatrixError, TokenKind};
use super::intent::{Intent, Intents};
use crate::secret::Secret;

/// The content key marking events a bridge sent as the real user.
pub const SOURCE_KEY: &str = "fi.mau.double_puppet_source";

/// What a double puppet's intent carries besides the user id.
#[derive(Debug)]
pub struct Puppet {
    pub(super) client: HomeserverClient,
    pub(super) source: String,
}

/// How the bridge acts as the user.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A second appservice registration's token (a non-exclusive namespace over the user's
    /// server), sent with `?user_id=`.
    AppserviceToken(Secret),
    /// The user's own access token (`login-matrix`).
    AccessToken(Secret),
}

/// Why a double puppet could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PuppetError {
    /// The homeserver does not know the token (logged out, or a wrong secret).
    #[error("the homeserver does not accept the token")]
    UnknownToken,
    /// The token belongs to someone else.
    #[error("the token belongs to {actual}, not {expected}")]
    Mismatch { expected: String, actual: String },
    #[error("{0}")]
    Matrix(#[from] MatrixError),
    /// The user's homeserver could not be found (`.well-known`).
    #[error("cannot find the homeserver of {server}: {reason}")]
    Discovery { server: String, reason: String },
}

/// Whether a homeserver error means the puppet's token is dead.
pub fn is_dead_token(e: &MatrixError) -> bool {
    matches!(e, MatrixError::Api { status: 401, .. })
        || e.errcode() == Some("M_UNKNOWN_TOKEN")
        || e.errcode() == Some("M_MISSING_TOKEN")
}

/// Whether event content was sent by a bridge as the real user.
pub fn is_marked(content: &Value) -> bool {
    content.get(SOURCE_KEY).is_some()
}

/// The content with the double-puppet source added (objects only).
pub(super) fn mark(content: &Value, source: &str) -> Value {
    let mut marked = content.clone();
    if let Value::Object(map) = &mut marked {
        map.insert(SOURCE_KEY.to_string(), Value::String(source.to_string()));
    }
    marked
}

/// An intent acting as `user` with `credential`, checked once with `whoami`. `base_url` is
/// the user's homeserver when it is not the bridge's own.
pub async fn login(
    intents: &Intents,
    user: &UserId,
    base_url: Option<&str>,
    credential: &Credential,
    source: &str,
) -> Result<Intent, PuppetError> {
    let (token, kind) = match credential {
        Credential::AppserviceToken(t) => (t.clone(), TokenKind::PuppetAppservice),
        Credential::AccessToken(t) => (t.clone(), TokenKind::UserAccess),
    };
    let client = intents.client().with_token(base_url, token, kind);
    let intent = intents.puppet(user.to_owned(), client, source);
    let actual = match intent.whoami().await {
        Ok(actual) => actual,
        Err(e) if is_dead_token(&e) => return Err(PuppetError::UnknownToken),
        Err(e) => return Err(e.into()),
    };
    if actual != user {
        return Err(PuppetError::Mismatch {
            expected: user.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(intent)
}

impl Intent {
    /// Whose the intent's token is, as the homeserver sees it.
    pub async fn whoami(&self) -> Result<OwnedUserId, MatrixError> {
        let response = self
            .client()
            .send(whoami::v3::Request::new(), Some(&self.user_id))
            .await?;
        Ok(response.user_id)
    }

    /// Lists `room` as a direct chat with `other` in the user's `m.direct` account data
    /// (kept as it is otherwise). Returns whether anything changed.
    pub async fn add_direct_chat(
        &self,
        other: &UserId,
        room: &RoomId,
    ) -> Result<bool, MatrixError> {
        let get = get_global_account_data::v3::Request::new(
            self.user_id.clone(),
            GlobalAccountDataEventType::Direct,
        );
        let mut direct: serde_json::Map<String, Value> =
            match self.client().send(get, Some(&self.user_id)).await {
                Ok(r) => serde_json::from_str(r.account_data.json().get()).unwrap_or_default(),
                Err(e) if e.errcode() == Some("M_NOT_FOUND") => Default::default(),
                Err(e) => return Err(e),
            };
        let rooms = direct
            .entry(other.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !rooms.is_array() {
            *rooms = Value::Array(Vec::new());
        }
        let Value::Array(list) = rooms else {
            return Ok(false);
        };
        if list.iter().any(|r| r.as_str() == Some(room.as_str())) {
            return Ok(false);
        }
        list.push(Value::String(room.to_string()));
        let raw = ruma::serde::Raw::new(&Value::Object(direct))
            .map_err(|e| MatrixError::Protocol {
                endpoint: "config::set_global_account_data",
                reason: e.to_string(),
            })?
            .cast_unchecked();
        let set = set_global_account_data::v3::Request::new_raw(
            self.user_id.clone(),
            GlobalAccountDataEventType::Direct,
            raw,
        );
        self.client().send(set, Some(&self.user_id)).await?;
        Ok(true)
    }
}

/// The client-server base URL of `server` from its `.well-known/matrix/client`.
pub async fn discover(server: &str) -> Result<String, PuppetError> {
    let failed = |reason: String| PuppetError::Discovery {
        server: server.to_string(),
        reason,
    };
    crate::tls::ensure_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let url = format!("https://{server}/.well-known/matrix/client");
    let body: Value = http
        .get(url)
        .send()
        .await
        .map_err(|e| failed(e.without_url().to_string()))?
        .error_for_status()
        .map_err(|e| failed(e.without_url().to_string()))?
        .json()
        .await
        .map_err(|e| failed(e.without_url().to_string()))?;
    body.get("m.homeserver")
        .and_then(|h| h.get("base_url"))
        .and_then(Value::as_str)
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(|u| u.trim_end_matches('/').to_string())
        .ok_or_else(|| failed("no m.homeserver.base_url".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn marking_adds_the_source_to_objects_only() {
        let marked = mark(&json!({"body": "hi"}), "matrix-instagram");
        assert_eq!(marked[SOURCE_KEY], "matrix-instagram");
        assert!(is_marked(&marked));
        assert!(!is_marked(&json!({"body": "hi"})));
        assert_eq!(mark(&json!("x"), "s"), json!("x"));
    }

    #[test]
    fn dead_tokens() {
        let err = |status, errcode: &str| MatrixError::Api {
            endpoint: "x",
            status,
            errcode: errcode.into(),
            message: String::new(),
        };
        assert!(is_dead_token(&err(401, "M_UNKNOWN_TOKEN")));
        assert!(is_dead_token(&err(403, "M_UNKNOWN_TOKEN")));
        assert!(!is_dead_token(&err(403, "M_FORBIDDEN")));
    }
}
