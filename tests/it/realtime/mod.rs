//! Tests of the realtime client against the fake broker, split by topic.

mod backpressure;
mod connect;
mod events;
mod many;
mod reconnect;
mod sends;

use std::time::Duration;

use matrix_instagram::instagram::realtime::{
    ConnectParams, ConnectionState, Cursor, Password, RealtimeClient, RealtimeConfig, RealtimeEvent,
};
use tokio::sync::mpsc::Receiver;

use crate::support::fake_broker::{BrokerOptions, FakeBroker};

pub const PK: i64 = 1_234_567_890;
pub const PHONE_ID: &str = "7b2e6d4a-1c3f-4e5a-9b8c-0d1e2f3a4b5c";
pub const UA: &str = "Instagram 256.0.0.18.105 Android (33/13; 420dpi; 1080x2219; Google/google; Pixel 6; oriole; oriole; en_US; 407842973)";
pub const CURSOR: Cursor = Cursor {
    seq_id: 1000,
    snapshot_at_ms: 1_700_000_000_000,
};

pub fn params(pk: i64, password: Password) -> ConnectParams {
    ConnectParams::new(pk, UA, PHONE_ID, password, "256.0.0.18.105")
}

pub fn session_password(pk: i64) -> String {
    format!("sessionid={pk}%3Asecret")
}

pub async fn broker() -> FakeBroker {
    let accounts: Vec<(String, i64)> = (0..1000)
        .map(|i| (session_password(PK + i), PK + i))
        .chain([("authorization=Bearer IGT:2:tokenabc".to_owned(), PK + 5000)])
        .collect();
    let refs: Vec<(&str, i64)> = accounts.iter().map(|(p, pk)| (p.as_str(), *pk)).collect();
    FakeBroker::start(BrokerOptions::with_accounts(&refs)).await
}

pub fn config(broker: &FakeBroker, tls: bool) -> RealtimeConfig {
    let addr = if tls {
        broker.tls_addr
    } else {
        broker.plain_addr
    };
    RealtimeConfig {
        host: "127.0.0.1".into(),
        port: addr.port(),
        tls,
        extra_ca: tls.then(|| broker.ca_path().to_owned()),
        keepalive: Duration::from_secs(60),
        ping_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        iris_timeout: Duration::from_secs(5),
        send_timeout: Duration::from_secs(5),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        ..RealtimeConfig::default()
    }
}

/// Starts a client for account `pk` (sessionid password) against the plaintext listener.
pub async fn start(broker: &FakeBroker, pk: i64) -> (RealtimeClient, Receiver<RealtimeEvent>) {
    let p = params(pk, Password::SessionId(format!("{pk}%3Asecret")));
    RealtimeClient::start(config(broker, false), p, CURSOR).expect("start")
}

/// Starts a client whose connections are in-memory pipes to `broker` (paused-time tests).
pub fn start_in_memory(broker: &FakeBroker, pk: i64) -> (RealtimeClient, Receiver<RealtimeEvent>) {
    use matrix_instagram::instagram::realtime::eventloop::{Connector, Io};
    let dial = broker.memory_dialer();
    let connector: Connector = std::sync::Arc::new(move || {
        let stream = dial();
        Box::pin(async move { Ok(Box::new(stream) as Box<dyn Io>) })
    });
    let p = params(pk, Password::SessionId(format!("{pk}%3Asecret")));
    RealtimeClient::start_with_connector(config(broker, false), p, CURSOR, connector)
        .expect("start")
}

/// The next event matching `pred` (others are skipped), within 10 s.
pub async fn next_matching(
    rx: &mut Receiver<RealtimeEvent>,
    pred: impl Fn(&RealtimeEvent) -> bool,
) -> RealtimeEvent {
    next_matching_within(rx, Duration::from_secs(10), pred).await
}

/// As [`next_matching`] with an explicit limit (paused-time tests wait minutes).
pub async fn next_matching_within(
    rx: &mut Receiver<RealtimeEvent>,
    within: Duration,
    pred: impl Fn(&RealtimeEvent) -> bool,
) -> RealtimeEvent {
    let fut = async {
        loop {
            match rx.recv().await {
                Some(ev) if pred(&ev) => return ev,
                Some(other) => eprintln!("skipped {other:?}"),
                None => panic!("event channel closed"),
            }
        }
    };
    tokio::time::timeout(within, fut)
        .await
        .expect("no matching event in time")
}

/// Waits until the iris subscription succeeded.
pub async fn subscribed(rx: &mut Receiver<RealtimeEvent>) -> RealtimeEvent {
    next_matching(rx, |e| matches!(e, RealtimeEvent::IrisSubscribed { .. })).await
}

pub fn is_state(e: &RealtimeEvent, f: impl Fn(&ConnectionState) -> bool) -> bool {
    matches!(e, RealtimeEvent::State(s) if f(s))
}
