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
    /// The `next_batch` of the last incremental sync (Synapse caches identical initial syncs).
    since: tokio::sync::Mutex<Option<String>>,
}

fn http() -> reqwest::Client {
    matrix_instagram::tls::ensure_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

impl User {
    /// The user's access token (for APIs that accept it, such as the provisioning API).
    pub fn access_token(&self) -> &str {
        &self.token
    }

    /// Registers a user (or logs in when the name is taken, e.g. on a second run).
    /// Another access token of this user (a second password login), e.g. to give the bridge.
    pub async fn another_token(&self) -> String {
        let localpart = self
            .user_id
            .trim_start_matches('@')
            .split(':')
            .next()
            .unwrap_or_default();
        let body: Value = self
            .http
            .post(format!("{}/_matrix/client/v3/login", self.base))
            .json(&json!({
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": localpart},
                "password": format!("pw-{localpart}-secret"),
            }))
            .send()
            .await
            .expect("login request")
            .json()
            .await
            .expect("login response");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

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
            since: tokio::sync::Mutex::new(None),
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
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

    /// A GET on the client-server API: the status and the JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Waits until the user is joined (without joining themselves) to a room named `name`;
    /// returns the room.
    pub async fn wait_joined_room_named(&self, name: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let (_, rooms) = self.get("/_matrix/client/v3/joined_rooms").await;
            for room in rooms["joined_rooms"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let room = room.as_str().unwrap_or_default().to_string();
                let (status, state) = self
                    .get(&format!(
                        "/_matrix/client/v3/rooms/{room}/state/m.room.name"
                    ))
                    .await;
                if status == 200 && state["name"] == name {
                    return room;
                }
            }
            assert!(
                Instant::now() < deadline,
                "never joined to a room named {name}: {rooms}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The rooms the user's `m.direct` lists under `contact` (none when it has no entry).
    pub async fn direct_rooms(&self, contact: &str) -> Vec<String> {
        let path = format!(
            "/_matrix/client/v3/user/{}/account_data/m.direct",
            self.user_id
        );
        let (status, direct) = self.get(&path).await;
        if status != 200 {
            return Vec::new();
        }
        direct[contact]
            .as_array()
            .map(|rooms| {
                rooms
                    .iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Invites `user` to `room`.
    pub async fn invite(&self, room: &str, user: &str) {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/_matrix/client/v3/rooms/{room}/invite"),
                Some(json!({"user_id": user})),
            )
            .await;
        assert_eq!(status, 200, "invite: {body}");
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

    /// The room's whole timeline, oldest first (every page).
    pub async fn full_timeline(&self, room: &str) -> Vec<Value> {
        let mut events = Vec::new();
        let mut from: Option<String> = None;
        loop {
            let mut path = format!("/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=500");
            if let Some(token) = &from {
                path.push_str(&format!("&from={token}"));
            }
            let (status, body) = self.call(reqwest::Method::GET, &path, None).await;
            assert_eq!(status, 200, "messages: {body}");
            let chunk = body["chunk"].as_array().cloned().unwrap_or_default();
            let end = body["end"].as_str().map(str::to_string);
            let done = chunk.is_empty() || end.is_none() || end == from;
            events.extend(chunk);
            if done {
                break;
            }
            from = end;
        }
        events.reverse();
        events
    }

    /// The bodies of the room's `m.room.message` events from `sender`, oldest first.
    pub async fn bodies_from(&self, room: &str, sender: &str) -> Vec<String> {
        self.full_timeline(room)
            .await
            .iter()
            .filter(|e| e["type"] == "m.room.message" && e["sender"] == sender)
            .filter_map(|e| e["content"]["body"].as_str().map(str::to_string))
            .collect()
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

    /// The next incremental sync (waits up to a second for news).
    pub async fn sync_next(&self) -> Value {
        let mut since = self.since.lock().await;
        let path = match since.as_deref() {
            Some(s) => format!("/_matrix/client/v3/sync?timeout=1000&since={s}"),
            None => "/_matrix/client/v3/sync?timeout=0".to_string(),
        };
        let (status, body) = self.call(reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 200, "sync: {body}");
        if let Some(next) = body["next_batch"].as_str() {
            *since = Some(next.to_string());
        }
        body
    }

    /// Waits for an invite to a room whose invite state satisfies `pred`; returns the room id.
    pub async fn wait_for_invite(&self, what: &str, pred: impl Fn(&[Value]) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let body = self.sync_next().await;
            if let Some(invites) = body["rooms"]["invite"].as_object() {
                for (room, data) in invites {
                    let events = data["invite_state"]["events"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    if pred(&events) {
                        return room.clone();
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no invite for {what} arrived; last sync: {body}"
            );
        }
    }

    /// Waits until `reader`'s read receipt in `room` points at `event_id`.
    pub async fn wait_for_receipt(&self, room: &str, reader: &str, event_id: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let body = self.sync_next().await;
            let events = body["rooms"]["join"][room]["ephemeral"]["events"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for e in events.iter().filter(|e| e["type"] == "m.receipt") {
                if e["content"][event_id]["m.read"].get(reader).is_some() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no read receipt of {reader} on {event_id}"
            );
        }
    }

    /// Waits until `who` is shown typing in `room`.
    pub async fn wait_for_typing(&self, room: &str, who: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let body = self.sync_next().await;
            let events = body["rooms"]["join"][room]["ephemeral"]["events"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if events.iter().any(|e| {
                e["type"] == "m.typing"
                    && e["content"]["user_ids"]
                        .as_array()
                        .is_some_and(|ids| ids.iter().any(|i| i == who))
            }) {
                return;
            }
            assert!(Instant::now() < deadline, "{who} never typed in {room}");
        }
    }

    pub async fn set_typing(&self, room: &str, typing: bool) {
        let (status, body) = self
            .call(
                reqwest::Method::PUT,
                &format!("/_matrix/client/v3/rooms/{room}/typing/{}", self.user_id),
                Some(json!({"typing": typing, "timeout": 10000})),
            )
            .await;
        assert_eq!(status, 200, "typing: {body}");
    }

    pub async fn set_state(&self, room: &str, event_type: &str, content: Value) {
        let (status, body) = self
            .call(
                reqwest::Method::PUT,
                &format!("/_matrix/client/v3/rooms/{room}/state/{event_type}/"),
                Some(content),
            )
            .await;
        assert_eq!(status, 200, "state {event_type}: {body}");
    }

    pub async fn send_receipt(&self, room: &str, event_id: &str) {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/_matrix/client/v3/rooms/{room}/receipt/m.read/{event_id}"),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 200, "receipt: {body}");
    }

    pub async fn join(&self, room: &str) {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/_matrix/client/v3/join/{room}"),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 200, "join: {body}");
    }

    pub async fn send_event(&self, room: &str, event_type: &str, content: Value) -> String {
        let txn = uuid::Uuid::new_v4().simple().to_string();
        let (status, body) = self
            .call(
                reqwest::Method::PUT,
                &format!("/_matrix/client/v3/rooms/{room}/send/{event_type}/{txn}"),
                Some(content),
            )
            .await;
        assert_eq!(status, 200, "send {event_type}: {body}");
        body["event_id"].as_str().expect("event_id").to_string()
    }

    /// Uploads a file to the homeserver's media repository; returns its `mxc://` URI.
    pub async fn upload(&self, data: Vec<u8>, content_type: &str) -> String {
        let resp = self
            .http
            .post(format!("{}/_matrix/media/v3/upload", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(data)
            .send()
            .await
            .expect("upload request");
        let status = resp.status();
        let body: Value = resp.json().await.expect("upload response");
        assert!(status.is_success(), "upload: {status} {body}");
        body["content_uri"]
            .as_str()
            .expect("content_uri")
            .to_string()
    }

    /// Downloads a `mxc://` URI (authenticated media).
    pub async fn download(&self, mxc: &str) -> Vec<u8> {
        let path = mxc.strip_prefix("mxc://").expect("an mxc:// URI");
        let resp = self
            .http
            .get(format!(
                "{}/_matrix/client/v1/media/download/{path}",
                self.base
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("download request");
        assert!(
            resp.status().is_success(),
            "download {mxc}: {}",
            resp.status()
        );
        resp.bytes().await.expect("download body").to_vec()
    }

    pub async fn redact(&self, room: &str, event_id: &str) {
        let txn = uuid::Uuid::new_v4().simple().to_string();
        let (status, body) = self
            .call(
                reqwest::Method::PUT,
                &format!("/_matrix/client/v3/rooms/{room}/redact/{event_id}/{txn}"),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 200, "redact: {body}");
    }

    /// Fetches one event as this user sees it.
    pub async fn event(&self, room: &str, event_id: &str) -> Value {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/_matrix/client/v3/rooms/{room}/event/{event_id}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "event: {body}");
        body
    }

    /// Waits until an event is redacted (its content emptied).
    pub async fn wait_redacted(&self, room: &str, event_id: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let e = self.event(room, event_id).await;
            if e["unsigned"]["redacted_because"].is_object() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{event_id} was never redacted: {e}"
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
