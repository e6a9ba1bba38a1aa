//! A stable-toolchain stand-in for `cargo fuzz`: a seeded mutation loop that feeds the packet,
//! Thrift, iris/message-sync, ack and wrapper decoders (and the state machine on top of them)
//! with mutated seeds and asserts that nothing panics. Run it long with `scripts/fuzz realtime`
//! (the `fuzz_decoders` example); a unit test runs a short version.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio_util::codec::Decoder;

use super::codec::{MqttCodec, Packet, Publish};
use super::connect::{ConnectParams, Password, inflate, zlib};
use super::iris::{Cursor, decode_message_sync, parse_response};
use super::state::{MqttState, Output, StateConfig};
use super::{commands, pubsub, thrift, topics};
use crate::fuzz::{Failure, Target, mutate};

fn state_machine() -> MqttState {
    let params = ConnectParams::new(1, "ua", "phone", Password::SessionId("s".into()), "1");
    let cfg = StateConfig {
        keepalive: Duration::from_secs(60),
        liveness: Duration::from_secs(15),
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

/// Runs `iterations` mutated inputs derived from `seeds`. Seeds themselves run first.
pub fn run(seeds: &[Vec<u8>], iterations: u64, seed: u64) -> Result<(), Failure> {
    let target = Target {
        mutate: &mutate,
        exercise: &exercise,
    };
    crate::fuzz::run(&target, seeds, iterations, seed)
}

/// Seeds from the recorded payloads in `dir` (`tests/fixtures/instagram`): every JSON string
/// and object, and the derived hex packets.
pub fn fixture_seeds(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut seeds = crate::fuzz::json_seeds_in(dir);
    for hex in [
        "connect_thrift_id10.hex",
        "connect_packet_keepalive20.hex",
        "foreground_state.hex",
    ] {
        if let Ok(text) = std::fs::read_to_string(dir.join("derived").join(hex)) {
            let t = text.trim();
            let bytes: Vec<u8> = (0..t.len() / 2)
                .filter_map(|i| t.get(2 * i..2 * i + 2))
                .filter_map(|h| u8::from_str_radix(h, 16).ok())
                .collect();
            seeds.push(bytes);
        }
    }
    seeds
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
