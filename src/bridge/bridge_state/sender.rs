//! POSTs states to `homeserver.status_endpoint` with the as_token: one task, the newest state
//! per login (and the global one) waiting at a time, a state equal to the last one delivered
//! (and still within its TTL) not sent again, failures retried with a doubling backoff.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::machine::Key;
use super::model::BridgeState;
use crate::metrics::Metrics;
use crate::secret::Secret;

/// Why a POST failed. Never holds the token.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("cannot reach the endpoint: {0}")]
    Network(String),
    #[error("the endpoint answered HTTP {0}")]
    Status(u16),
}

/// An endpoint and the token to show it.
#[derive(Clone)]
pub struct Target {
    pub url: url::Url,
    pub token: Secret,
    pub http: reqwest::Client,
}

impl Target {
    /// POSTs `body` as JSON.
    pub async fn post(&self, body: &impl Serialize) -> Result<(), PostError> {
        let response = self
            .http
            .post(self.url.clone())
            .bearer_auth(self.token.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| PostError::Network(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(PostError::Status(status))
        }
    }
}

/// The first wait after a failed POST and the longest.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(2),
            max: Duration::from_secs(64),
        }
    }
}

struct Pending {
    state: BridgeState,
    due: Instant,
    delay: Duration,
}

/// Starts the sender; states go in through the returned channel.
pub fn spawn(
    target: Target,
    metrics: Metrics,
    backoff: Backoff,
) -> mpsc::UnboundedSender<(Key, BridgeState)> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(target, rx, metrics, backoff));
    tx
}

async fn run(
    target: Target,
    mut rx: mpsc::UnboundedReceiver<(Key, BridgeState)>,
    metrics: Metrics,
    backoff: Backoff,
) {
    let mut pending: HashMap<Key, Pending> = HashMap::new();
    let mut delivered: HashMap<Key, BridgeState> = HashMap::new();
    loop {
        let next = pending.values().map(|p| p.due).min();
        tokio::select! {
            received = rx.recv() => {
                let Some((key, state)) = received else { break };
                let now_s = crate::store::now_ms() / 1000;
                let repeat = delivered
                    .get(&key)
                    .is_some_and(|d| d.same_as(&state) && d.fresh_at(now_s));
                if repeat {
                    pending.remove(&key);
                    metrics.bridge_state_posts.with_label_values(&["deduplicated"]).inc();
                } else {
                    let due = Instant::now();
                    pending.insert(key, Pending { state, due, delay: backoff.first });
                }
            }
            _ = sleep_until(next) => {}
        }
        let now = Instant::now();
        let due: Vec<Key> = pending
            .iter()
            .filter(|(_, p)| p.due <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(p) = pending.get_mut(&key) else {
                continue;
            };
            let sent = tokio::time::timeout(Duration::from_secs(30), target.post(&p.state)).await;
            match sent {
                Ok(Ok(())) => {
                    metrics
                        .bridge_state_posts
                        .with_label_values(&["sent"])
                        .inc();
                    tracing::debug!(state = p.state.state_event.as_str(), "bridge state sent");
                    if let Some(p) = pending.remove(&key) {
                        delivered.insert(key, p.state);
                    }
                }
                failed => {
                    let why = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".to_string(),
                    };
                    metrics
                        .bridge_state_posts
                        .with_label_values(&["failed"])
                        .inc();
                    tracing::warn!(
                        retry_in_s = p.delay.as_secs_f32(),
                        "cannot send the bridge state to homeserver.status_endpoint: {why}"
                    );
                    p.due = Instant::now() + p.delay;
                    p.delay = (p.delay * 2).min(backoff.max);
                }
            }
        }
    }
}

async fn sleep_until(when: Option<Instant>) {
    match when {
        Some(when) => tokio::time::sleep_until(when).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::bridge_state::model::StateEvent;
    use std::sync::{Arc, Mutex};

    /// A loopback endpoint that answers `codes` in turn (then 200) and keeps what it got.
    async fn sink(codes: Vec<u16>) -> (url::Url, Arc<Mutex<Vec<(String, serde_json::Value)>>>) {
        let got: Arc<Mutex<Vec<(String, serde_json::Value)>>> = Arc::default();
        let codes = Arc::new(Mutex::new(codes.into_iter()));
        let seen = got.clone();
        let app = axum::Router::new().route(
            "/state",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::Json<serde_json::Value>| {
                    let (seen, codes) = (seen.clone(), codes.clone());
                    async move {
                        let auth = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        seen.lock().unwrap().push((auth, body.0));
                        let code = codes.lock().unwrap().next().unwrap_or(200);
                        axum::http::StatusCode::from_u16(code).unwrap()
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/state").parse().unwrap(), got)
    }

    fn target(url: url::Url) -> Target {
        crate::tls::ensure_crypto_provider();
        Target {
            url,
            token: Secret::new("as-token-1"),
            http: reqwest::Client::new(),
        }
    }

    async fn wait_for(got: &Mutex<Vec<(String, serde_json::Value)>>, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while got.lock().unwrap().len() < n {
            assert!(
                std::time::Instant::now() < deadline,
                "only {:?}",
                got.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn failures_are_retried_and_repeats_are_not_sent() {
        let (url, got) = sink(vec![500, 503]).await;
        let metrics = Metrics::new();
        let backoff = Backoff {
            first: Duration::from_millis(10),
            max: Duration::from_millis(40),
        };
        let tx = spawn(target(url), metrics.clone(), backoff);
        let key = Key::Login("@u:x".into());
        tx.send((key.clone(), BridgeState::new(StateEvent::Connected)))
            .unwrap();
        wait_for(&got, 3).await;
        // A repeat of what was delivered is not sent; a new state is.
        tx.send((key.clone(), BridgeState::new(StateEvent::Connected)))
            .unwrap();
        tx.send((key, BridgeState::new(StateEvent::TransientDisconnect)))
            .unwrap();
        wait_for(&got, 4).await;
        let got = got.lock().unwrap().clone();
        let events: Vec<_> = got
            .iter()
            .map(|(_, b)| b["state_event"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            events,
            [
                "CONNECTED",
                "CONNECTED",
                "CONNECTED",
                "TRANSIENT_DISCONNECT"
            ]
        );
        assert!(got.iter().all(|(auth, _)| auth == "Bearer as-token-1"));
        let text = metrics.render();
        assert!(
            text.contains("matrix_instagram_bridge_state_posts_total{outcome=\"failed\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("matrix_instagram_bridge_state_posts_total{outcome=\"deduplicated\"} 1"),
            "{text}"
        );
    }
}
