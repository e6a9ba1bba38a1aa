//! CONNECT, CONNACK, TLS and the post-connect subscriptions.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use matrix_instagram::instagram::realtime::codec::{Connect, MqttCodec, Packet};
use matrix_instagram::instagram::realtime::{
    ConnectionState, Password, RealtimeClient, RealtimeEvent,
};
use tokio_util::codec::Framed;

use super::*;

#[tokio::test]
async fn plaintext_connect_subscribes_in_order_from_the_cursor() {
    let broker = broker().await;
    broker.set_latest_seq_id(PK, 1500);
    let (_client, mut rx) = start(&broker, PK).await;
    next_matching(&mut rx, |e| {
        is_state(e, |s| *s == ConnectionState::Connected)
    })
    .await;
    let ev = subscribed(&mut rx).await;
    assert_eq!(
        ev,
        RealtimeEvent::IrisSubscribed {
            seq_id: Some(1000),
            latest_seq_id: Some(1500),
            subscribed_at_ms: match &ev {
                RealtimeEvent::IrisSubscribed {
                    subscribed_at_ms, ..
                } => *subscribed_at_ms,
                _ => None,
            }
        }
    );
    // The broker's independent decoder saw M's bridge posture.
    let info = &broker.connects()[0];
    assert_eq!(info.user_id, PK);
    assert_eq!(info.password, session_password(PK));
    assert_eq!(info.client_identifier, &PHONE_ID[..20]);
    assert_eq!(info.device_id, PHONE_ID);
    assert_eq!(info.keepalive, 60);
    assert!(info.no_automatic_foreground && !info.is_initially_foreground);
    assert_eq!(info.network_subtype, -1);
    assert_eq!(
        info.subscribe_topics,
        [88, 135, 244, 149, 150, 245, 274, 133, 146, 179, 34]
    );
    assert_eq!(info.app_specific_info["auth_cache_enabled"], "1");
    assert_eq!(info.app_specific_info["User-Agent"], UA);
    // Subscriptions, in E.6 order.
    let topics: Vec<String> = broker
        .received(PK)
        .iter()
        .map(|r| r.topic.clone())
        .collect();
    assert_eq!(topics, ["149", "88", "134"]);
    let rt = &broker.received_json(PK, "149")[0];
    let subs = rt["sub"].as_array().unwrap();
    assert_eq!(subs.len(), 3);
    assert!(
        subs[1]
            .as_str()
            .unwrap()
            .starts_with("1/graphqlsubscriptions/17867973967082385/")
    );
    assert!(
        subs[1]
            .as_str()
            .unwrap()
            .contains(&format!("\"user_id\":\"{PK}\""))
    );
    let sky = &broker.received_json(PK, "88")[0];
    assert_eq!(sky["sub"][0], format!("ig/u/v1/{PK}"));
    let iris = &broker.received_json(PK, "134")[0];
    assert_eq!(iris["seq_id"], 1000);
    assert_eq!(iris["snapshot_at_ms"], 1_700_000_000_000i64);
    assert_eq!(iris["subscription_type"], "message");
    assert!(broker.received(PK).iter().all(|r| r.qos == 1));
}

#[tokio::test]
async fn tls_connect_trusts_the_extra_ca_and_only_it() {
    let broker = broker().await;
    let p = params(PK, Password::SessionId(format!("{PK}%3Asecret")));
    let (c, mut rx) = RealtimeClient::start(config(&broker, true), p.clone(), CURSOR).unwrap();
    subscribed(&mut rx).await;
    let ack = c
        .send_text("1", "over tls", Default::default())
        .await
        .unwrap();
    assert!(ack.item_id.is_some());

    let mut cfg = config(&broker, true);
    cfg.extra_ca = None;
    let (_c2, mut rx2) = RealtimeClient::start(cfg, p, CURSOR).unwrap();
    let ev = next_matching(&mut rx2, |e| {
        is_state(e, |s| matches!(s, ConnectionState::Disconnected { .. }))
    })
    .await;
    assert!(
        format!("{ev:?}").to_lowercase().contains("certificate"),
        "{ev:?}"
    );
}

#[tokio::test]
async fn authorization_password_is_accepted() {
    let broker = broker().await;
    let p = params(
        PK + 5000,
        Password::Authorization("Bearer IGT:2:tokenabc".into()),
    );
    let (_c, mut rx) = RealtimeClient::start(config(&broker, false), p, CURSOR).unwrap();
    subscribed(&mut rx).await;
    assert_eq!(
        broker.connects()[0].password,
        "authorization=Bearer IGT:2:tokenabc"
    );
}

#[tokio::test]
async fn unknown_session_gives_auth_failed() {
    let broker = broker().await;
    let p = params(PK, Password::SessionId("wrong".into()));
    let (client, mut rx) = RealtimeClient::start(config(&broker, false), p, CURSOR).unwrap();
    next_matching(&mut rx, |e| {
        is_state(e, |s| *s == ConnectionState::AuthFailed)
    })
    .await;
    assert_eq!(broker.rejections()[0], "password matches no session");
    client.shutdown().await.unwrap();
    next_matching(&mut rx, |e| is_state(e, |s| *s == ConnectionState::Stopped)).await;
}

/// The broker itself rejects malformed CONNECTs (so it really checks the client).
#[tokio::test]
async fn broker_rejects_malformed_connects() {
    let broker = broker().await;
    let good = params(PK, Password::SessionId(format!("{PK}%3Asecret")));
    let mut missing = good.clone();
    missing.app_id = 1;
    let cases: Vec<(Connect, u8, &str)> = vec![
        (
            Connect {
                protocol_name: "MQTT".into(),
                ..Connect::mqttot(20, good.to_payload().into())
            },
            1,
            "protocol name",
        ),
        (
            Connect {
                level: 4,
                ..Connect::mqttot(20, good.to_payload().into())
            },
            1,
            "protocol level",
        ),
        (
            Connect::mqttot(20, Bytes::from_static(b"\x78\xda\x00garbage")),
            2,
            "bad zlib",
        ),
        (Connect::mqttot(20, good.to_thrift().into()), 2, "not zlib"),
        (
            Connect::mqttot(20, missing.to_payload().into()),
            2,
            "app_id",
        ),
        (Connect::mqttot(20, good.to_payload().into()), 0, ""),
    ];
    for (connect, code, reason) in cases {
        let sock = tokio::net::TcpStream::connect(broker.plain_addr)
            .await
            .unwrap();
        let mut framed = Framed::new(sock, MqttCodec::default());
        framed.send(Packet::Connect(connect)).await.unwrap();
        match framed.next().await {
            Some(Ok(Packet::ConnAck { code: got, .. })) => assert_eq!(got, code, "{reason}"),
            other => panic!("{reason}: {other:?}"),
        }
        if code != 0 {
            assert!(
                broker.rejections().last().unwrap().contains(reason),
                "{:?}",
                broker.rejections()
            );
        }
    }
}
