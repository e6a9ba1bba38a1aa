//! The appservice HTTP server the homeserver pushes transactions to.
//!
//! [`router`] builds the axum router from a handler, so tests can drive it without a socket.
//! Every request must carry the `hs_token`; a transaction is acknowledged only after the
//! handler durably recorded it, and a transaction id seen before is acknowledged again without
//! being processed twice (the handler's store remembers ids across restarts).

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::secret::Secret;

/// One parsed transaction: its events as raw JSON values, each to be interpreted on its own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transaction {
    pub txn_id: String,
    pub events: Vec<Value>,
    pub ephemeral: Vec<Value>,
    /// To-device events, device lists and one-time-key counts (MSC2409, MSC3202).
    pub crypto: super::crypto::TransactionCrypto,
}

/// What the server asks of the bridge. Implemented by the bridge over its store.
pub trait AppserviceHandler: Send + Sync + 'static {
    /// Why a transaction could not be recorded (answered 500, so the homeserver retries).
    type Error: std::fmt::Display + Send;

    /// Durably records a transaction. `Ok(true)`: new; `Ok(false)`: already seen.
    fn record_transaction(
        &self,
        txn: Transaction,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Whether a user id in our namespace exists (the bridge may create it on the spot).
    fn query_user(&self, user_id: &str) -> impl Future<Output = bool> + Send;

    /// Whether a room alias in our namespace exists.
    fn query_room_alias(&self, alias: &str) -> impl Future<Output = bool> + Send;
}

/// Server settings.
#[derive(Clone)]
pub struct ServerConfig {
    pub hs_token: Secret,
    pub max_body_size: usize,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("hs_token", &"<redacted>")
            .field("max_body_size", &self.max_body_size)
            .finish()
    }
}

struct AppState<H> {
    config: ServerConfig,
    handler: Arc<H>,
}

/// A Matrix error response.
#[derive(Debug)]
pub struct MatrixErrorResponse {
    status: StatusCode,
    errcode: &'static str,
    message: String,
}

impl MatrixErrorResponse {
    pub fn new(status: StatusCode, errcode: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            errcode,
            message: message.into(),
        }
    }
}

impl IntoResponse for MatrixErrorResponse {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({ "errcode": self.errcode, "error": self.message })),
        )
            .into_response()
    }
}

type Reply = Result<Response, MatrixErrorResponse>;

/// Builds the appservice router.
pub fn router<H: AppserviceHandler>(config: ServerConfig, handler: Arc<H>) -> Router {
    let state = Arc::new(AppState { config, handler });
    let mut router = Router::new();
    for prefix in ["/_matrix/app/v1", ""] {
        router = router
            .route(
                &format!("{prefix}/transactions/{{txn_id}}"),
                put(put_transaction::<H>),
            )
            .route(&format!("{prefix}/users/{{user_id}}"), get(get_user::<H>))
            .route(&format!("{prefix}/rooms/{{alias}}"), get(get_room::<H>));
    }
    router
        .route("/_matrix/app/v1/ping", post(ping::<H>))
        .fallback(unknown)
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    access_token: Option<Secret>,
}

fn check_token(
    config: &ServerConfig,
    headers: &HeaderMap,
    query: &TokenQuery,
) -> Result<(), MatrixErrorResponse> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = from_header.or(query.access_token.as_ref().map(Secret::expose)) else {
        return Err(MatrixErrorResponse::new(
            StatusCode::UNAUTHORIZED,
            "M_MISSING_TOKEN",
            "Missing access token",
        ));
    };
    let expected = config.hs_token.expose().as_bytes();
    if bool::from(token.as_bytes().ct_eq(expected)) {
        Ok(())
    } else {
        Err(MatrixErrorResponse::new(
            StatusCode::FORBIDDEN,
            "M_FORBIDDEN",
            "Bad access token",
        ))
    }
}

async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<bytes::Bytes, MatrixErrorResponse> {
    let too_large = || {
        MatrixErrorResponse::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "M_TOO_LARGE",
            format!("Request body is larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

#[derive(Debug, Deserialize)]
struct TransactionBody {
    #[serde(default)]
    events: Vec<Value>,
    #[serde(default)]
    ephemeral: Option<Vec<Value>>,
    #[serde(default, rename = "de.sorunome.msc2409.ephemeral")]
    ephemeral_unstable: Option<Vec<Value>>,
    // MSC2409 / MSC3202, stable and unstable names (a homeserver may send either; both
    // present is no error: the stable one wins)
    #[serde(default)]
    to_device: Option<Vec<Value>>,
    #[serde(default, rename = "de.sorunome.msc2409.to_device")]
    to_device_unstable: Option<Vec<Value>>,
    #[serde(default)]
    device_lists: Option<DeviceLists>,
    #[serde(default, rename = "org.matrix.msc3202.device_lists")]
    device_lists_unstable: Option<DeviceLists>,
    #[serde(default)]
    device_one_time_keys_count: Option<Value>,
    #[serde(default, rename = "org.matrix.msc3202.device_one_time_keys_count")]
    device_one_time_keys_count_unstable: Option<Value>,
    #[serde(default)]
    device_unused_fallback_key_types: Option<Value>,
    #[serde(
        default,
        rename = "org.matrix.msc3202.device_unused_fallback_key_types"
    )]
    device_unused_fallback_key_types_unstable: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct DeviceLists {
    #[serde(default)]
    changed: Vec<String>,
    #[serde(default)]
    left: Vec<String>,
}

async fn put_transaction<H: AppserviceHandler>(
    State(state): State<Arc<AppState<H>>>,
    Path(txn_id): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    check_token(&state.config, &headers, &query)?;
    let bytes = read_body(body, &headers, state.config.max_body_size).await?;
    let parsed: TransactionBody = serde_json::from_slice(&bytes).map_err(|e| {
        MatrixErrorResponse::new(
            StatusCode::BAD_REQUEST,
            "M_NOT_JSON",
            format!("Transaction body is not valid: {e}"),
        )
    })?;
    let mut ephemeral = parsed.ephemeral.unwrap_or_default();
    if ephemeral.is_empty() {
        ephemeral = parsed.ephemeral_unstable.unwrap_or_default();
    }
    let lists = parsed
        .device_lists
        .or(parsed.device_lists_unstable)
        .unwrap_or_default();
    let txn = Transaction {
        txn_id: txn_id.clone(),
        events: parsed.events,
        ephemeral,
        crypto: super::crypto::TransactionCrypto {
            to_device: parsed
                .to_device
                .or(parsed.to_device_unstable)
                .unwrap_or_default(),
            changed: lists.changed,
            left: lists.left,
            otk_counts: parsed
                .device_one_time_keys_count
                .or(parsed.device_one_time_keys_count_unstable),
            fallback_keys: parsed
                .device_unused_fallback_key_types
                .or(parsed.device_unused_fallback_key_types_unstable),
        },
    };
    let count = txn.events.len();
    match state.handler.record_transaction(txn).await {
        Ok(true) => tracing::debug!(txn_id, events = count, "transaction recorded"),
        Ok(false) => tracing::debug!(txn_id, "transaction already processed"),
        Err(e) => {
            tracing::error!(txn_id, "could not record transaction: {e}");
            return Err(MatrixErrorResponse::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "M_UNKNOWN",
                "Could not record the transaction; retry later",
            ));
        }
    }
    Ok(axum::Json(json!({})).into_response())
}

async fn get_user<H: AppserviceHandler>(
    State(state): State<Arc<AppState<H>>>,
    Path(user_id): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Reply {
    check_token(&state.config, &headers, &query)?;
    if state.handler.query_user(&user_id).await {
        Ok(axum::Json(json!({})).into_response())
    } else {
        Err(MatrixErrorResponse::new(
            StatusCode::NOT_FOUND,
            "M_NOT_FOUND",
            "No such user",
        ))
    }
}

async fn get_room<H: AppserviceHandler>(
    State(state): State<Arc<AppState<H>>>,
    Path(alias): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Reply {
    check_token(&state.config, &headers, &query)?;
    if state.handler.query_room_alias(&alias).await {
        Ok(axum::Json(json!({})).into_response())
    } else {
        Err(MatrixErrorResponse::new(
            StatusCode::NOT_FOUND,
            "M_NOT_FOUND",
            "No such room alias",
        ))
    }
}

async fn ping<H: AppserviceHandler>(
    State(state): State<Arc<AppState<H>>>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    check_token(&state.config, &headers, &query)?;
    let bytes = read_body(body, &headers, 64 * 1024).await?;
    if !bytes.is_empty() && serde_json::from_slice::<Value>(&bytes).is_err() {
        return Err(MatrixErrorResponse::new(
            StatusCode::BAD_REQUEST,
            "M_NOT_JSON",
            "Ping body is not JSON",
        ));
    }
    Ok(axum::Json(json!({})).into_response())
}

async fn unknown() -> MatrixErrorResponse {
    MatrixErrorResponse::new(
        StatusCode::NOT_FOUND,
        "M_UNRECOGNIZED",
        "Unrecognized request",
    )
}

#[cfg(test)]
mod tests;
