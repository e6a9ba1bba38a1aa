//! Reconnect after drops and refusals; half-open detection with paused time.

use std::time::Duration;

use matrix_instagram::instagram::realtime::ConnectionState;
use tokio::time::Instant;

use super::*;

#[tokio::test]
async fn reconnects_after_a_drop_and_resubscribes_from_the_confirmed_cursor() {
    let broker = broker().await;
    let (client, mut rx) = start(&broker, PK).await;
    subscribed(&mut rx).await;
    client
        .update_cursor(Cursor {
            seq_id: 1234,
            snapshot_at_ms: 77,
        })
        .await
        .unwrap();
    assert_eq!(broker.drop_connections(PK), 1);
    let ev = next_matching(&mut rx, |e| {
        is_state(e, |s| matches!(s, ConnectionState::Disconnected { .. }))
    })
    .await;
    assert!(format!("{ev:?}").contains("closed"), "{ev:?}");
    next_matching(&mut rx, |e| {
        is_state(e, |s| {
            matches!(s, ConnectionState::Connecting { attempt: 1 })
        })
    })
    .await;
    subscribed(&mut rx).await;
    let iris = broker.received_json(PK, "134");
    assert_eq!(iris.last().unwrap()["seq_id"], 1234);
    // Subscriptions are redone on every connect.
    assert_eq!(broker.received_json(PK, "149").len(), 2);
    assert_eq!(broker.received_json(PK, "88").len(), 2);
}

#[tokio::test]
async fn refused_connections_are_retried_with_backoff() {
    let broker = broker().await;
    broker.refuse_next(2);
    let started = Instant::now();
    let (_client, mut rx) = start(&broker, PK).await;
    for _ in 0..2 {
        next_matching(&mut rx, |e| {
            is_state(e, |s| *s == ConnectionState::Refused { code: 3 })
        })
        .await;
    }
    subscribed(&mut rx).await;
    // Two backoff waits: at least 25 ms + 50 ms (equal jitter of 50 ms, 100 ms).
    assert!(started.elapsed() >= Duration::from_millis(75));
}

#[tokio::test(start_paused = true)]
async fn half_open_socket_is_detected_within_30_seconds() {
    let broker = broker().await;
    let (_client, mut rx) = start_in_memory(&broker, PK);
    subscribed(&mut rx).await;
    // Healthy: pings are answered and the connection stays.
    tokio::time::sleep(Duration::from_secs(200)).await;
    assert!(broker.pings() >= 3, "pings: {}", broker.pings());
    assert_eq!(broker.connects().len(), 1);

    broker.stall(PK, true);
    let stalled_at = Instant::now();
    let ev = next_matching_within(&mut rx, Duration::from_secs(300), |e| {
        is_state(e, |s| matches!(s, ConnectionState::Disconnected { .. }))
    })
    .await;
    let took = stalled_at.elapsed();
    assert!(format!("{ev:?}").contains("PINGRESP"), "{ev:?}");
    // Inbound silence (15 s) then an unanswered PINGREQ (10 s), not a full keepalive period.
    assert!(took <= Duration::from_secs(15 + 10 + 1), "took {took:?}");
    // While stalled the new connection's iris subscribe goes unanswered: that is detected too.
    let ev = next_matching(&mut rx, |e| {
        is_state(e, |s| matches!(s, ConnectionState::Disconnected { .. }))
    })
    .await;
    assert!(format!("{ev:?}").contains("iris"), "{ev:?}");
    broker.stall(PK, false);
    subscribed(&mut rx).await;
}

#[test]
fn backoff_is_jittered_exponential_capped_and_resettable() {
    use matrix_instagram::instagram::realtime::eventloop::Backoff;
    let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    let delays: Vec<Duration> = (0..10).map(|_| b.next_delay()).collect();
    for (i, d) in delays.iter().enumerate() {
        let base = Duration::from_secs(1 << i.min(6)).min(Duration::from_secs(60));
        assert!(*d >= base / 2 && *d <= base, "{i}: {d:?}");
    }
    b.reset();
    assert!(b.next_delay() <= Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_while_failing_and_resets_after_a_stable_period() {
    let broker = broker().await;
    broker.refuse_next(3);
    let (_client, mut rx) = start_in_memory(&broker, PK);
    subscribed(&mut rx).await;
    // Connected after 3 refusals. A short-lived connection keeps the failure count...
    broker.drop_connections(PK);
    next_matching(&mut rx, |e| {
        is_state(e, |s| {
            matches!(s, ConnectionState::Connecting { attempt: 4 })
        })
    })
    .await;
    subscribed(&mut rx).await;
    // ...a connection that lasted `stable_after` (10 min by default) resets it.
    tokio::time::sleep(Duration::from_secs(601)).await;
    broker.drop_connections(PK);
    next_matching(&mut rx, |e| {
        is_state(e, |s| {
            matches!(s, ConnectionState::Connecting { attempt: 1 })
        })
    })
    .await;
    subscribed(&mut rx).await;
}
