//! Instagram's order across gaps: messages missed while the bridge was dead or disconnected
//! are bridged oldest first, before any newer live message, however many pages back they go.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::{body_is, harness, wait_until};

/// Messages in the burst, and how fast they come.
const BURST: usize = 200;
const EVERY: Duration = Duration::from_millis(50);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_killed_mid_way_arrives_exactly_once_and_in_order() {
    let h = harness("burst").await;
    let w = &h.world;
    let mut child = h.spawn_binary("burst-1");
    let (user, portal, _me, bob_pk, thread) = h.scene("bur").await;
    let bob = h.ghost(bob_pk);

    // 200 messages at 20 per second into the one thread.
    let pushed = Arc::new(AtomicUsize::new(0));
    let burst = {
        let (ig, thread, pushed) = (w.ig.clone(), thread.clone(), pushed.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVERY);
            for i in 0..BURST {
                tick.tick().await;
                ig.push_text(&thread, bob_pk, &format!("burst {i:03}"));
                pushed.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    // SIGKILL two fifths in; dead for three seconds (60 messages, three pages and more),
    // then started again while the burst goes on.
    wait_until("the burst under way", || {
        pushed.load(Ordering::SeqCst) >= 80
    })
    .await;
    child.kill();
    wait_until("messages sent while the bridge is dead", || {
        pushed.load(Ordering::SeqCst) >= 140
    })
    .await;
    let mut child = h.spawn_binary("burst-2");
    burst.await.expect("the burst");

    w.ig.push_text(&thread, bob_pk, "after the burst");
    user.wait_for(&portal, "the message after the burst", |e| {
        body_is(e, "after the burst")
    })
    .await;
    let mut expected = vec!["before the restart".to_string()];
    expected.extend((0..BURST).map(|i| format!("burst {i:03}")));
    expected.push("after the burst".into());
    let bodies = user.bodies_from(&portal, &bob).await;
    if bodies != expected {
        let out_of_place: Vec<(usize, &String)> = bodies
            .iter()
            .enumerate()
            .filter(|(i, b)| expected.get(*i) != Some(*b))
            .take(10)
            .collect();
        panic!(
            "Matrix has {} messages for {} sent; the first out of place: {out_of_place:?}",
            bodies.len(),
            expected.len()
        );
    }
    child.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_longer_than_a_page_is_caught_up_oldest_first_within_the_bound() {
    let mut h = harness("gap").await;
    // The catch-up reads 10 items, then pages of 20 older ones, and bridges at most 30.
    h.config.backfill.initial_messages = 10;
    h.config.backfill.max_missed_messages = 30;
    let w = &h.world;
    let bridge = h.start().await;
    let (user, portal, me_pk, bob_pk, thread) = h.scene("gap").await;
    let bob = h.ghost(bob_pk);

    // The realtime connection drops and cannot come back while 45 messages are written.
    w.broker.refuse_next(u32::MAX);
    assert!(w.broker.drop_connections(me_pk) >= 1);
    wait_until("the connection is down", || {
        w.broker.connections(me_pk) == 0
    })
    .await;
    let seq = w.broker.latest_seq_id(me_pk);
    for i in 0..45 {
        w.ig.push_text(&thread, bob_pk, &format!("missed {i:02}"));
    }
    wait_until("Instagram has the missed messages queued", || {
        w.broker.latest_seq_id(me_pk) >= seq + 45
    })
    .await;
    w.broker.refuse_next(0);
    user.wait_for(&portal, "the newest missed message", |e| {
        body_is(e, "missed 44")
    })
    .await;
    w.ig.push_text(&thread, bob_pk, "live after the gap");
    user.wait_for(&portal, "a live message after the gap", |e| {
        body_is(e, "live after the gap")
    })
    .await;

    let mut expected = vec!["before the restart".to_string()];
    expected.extend((15..45).map(|i| format!("missed {i:02}")));
    expected.push("live after the gap".into());
    assert_eq!(user.bodies_from(&portal, &bob).await, expected);
    // The room is told, right where the left-out messages would be.
    let timeline = user.full_timeline(&portal).await;
    let notice = timeline.iter().position(|e| {
        e["content"]["msgtype"] == "m.notice"
            && e["content"]["body"]
                .as_str()
                .is_some_and(|b| b.starts_with("More than 30 messages were missed"))
    });
    let first = timeline.iter().position(|e| body_is(e, "missed 15"));
    assert!(
        matches!((notice, first), (Some(n), Some(f)) if n < f),
        "the notice comes before the oldest bridged missed message: {notice:?} {first:?}"
    );
    bridge.shutdown().await;
}
