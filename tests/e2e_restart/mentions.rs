//! Mentions both ways, after a restart: "@username" from Instagram becomes a pill for the
//! ghost, a pill from Matrix becomes "@username" on Instagram. (That the people of a thread
//! come back from the store, not from Instagram, is shown by `bridge::conversation`'s tests.)

use serde_json::json;

use crate::{harness, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_cross_both_ways_after_a_restart() {
    let h = harness("mentions").await;
    let w = &h.world;
    let bridge = h.start().await;
    let (user, portal, _me, bob_pk, thread) = h.scene("men").await;
    let bob_name = format!("men_bob_{bob_pk}");
    let bob = h.ghost(bob_pk);

    // A restart: what the bridge knew in memory is gone.
    bridge.shutdown().await;
    let bridge = h.start().await;

    // Instagram → Matrix: "@bob…" becomes a pill for Bob's ghost.
    w.ig.push_text(&thread, bob_pk, &format!("ping @{bob_name} there"));
    let event = user
        .wait_for(&portal, "the message with a mention", |e| {
            e["content"]["body"] == format!("ping @{bob_name} there").as_str()
        })
        .await;
    let html = event["content"]["formatted_body"]
        .as_str()
        .unwrap_or_default();
    assert!(
        html.contains(&format!("https://matrix.to/#/{bob}")),
        "the mention is a pill for {bob}: {event}"
    );
    assert_eq!(event["content"]["m.mentions"]["user_ids"], json!([bob]));

    // Matrix → Instagram: a pill for Bob's ghost becomes "@<his username>".
    user.send_event(
        &portal,
        "m.room.message",
        json!({
            "msgtype": "m.text",
            "body": "Bob: hello",
            "format": "org.matrix.custom.html",
            "formatted_body": format!("<a href=\"https://matrix.to/#/{bob}\">Bob</a>: hello"),
        }),
    )
    .await;
    let expected = format!("@{bob_name}: hello");
    wait_until("the mention on Instagram", || {
        w.ig.items(&thread)
            .iter()
            .any(|i| i["text"] == expected.as_str())
    })
    .await;
    bridge.shutdown().await;
}
