//! A small Matrix client for tests: what a user's Element would do, over the client-server API.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A logged-in Matrix user.
pub struct User {
    pub user_id: String,
    token: String,
    base: String,
    http: reqwest::Client,
}

fn http() -> reqwest::Client {
    matrix_instagram::tls::ensure_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

impl User {
    /// Registers a user (or logs in when the name is taken, e.g. on a second run).
    pub async fn register(base: &str, localpart: &str) -> User {
        let http = http();
        let password = format!("pw-{localpart}-secret");
        let resp = http
            .post(format!("{base}/_matrix/client/v3/register"))
            .json(&json!({
                "username": localpart,
                "password": password,
                "auth": {"type": "m.login.dummy"},
                "inhibit_login": false,
            }))
            .send()
            .await
            .expect("register request");
        let status = resp.status();
        let body: Value = resp.json().await.expect("register response");
        let body = if status.is_success() {
            body
        } else if body["errcode"] == "M_USER_IN_USE" {
            let resp = http
                .post(format!("{base}/_matrix/client/v3/login"))
                .json(&json!({
                    "type": "m.login.password",
                    "identifier": {"type": "m.id.user", "user": localpart},
                    "password": password,
                }))
                .send()
                .await
                .expect("login request");
            resp.json().await.expect("login response")
        } else {
            panic!("cannot register {localpart}: {status} {body}");
        };
        User {
            user_id: body["user_id"].as_str().expect("user_id").to_string(),
            token: body["access_token"]
                .as_str()
                .expect("access_token")
                .to_string(),
            base: base.to_string(),
            http,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let value = resp.json().await.unwrap_or(Value::Null);
        (status, value)
    }

    /// Opens a DM with `other` the way Element does.
    pub async fn create_dm(&self, other: &str) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/_matrix/client/v3/createRoom",
                Some(json!({
                    "invite": [other],
                    "is_direct": true,
                    "preset": "trusted_private_chat",
                })),
            )
            .await;
        assert_eq!(status, 200, "createRoom: {body}");
        body["room_id"].as_str().expect("room_id").to_string()
    }

    /// Creates a plain (non-DM) room inviting `other`.
    pub async fn create_room_with(&self, other: &str) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/_matrix/client/v3/createRoom",
                Some(json!({"invite": [other], "preset": "private_chat", "name": "Some room"})),
            )
            .await;
        assert_eq!(status, 200, "createRoom: {body}");
        body["room_id"].as_str().expect("room_id").to_string()
    }

    pub async fn send_text(&self, room: &str, text: &str) -> String {
        let txn = uuid::Uuid::new_v4().simple().to_string();
        let (status, body) = self
            .call(
                reqwest::Method::PUT,
                &format!("/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}"),
                Some(json!({"msgtype": "m.text", "body": text})),
            )
            .await;
        assert_eq!(status, 200, "send: {body}");
        body["event_id"].as_str().expect("event_id").to_string()
    }

    /// The room's timeline, oldest first (the last 100 events).
    pub async fn timeline(&self, room: &str) -> Vec<Value> {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=100"),
                None,
            )
            .await;
        assert_eq!(status, 200, "messages: {body}");
        let mut events = body["chunk"].as_array().cloned().unwrap_or_default();
        events.reverse();
        events
    }

    /// Waits until a timeline event matches, returning it.
    pub async fn wait_for(&self, room: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let timeline = self.timeline(room).await;
            if let Some(found) = timeline.iter().find(|e| pred(e)) {
                return found.clone();
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what} in {room}; timeline:\n{}",
                    serde_json::to_string_pretty(&timeline).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits for a notice from `sender` sent after `after_event` whose body satisfies `pred`.
    pub async fn wait_for_notice_after(
        &self,
        room: &str,
        sender: &str,
        after_event: Option<&str>,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let timeline = self.timeline(room).await;
            let start = match after_event {
                Some(id) => timeline
                    .iter()
                    .position(|e| e["event_id"] == id)
                    .map(|p| p + 1)
                    .unwrap_or(timeline.len()),
                None => 0,
            };
            for e in &timeline[start..] {
                if e["type"] == "m.room.message"
                    && e["sender"] == sender
                    && e["content"]["msgtype"] == "m.notice"
                    && let Some(body) = e["content"]["body"].as_str()
                    && pred(body)
                {
                    return body.to_string();
                }
            }
            if Instant::now() > deadline {
                let bodies: Vec<String> = timeline[start..]
                    .iter()
                    .map(|e| format!("{} {}: {}", e["type"], e["sender"], e["content"]))
                    .collect();
                panic!(
                    "timed out waiting for a notice from {sender} in {room}; saw:\n{}",
                    bodies.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The membership of `user` in `room` as this user sees it.
    pub async fn membership_of(&self, room: &str, user: &str) -> Option<String> {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/_matrix/client/v3/rooms/{room}/state/m.room.member/{user}"),
                None,
            )
            .await;
        (status == 200).then(|| body["membership"].as_str().unwrap_or_default().to_string())
    }

    /// Waits until `user`'s membership in `room` is `membership`.
    pub async fn wait_membership(&self, room: &str, user: &str, membership: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = self.membership_of(room, user).await;
            if now.as_deref() == Some(membership) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{user} never reached membership {membership} in {room} (is {now:?})"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A user's display name.
    pub async fn display_name(&self, user: &str) -> Option<String> {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/_matrix/client/v3/profile/{user}/displayname"),
                None,
            )
            .await;
        (status == 200).then(|| body["displayname"].as_str().unwrap_or_default().to_string())
    }
}

/// A unique localpart for a test user.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}
