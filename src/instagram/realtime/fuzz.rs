//! A stable-toolchain stand-in for `cargo fuzz`: a seeded mutation loop that feeds the packet,
//! Thrift, iris/message-sync, ack and wrapper decoders (and the state machine on top of them)
//! with mutated seeds and asserts that nothing panics. Run it long with
//! `cargo run --release --example fuzz_decoders -- <iterations> <seed>`; a unit test runs a
//! short version.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio_util::codec::Decoder;

use super::codec::{MqttCodec, Packet, Publish};
use super::connect::{ConnectParams, Password, inflate, zlib};
use super::iris::{Cursor, decode_message_sync, parse_response};
use super::state::{MqttState, Output, StateConfig};
use super::{commands, pubsub, thrift, topics};

/// A small deterministic PRNG (xorshift64*), so a failing seed reproduces.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// One mutation of `input` (bit flip, byte set, insert, delete, truncate, duplicate a range,
/// splice from another seed, or interesting values).
pub fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = v.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = rng.next_u64() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                v.insert(i, rng.next_u64() as u8);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                v.drain(i..i + n);
            }
            4 => v.truncate(rng.below(len + 1)),
            5 if len > 1 => {
                let a = rng.below(len);
                let b = a + rng.below(len - a).min(64);
                let chunk = v[a..b].to_vec();
                let at = rng.below(v.len() + 1);
                v.splice(at..at, chunk);
            }
            6 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                let at = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            7 if len > 0 => {
                let i = rng.below(len);
                let vals = [0x00, 0x7f, 0x80, 0xff, b'{', b'[', b'"', 0x0f, 0xf0, b'0'];
                v[i] = vals[rng.below(vals.len())];
            }
            _ => {
                let n = rng.below(32);
                for _ in 0..n {
                    v.push(rng.next_u64() as u8);
                }
            }
        }
    }
    v
}

fn state_machine() -> MqttState {
    let params = ConnectParams::new(1, "ua", "phone", Password::SessionId("s".into()), "1");
    let cfg = StateConfig {
        keepalive: Duration::from_secs(60),
        ping_timeout: Duration::from_secs(10),
        iris_timeout: Duration::from_secs(20),
        timezone_offset: 0,
    };
    MqttState::new(cfg, &params, Cursor::default(), tokio::time::Instant::now())
}

/// Runs every decoder on `data`. Panics propagate (the caller catches them).
pub fn exercise(data: &[u8]) {
    // Raw MQTT framing, in one buffer and split in two.
    let mut codec = MqttCodec::new(64 * 1024);
    let mut buf = BytesMut::from(data);
    let mut packets = Vec::new();
    while let Ok(Some(p)) = codec.decode(&mut buf) {
        packets.push(p);
        if packets.len() > 64 {
            break;
        }
    }
    let split = data.len() / 2;
    let mut buf = BytesMut::from(&data[..split]);
    let _ = codec.decode(&mut buf);
    buf.extend_from_slice(&data[split..]);
    let _ = codec.decode(&mut buf);

    let _ = thrift::decode_struct(data);
    let _ = decode_message_sync(data);
    let _ = parse_response(data);
    let _ = commands::parse_ack(data);
    let _ = pubsub::decode_realtime_sub(data);
    let _ = pubsub::decode_pubsub(data);
    let _ = pubsub::decode_region_hint(data);
    let _ = inflate(data, 1 << 20);

    // The state machine, fed decoded packets and the input published on every topic.
    let mut state = state_machine();
    let mut out = Output::default();
    let now = tokio::time::Instant::now();
    let _ = state.handle(
        Packet::ConnAck {
            session_present: false,
            code: 0,
            payload: Bytes::new(),
        },
        now,
        &mut out,
    );
    for p in packets {
        let _ = state.handle(p, now, &mut out);
    }
    let z = Bytes::from(zlib(data));
    for topic in [
        topics::MESSAGE_SYNC,
        topics::SUB_IRIS_RESPONSE,
        topics::SEND_MESSAGE_RESPONSE,
        topics::REALTIME_SUB,
        topics::PUBSUB,
        topics::REGION_HINT,
    ] {
        for payload in [z.clone(), Bytes::copy_from_slice(data)] {
            let p = Packet::Publish(Publish::qos1(topics::wire(topic), 1, payload));
            let _ = state.handle(p, now, &mut out);
        }
    }
    let _ = state.poll_timers(now + Duration::from_secs(3600), &mut out);
}

/// A failing input.
#[derive(Debug)]
pub struct Failure {
    pub iteration: u64,
    pub input: Vec<u8>,
    pub message: String,
}

/// Runs `iterations` mutated inputs derived from `seeds`. Seeds themselves run first.
pub fn run(seeds: &[Vec<u8>], iterations: u64, seed: u64) -> Result<(), Failure> {
    let mut rng = Rng::new(seed);
    let check = |iteration: u64, input: Vec<u8>| -> Result<(), Failure> {
        match catch_unwind(AssertUnwindSafe(|| exercise(&input))) {
            Ok(()) => Ok(()),
            Err(e) => {
                let message = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                Err(Failure {
                    iteration,
                    input,
                    message,
                })
            }
        }
    };
    for s in seeds {
        check(0, s.clone())?;
    }
    for i in 0..iterations {
        let base: &[u8] = if seeds.is_empty() {
            &[]
        } else {
            &seeds[rng.below(seeds.len())]
        };
        let input = mutate(&mut rng, base, seeds);
        check(i + 1, input)?;
    }
    Ok(())
}

/// Built-in seeds: encoded packets of every kind, Thrift structs, JSON shapes.
pub fn builtin_seeds() -> Vec<Vec<u8>> {
    use tokio_util::codec::Encoder;
    let params = ConnectParams::new(1, "ua", "phone", Password::SessionId("s".into()), "1");
    let mut seeds = vec![
        params.to_thrift(),
        commands::foreground_state(true, false, Some(60), &["146"], Some(1)),
        pubsub::wrap_topic_payload("direct", br#"{"event":"patch","data":[]}"#),
        br#"{"succeeded":true,"seq_id":1,"latest_seq_id":2}"#.to_vec(),
        br#"{"action":"item_ack","status":"ok","payload":{"client_context":"c"}}"#.to_vec(),
    ];
    let mut codec = MqttCodec::default();
    for p in [
        Packet::Connect(super::codec::Connect::mqttot(
            20,
            Bytes::from(params.to_payload()),
        )),
        Packet::ConnAck {
            session_present: false,
            code: 0,
            payload: Bytes::new(),
        },
        Packet::Publish(Publish::qos1("146", 3, zlib(b"[]"))),
        Packet::Publish(Publish::qos0("135", Bytes::from_static(b"{}"))),
        Packet::PubAck(1),
        Packet::PingReq,
        Packet::PingResp,
        Packet::Disconnect,
    ] {
        let mut buf = BytesMut::new();
        if codec.encode(p, &mut buf).is_ok() {
            seeds.push(buf.to_vec());
        }
    }
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Short run over the fixtures and built-in seeds (the example runs it long).
    #[test]
    fn decoders_never_panic_short_run() {
        let mut seeds = builtin_seeds();
        for file in [
            "mgp25_direct_handler_payloads.json",
            "mgp25_iris_subscribe_responses.json",
            "mgp25_presence_payloads.json",
            "web_capture_iris_and_send.json",
        ] {
            let v = crate::instagram::test_fixtures::json(file);
            for key in [
                "payloads",
                "message_sync",
                "send_message_commands",
                "app_presence",
            ] {
                for s in v[key].as_array().into_iter().flatten() {
                    seeds.push(s.as_str().unwrap().as_bytes().to_vec());
                }
            }
        }
        if let Err(f) = run(&seeds, 1000, 0x5eed) {
            panic!(
                "iteration {}: {} on {:02x?}",
                f.iteration, f.message, f.input
            );
        }
    }
}
