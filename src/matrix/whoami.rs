//! Whose is a Matrix access token: the homeserver's `/account/whoami`, asked with a user's
//! own token (not the appservice's). The token is never logged.

use std::time::Duration;

use crate::secret::Secret;

/// Why the owner of a token is not known.
#[derive(Debug, thiserror::Error)]
pub enum WhoamiError {
    /// The homeserver does not know the token.
    #[error("the homeserver does not know this access token")]
    UnknownToken,
    #[error("cannot reach the homeserver's whoami: {0}")]
    Unreachable(String),
    #[error("the homeserver's whoami answered {0}")]
    Bad(String),
}

/// Asks the homeserver at `base_url` whose `token` is.
pub struct Whoami {
    url: String,
    http: reqwest::Client,
}

impl Whoami {
    pub fn new(base_url: &str) -> Result<Whoami, WhoamiError> {
        crate::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| WhoamiError::Unreachable(e.to_string()))?;
        let base = base_url.trim_end_matches('/');
        Ok(Whoami {
            url: format!("{base}/_matrix/client/v3/account/whoami"),
            http,
        })
    }

    /// The user id owning `token`.
    pub async fn user_id(&self, token: &Secret) -> Result<String, WhoamiError> {
        let resp = self
            .http
            .get(&self.url)
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(|e| WhoamiError::Unreachable(e.without_url().to_string()))?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(WhoamiError::UnknownToken);
        }
        if !status.is_success() {
            return Err(WhoamiError::Bad(status.to_string()));
        }
        let body: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| WhoamiError::Bad(format!("{status} with a bad body: {e}")))?;
        body.get("user_id")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| WhoamiError::Bad(format!("{status} without user_id")))
    }
}
