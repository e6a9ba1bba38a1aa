//! Secrets out of the inbox table, on a real bridge value over SQLite and an in-process
//! homeserver that records what the bot asks of it.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::*;
use crate::bridge::commands::login::LoginFlow;
use crate::bridge::test_support::{bridge, sqlite};
use crate::bridge::{held, matrix_events};
use crate::matrix::appservice::{AppserviceHandler, Transaction};

const USER: &str = "@alice:example.com";
const MANAGEMENT: &str = "!management:example.com";
const GROUP: &str = "!group:example.com";

/// Every request the bot made: (method, path, body).
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// A homeserver that says yes to everything, remembering each request.
async fn homeserver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let log = log.clone();
        async move {
            let method = req.method().to_string();
            let path = req.uri().path().to_string();
            let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            let body = String::from_utf8_lossy(&body).into_owned();
            log.lock().unwrap().push((method, path, body));
            axum::Json(json!({
                "event_id": "$answer:example.com",
                "room_id": MANAGEMENT,
                "user_id": "@instagrambot:example.com",
            }))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

fn message(event_id: &str, room: &str, sender: &str, content: Value) -> Value {
    json!({
        "type": "m.room.message",
        "event_id": event_id,
        "room_id": room,
        "sender": sender,
        "origin_server_ts": 1,
        "content": content,
    })
}

fn text(event_id: &str, room: &str, body: &str) -> Value {
    message(
        event_id,
        room,
        USER,
        json!({"msgtype": "m.text", "body": body}),
    )
}

async fn record(bridge: &Bridge, txn_id: &str, events: Vec<Value>) {
    let txn = Transaction {
        txn_id: txn_id.into(),
        events,
        ..Transaction::default()
    };
    assert!(bridge.record_transaction(txn).await.unwrap());
}

/// The secrets the first transaction carries, and the events that carry them.
const SECRETS: &[&str] = &[
    "hunter2-in-the-management-room",
    "hunter2-in-a-group",
    "cookie-secret-value",
    "edited-in-secret",
    "typed-for-the-flow",
];

fn secret_events() -> Vec<Value> {
    vec![
        text(
            "$pw1",
            MANAGEMENT,
            "login alice hunter2-in-the-management-room",
        ),
        text("$pw2", GROUP, "!ig LOGIN alice hunter2-in-a-group"),
        text(
            "$ck",
            MANAGEMENT,
            r#"login-cookies {"sessionid": "1%3Acookie-secret-value"}"#,
        ),
        message(
            "$edit",
            MANAGEMENT,
            USER,
            json!({"msgtype": "m.text", "body": "* login alice edited-in-secret",
                   "m.new_content": {"msgtype": "m.text", "body": "login alice edited-in-secret"},
                   "m.relates_to": {"rel_type": "m.replace", "event_id": "$pw1"}}),
        ),
    ]
}

#[tokio::test]
async fn secrets_never_reach_the_inbox_table() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _seen) = homeserver().await;
    let bridge = bridge(sqlite(&dir).await, &address);
    record(&bridge, "t1", secret_events()).await;
    // A login that waits for a password: whatever the user sends next is a secret.
    bridge.logins.lock().await.insert(
        USER.into(),
        LoginFlow::Password {
            username: "alice".into(),
        },
    );
    let other = message(
        "$hello",
        MANAGEMENT,
        "@bob:example.com",
        json!({"msgtype": "m.text", "body": "hello there"}),
    );
    let login_alone = message(
        "$user",
        GROUP,
        "@bob:example.com",
        json!({"msgtype": "m.text", "body": "!ig login bob"}),
    );
    record(
        &bridge,
        "t2",
        vec![
            text("$flow", MANAGEMENT, "typed-for-the-flow"),
            other,
            login_alone,
        ],
    )
    .await;

    let rows = bridge.store.inbox_pending(0, 100).await.unwrap();
    let ids: Vec<String> = rows
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_str(&r.payload).unwrap();
            v["event_id"].as_str().unwrap().to_string()
        })
        .collect();
    // Every event went through the inbox, in order.
    assert_eq!(
        ids,
        ["$pw1", "$pw2", "$ck", "$edit", "$flow", "$hello", "$user"]
    );
    for row in &rows[..5] {
        assert!(row.payload.contains(held::PLACEHOLDER), "{}", row.payload);
        assert!(row.portal_key.starts_with('!'), "{}", row.portal_key);
    }
    for secret in SECRETS {
        assert!(
            rows.iter().all(|r| !r.payload.contains(secret)),
            "{secret} is in the inbox"
        );
    }
    // What is no secret is stored as it is.
    assert!(rows[5].payload.contains("hello there"));
    assert!(rows[6].payload.contains("!ig login bob"));
    assert_eq!(bridge.held.len(), 5);

    // Nor anywhere in the database's files (freed pages, the write-ahead log).
    bridge.store.close().await;
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} is in a database file");
        }
    }
}

#[tokio::test]
async fn the_worker_gets_the_held_content_back() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _seen) = homeserver().await;
    let bridge = bridge(sqlite(&dir).await, &address);
    record(&bridge, "t1", secret_events()).await;
    let rows = bridge.store.inbox_pending(0, 100).await.unwrap();
    let mut restored = Vec::new();
    for row in &rows {
        let mut event: Value = serde_json::from_str(&row.payload).unwrap();
        let id = event["event_id"].as_str().unwrap().to_string();
        assert_eq!(held::restore(&bridge, &mut event), held::Restored::Held(id));
        restored.push(event["content"]["body"].as_str().unwrap().to_string());
    }
    assert_eq!(restored[0], "login alice hunter2-in-the-management-room");
    assert_eq!(
        restored[2],
        r#"login-cookies {"sessionid": "1%3Acookie-secret-value"}"#
    );
    assert_eq!(restored[3], "* login alice edited-in-secret");
    // A crafted mark on an event that was not held is no held content.
    let mut crafted = text("$crafted", GROUP, "hi");
    crafted["content"][held::HELD_MARK] = json!(true);
    assert_eq!(held::restore(&bridge, &mut crafted), held::Restored::Lost);
}

/// The bot's requests of a kind (`/redact/`, `/send/m.room.message/`) in a room.
fn requests(seen: &Seen, room: &str, kind: &str) -> Vec<(String, String)> {
    let room = format!("/rooms/{room}/");
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(_, path, _)| path.contains(&room) && path.contains(kind))
        .map(|(_, path, body)| (path.clone(), body.clone()))
        .collect()
}

#[tokio::test]
async fn a_password_login_outside_the_management_room_is_redacted_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (address, seen) = homeserver().await;
    let bridge = bridge(sqlite(&dir).await, &address);
    record(&bridge, "t1", secret_events()).await;
    let rows = bridge.store.inbox_pending(0, 100).await.unwrap();
    matrix_events::apply(&bridge, &mut Default::default(), &rows[1].payload)
        .await
        .unwrap();
    let redactions = requests(&seen, GROUP, "/redact/");
    assert_eq!(redactions.len(), 1, "{redactions:?}");
    assert!(redactions[0].0.contains("/$pw2/"), "{redactions:?}");
    let notices = requests(&seen, GROUP, "/send/m.room.message/");
    assert!(
        notices
            .iter()
            .any(|(_, b)| b.contains("only in your private chat")),
        "{notices:?}"
    );
    // Applied: the content is no longer held.
    assert_eq!(bridge.held.len(), 3);
}

#[tokio::test]
async fn a_held_message_lost_in_a_restart_is_redacted_and_asked_for_again() {
    let dir = tempfile::tempdir().unwrap();
    let (address, seen) = homeserver().await;
    let before = bridge(sqlite(&dir).await, &address);
    record(&before, "t1", secret_events()).await;
    before.store.close().await;
    // The process restarts: the rows are still in the inbox, the held contents are gone.
    let after = bridge(sqlite(&dir).await, &address);
    let rows = after.store.inbox_pending(0, 100).await.unwrap();
    assert_eq!(rows.len(), 4);
    matrix_events::apply(&after, &mut Default::default(), &rows[2].payload)
        .await
        .unwrap();
    let redactions = requests(&seen, MANAGEMENT, "/redact/");
    assert_eq!(redactions.len(), 1, "{redactions:?}");
    assert!(redactions[0].0.contains("/$ck/"), "{redactions:?}");
    let notices = requests(&seen, MANAGEMENT, "/send/m.room.message/");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].1.contains("send it again"), "{notices:?}");
    for secret in SECRETS {
        assert!(
            seen.lock()
                .unwrap()
                .iter()
                .all(|(_, _, b)| !b.contains(secret)),
            "{secret} was sent to the homeserver"
        );
    }
}
