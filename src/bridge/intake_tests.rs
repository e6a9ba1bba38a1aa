//! What a transaction leaves in the inbox: the homeserver handing back the bridge's own sends
//! is not written (nor is the transaction, when nothing else is in it).

use serde_json::{Value, json};

use crate::bridge::test_support::{bridge, sqlite};
use crate::matrix::appservice::{AppserviceHandler, Transaction};

const ROOM: &str = "!portal:example.com";

fn event(id: &str, kind: &str, sender: &str, content: Value) -> Value {
    json!({
        "type": kind,
        "event_id": id,
        "room_id": ROOM,
        "sender": sender,
        "origin_server_ts": 1,
        "content": content,
    })
}

fn text(body: &str) -> Value {
    json!({"msgtype": "m.text", "body": body})
}

async fn payloads(store: &crate::store::Store) -> Vec<String> {
    let rows = store.inbox_pending(0, 100).await.unwrap();
    rows.into_iter().map(|r| r.payload).collect()
}

#[tokio::test]
async fn the_bridges_own_sends_are_not_written_to_the_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir).await;
    let bridge = bridge(store.clone(), "http://127.0.0.1:9");
    let mut marked = text("sent by a double puppet");
    marked["fi.mau.double_puppet_source"] = json!("matrix-instagram");
    let events = vec![
        event(
            "$ghost",
            "m.room.message",
            "@instagram_42:example.com",
            text("from a ghost"),
        ),
        event(
            "$bot",
            "com.beeper.message_send_status",
            "@instagrambot:example.com",
            json!({}),
        ),
        event("$puppet", "m.room.message", "@alice:example.com", marked),
        event(
            "$user",
            "m.room.message",
            "@alice:example.com",
            text("from the user"),
        ),
        event(
            "$join",
            "m.room.member",
            "@instagram_42:example.com",
            json!({"membership": "join"}),
        ),
    ];
    let txn = Transaction {
        txn_id: "t1".into(),
        events,
        ..Transaction::default()
    };
    assert!(bridge.record_transaction(txn).await.unwrap());
    let kept = payloads(&store).await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept[0].contains("$user"), "{kept:?}");
    assert!(kept[1].contains("$join"), "{kept:?}");
    assert!(store.transaction_seen("t1").await.unwrap());
}

#[tokio::test]
async fn a_transaction_of_echoes_alone_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir).await;
    let bridge = bridge(store.clone(), "http://127.0.0.1:9");
    let txn = Transaction {
        txn_id: "echoes".into(),
        events: vec![event(
            "$ghost",
            "m.room.message",
            "@instagram_42:example.com",
            text("from a ghost"),
        )],
        ..Transaction::default()
    };
    assert!(bridge.record_transaction(txn).await.unwrap());
    assert!(payloads(&store).await.is_empty());
    assert!(!store.transaction_seen("echoes").await.unwrap());
}
