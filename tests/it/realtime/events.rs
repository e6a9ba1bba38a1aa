//! Events pushed by the broker come out typed; junk is skipped, `/pp` reconnects.

use matrix_instagram::instagram::realtime::codec::{Packet, Publish};
use matrix_instagram::instagram::realtime::{ConnectionState, RealtimeEvent, SyncEvent};

use super::*;

fn fixture_strings(file: &str, key: &str) -> Vec<String> {
    let path = format!(
        "{}/tests/fixtures/instagram/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {path}: {e}"));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {path} is not JSON: {e}"));
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pushed_events_decode_and_junk_is_skipped() {
    let broker = broker().await;
    let (_client, mut rx) = start(&broker, PK).await;
    subscribed(&mut rx).await;

    // Junk first: unknown topic, undecodable payloads. None of it is fatal.
    broker.push(PK, 9999, b"whatever");
    broker.push(PK, 146, b"not json");
    broker.push(PK, 149, b"\xff\xfe");
    broker.push_packet(
        PK,
        Packet::Publish(Publish::qos0("146", &b"\x78\x01garbage"[..])),
    );

    let web = fixture_strings("web_capture_iris_and_send.json", "message_sync");
    assert_eq!(broker.push_message_sync(PK, &web[0]), 1);
    match next_matching(&mut rx, |e| matches!(e, RealtimeEvent::MessageSync(_))).await {
        RealtimeEvent::MessageSync(batch) => {
            assert_eq!(batch.seq_id, Some(25560));
            assert!(
                matches!(&batch.events[0], SyncEvent::NewItem(i) if i.item.text.as_deref() == Some("woy bang"))
            );
        }
        _ => unreachable!(),
    }
    let typing = r#"{"event":"patch","data":[{"op":"add","path":"/direct_v2/threads/42/activity_indicator_id/x","value":"{\"timestamp\":\"1700000000000000\",\"sender_id\":\"7\",\"ttl\":12000,\"activity_status\":1}"}]}"#;
    broker.push_realtime_sub(PK, "direct", typing);
    match next_matching(&mut rx, |e| matches!(e, RealtimeEvent::Typing(_))).await {
        RealtimeEvent::Typing(t) => {
            assert!(t.active && t.ttl_ms == Some(12000) && t.thread_id == "42")
        }
        _ => unreachable!(),
    }
    let presence = fixture_strings("mgp25_presence_payloads.json", "payloads");
    broker.push_realtime_sub(PK, "17846944882223835", &presence[0]);
    match next_matching(&mut rx, |e| matches!(e, RealtimeEvent::Presence(_))).await {
        RealtimeEvent::Presence(p) => assert_eq!(p.user_id, 1_111_111_111),
        _ => unreachable!(),
    }
    broker.push(
        PK,
        150,
        &crate::support::fake_broker::thrift_topic_payload("ASH", b""),
    );
    assert_eq!(
        next_matching(&mut rx, |e| matches!(e, RealtimeEvent::RegionHint(_))).await,
        RealtimeEvent::RegionHint("ASH".into())
    );
    let seq = broker.push_patch(PK, "remove", "/direct_v2/threads/42/items/99", "99");
    match next_matching(&mut rx, |e| matches!(e, RealtimeEvent::MessageSync(_))).await {
        RealtimeEvent::MessageSync(b) => {
            assert_eq!(b.seq_id, Some(seq));
            assert_eq!(
                b.events,
                vec![SyncEvent::ItemRemoved {
                    thread_id: "42".into(),
                    item_id: "99".into()
                }]
            );
        }
        _ => unreachable!(),
    }
    // The client PUBACKed nothing wrong and is still the only connection.
    assert_eq!(broker.connections(PK), 1);
    assert_eq!(broker.connects().len(), 1);
}

#[tokio::test]
async fn pp_triggers_a_reconnect_from_the_confirmed_cursor() {
    let broker = broker().await;
    let (client, mut rx) = start(&broker, PK).await;
    subscribed(&mut rx).await;
    client
        .update_cursor(Cursor {
            seq_id: 2000,
            snapshot_at_ms: 5,
        })
        .await
        .unwrap();
    broker.push(PK, 34, b"");
    next_matching(&mut rx, |e| {
        is_state(e, |s| matches!(s, ConnectionState::Disconnected { .. }))
    })
    .await;
    subscribed(&mut rx).await;
    assert_eq!(broker.connects().len(), 2);
    let iris = broker.received_json(PK, "134");
    assert_eq!(iris.len(), 2);
    assert_eq!(iris[1]["seq_id"], 2000);
    assert_eq!(iris[1]["snapshot_at_ms"], 5);
}

#[tokio::test]
async fn iris_overflow_means_resync_required() {
    let broker = broker().await;
    broker.set_iris_overflow(true);
    let (client, mut rx) = start(&broker, PK).await;
    match next_matching(&mut rx, |e| {
        matches!(e, RealtimeEvent::ResyncRequired { .. })
    })
    .await
    {
        RealtimeEvent::ResyncRequired {
            error_type,
            error_message,
        } => {
            assert_eq!(error_type, Some(1));
            assert_eq!(error_message, "IrisQueueOverflowException");
        }
        _ => unreachable!(),
    }
    // The caller resyncs over HTTP, confirms a fresh cursor and reconnects.
    broker.set_iris_overflow(false);
    client
        .update_cursor(Cursor {
            seq_id: 3000,
            snapshot_at_ms: 9,
        })
        .await
        .unwrap();
    client.reconnect().await.unwrap();
    match subscribed(&mut rx).await {
        RealtimeEvent::IrisSubscribed { seq_id, .. } => assert_eq!(seq_id, Some(3000)),
        _ => unreachable!(),
    }
}
