//! The fake MQTToT broker: TLS and plaintext listeners on loopback speaking the wire format of
//! PROTOCOL.md E. It validates CONNECT strictly with its own decoder ([`connect_check`]), answers
//! iris subscribes, acks and echoes sends like Instagram, records what every client sent, and can
//! push events, drop, stall or refuse connections on demand.
#![allow(dead_code)]

pub mod command_check;
pub mod connect_check;
pub(crate) mod session;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use matrix_instagram::instagram::realtime::codec::{Packet, Publish};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use connect_check::ConnectInfo;

/// Maps a CONNECT password (`sessionid=…` / `authorization=Bearer …`) to the account's pk.
pub type PasswordCheck = Arc<dyn Fn(&str) -> Option<i64> + Send + Sync>;

/// Applies an `/ig_send_message` command of account `pk` somewhere else (the shared fake
/// Instagram state): `Ok(Some((item_id, timestamp_us)))` for a created item, `Ok(None)` for a
/// command that creates none, `Err(message)` for a refusal.
pub type SendHandler =
    Arc<dyn Fn(i64, &serde_json::Value) -> Result<Option<(String, i64)>, String> + Send + Sync>;

/// How the broker answers `/ig_send_message`.
#[derive(Clone)]
pub enum AckMode {
    /// `item_ack` ok + echo of the created item on 146.
    Echo,
    /// A negative `item_ack` with this `payload.message`.
    Fail(String),
    /// No answer at all.
    Silent,
    /// The handler applies the command; the ack reports its outcome. The echo is the
    /// handler's business (the shared state publishes what it creates).
    Delegate(SendHandler),
}

impl std::fmt::Debug for AckMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AckMode::Echo => f.write_str("Echo"),
            AckMode::Fail(m) => write!(f, "Fail({m:?})"),
            AckMode::Silent => f.write_str("Silent"),
            AckMode::Delegate(_) => f.write_str("Delegate(..)"),
        }
    }
}

/// Start options.
#[derive(Clone)]
pub struct BrokerOptions {
    pub password_check: PasswordCheck,
}

impl BrokerOptions {
    /// Accepts exactly these wire passwords.
    pub fn with_accounts(accounts: &[(&str, i64)]) -> Self {
        let map: HashMap<String, i64> = accounts
            .iter()
            .map(|(p, pk)| ((*p).to_owned(), *pk))
            .collect();
        BrokerOptions {
            password_check: Arc::new(move |p| map.get(p).copied()),
        }
    }

    /// Accepts `sessionid=<pk>` for any pk (benchmarks).
    pub fn any_sessionid_pk() -> Self {
        BrokerOptions {
            password_check: Arc::new(|p| p.strip_prefix("sessionid=")?.parse().ok()),
        }
    }
}

/// One PUBLISH a client sent (payload inflated).
#[derive(Debug, Clone)]
pub struct Received {
    pub pk: i64,
    pub conn: u64,
    pub topic: String,
    pub qos: u8,
    pub payload: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.payload).ok()
    }
}

pub(crate) enum Ctl {
    Send(Packet),
    Drop,
}

pub(crate) struct SessionHandle {
    pk: i64,
    tx: mpsc::UnboundedSender<Ctl>,
}

#[derive(Default)]
pub(crate) struct Inner {
    password_check: Option<PasswordCheck>,
    next_conn: AtomicU64,
    sessions: Mutex<HashMap<u64, SessionHandle>>,
    iris_overflow: AtomicBool,
    refuse_next: AtomicU32,
    stalled: Mutex<HashSet<i64>>,
    unavailable: Mutex<HashSet<i64>>,
    seq: Mutex<HashMap<i64, i64>>,
    ack_mode: Mutex<Option<AckMode>>,
    received: Mutex<Vec<Received>>,
    connects: Mutex<Vec<ConnectInfo>>,
    rejections: Mutex<Vec<String>>,
    pings: AtomicU64,
    next_packet_id: AtomicU64,
}

impl Inner {
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn next_seq(&self, pk: i64) -> i64 {
        let mut seq = Self::lock(&self.seq);
        let s = seq.entry(pk).or_insert(1000);
        *s += 1;
        *s
    }

    pub(crate) fn current_seq(&self, pk: i64) -> i64 {
        Self::lock(&self.seq).get(&pk).copied().unwrap_or(1000)
    }

    pub(crate) fn is_unavailable(&self, pk: i64) -> bool {
        Self::lock(&self.unavailable).contains(&pk)
    }

    pub(crate) fn is_stalled(&self, pk: i64) -> bool {
        Self::lock(&self.stalled).contains(&pk)
    }

    pub(crate) fn ack_mode(&self) -> AckMode {
        Self::lock(&self.ack_mode).clone().unwrap_or(AckMode::Echo)
    }
}

/// A running fake broker. Dropping it stops the listeners.
pub struct FakeBroker {
    inner: Arc<Inner>,
    pub plain_addr: SocketAddr,
    pub tls_addr: SocketAddr,
    ca_file: tempfile::NamedTempFile,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// zlib, as the broker compresses what it publishes.
pub fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("zlib to vec");
    e.finish().expect("zlib to vec")
}

/// Thrift `{1: topic binary, 2: payload binary}` (the broker's own tiny writer).
pub fn thrift_topic_payload(topic: &str, payload: &[u8]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: usize) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = vec![0x18];
    varint(&mut out, topic.len());
    out.extend_from_slice(topic.as_bytes());
    out.push(0x18);
    varint(&mut out, payload.len());
    out.extend_from_slice(payload);
    out.push(0);
    out
}

impl FakeBroker {
    /// Starts plaintext and TLS listeners on 127.0.0.1:0.
    pub async fn start(opts: BrokerOptions) -> FakeBroker {
        let inner = Arc::new(Inner {
            password_check: Some(opts.password_check),
            ..Inner::default()
        });
        let (acceptor, ca_file) = session::tls_acceptor();
        let plain = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let tls = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let plain_addr = plain.local_addr().expect("addr");
        let tls_addr = tls.local_addr().expect("addr");
        let i1 = inner.clone();
        let t1 = tokio::spawn(async move {
            while let Ok((sock, _)) = plain.accept().await {
                let inner = i1.clone();
                tokio::spawn(async move { session::serve(inner, sock).await });
            }
        });
        let i2 = inner.clone();
        let t2 = tokio::spawn(async move {
            while let Ok((sock, _)) = tls.accept().await {
                let inner = i2.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(sock).await {
                        session::serve(inner, stream).await;
                    }
                });
            }
        });
        FakeBroker {
            inner,
            plain_addr,
            tls_addr,
            ca_file,
            tasks: vec![t1, t2],
        }
    }

    /// A plaintext connection over an in-memory pipe, served like a TCP one. Under paused
    /// time this is deterministic (no I/O driver between the peers).
    pub fn connect_in_memory(&self) -> tokio::io::DuplexStream {
        (self.memory_dialer())()
    }

    /// A cloneable function opening in-memory connections to this broker.
    pub fn memory_dialer(
        &self,
    ) -> impl Fn() -> tokio::io::DuplexStream + Send + Sync + Clone + 'static {
        let inner = self.inner.clone();
        move || {
            let (client, server) = tokio::io::duplex(16 * 1024);
            let inner = inner.clone();
            tokio::spawn(async move { session::serve(inner, server).await });
            client
        }
    }

    /// The PEM file of the CA that signed the TLS listener's certificate (for `127.0.0.1` and
    /// `localhost`).
    pub fn ca_path(&self) -> &std::path::Path {
        self.ca_file.path()
    }

    fn publish_to(&self, pk: i64, packet: Packet) -> usize {
        let sessions = Inner::lock(&self.inner.sessions);
        sessions
            .values()
            .filter(|s| s.pk == pk)
            .filter(|s| s.tx.send(Ctl::Send(packet.clone())).is_ok())
            .count()
    }

    /// Publishes a raw `/ig_message_sync` body (zlib'd, QoS 1) to every connection of `pk`.
    /// Returns the number of connections reached.
    pub fn push_message_sync(&self, pk: i64, json: &str) -> usize {
        self.push(pk, 146, json.as_bytes())
    }

    /// Builds a one-op message-sync batch with the next seq_id of `pk` and pushes it.
    pub fn push_patch(&self, pk: i64, op: &str, path: &str, value: &str) -> i64 {
        let seq = self.inner.next_seq(pk);
        let body = serde_json::json!([{
            "event": "patch",
            "data": [{"op": op, "path": path, "value": value}],
            "message_type": 1, "seq_id": seq, "mutation_token": null, "realtime": true
        }]);
        self.push_message_sync(pk, &body.to_string());
        seq
    }

    /// Publishes a `/ig_realtime_sub` event: Thrift `{topic, payload}` (zlib'd).
    pub fn push_realtime_sub(&self, pk: i64, topic: &str, json: &str) -> usize {
        self.push(pk, 149, &thrift_topic_payload(topic, json.as_bytes()))
    }

    /// Publishes anything (zlib'd) on a numeric topic.
    pub fn push(&self, pk: i64, topic: u16, body: &[u8]) -> usize {
        let id = (self.inner.next_conn.load(Ordering::Relaxed) as u16)
            .wrapping_add(7)
            .max(1);
        self.publish_to(
            pk,
            Packet::Publish(Publish::qos1(topic.to_string(), id, zlib(body))),
        )
    }

    /// Sends any packet as is (for malformed-input tests).
    pub fn push_packet(&self, pk: i64, packet: Packet) -> usize {
        self.publish_to(pk, packet)
    }

    /// Iris subscribes fail with `IrisQueueOverflowException` while set.
    pub fn set_iris_overflow(&self, on: bool) {
        self.inner.iris_overflow.store(on, Ordering::SeqCst);
    }

    /// The latest seq_id of `pk` (what iris subscribe answers as `latest_seq_id`).
    pub fn latest_seq_id(&self, pk: i64) -> i64 {
        self.inner.current_seq(pk)
    }

    /// Sets the latest seq_id of `pk` (returned as `latest_seq_id` by iris subscribe).
    pub fn set_latest_seq_id(&self, pk: i64, seq: i64) {
        Inner::lock(&self.inner.seq).insert(pk, seq);
    }

    pub fn set_ack_mode(&self, mode: AckMode) {
        *Inner::lock(&self.inner.ack_mode) = Some(mode);
    }

    /// Closes every connection of `pk` (the client sees EOF).
    pub fn drop_connections(&self, pk: i64) -> usize {
        let sessions = Inner::lock(&self.inner.sessions);
        sessions
            .values()
            .filter(|s| s.pk == pk)
            .filter(|s| s.tx.send(Ctl::Drop).is_ok())
            .count()
    }

    /// While stalled, connections of `pk` read but never answer (no PINGRESP, no acks): a
    /// half-open socket as seen from the client.
    pub fn stall(&self, pk: i64, on: bool) {
        let mut s = Inner::lock(&self.inner.stalled);
        if on {
            s.insert(pk);
        } else {
            s.remove(&pk);
        }
    }

    /// While set, every connection attempt of `pk` gets CONNACK 3 (server unavailable).
    pub fn unavailable_for(&self, pk: i64, on: bool) {
        let mut s = Inner::lock(&self.inner.unavailable);
        if on {
            s.insert(pk);
        } else {
            s.remove(&pk);
        }
    }

    /// The next `n` connection attempts get CONNACK 3 (server unavailable).
    pub fn refuse_next(&self, n: u32) {
        self.inner.refuse_next.store(n, Ordering::SeqCst);
    }

    /// Live authenticated connections of `pk`.
    pub fn connections(&self, pk: i64) -> usize {
        Inner::lock(&self.inner.sessions)
            .values()
            .filter(|s| s.pk == pk)
            .count()
    }

    pub fn total_connections(&self) -> usize {
        Inner::lock(&self.inner.sessions).len()
    }

    /// Every accepted CONNECT, in order.
    pub fn connects(&self) -> Vec<ConnectInfo> {
        Inner::lock(&self.inner.connects).clone()
    }

    /// Why CONNECTs were rejected, in order.
    pub fn rejections(&self) -> Vec<String> {
        Inner::lock(&self.inner.rejections).clone()
    }

    /// Every PUBLISH `pk` sent, in order.
    pub fn received(&self, pk: i64) -> Vec<Received> {
        Inner::lock(&self.inner.received)
            .iter()
            .filter(|r| r.pk == pk)
            .cloned()
            .collect()
    }

    /// The JSON bodies `pk` published on `topic`.
    pub fn received_json(&self, pk: i64, topic: &str) -> Vec<serde_json::Value> {
        self.received(pk)
            .iter()
            .filter(|r| r.topic == topic)
            .filter_map(Received::json)
            .collect()
    }

    /// PINGREQs answered so far.
    pub fn pings(&self) -> u64 {
        self.inner.pings.load(Ordering::Relaxed)
    }

    /// Polls `cond` every 5 ms until true or `within` passes.
    pub async fn wait_until(&self, within: Duration, cond: impl Fn(&FakeBroker) -> bool) -> bool {
        let end = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < end {
            if cond(self) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cond(self)
    }
}
