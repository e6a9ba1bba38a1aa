//! The homeserver client: ruma request types sent over reqwest, as the bot or as any ghost
//! (appservice `user_id` masquerading), with retries on 429, 5xx and connection errors.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ruma::api::auth_scheme::{AuthScheme, SendAccessToken};
use ruma::api::path_builder::PathBuilder;
use ruma::api::{
    AppserviceUserIdentity, IncomingResponseExt, MatrixVersion, OutgoingRequest,
    OutgoingRequestAppserviceExt, SupportedVersions,
};
use ruma::{OwnedUserId, UserId};

pub use super::error::MatrixError;
use super::error::{
    api_error, describe_reqwest_error, error_body, rate_limited, retry_after, too_large,
};
use crate::secret::Secret;

/// How requests are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Whose credentials a client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The bridge's own appservice token: as the bot, or as a ghost with `?user_id=`.
    Appservice,
    /// Another appservice's token (double puppeting): always as the given user with
    /// `?user_id=`.
    PuppetAppservice,
    /// A user's own access token: as that user, no `?user_id=`.
    UserAccess,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    as_token: Secret,
    kind: TokenKind,
    bot: OwnedUserId,
    retry: RetryPolicy,
    versions: RwLock<SupportedVersions>,
    timing: super::timing::Timing,
}

/// A cheap, cloneable homeserver client.
#[derive(Clone)]
pub struct HomeserverClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HomeserverClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HomeserverClient")
            .field("base_url", &self.inner.base_url)
            .field("bot", &self.inner.bot)
            .finish_non_exhaustive()
    }
}

fn default_versions() -> SupportedVersions {
    SupportedVersions {
        versions: [
            MatrixVersion::V1_1,
            MatrixVersion::V1_2,
            MatrixVersion::V1_3,
            MatrixVersion::V1_4,
            MatrixVersion::V1_5,
            MatrixVersion::V1_6,
            MatrixVersion::V1_7,
            MatrixVersion::V1_8,
            MatrixVersion::V1_9,
            MatrixVersion::V1_10,
            MatrixVersion::V1_11,
        ]
        .into_iter()
        .collect(),
        features: Default::default(),
    }
}

impl HomeserverClient {
    pub fn new(
        base_url: &str,
        as_token: &str,
        bot: OwnedUserId,
        retry: RetryPolicy,
    ) -> Result<Self, MatrixError> {
        crate::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| MatrixError::Protocol {
                endpoint: "client",
                reason: e.to_string(),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url: base_url.trim_end_matches('/').to_string(),
                as_token: Secret::new(as_token),
                kind: TokenKind::Appservice,
                bot,
                retry,
                versions: RwLock::new(default_versions()),
                timing: Default::default(),
            }),
        })
    }

    /// A client for the same homeserver (or `base_url`) sending another token: a double
    /// puppet's. It shares the HTTP connection pool; its requests are not timed.
    pub fn with_token(&self, base_url: Option<&str>, token: Secret, kind: TokenKind) -> Self {
        let versions = self
            .inner
            .versions
            .read()
            .map(|v| v.clone())
            .unwrap_or_else(|_| default_versions());
        Self {
            inner: Arc::new(Inner {
                http: self.inner.http.clone(),
                base_url: base_url
                    .map(|u| u.trim_end_matches('/').to_string())
                    .unwrap_or_else(|| self.inner.base_url.clone()),
                as_token: token,
                kind,
                bot: self.inner.bot.clone(),
                retry: self.inner.retry,
                versions: RwLock::new(versions),
                timing: Default::default(),
            }),
        }
    }

    /// Whose credentials this client sends.
    pub fn token_kind(&self) -> TokenKind {
        self.inner.kind
    }

    /// Sets the hook told of every request's duration (once; later calls are ignored).
    pub fn set_request_hook(&self, hook: super::timing::RequestHook) {
        self.inner.timing.set(hook);
    }

    /// The bot's user id.
    pub fn bot(&self) -> &UserId {
        &self.inner.bot
    }

    /// Asks the homeserver which spec versions it supports (once reachable).
    pub async fn refresh_versions(&self) -> Result<(), MatrixError> {
        let endpoint = "discovery::get_supported_versions";
        let unreachable = |e: reqwest::Error| MatrixError::Unreachable {
            endpoint,
            attempts: 1,
            reason: describe_reqwest_error(&e),
        };
        let url = format!("{}/_matrix/client/versions", self.inner.base_url);
        let response = self.inner.http.get(url).send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(unreachable)?;
        if status != 200 {
            let (errcode, message) = error_body(&body);
            return Err(MatrixError::Api {
                endpoint,
                status,
                errcode,
                message,
            });
        }
        #[derive(serde::Deserialize)]
        struct Versions {
            #[serde(default)]
            versions: Vec<String>,
            #[serde(default)]
            unstable_features: std::collections::BTreeMap<String, bool>,
        }
        let parsed: Versions =
            serde_json::from_slice(&body).map_err(|e| MatrixError::Protocol {
                endpoint,
                reason: e.to_string(),
            })?;
        let versions = SupportedVersions::from_parts(&parsed.versions, &parsed.unstable_features);
        if !versions.versions.is_empty()
            && let Ok(mut guard) = self.inner.versions.write()
        {
            *guard = versions;
        }
        Ok(())
    }

    /// Uploads media as the bot or `user`; returns its `mxc://` URI. The bytes are shared
    /// between retries, never copied.
    pub async fn upload(
        &self,
        data: bytes::Bytes,
        content_type: &str,
        user: Option<&UserId>,
    ) -> Result<ruma::OwnedMxcUri, MatrixError> {
        let endpoint = "media::create_content";
        let mut url = format!("{}/_matrix/media/v3/upload", self.inner.base_url);
        if let Some(user) = user.filter(|u| self.masquerades_as(u)) {
            url.push_str("?user_id=");
            url.extend(url::form_urlencoded::byte_serialize(
                user.as_str().as_bytes(),
            ));
        }
        let policy = self.inner.retry;
        let mut delay = policy.initial_delay;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = std::time::Instant::now();
            let result = self
                .inner
                .http
                .post(&url)
                .bearer_auth(self.inner.as_token.expose())
                .header("content-type", content_type)
                .body(data.clone())
                .send()
                .await;
            let ok = result.as_ref().is_ok_and(|r| r.status().is_success());
            self.inner.timing.observe(endpoint, started, ok);
            // Like `send`: only rate limits are waited out here.
            let retry = match result {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body = resp.text().await.unwrap_or_default();
                    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    if (200..300).contains(&status) {
                        let uri = v["content_uri"].as_str().unwrap_or_default();
                        return Some(ruma::OwnedMxcUri::from(uri))
                            .filter(|u| u.is_valid())
                            .ok_or_else(|| MatrixError::Protocol {
                                endpoint,
                                reason: "upload answer without a valid content_uri".into(),
                            });
                    }
                    let err = api_error(endpoint, status, &v);
                    if status != 429 || attempt >= policy.max_attempts.max(1) {
                        return Err(err);
                    }
                    v["retry_after_ms"].as_u64().map(Duration::from_millis)
                }
                Err(e) => {
                    return Err(MatrixError::Unreachable {
                        endpoint,
                        attempts: attempt,
                        reason: e.without_url().to_string(),
                    });
                }
            };
            let wait = retry.unwrap_or(delay).min(policy.max_delay);
            tracing::debug!(endpoint, attempt, "media upload rate limited, waiting");
            tokio::time::sleep(wait).await;
            delay = (delay * 2).min(policy.max_delay);
        }
    }

    /// Downloads a `mxc://` URI (authenticated media, falling back to the legacy endpoint on
    /// homeservers without it), streaming and refusing more than `max_bytes`.
    pub async fn download(&self, mxc: &str, max_bytes: u64) -> Result<Vec<u8>, MatrixError> {
        let endpoint = "media::download";
        let protocol = |reason: String| MatrixError::Protocol { endpoint, reason };
        let Some((server, media_id)) = mxc
            .strip_prefix("mxc://")
            .and_then(|rest| rest.split_once('/'))
            .filter(|(s, m)| !s.is_empty() && !m.is_empty() && !m.contains('/'))
        else {
            return Err(protocol(format!("not a mxc:// URI: {mxc:?}")));
        };
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let (server, media_id) = (enc(server), enc(media_id));
        let paths = [
            format!("/_matrix/client/v1/media/download/{server}/{media_id}"),
            format!("/_matrix/media/v3/download/{server}/{media_id}"),
        ];
        let mut last = None;
        for path in paths {
            // Failures go back to the caller's retry policy, like `send`.
            let response = self
                .inner
                .http
                .get(format!("{}{path}", self.inner.base_url))
                .bearer_auth(self.inner.as_token.expose())
                .send()
                .await
                .map_err(|e| MatrixError::Unreachable {
                    endpoint,
                    attempts: 1,
                    reason: e.without_url().to_string(),
                })?;
            let status = response.status().as_u16();
            if !(200..300).contains(&status) {
                let body = response.text().await.unwrap_or_default();
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let err = api_error(endpoint, status, &v);
                // Homeservers without authenticated media answer 404 M_UNRECOGNIZED (or 405).
                let unrecognized =
                    status == 405 || (status == 404 && err.errcode() == Some("M_UNRECOGNIZED"));
                last = Some(err);
                if unrecognized {
                    continue;
                }
                break;
            }
            if response.content_length().is_some_and(|n| n > max_bytes) {
                return Err(too_large(endpoint, max_bytes));
            }
            let mut response = response;
            let mut out = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| protocol(format!("download interrupted: {}", e.without_url())))?
            {
                if (out.len() + chunk.len()) as u64 > max_bytes {
                    return Err(too_large(endpoint, max_bytes));
                }
                out.extend_from_slice(&chunk);
            }
            return Ok(out);
        }
        Err(last.unwrap_or_else(|| protocol("no download endpoint answered".into())))
    }

    /// Sends a request as the bot (`user = None`) or as the given user. Only rate limits
    /// (429) are waited out here, as the homeserver asks, up to the policy's attempts; a
    /// failure (unreachable, 5xx) is returned at once, for the caller's own retry policy (the
    /// conversation worker pauses and tries again when the homeserver is back) — never a
    /// retry loop inside another.
    pub async fn send<R>(
        &self,
        request: R,
        user: Option<&UserId>,
    ) -> Result<R::IncomingResponse, MatrixError>
    where
        R: OutgoingRequest + Clone,
        for<'a> R::Authentication: AuthScheme<Input<'a> = SendAccessToken<'a>>,
        for<'a> R::PathBuilder: PathBuilder<Input<'a> = Cow<'a, SupportedVersions>>,
    {
        let policy = self.inner.retry;
        let mut delay = policy.initial_delay;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = std::time::Instant::now();
            let result = self.send_once(request.clone(), user).await;
            let endpoint = endpoint_name::<R>();
            self.inner.timing.observe(endpoint, started, result.is_ok());
            let after = match result {
                Ok(response) => return Ok(response),
                Err(Attempt::Final(e)) => return Err(e),
                Err(Attempt::RateLimited { after }) => after,
            };
            if attempt >= policy.max_attempts.max(1) {
                return Err(rate_limited(endpoint_name::<R>()));
            }
            let wait = after.unwrap_or(delay).min(policy.max_delay);
            tracing::debug!(
                endpoint = endpoint_name::<R>(),
                attempt,
                wait_ms = wait.as_millis() as u64,
                "rate limited by the homeserver, waiting"
            );
            tokio::time::sleep(wait).await;
            delay = (delay * 2).min(policy.max_delay);
        }
    }

    /// Sends a request once, without retrying: for probes whose caller has its own schedule
    /// and wants the homeserver's answer (a 5xx included) as it was.
    pub async fn send_single<R>(
        &self,
        request: R,
        user: Option<&UserId>,
    ) -> Result<R::IncomingResponse, MatrixError>
    where
        R: OutgoingRequest,
        for<'a> R::Authentication: AuthScheme<Input<'a> = SendAccessToken<'a>>,
        for<'a> R::PathBuilder: PathBuilder<Input<'a> = Cow<'a, SupportedVersions>>,
    {
        let started = std::time::Instant::now();
        let result = self.send_once(request, user).await;
        let ok = result.is_ok();
        self.inner.timing.observe(endpoint_name::<R>(), started, ok);
        result.map_err(|a| match a {
            Attempt::RateLimited { .. } => rate_limited(endpoint_name::<R>()),
            Attempt::Final(e) => e,
        })
    }

    async fn send_once<R>(
        &self,
        request: R,
        user: Option<&UserId>,
    ) -> Result<R::IncomingResponse, Attempt>
    where
        R: OutgoingRequest,
        for<'a> R::Authentication: AuthScheme<Input<'a> = SendAccessToken<'a>>,
        for<'a> R::PathBuilder: PathBuilder<Input<'a> = Cow<'a, SupportedVersions>>,
    {
        let endpoint = endpoint_name::<R>();
        let protocol = |reason: String| Attempt::Final(MatrixError::Protocol { endpoint, reason });
        let identity = match user {
            Some(user) if self.masquerades_as(user) => AppserviceUserIdentity::new(user),
            _ => AppserviceUserIdentity::default(),
        };
        let token = match self.inner.kind {
            TokenKind::UserAccess => SendAccessToken::IfRequired(self.inner.as_token.expose()),
            _ => SendAccessToken::Appservice(self.inner.as_token.expose()),
        };
        let versions = self
            .inner
            .versions
            .read()
            .map(|v| v.clone())
            .unwrap_or_else(|_| default_versions());
        let http_request = request
            .try_into_http_request_with_identity::<Vec<u8>>(
                &self.inner.base_url,
                token,
                identity,
                Cow::Owned(versions),
            )
            .map_err(|e| protocol(e.to_string()))?;
        let request =
            reqwest::Request::try_from(http_request).map_err(|e| protocol(e.to_string()))?;
        let response = match self.inner.http.execute(request).await {
            Ok(r) => r,
            Err(e) => {
                return Err(Attempt::Final(MatrixError::Unreachable {
                    endpoint,
                    attempts: 1,
                    reason: describe_reqwest_error(&e),
                }));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Err(Attempt::Final(MatrixError::Unreachable {
                    endpoint,
                    attempts: 1,
                    reason: describe_reqwest_error(&e),
                }));
            }
        };
        if status.as_u16() == 429 {
            let after = retry_after(&body, &headers);
            return Err(Attempt::RateLimited { after });
        }
        if status.is_server_error() {
            let (errcode, message) = error_body(&body);
            return Err(Attempt::Final(MatrixError::Api {
                endpoint,
                status: status.as_u16(),
                errcode,
                message,
            }));
        }
        if status.as_u16() >= 400 {
            let (errcode, message) = error_body(&body);
            return Err(Attempt::Final(MatrixError::Api {
                endpoint,
                status: status.as_u16(),
                errcode,
                message,
            }));
        }
        let mut builder = http::Response::builder().status(status);
        for (name, value) in &headers {
            builder = builder.header(name, value);
        }
        let http_response = builder
            .body(body.as_ref())
            .map_err(|e| protocol(e.to_string()))?;
        R::IncomingResponse::try_from_http_response(http_response)
            .map_err(|e| protocol(e.to_string()))
    }
}

impl HomeserverClient {
    /// Sends a JSON request that has no ruma type on this side (the end-to-bridge encryption
    /// requests `matrix::crypto` builds from matrix-sdk-crypto's own types) with this client's
    /// token, `query` appended. Rate limits are waited out as in [`send`](Self::send); any
    /// other failure is returned at once. The answer's body is returned as it came.
    pub async fn send_json(
        &self,
        endpoint: &'static str,
        method: http::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<bytes::Bytes, MatrixError> {
        let url = format!("{}{path}", self.inner.base_url);
        let policy = self.inner.retry;
        let mut delay = policy.initial_delay;
        for attempt in 1.. {
            let started = std::time::Instant::now();
            let mut request = self
                .inner
                .http
                .request(method.clone(), &url)
                .query(query)
                .bearer_auth(self.inner.as_token.expose());
            if let Some(body) = body {
                request = request.json(body);
            }
            let sent = request.send().await;
            let unreachable = |e: reqwest::Error| MatrixError::Unreachable {
                endpoint,
                attempts: 1,
                reason: describe_reqwest_error(&e),
            };
            let response = sent.map_err(unreachable)?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let bytes = response.bytes().await.map_err(unreachable)?;
            self.inner.timing.observe(endpoint, started, status < 400);
            if status == 429 && attempt < policy.max_attempts.max(1) {
                let wait = retry_after(&bytes, &headers)
                    .unwrap_or(delay)
                    .min(policy.max_delay);
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(policy.max_delay);
                continue;
            }
            if status == 429 {
                return Err(rate_limited(endpoint));
            }
            if status >= 400 {
                let (errcode, message) = error_body(&bytes);
                return Err(MatrixError::Api {
                    endpoint,
                    status,
                    errcode,
                    message,
                });
            }
            return Ok(bytes);
        }
        Err(rate_limited(endpoint))
    }

    /// Whether a request as `user` carries `?user_id=`.
    fn masquerades_as(&self, user: &UserId) -> bool {
        match self.inner.kind {
            TokenKind::Appservice => *user != *self.inner.bot,
            TokenKind::PuppetAppservice => true,
            TokenKind::UserAccess => false,
        }
    }
}

/// How one request ended, when not with a response.
enum Attempt {
    /// An answer or failure to hand to the caller as it is (5xx and unreachable included).
    Final(MatrixError),
    /// 429: wait (as long as the homeserver says, if it says) and send again.
    RateLimited { after: Option<Duration> },
}

fn endpoint_name<R: OutgoingRequest>() -> &'static str {
    let name = std::any::type_name::<R>();
    // `ruma_client_api::room::create_room::v3::Request` → `room::create_room`
    let trimmed = name
        .trim_start_matches("ruma_client_api::")
        .trim_end_matches("::Request");
    trimmed
        .rsplit_once("::v")
        .map(|(head, _)| head)
        .unwrap_or(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_are_short() {
        assert_eq!(
            endpoint_name::<ruma::api::client::room::create_room::v3::Request>(),
            "room::create_room"
        );
    }
}
