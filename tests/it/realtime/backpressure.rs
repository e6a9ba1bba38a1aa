//! A consumer that confirms the cursor after every batch while the broker floods it must get
//! every batch: confirming never waits on the event loop (regression: with small buffers the
//! two used to wait on each other for ever).

use matrix_instagram::instagram::realtime::{Cursor, RealtimeClient, RealtimeEvent};

use super::*;

#[tokio::test]
async fn confirming_the_cursor_under_a_flood_never_deadlocks() {
    let broker = broker().await;
    let mut cfg = config(&broker, false);
    cfg.event_buffer = 1;
    cfg.request_buffer = 1;
    let p = params(PK + 7, Password::SessionId(format!("{}%3Asecret", PK + 7)));
    let (client, mut rx) = RealtimeClient::start(cfg, p, CURSOR).expect("start");
    subscribed(&mut rx).await;
    const N: usize = 500;
    for i in 0..N {
        let value = serde_json::json!({"item_id": format!("9{i:05}"), "user_id": 1,
            "timestamp": 1_700_000_000_000_000i64 + i as i64, "item_type": "text", "text": "x"});
        broker.push_patch(
            PK + 7,
            "add",
            &format!("/direct_v2/threads/1/items/9{i:05}"),
            &value.to_string(),
        );
    }
    let mut got = 0;
    let all = async {
        while got < N {
            match rx.recv().await {
                Some(RealtimeEvent::MessageSync(batch)) => {
                    got += batch.events.len();
                    if let Some(seq_id) = batch.seq_id {
                        client
                            .update_cursor(Cursor {
                                seq_id,
                                snapshot_at_ms: 0,
                            })
                            .await
                            .expect("confirm");
                    }
                }
                Some(_) => {}
                None => break,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), all)
        .await
        .expect("every batch arrives while the cursor is confirmed after each");
    assert_eq!(got, N);
}
