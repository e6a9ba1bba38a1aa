//! The provisioning API's errors, answered as Matrix error bodies (`errcode`, `error`). The
//! text never carries a secret: Instagram errors are shown by their user message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ProvError {
    #[error("Missing access token")]
    MissingToken,
    #[error("Unknown access token")]
    UnknownToken,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    MissingParam(&'static str),
    #[error("{0}")]
    BadJson(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadState(String),
    #[error("{0}")]
    LoginFailed(String),
    #[error("{0}")]
    Unrecognized(&'static str),
    #[error("{0}")]
    Upstream(String),
    #[error("{0}")]
    Internal(String),
}

impl ProvError {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ProvError::MissingToken => (StatusCode::UNAUTHORIZED, "M_MISSING_TOKEN"),
            ProvError::UnknownToken => (StatusCode::UNAUTHORIZED, "M_UNKNOWN_TOKEN"),
            ProvError::Forbidden(_) => (StatusCode::FORBIDDEN, "M_FORBIDDEN"),
            ProvError::MissingParam(_) => (StatusCode::BAD_REQUEST, "M_MISSING_PARAM"),
            ProvError::BadJson(_) => (StatusCode::BAD_REQUEST, "M_BAD_JSON"),
            ProvError::NotFound(_) => (StatusCode::NOT_FOUND, "M_NOT_FOUND"),
            ProvError::BadState(_) => (StatusCode::BAD_REQUEST, "M_BAD_STATE"),
            ProvError::LoginFailed(_) => {
                (StatusCode::BAD_REQUEST, "NET.MATRIX_INSTAGRAM.LOGIN_FAILED")
            }
            ProvError::Unrecognized(_) => (StatusCode::NOT_IMPLEMENTED, "M_UNRECOGNIZED"),
            ProvError::Upstream(_) => (StatusCode::BAD_GATEWAY, "M_UNKNOWN"),
            ProvError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "M_UNKNOWN"),
        }
    }

    /// An Instagram error outside a login step.
    pub fn instagram(e: &crate::instagram::Error) -> Self {
        match e {
            crate::instagram::Error::NotFound { .. } => ProvError::NotFound(e.user_message()),
            _ => ProvError::Upstream(e.user_message()),
        }
    }
}

impl From<crate::bridge::error::ApplyError> for ProvError {
    fn from(e: crate::bridge::error::ApplyError) -> Self {
        tracing::warn!("provisioning: {e}");
        ProvError::Internal("The bridge failed to do that; see its log.".into())
    }
}

impl From<crate::store::StoreError> for ProvError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::warn!("provisioning: database: {e}");
        ProvError::Internal("The bridge's database failed; see its log.".into())
    }
}

impl IntoResponse for ProvError {
    fn into_response(self) -> Response {
        let (status, errcode) = self.status_and_code();
        (
            status,
            Json(json!({"errcode": errcode, "error": self.to_string()})),
        )
            .into_response()
    }
}
