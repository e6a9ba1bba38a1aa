//! The health probes on the appservice listener, unauthenticated and telling nothing
//! private (no addresses, ids or tokens, only a reason code and a fixed sentence):
//! - `GET /_matrix/mau/live`: 200 while the process serves requests;
//! - `GET /_matrix/mau/ready`: 200 once the database answers and the homeserver has reached
//!   the bridge, else 503 with `{"reason": …, "error": …}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::readiness::NotReady;
use crate::store::Store;

/// How long the database may take to answer a probe.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the homeserver has reached the bridge, and why not yet.
#[derive(Debug)]
pub struct Health {
    reached: AtomicBool,
    why_not: std::sync::Mutex<&'static str>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            reached: AtomicBool::new(false),
            why_not: std::sync::Mutex::new("starting"),
        }
    }
}

impl Health {
    /// The homeserver and the bridge reach each other.
    pub fn reached(&self) {
        self.reached.store(true, Ordering::SeqCst);
    }

    /// The last attempt to reach each other failed.
    pub fn not_reached(&self, why: &NotReady) {
        *self.why_not.lock().unwrap_or_else(|p| p.into_inner()) = why.code();
    }

    fn homeserver(&self) -> Result<(), &'static str> {
        if self.reached.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(*self.why_not.lock().unwrap_or_else(|p| p.into_inner()))
        }
    }
}

struct Probe {
    store: Store,
    health: Arc<Health>,
}

/// The probes' routes.
pub fn router(store: Store, health: Arc<Health>) -> Router {
    Router::new()
        .route("/_matrix/mau/live", get(live))
        .route("/_matrix/mau/ready", get(ready))
        .with_state(Arc::new(Probe { store, health }))
}

async fn live() -> Response {
    axum::Json(json!({})).into_response()
}

/// The sentence for a reason code: what is wrong, never with what address or id.
pub fn explain(reason: &str) -> &'static str {
    match reason {
        "database_unreachable" => "the database does not answer",
        "starting" => "the bridge is starting and has not reached the homeserver yet",
        "homeserver_unreachable" => "the bridge cannot reach the homeserver",
        "bridge_unreachable" => "the homeserver cannot reach the bridge",
        "bridge_refused" => "the homeserver reached the bridge's address but was refused",
        "registration_url_not_set" => "the registration loaded by the homeserver has no url",
        "registration_not_loaded" => "the homeserver does not know this bridge's registration",
        _ => "the homeserver answered with an error",
    }
}

async fn ready(State(probe): State<Arc<Probe>>) -> Response {
    let database = tokio::time::timeout(DATABASE_TIMEOUT, probe.store.ping()).await;
    let reason = match database {
        Ok(Ok(())) => probe.health.homeserver().err(),
        Ok(Err(e)) => {
            tracing::warn!("readiness probe: the database does not answer: {e}");
            Some("database_unreachable")
        }
        Err(_) => Some("database_unreachable"),
    };
    match reason {
        None => axum::Json(json!({})).into_response(),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "reason": reason, "error": explain(reason) })),
        )
            .into_response(),
    }
}
