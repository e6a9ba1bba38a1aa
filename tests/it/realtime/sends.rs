//! Sends over the realtime connection: ack correlation, echoes, negative acks, timeouts, and
//! sends issued while disconnected.

use std::time::Duration;

use matrix_instagram::instagram::realtime::{
    Error, RealtimeEvent, ReplyTo, SyncEvent, TextOptions,
};

use crate::support::fake_broker::AckMode;

use super::*;

#[tokio::test]
async fn text_send_is_acked_and_echoed_with_our_client_context() {
    let broker = broker().await;
    let (client, mut rx) = start(&broker, PK).await;
    subscribed(&mut rx).await;
    let opts = TextOptions {
        client_context: Some("7058579641524101933".into()),
        reply_to: Some(ReplyTo {
            item_id: "55".into(),
            client_context: None,
        }),
        mentioned_user_ids: vec![7],
    };
    let ack = client
        .send_text("340282366841710301244276158232444183473", "hello", opts)
        .await
        .unwrap();
    assert_eq!(ack.client_context.as_deref(), Some("7058579641524101933"));
    let item_id = ack.item_id.clone().unwrap();
    match next_matching(&mut rx, |e| matches!(e, RealtimeEvent::MessageSync(_))).await {
        RealtimeEvent::MessageSync(b) => match &b.events[0] {
            SyncEvent::NewItem(i) => {
                assert_eq!(i.item_id().as_str(), item_id);
                assert_eq!(i.client_context(), Some("7058579641524101933"));
                assert_eq!(i.user_id().map(|pk| pk.get()), Some(PK));
                assert_eq!(i.item.text.as_deref(), Some("hello"));
            }
            other => panic!("{other:?}"),
        },
        _ => unreachable!(),
    }
    let cmd = &broker.received_json(PK, "132")[0];
    assert_eq!(cmd["action"], "send_item");
    assert_eq!(cmd["replied_to_item_id"], "55");
    assert_eq!(cmd["mentioned_user_ids"], r#"["7"]"#);
}

#[tokio::test]
async fn concurrent_sends_are_matched_by_client_context() {
    let broker = broker().await;
    let (client, mut rx) = start(&broker, PK).await;
    subscribed(&mut rx).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = format!("ctx-{i}");
            let opts = TextOptions {
                client_context: Some(ctx.clone()),
                ..Default::default()
            };
            let ack = c.send_text("1", &format!("m{i}"), opts).await.unwrap();
            assert_eq!(ack.client_context, Some(ctx));
        }));
    }
    // Drain events meanwhile so the bounded channel never blocks the loop.
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    for t in tasks {
        t.await.unwrap();
    }
    drain.abort();
    assert_eq!(broker.received_json(PK, "132").len(), 20);
}

#[tokio::test]
async fn other_commands_have_the_e10_shape() {
    let broker = broker().await;
    let (client, mut rx) = start(&broker, PK).await;
    subscribed(&mut rx).await;
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    client
        .send_reaction("1", "2", Some("❤️"), "text")
        .await
        .unwrap();
    client.send_reaction("1", "2", None, "text").await.unwrap();
    client.mark_seen("1", "2").await.unwrap();
    client.indicate_activity("1", true).await.unwrap();
    client
        .send_link(
            "1",
            "see https://example.org",
            vec!["https://example.org".into()],
            None,
        )
        .await
        .unwrap();
    client.set_foreground(true).await.unwrap();
    let cmds = broker.received_json(PK, "132");
    assert_eq!(cmds[0]["item_type"], "reaction");
    assert_eq!(cmds[0]["reaction_status"], "created");
    assert_eq!(cmds[0]["emoji"], "❤️");
    assert_eq!(cmds[1]["reaction_status"], "deleted");
    assert_eq!(cmds[2]["action"], "mark_seen");
    // The fields the broker insists on (docs/PROTOCOL.md G): without them the sends above
    // would have been refused.
    for reaction in &cmds[..2] {
        assert_eq!(reaction["is_shh_mode"], "0");
        assert_eq!(reaction["offline_threading_id"], reaction["client_context"]);
    }
    assert_eq!(cmds[3]["action"], "indicate_activity");
    assert_eq!(cmds[3]["activity_status"], 1);
    assert_eq!(cmds[3]["offline_threading_id"], cmds[3]["client_context"]);
    assert_eq!(cmds[4]["link_urls"], r#"["https://example.org"]"#);
    assert!(
        broker
            .wait_until(Duration::from_secs(5), |b| b
                .received(PK)
                .iter()
                .any(|r| r.topic == "102"))
            .await
    );
    let fs = broker
        .received(PK)
        .into_iter()
        .find(|r| r.topic == "102")
        .unwrap();
    assert_eq!(&fs.payload[..3], &[0x00, 0x11, 0x11]);
}

#[tokio::test]
async fn negative_acks_are_typed() {
    let broker = broker().await;
    let (client, mut rx) = start(&broker, PK).await;
    subscribed(&mut rx).await;
    broker.set_ack_mode(AckMode::Fail("invalid unicode emoji".into()));
    assert!(matches!(
        client.send_reaction("1", "2", Some("🦀"), "text").await,
        Err(Error::InvalidEmoji)
    ));
    broker.set_ack_mode(AckMode::Fail("thread not found".into()));
    match client.send_text("1", "x", TextOptions::default()).await {
        Err(Error::Rejected {
            message,
            status_code,
        }) => {
            assert_eq!(message, "thread not found");
            assert_eq!(status_code.as_deref(), Some("400"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_broker_refuses_commands_without_the_app_fields() {
    use matrix_instagram::instagram::realtime::Command;
    let broker = broker().await;
    let (client, mut rx) = start(&broker, PK).await;
    subscribed(&mut rx).await;
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    // The typing command as the bridge sent it before: no `offline_threading_id`.
    let mut typing = serde_json::json!({"action": "indicate_activity", "thread_id": "1",
        "client_context": "c1", "activity_status": 1});
    let refusal = crate::support::fake_broker::command_check::check_command(&typing);
    assert!(refusal.unwrap_err().contains("offline_threading_id"));
    typing["offline_threading_id"] = "c1".into();
    assert_eq!(
        crate::support::fake_broker::command_check::check_command(&typing),
        Ok(())
    );
    // What the client sends is taken.
    let cmd = Command::IndicateActivity {
        thread_id: "1".into(),
        client_context: "c2".into(),
        typing: false,
    };
    client
        .send_command_within(cmd, Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn missing_ack_times_out() {
    let broker = broker().await;
    let (client, mut rx) = start_in_memory(&broker, PK);
    subscribed(&mut rx).await;
    broker.set_ack_mode(AckMode::Silent);
    let started = tokio::time::Instant::now();
    assert!(matches!(
        client.send_text("1", "x", TextOptions::default()).await,
        Err(Error::AckTimeout)
    ));
    assert!(started.elapsed() >= Duration::from_secs(5));
}

#[tokio::test]
async fn sends_while_disconnected_wait_for_the_reconnect() {
    let broker = broker().await;
    let (client, mut rx) = start(&broker, PK).await;
    subscribed(&mut rx).await;
    broker.refuse_next(3);
    broker.drop_connections(PK);
    let send = {
        let c = client.clone();
        tokio::spawn(async move { c.send_text("1", "queued", TextOptions::default()).await })
    };
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let ack = send.await.unwrap().unwrap();
    assert!(ack.item_id.is_some());
    assert_eq!(
        broker
            .rejections()
            .iter()
            .filter(|r| *r == "refused on demand")
            .count(),
        3
    );
    assert_eq!(broker.received_json(PK, "132").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn sends_fail_with_not_connected_when_the_broker_stays_away() {
    let broker = broker().await;
    broker.refuse_next(u32::MAX);
    let (client, mut rx) = start_in_memory(&broker, PK);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let r = client
        .send_command_within(
            matrix_instagram::instagram::realtime::Command::MarkSeen {
                thread_id: "1".into(),
                client_context: "c".into(),
                item_id: "2".into(),
            },
            Duration::from_secs(3),
        )
        .await;
    assert!(matches!(r, Err(Error::NotConnected)), "{r:?}");
}
