//! Every recorded payload in `tests/fixtures/instagram/` decodes to the expected events.

use super::*;
use crate::instagram::ids::UserPk;
use crate::instagram::realtime::events::{Presence, RealtimeEvent};
use crate::instagram::realtime::pubsub::{decode_presence, decode_realtime_sub};

const T: &str = "111111111111111111111111111111111111111";
const I: &str = "11111111111111111111111111111111111";

fn fixture(name: &str) -> Value {
    crate::instagram::test_fixtures::json(name)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn decode(payload: &str) -> SyncBatch {
    decode_message_sync(payload.as_bytes()).unwrap()
}

#[test]
fn mgp25_direct_handler_payloads() {
    let p = strings(&fixture("mgp25_direct_handler_payloads.json")["payloads"]);
    assert_eq!(p.len(), 9);

    // 0: item add + unseen count.
    let b = decode(&p[0]);
    assert_eq!(b.seq_id, None);
    match b.events.as_slice() {
        [
            SyncEvent::NewItem(item),
            SyncEvent::UnseenCount { count: 1, ts_us },
        ] => {
            assert_eq!(item.thread_id, T);
            assert_eq!(item.item_id(), I);
            assert_eq!(item.user_id(), Some(UserPk(1_111_111_111)));
            assert_eq!(item.timestamp_us(), Some(1_111_111_111_111_111));
            assert_eq!(item.item_type(), Some("text"));
            assert_eq!(item.item.text.as_deref(), Some("TEXT"));
            assert_eq!(*ts_us, Some(1_111_111_111_111_111));
        }
        other => panic!("{other:?}"),
    }

    // 1: thread replace.
    match decode(&p[1]).events.as_slice() {
        [SyncEvent::ThreadReplaced { thread_id, thread }] => {
            assert_eq!(thread_id, T);
            assert_eq!(thread.thread_id, T);
        }
        other => panic!("{other:?}"),
    }

    // 2: remove with a bare string value.
    assert_eq!(
        decode(&p[2]).events,
        vec![SyncEvent::ItemRemoved {
            thread_id: T.into(),
            item_id: I.into()
        }]
    );

    // 3: typing.
    match decode(&p[3]).events.as_slice() {
        [SyncEvent::Typing(t)] => {
            assert_eq!(t.thread_id, T);
            assert_eq!(
                t.activity_indicator_id,
                "deadbeef-dead-beef-dead-beefdeadbeef"
            );
            assert_eq!(t.sender_id, Some(UserPk(1_111_111_111)));
            assert_eq!(t.ttl_ms, Some(12000));
            assert!(t.active);
        }
        other => panic!("{other:?}"),
    }

    // 4: has_seen with a >64-bit numeric item id: digits preserved.
    assert_eq!(
        decode(&p[4]).events,
        vec![SyncEvent::Seen {
            thread_id: T.into(),
            user_id: UserPk(1_111_111_111),
            item_id: Some(I.into()),
            timestamp_us: Some(1_111_111_111_111_111)
        }]
    );

    // 5: visual_action_badge: unknown path, skipped.
    assert!(decode(&p[5]).events.is_empty());

    // 6: raven item on visual_threads (+ visual_inbox counter, skipped).
    match decode(&p[6]).events.as_slice() {
        [SyncEvent::NewItem(item)] => {
            assert_eq!(item.item_type(), Some("raven_media"));
            assert_eq!(item.thread_id, T);
        }
        other => panic!("{other:?}"),
    }

    // 7, 8: acks (decoded by commands.rs).
    use crate::instagram::realtime::commands::{AckStatus, parse_ack};
    let ack = parse_ack(p[7].as_bytes()).unwrap();
    assert_eq!(
        ack.client_context.as_deref(),
        Some("deadbeef-dead-beef-dead-beefdeadbeef")
    );
    assert_eq!(ack.item_id.as_deref(), Some(I));
    assert_eq!(ack.thread_id.as_deref(), Some(T));
    assert_eq!(ack.timestamp_us, Some(1_111_111_111_111_111));
    assert_eq!(ack.status, AckStatus::Ok);
    let ack = parse_ack(p[8].as_bytes()).unwrap();
    assert_eq!(ack.status, AckStatus::Ok);
    assert_eq!(ack.ttl_ms, Some(10000));
}

#[test]
fn mgp25_iris_subscribe_responses() {
    let p = strings(&fixture("mgp25_iris_subscribe_responses.json")["payloads"]);
    assert_eq!(
        parse_response(p[0].as_bytes()),
        Some(IrisResponse::Subscribed {
            seq_id: Some(666),
            latest_seq_id: None,
            subscribed_at_ms: Some(1_111_111_111_111)
        })
    );
    for (s, msg) in [
        (&p[1], "IrisQueueOverflowException"),
        (&p[2], "IrisQueueUnderflowException"),
    ] {
        assert_eq!(
            parse_response(s.as_bytes()),
            Some(IrisResponse::Refused {
                error_type: Some(1),
                error_message: msg.into()
            })
        );
    }
    assert_eq!(
        parse_response(
            br#"{"succeeded":true,"seq_id":666,"latest_seq_id":700,"subscribed_at_ms":1}"#
        ),
        Some(IrisResponse::Subscribed {
            seq_id: Some(666),
            latest_seq_id: Some(700),
            subscribed_at_ms: Some(1)
        })
    );
}

#[test]
fn mgp25_presence_payloads() {
    let p = strings(&fixture("mgp25_presence_payloads.json")["payloads"]);
    let v: Value = serde_json::from_str(&p[0]).unwrap();
    assert_eq!(
        decode_presence(&v),
        Some(Presence {
            user_id: 1_111_111_111,
            is_active: true,
            last_activity_at_ms: Some(123_456_789_012),
            in_threads: vec![]
        })
    );
    assert_eq!(decode_presence(&serde_json::from_str(&p[1]).unwrap()), None);
    assert!(decode_realtime_sub(p[1].as_bytes()).is_empty());
}

#[test]
fn web_capture() {
    let f = fixture("web_capture_iris_and_send.json");
    let sync = strings(&f["message_sync"]);
    let b = decode(&sync[0]);
    assert_eq!(b.seq_id, Some(25560));
    match b.events.as_slice() {
        [SyncEvent::NewItem(item)] => {
            assert_eq!(item.thread_id, "340282366841710301244276158232444183473");
            assert_eq!(item.item_id(), "31044085271868279333056426983555072");
            assert_eq!(item.user_id(), Some(UserPk(58_511_342_766)));
            assert_eq!(item.timestamp_us(), Some(1_682_903_234_729_242));
            assert_eq!(item.client_context(), Some("7058607763398958242"));
            assert_eq!(item.mutation_token.as_deref(), Some("7058607763398958242"));
            assert_eq!(item.item.text.as_deref(), Some("woy bang"));
        }
        other => panic!("{other:?}"),
    }
    let presence = strings(&f["app_presence"]);
    assert_eq!(
        decode_realtime_sub(presence[0].as_bytes()),
        vec![RealtimeEvent::Presence(Presence {
            user_id: 58_511_342_766,
            is_active: false,
            last_activity_at_ms: Some(1_682_903_255_000),
            in_threads: vec![]
        })]
    );
    // The send commands are the web client's: our parser of commands reads their keys.
    for cmd in strings(&f["send_message_commands"]) {
        let v: Value = serde_json::from_str(&cmd).unwrap();
        assert_eq!(v["action"], "send_item");
        assert!(as_id(&v["client_context"]).is_some());
    }
}

#[test]
fn nerixyz_flattened_has_seen() {
    let f = fixture("nerixyz_issue45_has_seen_shape.json");
    let mut ex = f["example"].clone();
    // The maintainer's placeholders: give them concrete values.
    ex["message"]["path"] = "/direct_v2/threads/77/participants/5/has_seen".into();
    ex["message"]["item_id"] = "99".into();
    let b = decode_message_sync_value(&ex);
    assert_eq!(b.seq_id, Some(1234));
    assert_eq!(
        b.events,
        vec![SyncEvent::Seen {
            thread_id: "77".into(),
            user_id: UserPk(5),
            item_id: Some("99".into()),
            timestamp_us: Some(1_234_567)
        }]
    );
}

#[test]
fn path_table_and_lenient_values() {
    let batch = serde_json::json!([
        {"event":"patch","seq_id":10,"mutation_token":"ctx1","data":[
            {"op":"add","path":"/direct_v2/threads/9/items/8/reactions/emojis/7",
             "value":"{\"timestamp\":\"1700000000000001\",\"emoji\":\"❤️\",\"super_react_type\":\"default\"}"},
            {"op":"remove","path":"/direct_v2/threads/9/items/8/reactions/likes/7","value":"{}"},
            {"op":"replace","path":"/direct_v2/threads/9/items/8",
             "value":"{\"item_id\":\"8\",\"user_id\":\"7\",\"timestamp\":\"12\",\"item_type\":\"text\",\"text\":\"edited\"}"},
            {"op":"add","path":"/direct_v2/threads/9/admin_user_ids/7","value":"7"},
            {"op":"remove","path":"/direct_v2/threads/9/admin_user_ids/7","value":"7"},
            {"op":"replace","path":"/direct_v2/threads/9/thread_image","value":"{\"thread_image\":{\"id\":\"1\"}}"},
            {"op":"replace","path":"/direct_v2/threads/9/approval_required_for_new_members","value":"true"},
            {"op":"add","path":"/direct_v2/inbox/threads/9","value":"{\"thread_id\":\"9\"}"},
            {"op":"remove","path":"/direct_v2/inbox/threads/9","value":"9"},
            {"op":"add","path":"/some/new/path","value":"x"},
            {"op":"add","path":"/direct_v2/threads/9/items/5","value":{"item_id":"5","timestamp":3}}
        ]},
        {"event":"patch","seq_id":12,"data":[]},
        {"event":"patch","seq_id":"11","data":[]}
    ]);
    let b = decode_message_sync_value(&batch);
    assert_eq!(b.seq_id, Some(12));
    let e = &b.events;
    assert_eq!(e.len(), 10, "{e:?}");
    match &e[0] {
        SyncEvent::ReactionAdded(r) => {
            assert_eq!((r.user_id, r.kind.as_str()), (UserPk(7), "emojis"));
            assert_eq!(r.emoji.as_deref(), Some("❤️"));
            assert_eq!(r.timestamp_us, Some(1_700_000_000_000_001));
            assert_eq!(r.client_context.as_deref(), Some("ctx1"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&e[1], SyncEvent::ReactionRemoved(r) if r.emoji.is_none()));
    assert!(
        matches!(&e[2], SyncEvent::ItemReplaced(i) if i.user_id() == Some(UserPk(7)) && i.timestamp_us() == Some(12))
    );
    assert!(matches!(
        e[3],
        SyncEvent::AdminChanged {
            is_admin: true,
            user_id: UserPk(7),
            ..
        }
    ));
    assert!(matches!(
        e[4],
        SyncEvent::AdminChanged {
            is_admin: false,
            ..
        }
    ));
    assert!(matches!(&e[5], SyncEvent::ThreadImage { image, .. } if image["id"] == "1"));
    assert!(
        matches!(&e[6], SyncEvent::ApprovalRequired { value, .. } if *value == Value::Bool(true))
    );
    assert!(matches!(&e[7], SyncEvent::ThreadAdded { thread_id, .. } if thread_id == "9"));
    assert!(matches!(&e[8], SyncEvent::ThreadRemoved { thread_id } if thread_id == "9"));
    assert!(matches!(&e[9], SyncEvent::NewItem(i) if i.timestamp_us() == Some(3)));
    assert!(decode_message_sync(b"not json").is_err());
    assert!(
        decode_message_sync(b"[1, \"x\", null, {}]")
            .unwrap()
            .events
            .is_empty()
    );
}

#[test]
fn subscribe_body_matches_the_derived_example() {
    let body = subscribe_json(
        Cursor {
            seq_id: 12345,
            snapshot_at_ms: 1_700_000_000_000,
        },
        "256.0.0.18.105",
        0,
    );
    let expected = crate::instagram::test_fixtures::text("derived/iris_subscribe_payload.json");
    assert_eq!(String::from_utf8(body).unwrap(), expected.trim());
}

/// Ids beyond 64 bits given as bare JSON numbers keep every digit: through the decoder, the
/// JSON text the inbox stores, and the typed ids (plain serde_json made them floats, and the
/// floats wrong digits).
#[test]
fn ids_beyond_64_bits_keep_every_digit() {
    use crate::instagram::ids::{ItemId, ThreadId};
    const BT: &str = "340282366841710301244276158232444183473";
    const BI: &str = "340282366841710301244276158232444183499";
    const BU: &str = "340282366841710301244276158232444183401";
    let item = format!(
        r#"{{"thread_id":{BT},"item_id":{BI},"user_id":{BU},"item_type":"text","text":"big","timestamp":1700000000000001}}"#
    );
    let body = |value: String| {
        format!(
            r#"[{{"event":"patch","seq_id":5,"data":[{{"op":"add","path":"/direct_v2/threads/{BT}/items/{BI}","value":{value}}}]}}]"#
        )
    };
    // The value double-encoded (as Instagram sends it) and as a plain object.
    for body in [
        body(serde_json::to_string(&item).unwrap()),
        body(item.clone()),
    ] {
        let batch = decode_message_sync(body.as_bytes()).unwrap();
        // A user pk is an i64: an item with one beyond it does not fit the typed model. It is
        // not dropped and never given a wrong number: it comes whole, with the reason.
        let [SyncEvent::Undecodable(event)] = batch.events.as_slice() else {
            panic!("{:?}", batch.events);
        };
        assert_eq!(event.thread_id, BT);
        assert!(event.error.contains("user pk"), "{}", event.error);
        let stored = serde_json::to_string(&event.raw).unwrap();
        let back: Value = serde_json::from_str(&stored).unwrap();
        for (key, digits) in [("thread_id", BT), ("item_id", BI), ("user_id", BU)] {
            assert_eq!(back[key], digits, "{key} in {stored}");
        }
        let thread: ThreadId = serde_json::from_value(back["thread_id"].clone()).unwrap();
        let item_id: ItemId = serde_json::from_value(back["item_id"].clone()).unwrap();
        assert_eq!((thread.as_str(), item_id.as_str()), (BT, BI));
    }
    // With a pk that fits, the same item is typed, every digit kept.
    let item = item.replace(BU, "58511342766");
    let batch = decode_message_sync(body(item).as_bytes()).unwrap();
    let [SyncEvent::NewItem(event)] = batch.events.as_slice() else {
        panic!("{:?}", batch.events);
    };
    assert_eq!(
        (event.thread_id.as_str(), event.item_id().as_str()),
        (BT, BI)
    );
    assert_eq!(event.user_id(), Some(UserPk(58_511_342_766)));
    assert_eq!(event.item.text.as_deref(), Some("big"));
    // The send acknowledgement names the item the same way.
    let ack = format!(
        r#"{{"action":"item_ack","status":"ok","payload":{{"client_context":"c","item_id":{BI},"thread_id":{BT}}}}}"#
    );
    let ack = crate::instagram::realtime::commands::parse_ack(ack.as_bytes()).unwrap();
    assert_eq!(ack.item_id.as_deref(), Some(BI));
    assert_eq!(ack.thread_id.as_deref(), Some(BT));
}
