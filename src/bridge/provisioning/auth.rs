//! Who is asking: `Authorization: Bearer <provisioning.shared_secret>` with `?user_id=`, or
//! (when `provisioning.allow_matrix_auth` is on) the user's own Matrix access token, checked
//! with the homeserver's `/account/whoami` and cached by its SHA-256. The user must have the
//! `user` permission level, as for the bot. Tokens are never logged.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ProvError;
use crate::config::{Config, PermissionLevel};
use crate::matrix::whoami::{Whoami, WhoamiError};
use crate::secret::Secret;

/// How long a homeserver's answer about a token is trusted.
const CACHE_FOR: Duration = Duration::from_secs(300);
/// At most this many tokens are remembered (expired ones are dropped first, then all).
const CACHE_MAX: usize = 4096;

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<Secret> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| Secret::new(token))
}

/// Whether `user_id` looks like a Matrix user id.
fn is_user_id(user_id: &str) -> bool {
    user_id.len() <= 255
        && user_id.starts_with('@')
        && user_id
            .split_once(':')
            .is_some_and(|(local, server)| local.len() > 1 && !server.is_empty())
}

/// Checks a request's credentials and returns the Matrix user it acts for.
pub struct Auth {
    shared_secret: Secret,
    allow_matrix_auth: bool,
    whoami: Option<Whoami>,
    cache: std::sync::Mutex<HashMap<[u8; 32], (String, Instant)>>,
}

impl Auth {
    pub fn new(config: &Config) -> Auth {
        let whoami = Whoami::new(config.homeserver.address.as_str())
            .inspect_err(|e| tracing::warn!("provisioning: no Matrix token checks: {e}"))
            .ok();
        Auth {
            shared_secret: config.provisioning.shared_secret.clone(),
            allow_matrix_auth: config.provisioning.allow_matrix_auth,
            whoami,
            cache: Default::default(),
        }
    }

    /// The user a request acts for, with the permission to use the bridge.
    pub async fn user(
        &self,
        config: &Config,
        headers: &HeaderMap,
        user_id: Option<&str>,
    ) -> Result<String, ProvError> {
        let token = bearer(headers).ok_or(ProvError::MissingToken)?;
        let mxid = if bool::from(
            token
                .expose()
                .as_bytes()
                .ct_eq(self.shared_secret.expose().as_bytes()),
        ) {
            let user_id = user_id.ok_or(ProvError::MissingParam(
                "The user_id query parameter is required with the shared secret",
            ))?;
            if !is_user_id(user_id) {
                return Err(ProvError::BadJson("user_id is not a Matrix user id".into()));
            }
            user_id.to_string()
        } else if self.allow_matrix_auth {
            let mxid = self.matrix_user(&token).await?;
            if user_id.is_some_and(|u| u != mxid) {
                return Err(ProvError::Forbidden(
                    "A Matrix access token acts only for its own user",
                ));
            }
            mxid
        } else {
            return Err(ProvError::UnknownToken);
        };
        if config.permission_level(&mxid) < Some(PermissionLevel::User) {
            return Err(ProvError::Forbidden(
                "You don't have permission to use this bridge",
            ));
        }
        Ok(mxid)
    }

    /// The owner of a Matrix access token, from the cache or the homeserver.
    async fn matrix_user(&self, token: &Secret) -> Result<String, ProvError> {
        let key: [u8; 32] = Sha256::digest(token.expose().as_bytes()).into();
        if let Some((mxid, at)) = self.lock().get(&key)
            && at.elapsed() < CACHE_FOR
        {
            return Ok(mxid.clone());
        }
        let whoami = self
            .whoami
            .as_ref()
            .ok_or_else(|| ProvError::Upstream("Cannot check tokens with the homeserver".into()))?;
        let mxid = match whoami.user_id(token).await {
            Ok(mxid) if is_user_id(&mxid) => mxid,
            Ok(_) => {
                return Err(ProvError::Upstream(
                    "The homeserver's whoami named no user".into(),
                ));
            }
            Err(WhoamiError::UnknownToken) => return Err(ProvError::UnknownToken),
            Err(e) => {
                tracing::warn!("provisioning: {e}");
                return Err(ProvError::Upstream(
                    "Cannot check the token with the homeserver".into(),
                ));
            }
        };
        let mut cache = self.lock();
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, (_, at)| at.elapsed() < CACHE_FOR);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(key, (mxid.clone(), Instant::now()));
        Ok(mxid)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (String, Instant)>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
