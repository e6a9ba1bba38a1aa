//! The request core: headers (PROTOCOL A.3), signed vs form bodies (A.4), response header
//! capture (A.5), the `status` check and error classification (F), per-account pacing,
//! back-off on rate limits, retries of transient failures, timeouts.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use super::config::HttpConfig;
use super::device::Device;
use super::session::Session;
use crate::instagram::Error;
use crate::instagram::ids::UserPk;
use crate::instagram::types::parse_lossless;

/// `X-IG-App-ID`.
pub const APP_ID: &str = "567067343352427";
/// `X-IG-Capabilities`.
pub const CAPABILITIES: &str = "3brTv10=";

/// A request body (PROTOCOL A.4). `Debug` shows field names only: forms carry passwords
/// (encrypted, but still) and login codes.
#[derive(Clone)]
pub(crate) enum Body {
    None,
    /// Raw `k=v&…` form.
    Form(Vec<(String, String)>),
    /// `signed_body=SIGNATURE.{json}`; values are JSON strings.
    Signed(Vec<(String, String)>),
    /// Raw bytes (rupload).
    Bytes(bytes::Bytes),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |fields: &[(String, String)]| -> Vec<String> {
            fields.iter().map(|(k, _)| k.clone()).collect()
        };
        match self {
            Body::None => f.write_str("None"),
            Body::Form(fields) => f.debug_tuple("Form").field(&names(fields)).finish(),
            Body::Signed(fields) => f.debug_tuple("Signed").field(&names(fields)).finish(),
            Body::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
        }
    }
}

/// Which header set to send.
#[derive(Debug, Clone)]
pub(crate) enum Headers {
    /// The full A.3 set.
    Api,
    /// The reduced rupload set (C.5) plus these extra headers.
    Rupload(Vec<(String, String)>),
}

/// One request.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    pub query: Vec<(String, String)>,
    pub body: Body,
    pub headers: Headers,
    /// Require `"status": "ok"` in the JSON answer.
    pub check_status: bool,
}

impl Call {
    pub fn new(method: Method, url: String) -> Self {
        Call {
            method,
            url,
            query: Vec::new(),
            body: Body::None,
            headers: Headers::Api,
            check_status: true,
        }
    }
    pub fn query(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_owned(), v.into()));
        self
    }
    pub fn form(mut self, fields: Vec<(&str, String)>) -> Self {
        self.body = Body::Form(own(fields));
        self
    }
    pub fn signed(mut self, fields: Vec<(&str, String)>) -> Self {
        self.body = Body::Signed(own(fields));
        self
    }
}

fn own(fields: Vec<(&str, String)>) -> Vec<(String, String)> {
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Encodes `signed_body` as Instagram expects: `SIGNATURE.` + JSON object of strings.
pub fn signed_body(fields: &[(String, String)]) -> String {
    let mut map = serde_json::Map::new();
    for (k, v) in fields {
        map.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    format!("SIGNATURE.{}", serde_json::Value::Object(map))
}

pub(crate) struct Inner {
    pub cfg: HttpConfig,
    /// Shared with every account of the same setting (see `transport.rs`).
    pub http: Arc<reqwest::Client>,
    session: Mutex<Session>,
    /// When the account's next request may start (see [`super::pacing`]).
    pace: super::pacing::Pacer,
    changes: watch::Sender<u64>,
}

/// A cheap cloneable handle to one Instagram account.
#[derive(Clone)]
pub struct InstagramClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for InstagramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstagramClient")
            .field("user_pk", &self.user_pk())
            .finish_non_exhaustive()
    }
}

impl InstagramClient {
    /// A client for a fresh (logged-out) device.
    pub fn new(cfg: HttpConfig, device: Device) -> Result<Self, Error> {
        Self::with_session(cfg, Session::new(device))
    }

    /// A client resuming a persisted session (see [`InstagramClient::session_json`]).
    pub fn from_session_json(cfg: HttpConfig, json: serde_json::Value) -> Result<Self, Error> {
        Self::with_session(cfg, Session::from_json(json)?)
    }

    /// A client for a given session.
    pub fn with_session(cfg: HttpConfig, session: Session) -> Result<Self, Error> {
        let http = super::transport::shared(&cfg)?;
        let pace = super::pacing::Pacer::new(cfg.min_request_gap, cfg.request_burst);
        Ok(InstagramClient {
            inner: Arc::new(Inner {
                cfg,
                http,
                session: Mutex::new(session),
                pace,
                changes: watch::channel(0).0,
            }),
        })
    }

    pub fn config(&self) -> &HttpConfig {
        &self.inner.cfg
    }

    /// Whether both clients send over the same HTTP transport (connection pool).
    pub fn shares_transport_with(&self, other: &InstagramClient) -> bool {
        Arc::ptr_eq(&self.inner.http, &other.inner.http)
    }

    pub(crate) fn session_lock(&self) -> MutexGuard<'_, Session> {
        // A poisoned lock only means a panic elsewhere; the session data is still usable.
        self.inner
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A snapshot of the session.
    pub fn session(&self) -> Session {
        self.session_lock().clone()
    }

    /// The whole session as JSON, to persist (after each call, or on [`Self::session_changes`]).
    pub fn session_json(&self) -> serde_json::Value {
        self.session_lock().to_json()
    }

    /// Ticks whenever the session changed (cookies, authorization, claims…).
    pub fn session_changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    pub(crate) fn update_session(&self, f: impl FnOnce(&mut Session)) {
        let changed = {
            let mut s = self.session_lock();
            let before = s.clone();
            f(&mut s);
            *s != before
        };
        if changed {
            self.inner.changes.send_modify(|g| *g += 1);
        }
    }

    /// The logged-in user's pk, if known.
    pub fn user_pk(&self) -> Option<UserPk> {
        self.session_lock().user_pk()
    }

    /// Starts a new app session id (`X-Pigeon-Session-Id`), as the app does on a full resync.
    pub fn rotate_pigeon_session(&self) {
        self.update_session(|s| s.pigeon_session_id = format!("UFS-{}-0", uuid::Uuid::new_v4()));
    }

    /// Whether the session holds credentials (it may still be dead: probe with
    /// [`InstagramClient::current_user`]).
    pub fn is_logged_in(&self) -> bool {
        self.session_lock().is_logged_in()
    }

    /// The realtime password (see [`Session::mqtt_password`]).
    pub fn mqtt_password(&self) -> Option<String> {
        self.session_lock().mqtt_password()
    }

    /// `{api_base}{path}`.
    pub(crate) fn api_url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.inner.cfg.api_base,
            path.trim_start_matches('/')
        )
    }

    /// Runs a call and returns the JSON body (big integers kept as strings).
    pub(crate) async fn call(&self, call: Call) -> Result<serde_json::Value, Error> {
        let cfg = &self.inner.cfg;
        let mut transient_tries = 0u32;
        let mut rate_tries = 0u32;
        loop {
            self.inner.pace.acquire().await;
            let result = self.attempt(&call).await;
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if let Some(hook) = &cfg.on_error {
                (hook.0)(&err);
            }
            let Some(delay) = backoff_delay(cfg, &err, &mut transient_tries, &mut rate_tries)
            else {
                return Err(err);
            };
            tracing::warn!(
                path = %path_of(&call.url),
                error = %err,
                delay_ms = delay.as_millis() as u64,
                "instagram request failed, backing off"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Runs a call and deserializes the answer.
    pub(crate) async fn call_as<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let v = self.call(call).await?;
        serde_json::from_value(v).map_err(|e| Error::BadResponse {
            message: e.to_string(),
        })
    }

    async fn attempt(&self, call: &Call) -> Result<serde_json::Value, Error> {
        let cfg = &self.inner.cfg;
        let headers = {
            let s = self.session_lock();
            match &call.headers {
                Headers::Api => api_headers(&s, cfg, !matches!(call.body, Body::None)),
                Headers::Rupload(extra) => rupload_headers(&s, cfg, extra),
            }
        };
        let mut req = self
            .inner
            .http
            .request(call.method.clone(), &call.url)
            .headers(headers);
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        req = match &call.body {
            Body::None => req,
            Body::Form(fields) => req.body(form_encode(fields)),
            Body::Signed(fields) => req.body(form_encode(&[(
                "signed_body".to_owned(),
                signed_body(fields),
            )])),
            Body::Bytes(b) => req.body(b.clone()),
        };
        let path = path_of(&call.url);
        tracing::debug!(method = %call.method, %path, "instagram request");
        let sent = tokio::time::timeout(cfg.request_timeout, req.send())
            .await
            .map_err(|_| Error::Transient {
                message: "request timed out".into(),
            })?;
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => {
                let proxy = cfg.proxy.as_ref();
                return Err(
                    super::net_error::send_error(&e, proxy, &call.url, "network error").await,
                );
            }
        };
        let status = resp.status().as_u16();
        if let Some(e) = super::net_error::proxy_status(status, cfg.proxy.as_ref()) {
            return Err(e);
        }
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let resp_headers = resp.headers().clone();
        self.update_session(|s| {
            s.update_from_headers(&resp_headers);
        });
        let body = tokio::time::timeout(cfg.request_timeout, resp.text())
            .await
            .map_err(|_| Error::Transient {
                message: "response timed out".into(),
            })?
            .map_err(|e| Error::Transient {
                message: format!("network error reading body: {}", e.without_url()),
            })?;
        tracing::debug!(method = %call.method, %path, status, "instagram response");
        if !(200..300).contains(&status) {
            return Err(Error::from_response(status, &body, retry_after));
        }
        let json: serde_json::Value = parse_lossless(&body).map_err(|e| Error::BadResponse {
            message: format!("{path}: invalid JSON ({e})"),
        })?;
        if call.check_status {
            let ok = json.get("status").and_then(|s| s.as_str()) == Some("ok");
            let needs_reupload =
                json.get("message").and_then(|m| m.as_str()) == Some("media_needs_reupload");
            if !ok || needs_reupload || json.get("error_title").is_some_and(|t| !t.is_null()) {
                return Err(Error::from_response(status, &body, retry_after));
            }
        }
        Ok(json)
    }
}

/// The wait before retrying after `err`, or `None` to give up. Rate limits wait
/// `rate_limit_base_delay × n` (or the server's `Retry-After`), transient failures
/// `retry_base_delay × 2^(n-1)`; every wait is capped by `max_backoff`, and a server asking
/// for more than that makes the call fail at once.
pub(crate) fn backoff_delay(
    cfg: &HttpConfig,
    err: &Error,
    transient_tries: &mut u32,
    rate_tries: &mut u32,
) -> Option<Duration> {
    match err {
        Error::RateLimited { retry_after, .. } if *rate_tries < cfg.max_rate_limit_retries => {
            if retry_after.is_some_and(|r| r > cfg.max_backoff) {
                return None;
            }
            *rate_tries += 1;
            Some(
                retry_after
                    .unwrap_or(cfg.rate_limit_base_delay * *rate_tries)
                    .min(cfg.max_backoff),
            )
        }
        Error::Transient { .. } if *transient_tries < cfg.max_retries => {
            *transient_tries += 1;
            Some(
                (cfg.retry_base_delay * 2u32.saturating_pow(*transient_tries - 1))
                    .min(cfg.max_backoff),
            )
        }
        _ => None,
    }
}

fn path_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_default()
}

fn form_encode(fields: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish()
}

fn put(h: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        h.insert(n, v);
    }
}

fn raw_client_time() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:03}", now.as_secs(), now.subsec_millis())
}

/// The full header set of PROTOCOL A.3 (M's column).
pub(crate) fn api_headers(s: &Session, cfg: &HttpConfig, has_body: bool) -> HeaderMap {
    let mut h = HeaderMap::new();
    let d = &s.device;
    let pk = s.user_pk().map(|p| p.to_string());
    put(&mut h, "user-agent", &d.user_agent(cfg));
    put(&mut h, "x-ig-app-id", APP_ID);
    put(&mut h, "x-ig-capabilities", CAPABILITIES);
    put(&mut h, "x-ig-connection-type", "WIFI");
    put(&mut h, "x-fb-connection-type", "WIFI");
    put(&mut h, "x-ig-device-id", &d.uuid);
    put(&mut h, "x-device-id", &d.uuid);
    put(&mut h, "x-ig-android-id", &d.android_id);
    put(&mut h, "x-ig-family-device-id", &d.fdid);
    if let Some(mid) = s.mid() {
        put(&mut h, "x-mid", mid);
    }
    put(
        &mut h,
        "x-ig-www-claim",
        s.www_claim.as_deref().unwrap_or("0"),
    );
    if let Some(a) = &s.authorization {
        put(&mut h, "authorization", a);
    }
    if let Some(pk) = &pk {
        put(
            &mut h,
            "ig-u-ds-user-id",
            s.ds_user_id.as_deref().unwrap_or(pk),
        );
    }
    let opt = [
        ("ig-u-rur", &s.rur),
        ("ig-u-shbid", &s.shbid),
        ("ig-u-shbts", &s.shbts),
        ("ig-u-ig-direct-region-hint", &s.region_hint),
    ];
    for (name, value) in opt {
        if let Some(v) = value {
            put(&mut h, name, v);
        }
    }
    put(&mut h, "ig-intended-user-id", pk.as_deref().unwrap_or("0"));
    put(&mut h, "x-pigeon-session-id", &s.pigeon_session_id);
    put(&mut h, "x-pigeon-rawclienttime", &raw_client_time());
    put(&mut h, "x-bloks-version-id", &cfg.version.bloks_version_id);
    put(&mut h, "x-bloks-is-layout-rtl", "false");
    put(&mut h, "x-ig-app-locale", &cfg.locale);
    put(&mut h, "x-ig-device-locale", &cfg.locale);
    put(&mut h, "x-ig-mapped-locale", &cfg.locale);
    put(&mut h, "accept-language", &cfg.accept_language());
    put(&mut h, "x-ig-app-startup-country", cfg.country());
    put(
        &mut h,
        "x-ig-timezone-offset",
        &cfg.timezone_offset.to_string(),
    );
    put(&mut h, "x-ig-bandwidth-speed-kbps", "-1.000");
    put(&mut h, "x-ig-bandwidth-totalbytes-b", "0");
    put(&mut h, "x-ig-bandwidth-totaltime-ms", "0");
    put(&mut h, "x-fb-http-engine", "Liger");
    put(&mut h, "x-tigon-is-retry", "False");
    put(&mut h, "x-fb-client-ip", "True");
    put(&mut h, "x-fb-server-cluster", "True");
    put(&mut h, "x-ads-opt-out", "0");
    put(&mut h, "ig-client-endpoint", "unknown");
    put(&mut h, "x-fb-rmd", "cached=0;state=NO_MATCH");
    put(&mut h, "accept-encoding", "gzip");
    if has_body {
        put(
            &mut h,
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        );
    }
    if let Some(c) = s.cookie_header() {
        put(&mut h, "cookie", &c);
    }
    h
}

/// The reduced rupload header set of PROTOCOL C.5.
pub(crate) fn rupload_headers(
    s: &Session,
    cfg: &HttpConfig,
    extra: &[(String, String)],
) -> HeaderMap {
    let mut h = HeaderMap::new();
    let pk = s.user_pk().map(|p| p.to_string());
    if let Some(a) = &s.authorization {
        put(&mut h, "authorization", a);
    }
    put(&mut h, "user-agent", &s.device.user_agent(cfg));
    if let Some(mid) = s.mid() {
        put(&mut h, "x-mid", mid);
    }
    if let Some(pk) = &pk {
        put(&mut h, "ig-u-ds-user-id", pk);
    }
    // The session headers Instagram set, once known, as on every authenticated request
    // (docs/PROTOCOL.md G).
    let opt = [
        ("ig-u-rur", &s.rur),
        ("ig-u-shbid", &s.shbid),
        ("ig-u-shbts", &s.shbts),
    ];
    for (name, value) in opt {
        if let Some(v) = value {
            put(&mut h, name, v);
        }
    }
    put(&mut h, "ig-intended-user-id", pk.as_deref().unwrap_or("0"));
    put(&mut h, "accept-language", &cfg.accept_language());
    put(&mut h, "x-fb-http-engine", "Liger");
    put(&mut h, "x-fb-client-ip", "True");
    put(&mut h, "x-fb-server-cluster", "True");
    put(&mut h, "accept-encoding", "gzip");
    put(&mut h, "priority", "u=6, i");
    for (k, v) in extra {
        put(&mut h, k, v);
    }
    h
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
