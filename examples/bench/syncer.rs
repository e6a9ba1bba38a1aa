//! A Matrix user's `/sync` long-poll loop that notes when each message body first arrived.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// When each body was first seen in the user's sync (any joined room).
#[derive(Clone, Default)]
pub struct Arrivals(Arc<Mutex<HashMap<String, Instant>>>);

impl Arrivals {
    pub fn note(&self, body: &str, at: Instant) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(body.to_string())
            .or_insert(at);
    }

    pub fn get(&self, body: &str) -> Option<Instant> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(body)
            .copied()
    }

    /// How many of `bodies` arrived.
    pub fn count(&self, bodies: &[String]) -> usize {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        bodies.iter().filter(|b| map.contains_key(*b)).count()
    }

    /// Waits until every body arrived (`within` at most); whether they all did.
    pub async fn wait_all(&self, bodies: &[String], within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.count(bodies) == bodies.len() {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Starts the loop for the user with `token`; it runs until the process ends.
pub fn start(base: &str, token: &str) -> Arrivals {
    let arrivals = Arrivals::default();
    let (base, token, out) = (base.to_string(), token.to_string(), arrivals.clone());
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        // Only timelines matter; a lazy-loading filter keeps each answer small.
        let filter = r#"{"room":{"state":{"lazy_load_members":true},"ephemeral":{"types":[]}},"presence":{"types":[]},"account_data":{"types":[]}}"#;
        let mut since: Option<String> = None;
        loop {
            let mut req = http
                .get(format!("{base}/_matrix/client/v3/sync"))
                .bearer_auth(&token)
                .query(&[("timeout", "30000"), ("filter", filter)]);
            if let Some(s) = &since {
                req = req.query(&[("since", s.as_str())]);
            }
            let body: Value = match req.send().await {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let at = Instant::now();
            if let Some(rooms) = body["rooms"]["join"].as_object() {
                for room in rooms.values() {
                    for e in room["timeline"]["events"].as_array().into_iter().flatten() {
                        if e["type"] == "m.room.message"
                            && let Some(b) = e["content"]["body"].as_str()
                        {
                            out.note(b, at);
                        }
                    }
                }
            }
            if let Some(next) = body["next_batch"].as_str() {
                since = Some(next.to_string());
            }
        }
    });
    arrivals
}
