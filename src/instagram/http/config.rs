//! Plain configuration of the HTTP client; the bridge's config maps into it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::instagram::Error;
use crate::instagram::proxy::ProxyUrl;

/// Told of every failed request attempt (for metrics); must not block.
#[derive(Clone)]
pub struct ErrorHook(pub Arc<dyn Fn(&Error) + Send + Sync>);

impl std::fmt::Debug for ErrorHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErrorHook")
    }
}

/// The app version triple (PROTOCOL A.2): never mix values of different rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppVersion {
    pub app_version: String,
    pub version_code: String,
    pub bloks_version_id: String,
}

impl Default for AppVersion {
    fn default() -> Self {
        Self {
            app_version: "256.0.0.18.105".into(),
            version_code: "407842973".into(),
            bloks_version_id: "0928297a84f74885ff39fc1628f8a40da3ef1c467555d555bfd9f8fe1aaacafe"
                .into(),
        }
    }
}

/// Configuration of an [`super::InstagramClient`].
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// API base, ending in `/api/v1/` (real: `https://i.instagram.com/api/v1/`).
    pub api_base: String,
    /// rupload base (real: `https://rupload.facebook.com/`).
    pub upload_base: String,
    pub version: AppVersion,
    /// `en_US`-style locale.
    pub locale: String,
    /// Seconds east of UTC, sent as `X-IG-Timezone-Offset`.
    pub timezone_offset: i32,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Minimum gap between two requests of one account, in the long run.
    pub min_request_gap: Duration,
    /// Requests one account may make at once before the gap applies (login, a few sends).
    pub request_burst: u32,
    /// Retries of a transient failure (network, 5xx) before giving up.
    pub max_retries: u32,
    /// First back-off delay on a transient failure; doubles per attempt.
    pub retry_base_delay: Duration,
    /// Retries after a 429 / "please wait a few minutes" before giving up.
    pub max_rate_limit_retries: u32,
    /// First back-off delay after a rate limit; grows linearly (M: 2, 4, 6… min).
    pub rate_limit_base_delay: Duration,
    /// Upper bound of any single back-off wait; a server asking for longer fails the call.
    pub max_backoff: Duration,
    /// Extra PEM CA to trust (tests).
    pub extra_ca: Option<PathBuf>,
    /// The account's proxy: every request (API, rupload, CDN) goes through it, or fails.
    pub proxy: Option<ProxyUrl>,
    /// Told of every failed request attempt.
    pub on_error: Option<ErrorHook>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            api_base: "https://i.instagram.com/api/v1/".into(),
            upload_base: "https://rupload.facebook.com/".into(),
            version: AppVersion::default(),
            locale: "en_US".into(),
            timezone_offset: 0,
            request_timeout: Duration::from_secs(60),
            min_request_gap: Duration::from_millis(1000),
            request_burst: 4,
            max_retries: 3,
            retry_base_delay: Duration::from_secs(2),
            max_rate_limit_retries: 2,
            rate_limit_base_delay: Duration::from_secs(120),
            max_backoff: Duration::from_secs(600),
            extra_ca: None,
            proxy: None,
            on_error: None,
        }
    }
}

impl HttpConfig {
    /// A config pointing every base URL at a local server (tests): `api` is `http://host:port`.
    pub fn for_local(api: &str, upload: &str) -> Self {
        Self {
            api_base: format!("{}/api/v1/", api.trim_end_matches('/')),
            upload_base: format!("{}/", upload.trim_end_matches('/')),
            min_request_gap: Duration::ZERO,
            retry_base_delay: Duration::from_millis(10),
            rate_limit_base_delay: Duration::from_millis(10),
            request_timeout: Duration::from_secs(10),
            ..Self::default()
        }
    }

    /// `Accept-Language` form of the locale (`en-US`).
    pub fn accept_language(&self) -> String {
        self.locale.replace('_', "-")
    }

    /// The country part of the locale (`US`).
    pub fn country(&self) -> &str {
        self.locale.rsplit('_').next().unwrap_or("US")
    }
}
