//! How a homeserver exchange fails: [`MatrixError`], and reading Matrix error answers
//! (`errcode`/`error`, `retry_after_ms`, `Retry-After`) without ever quoting the request URL
//! (which may carry a token).

use std::time::Duration;

/// A failed homeserver request. Never contains the access token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MatrixError {
    /// The homeserver answered with a Matrix error.
    #[error("homeserver refused {endpoint}: {status} {errcode}: {message}")]
    Api {
        endpoint: &'static str,
        status: u16,
        errcode: String,
        message: String,
    },
    /// The homeserver could not be reached or kept failing.
    #[error("homeserver unreachable for {endpoint} after {attempts} attempts: {reason}")]
    Unreachable {
        endpoint: &'static str,
        attempts: u32,
        reason: String,
    },
    /// The request could not be built or the response not understood.
    #[error("bad homeserver exchange for {endpoint}: {reason}")]
    Protocol {
        endpoint: &'static str,
        reason: String,
    },
}

impl MatrixError {
    /// The Matrix `errcode`, if the homeserver gave one.
    pub fn errcode(&self) -> Option<&str> {
        match self {
            Self::Api { errcode, .. } => Some(errcode),
            _ => None,
        }
    }
}

/// A Matrix error answer (`errcode`, `error`) as a [`MatrixError::Api`].
pub(super) fn api_error(
    endpoint: &'static str,
    status: u16,
    body: &serde_json::Value,
) -> MatrixError {
    MatrixError::Api {
        endpoint,
        status,
        errcode: body["errcode"].as_str().unwrap_or("").to_string(),
        message: body["error"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect(),
    }
}

pub(super) fn too_large(endpoint: &'static str, max_bytes: u64) -> MatrixError {
    MatrixError::Api {
        endpoint,
        status: 413,
        errcode: "M_TOO_LARGE".into(),
        message: format!(
            "the file is larger than the bridge's limit of {} MB",
            max_bytes / 1_000_000
        ),
    }
}

/// The error of a request still rate limited after the policy's attempts.
pub(super) fn rate_limited(endpoint: &'static str) -> MatrixError {
    MatrixError::Api {
        endpoint,
        status: 429,
        errcode: "M_LIMIT_EXCEEDED".into(),
        message: "still rate limited after waiting".into(),
    }
}

/// A reqwest error without its URL (which may carry a query token).
pub(super) fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "broken response body"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

pub(super) fn retry_after(body: &[u8], headers: &http::HeaderMap) -> Option<Duration> {
    let from_body = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("retry_after_ms").and_then(|ms| ms.as_u64()))
        .map(Duration::from_millis);
    from_body.or_else(|| {
        headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    })
}

pub(super) fn error_body(body: &[u8]) -> (String, String) {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => (
            v.get("errcode")
                .and_then(|c| c.as_str())
                .unwrap_or("M_UNKNOWN")
                .to_string(),
            v.get("error")
                .and_then(|c| c.as_str())
                .unwrap_or("")
                .to_string(),
        ),
        Err(_) => (
            "M_UNKNOWN".into(),
            String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_prefers_the_body() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(
            retry_after(
                br#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":1500}"#,
                &headers
            ),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(retry_after(b"", &headers), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(b"{}", &http::HeaderMap::new()), None);
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            error_body(br#"{"errcode":"M_FORBIDDEN","error":"no"}"#),
            ("M_FORBIDDEN".into(), "no".into())
        );
        assert_eq!(error_body(b"<html>").0, "M_UNKNOWN");
    }
}
