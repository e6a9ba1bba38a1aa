//! Many concurrent clients against one broker.

use matrix_instagram::instagram::realtime::{Password, RealtimeClient, RealtimeEvent};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_clients_with_some_over_tls() {
    let broker = broker().await;
    let mut clients = Vec::new();
    for i in 0..200 {
        let pk = PK + i;
        let tls = i % 10 == 0;
        let p = params(pk, Password::SessionId(format!("{pk}%3Asecret")));
        let (c, rx) = RealtimeClient::start(config(&broker, tls), p, CURSOR).unwrap();
        clients.push((pk, c, rx));
    }
    for (_, _, rx) in &mut clients {
        subscribed(rx).await;
    }
    assert_eq!(broker.total_connections(), 200);
    for (pk, _, _) in &clients {
        broker.push_patch(*pk, "replace", "/direct_v2/inbox/unseen_count", "3");
    }
    for (_, _, rx) in &mut clients {
        match next_matching(rx, |e| matches!(e, RealtimeEvent::MessageSync(_))).await {
            RealtimeEvent::MessageSync(b) => assert_eq!(b.events.len(), 1),
            _ => unreachable!(),
        }
    }
    for (_, c, _) in &clients {
        c.shutdown().await.unwrap();
    }
    assert!(
        broker
            .wait_until(std::time::Duration::from_secs(10), |b| b
                .total_connections()
                == 0)
            .await
    );
}
