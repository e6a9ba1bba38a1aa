//! Hostile inputs from both sides, each followed by an ordinary message that must still
//! cross: nothing may kill a conversation's worker or leave it stuck. A hostile Matrix event
//! is either sent or answered in the room (a delivery status or a notice).

use serde_json::{Value, json};

use crate::bridging::{Scene, body_is, bot_id, scene, wait_until};
use crate::env;
use crate::support::fake_broker::zlib;
use matrix_instagram::instagram::realtime::codec::{Packet, Publish};

/// Sends `content` into the portal, then an ordinary message; waits for the ordinary one on
/// Instagram and returns what the room says about the hostile one.
async fn followed_by_a_message_that_crosses(s: &Scene, what: &str, content: Value) -> String {
    let w = &env().world;
    let hostile = s
        .user
        .send_event(&s.portal, "m.room.message", content)
        .await;
    let next = format!("still crossing after {what}");
    s.user.send_text(&s.portal, &next).await;
    wait_until(
        &format!("the message after {what} on Instagram"),
        || async {
            w.ig.items(&s.thread)
                .iter()
                .any(|i| i["text"] == next.as_str())
        },
    )
    .await;
    // The conversation applies its events in order: whatever the room hears about the hostile
    // event was said before the next message was sent.
    let timeline = s.user.full_timeline(&s.portal).await;
    let start = timeline
        .iter()
        .position(|e| e["event_id"] == hostile.as_str())
        .unwrap_or_else(|| panic!("{what}: the event is not in the room"));
    let outcome = timeline[start..].iter().find_map(|e| {
        let status = e["type"] == "com.beeper.message_send_status"
            && e["content"]["m.relates_to"]["event_id"] == hostile.as_str();
        let notice = e["sender"] == bot_id().as_str() && e["content"]["msgtype"] == "m.notice";
        match (status, notice) {
            (true, _) => Some(format!("status {}", e["content"]["status"])),
            (_, true) => Some(format!("notice: {}", e["content"]["body"])),
            _ => None,
        }
    });
    outcome.unwrap_or_else(|| panic!("{what}: neither a delivery status nor a notice"))
}

#[tokio::test]
async fn hostile_matrix_events_are_each_followed_by_a_message_that_crosses() {
    let s = scene(&[]).await;
    // Synapse refuses relations to events it does not have: the edit's target is one the
    // bridge never bridged (the room's creation).
    let created = s
        .user
        .full_timeline(&s.portal)
        .await
        .into_iter()
        .find(|e| e["type"] == "m.room.create")
        .and_then(|e| e["event_id"].as_str().map(str::to_string))
        .expect("the room's creation event");
    let cases = [
        (
            "a link whose percent-escape ends inside a multi-byte character",
            json!({"msgtype": "m.text", "body": "x", "format": "org.matrix.custom.html",
                   "formatted_body": "<a href=\"https://matrix.to/#/%a€\">x</a>"}),
        ),
        (
            "a huge body",
            json!({"msgtype": "m.text", "body": "huge ".repeat(12_000)}),
        ),
        (
            "deeply nested HTML",
            json!({"msgtype": "m.text", "body": "deep", "format": "org.matrix.custom.html",
                   "formatted_body": format!("{}deep{}", "<b><i>".repeat(2500), "</i></b>".repeat(2500))}),
        ),
        (
            "a reply to an unknown event",
            json!({"msgtype": "m.text", "body": "> <@x:y> ?\n\nreplying to nothing",
                   "m.relates_to": {"m.in_reply_to": {"event_id": "$no-such-event:localhost"}}}),
        ),
        (
            "an edit of an event the bridge does not know",
            json!({"msgtype": "m.text", "body": "* edited nothing",
                   "m.new_content": {"msgtype": "m.text", "body": "edited nothing"},
                   "m.relates_to": {"rel_type": "m.replace", "event_id": created}}),
        ),
        (
            "an image at an mxc URL that does not exist",
            json!({"msgtype": "m.image", "body": "ghost.jpg",
                   "url": "mxc://localhost/no-such-media", "info": {"mimetype": "image/jpeg"}}),
        ),
        (
            "an image at a malformed mxc URL",
            json!({"msgtype": "m.image", "body": "bad.jpg",
                   "url": "mxc://%zz/../..", "info": {"mimetype": "image/jpeg"}}),
        ),
    ];
    for (what, content) in cases {
        let outcome = followed_by_a_message_that_crosses(&s, what, content).await;
        eprintln!("{what}: {outcome}");
    }
}

#[tokio::test]
async fn junk_realtime_payloads_are_each_followed_by_a_message_that_crosses() {
    let w = &env().world;
    let s = scene(&[]).await;
    let t = &s.thread;
    let patch = |value: &str| {
        json!([{"event": "patch", "seq_id": 1, "data": [{"op": "add",
            "path": format!("/direct_v2/threads/{t}/items/29000000000000000000000000000000000001"),
            "value": value}]}])
        .to_string()
    };
    let junk: Vec<(&str, Vec<u8>)> = vec![
        ("text that is not JSON", b"not json at all".to_vec()),
        ("a JSON scalar", b"42".to_vec()),
        ("an item that is not JSON", patch("{not json").into_bytes()),
        (
            "an item with every field of the wrong type",
            patch(r#"{"item_id": [1], "user_id": "me", "timestamp": "soon", "item_type": 7}"#)
                .into_bytes(),
        ),
        (
            "numbers beyond 64 bits",
            json!([{"event": "patch", "seq_id": 1e300, "data": [{"op": "add",
                "path": format!("/direct_v2/threads/{t}/items/1"),
                "value": "{\"item_id\": 123456789012345678901234567890, \"user_id\": 1e400, \"timestamp\": -1}"}]}])
            .to_string()
            .into_bytes(),
        ),
        (
            "a path of nothing known",
            patch("{}").replace("/direct_v2/threads", "/\u{0}/\u{202e}").into_bytes(),
        ),
        ("binary noise", (0..=255u8).cycle().take(4096).collect()),
    ];
    for (i, (what, body)) in junk.into_iter().enumerate() {
        w.broker.push(s.me_pk, 146, &body);
        let next = format!("still arriving after junk {i}");
        w.ig.push_text(t, s.bob_pk, &next);
        s.user
            .wait_for(&s.portal, &format!("the message after {what}"), |e| {
                body_is(e, &next)
            })
            .await;
    }
    // Junk on the other topics, and a payload that is not even zlib.
    w.broker
        .push_realtime_sub(s.me_pk, "direct", "{\"event\": \"patch\", \"data\": 7}");
    w.broker.push(s.me_pk, 149, &[0xff; 64]);
    w.broker.push_packet(
        s.me_pk,
        Packet::Publish(Publish::qos1("146", 77, vec![0x78, 0x9c, 0xde, 0xad])),
    );
    w.broker.push_packet(
        s.me_pk,
        Packet::Publish(Publish::qos1("146", 78, zlib(&[0xc3, 0x28]))),
    );
    w.ig.push_text(t, s.bob_pk, "still arriving after the rest");
    s.user
        .wait_for(&s.portal, "the message after the rest of the junk", |e| {
            body_is(e, "still arriving after the rest")
        })
        .await;
}
