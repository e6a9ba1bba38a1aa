//! A homeserver outage of more than three real minutes while Instagram keeps delivering: the
//! conversation waits (it never drops or dead-letters a row for a transient failure) and
//! drains the moment the homeserver answers again.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::proxy::Proxy;
use crate::{body_is, harness};

/// How long the homeserver is unreachable for the bridge.
const OUTAGE: Duration = Duration::from_secs(185);
/// Messages delivered by Instagram during the outage, spread over it.
const DURING: usize = 30;
/// How soon after the homeserver's return everything must be in the room.
const DRAIN_WITHIN: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_homeserver_outage_of_three_minutes_loses_nothing_and_drains_within_seconds() {
    let mut h = harness("outage").await;
    let upstream: SocketAddr = h
        .homeserver
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("the homeserver address is host:port");
    let proxy = Proxy::start(upstream).await;
    h.config.homeserver.address = format!("http://{}", proxy.addr).parse().expect("proxy url");
    let w = &h.world;
    let running = h.start().await;
    let (user, portal, _me, bob_pk, thread) = h.scene("out").await;
    let bob = h.ghost(bob_pk);

    proxy.cut();
    let cut_at = Instant::now();
    let mut expected = vec!["before the restart".to_string()];
    for i in 0..DURING {
        let text = format!("during the outage {i:02}");
        w.ig.push_text(&thread, bob_pk, &text);
        expected.push(text);
        // The scenario's pace: the messages are spread over the outage.
        tokio::time::sleep_until((cut_at + OUTAGE * (i as u32 + 1) / (DURING as u32 + 1)).into())
            .await;
    }
    tokio::time::sleep_until((cut_at + OUTAGE).into()).await;
    assert!(
        proxy.refused() > 0,
        "the bridge never tried the homeserver during the outage"
    );
    assert_eq!(
        user.bodies_from(&portal, &bob).await,
        vec!["before the restart".to_string()],
        "nothing can cross while the homeserver is unreachable"
    );

    proxy.restore();
    let back = Instant::now();
    let bodies = loop {
        let bodies = user.bodies_from(&portal, &bob).await;
        if bodies.len() >= expected.len() {
            break bodies;
        }
        assert!(
            back.elapsed() < Duration::from_secs(60),
            "not drained a minute after the homeserver came back: {} of {} messages",
            bodies.len(),
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let drained = back.elapsed();
    eprintln!(
        "homeserver outage of {:?}: {DURING} messages drained {drained:?} after its return",
        OUTAGE
    );
    assert_eq!(bodies, expected, "every message once, in Instagram's order");
    assert!(
        drained <= DRAIN_WITHIN,
        "drained {drained:?} after the homeserver's return (at most {DRAIN_WITHIN:?})"
    );
    let dead = running
        .bridge
        .store
        .dead_letter_count()
        .await
        .expect("count dead letters");
    assert_eq!(dead, 0, "nothing is dead-lettered for a transient failure");

    // The conversation is live again: a new message crosses, once, after the rest.
    w.ig.push_text(&thread, bob_pk, "after the outage");
    user.wait_for(&portal, "a live message after the outage", |e| {
        body_is(e, "after the outage")
    })
    .await;
    expected.push("after the outage".into());
    assert_eq!(user.bodies_from(&portal, &bob).await, expected);
    running.shutdown().await;
}
