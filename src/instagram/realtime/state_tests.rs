//! Unit tests of the pure state machine (no sockets, explicit time).

use super::*;
use crate::instagram::realtime::connect::Password;

fn setup() -> (MqttState, ConnectParams, Instant) {
    let params = ConnectParams::new(
        42,
        "ua",
        "phone-id-0123456789abcdef",
        Password::SessionId("s".into()),
        "1.0",
    );
    let now = Instant::now();
    let cfg = StateConfig {
        keepalive: Duration::from_secs(60),
        liveness: Duration::from_secs(60),
        ping_timeout: Duration::from_secs(10),
        iris_timeout: Duration::from_secs(20),
        timezone_offset: 0,
    };
    let state = MqttState::new(
        cfg,
        &params,
        Cursor {
            seq_id: 5,
            snapshot_at_ms: 6,
        },
        now,
    );
    (state, params, now)
}

fn topics_of(out: &Output) -> Vec<String> {
    out.packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p.topic.clone()),
            _ => None,
        })
        .collect()
}

fn zpub(topic: u16, qos1: Option<u16>, body: &[u8]) -> Packet {
    let z = zlib(body);
    Packet::Publish(match qos1 {
        Some(id) => Publish::qos1(topics::wire(topic), id, z),
        None => Publish::qos0(topics::wire(topic), z),
    })
}

#[test]
fn connack_then_subscriptions_in_order_and_queued_sends() {
    let (mut s, params, now) = setup();
    assert!(matches!(s.connect_packet(&params, now), Packet::Connect(c) if c.keepalive == 60));
    let mut out = Output::default();
    let (tx, _rx) = oneshot::channel();
    let cmd = Command::MarkSeen {
        thread_id: "1".into(),
        client_context: "c".into(),
        item_id: "2".into(),
    };
    s.submit(cmd, tx, now + Duration::from_secs(30), now, &mut out);
    assert!(out.packets.is_empty(), "not connected yet");
    s.handle(
        Packet::ConnAck {
            session_present: false,
            code: 0,
            payload: Bytes::new(),
        },
        now,
        &mut out,
    )
    .unwrap();
    assert_eq!(topics_of(&out), ["149", "88", "134", "132"]);
    assert_eq!(
        out.events,
        vec![RealtimeEvent::State(ConnectionState::Connected)]
    );
    // packet ids are distinct and non-zero
    let ids: Vec<u16> = out
        .packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => p.packet_id,
            _ => None,
        })
        .collect();
    assert_eq!(ids, [1, 2, 3, 4]);
}

#[test]
fn connack_codes() {
    let (mut s, _, now) = setup();
    let mut out = Output::default();
    let ack = |code| Packet::ConnAck {
        session_present: false,
        code,
        payload: Bytes::new(),
    };
    assert!(matches!(
        s.handle(ack(5), now, &mut out),
        Err(Error::NotAuthorized)
    ));
    assert!(matches!(
        s.handle(ack(3), now, &mut out),
        Err(Error::Refused(3))
    ));
}

#[test]
fn qos1_publish_is_acked_and_decoded() {
    let (mut s, _, now) = setup();
    let mut out = Output::default();
    s.handle(
        zpub(
            topics::MESSAGE_SYNC,
            Some(9),
            br#"[{"event":"patch","seq_id":7,"data":[]}]"#,
        ),
        now,
        &mut out,
    )
    .unwrap();
    assert_eq!(out.packets, vec![Packet::PubAck(9)]);
    assert!(matches!(&out.events[0], RealtimeEvent::MessageSync(b) if b.seq_id == Some(7)));
    // unknown topic and garbage: skipped, not fatal
    s.handle(zpub(999, None, b"x"), now, &mut out).unwrap();
    s.handle(
        Packet::Publish(Publish::qos0("146", &b"\x78\x00junk"[..])),
        now,
        &mut out,
    )
    .unwrap();
    assert!(matches!(
        s.handle(zpub(topics::PP, None, b""), now, &mut out),
        Err(Error::ReconnectRequested)
    ));
}

#[test]
fn acks_resolve_pending_sends() {
    let (mut s, _, now) = setup();
    let mut out = Output::default();
    s.handle(
        Packet::ConnAck {
            session_present: false,
            code: 0,
            payload: Bytes::new(),
        },
        now,
        &mut out,
    )
    .unwrap();
    let mk = |ctx: &str| Command::Reaction {
        thread_id: "1".into(),
        client_context: ctx.into(),
        item_id: "2".into(),
        emoji: Some("x".into()),
        target_item_type: "text".into(),
    };
    let (tx1, mut rx1) = oneshot::channel();
    let (tx2, mut rx2) = oneshot::channel();
    let (tx3, mut rx3) = oneshot::channel();
    let later = now + Duration::from_secs(30);
    s.submit(mk("a"), tx1, later, now, &mut out);
    s.submit(mk("b"), tx2, later, now, &mut out);
    s.submit(mk("c"), tx3, now + Duration::from_secs(5), now, &mut out);
    s.handle(zpub(133, None, br#"{"action":"item_ack","status":"fail","payload":{"client_context":"b","message":"invalid unicode emoji"}}"#), now, &mut out).unwrap();
    assert!(matches!(rx2.try_recv(), Ok(Err(Error::InvalidEmoji))));
    s.handle(zpub(133, None, br#"{"action":"item_ack","status":"ok","payload":{"client_context":"a","item_id":"i"}}"#), now, &mut out).unwrap();
    assert!(matches!(rx1.try_recv(), Ok(Ok(a)) if a.item_id.as_deref() == Some("i")));
    s.poll_timers(now + Duration::from_secs(6), &mut out)
        .unwrap();
    assert!(matches!(rx3.try_recv(), Ok(Err(Error::AckTimeout))));
}

/// Connected and subscribed at `now`, with nothing left to send.
fn subscribed(s: &mut MqttState, now: Instant) -> Output {
    let mut out = Output::default();
    s.handle(
        Packet::ConnAck {
            session_present: false,
            code: 0,
            payload: Bytes::new(),
        },
        now,
        &mut out,
    )
    .unwrap();
    s.handle(
        zpub(135, None, br#"{"succeeded":true,"seq_id":5}"#),
        now,
        &mut out,
    )
    .unwrap();
    out.packets.clear();
    out
}

#[test]
fn keepalive_ping_and_dead_socket() {
    let (mut s, _, now) = setup();
    let mut out = subscribed(&mut s, now);
    let t = s.next_deadline();
    assert_eq!(t, now + Duration::from_secs(60));
    s.poll_timers(t, &mut out).unwrap();
    assert_eq!(out.packets, vec![Packet::PingReq]);
    assert_eq!(s.next_deadline(), t + Duration::from_secs(10));
    s.handle(Packet::PingResp, t + Duration::from_secs(1), &mut out)
        .unwrap();
    out.packets.clear();
    let t2 = s.next_deadline();
    s.poll_timers(t2, &mut out).unwrap();
    assert_eq!(out.packets, vec![Packet::PingReq]);
    assert!(matches!(
        s.poll_timers(t2 + Duration::from_secs(10), &mut out),
        Err(Error::Timeout("PINGRESP"))
    ));
}

#[test]
fn iris_timeout_and_refusal() {
    let (mut s, _, now) = setup();
    let mut out = Output::default();
    s.handle(
        Packet::ConnAck {
            session_present: false,
            code: 0,
            payload: Bytes::new(),
        },
        now,
        &mut out,
    )
    .unwrap();
    assert!(matches!(
        s.poll_timers(now + Duration::from_secs(20), &mut out),
        Err(Error::Timeout(_))
    ));
    let (mut s, _, now) = setup();
    s.handle(
        Packet::ConnAck {
            session_present: false,
            code: 0,
            payload: Bytes::new(),
        },
        now,
        &mut out,
    )
    .unwrap();
    out.events.clear();
    s.handle(
        zpub(
            135,
            None,
            br#"{"succeeded":false,"error_type":1,"error_message":"IrisQueueOverflowException"}"#,
        ),
        now,
        &mut out,
    )
    .unwrap();
    assert!(
        matches!(&out.events[0], RealtimeEvent::ResyncRequired { error_message, .. } if error_message == "IrisQueueOverflowException")
    );
    s.poll_timers(now + Duration::from_secs(21), &mut out)
        .unwrap();
}

#[test]
fn inbound_silence_is_checked_sooner_than_the_keepalive() {
    let (mut s, _, now) = setup();
    s.cfg.liveness = Duration::from_secs(15);
    let mut out = subscribed(&mut s, now);
    // Nothing heard for 15 s: ask, without waiting out the 60 s keepalive.
    let t = s.next_deadline();
    assert_eq!(t, now + Duration::from_secs(15));
    s.poll_timers(t, &mut out).unwrap();
    assert_eq!(out.packets, vec![Packet::PingReq]);
    // No answer within the ping timeout: the socket is dead, 25 s after the last word.
    assert!(matches!(
        s.poll_timers(t + Duration::from_secs(10), &mut out),
        Err(Error::Timeout("PINGRESP"))
    ));
}
