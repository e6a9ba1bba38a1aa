//! Decoding of the Thrift-wrapped realtime topics (PROTOCOL.md E.9, E.7):
//! `/ig_realtime_sub` (149), `/pubsub` (88) and `/t_region_hint` (150).

use serde_json::Value;

use super::events::{Presence, RealtimeEvent, SyncEvent};
use super::iris::{as_i64, decode_envelope};
use super::thrift;
use crate::instagram::types::parse_lossless_slice;

/// The app-presence GraphQL subscription id.
pub const PRESENCE_QUERY_ID: &str = "17846944882223835";

/// A `{1: topic, 2: payload}` wrapper (topic as binary or integer). Plain JSON payloads (N's
/// fallback) come back with no topic.
pub fn unwrap_topic_payload(body: &[u8]) -> Option<(Option<String>, Vec<u8>)> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first == b'{' || *first == b'[' {
        return Some((None, body.to_vec()));
    }
    let s = thrift::decode_struct(body).ok()?;
    let topic = s.field(1).and_then(|t| match t {
        thrift::Value::Binary(b) => Some(String::from_utf8_lossy(b).into_owned()),
        other => other.as_i64().map(|i| i.to_string()),
    });
    let payload = s.field(2)?.as_binary()?.to_vec();
    Some((topic, payload))
}

/// Decodes a presence payload (`{"presence_event":{...}}`); `{}` gives `None`.
pub fn decode_presence(v: &Value) -> Option<Presence> {
    let p = v.get("presence_event")?;
    Some(Presence {
        user_id: p.get("user_id").and_then(as_i64)?,
        is_active: p.get("is_active").and_then(Value::as_bool).unwrap_or(false),
        last_activity_at_ms: p.get("last_activity_at_ms").and_then(as_i64),
        in_threads: p
            .get("in_threads")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(super::iris::as_id).collect())
            .unwrap_or_default(),
    })
}

/// Typing events (and only those, like M) from a patch envelope.
fn typing_events(v: &Value) -> Vec<RealtimeEvent> {
    let mut events = Vec::new();
    decode_envelope(v, &mut events);
    events
        .into_iter()
        .filter_map(|e| match e {
            SyncEvent::Typing(t) => Some(RealtimeEvent::Typing(Box::new(t))),
            _ => None,
        })
        .collect()
}

/// Decodes an inflated `/ig_realtime_sub` body.
pub fn decode_realtime_sub(body: &[u8]) -> Vec<RealtimeEvent> {
    let Some((topic, payload)) = unwrap_topic_payload(body) else {
        tracing::debug!("undecodable /ig_realtime_sub payload");
        return Vec::new();
    };
    let Ok(v) = parse_lossless_slice::<Value>(&payload) else {
        tracing::debug!(?topic, "non-JSON /ig_realtime_sub payload");
        return Vec::new();
    };
    match topic.as_deref() {
        Some("direct") => typing_events(&v),
        Some(PRESENCE_QUERY_ID) => decode_presence(&v)
            .map(RealtimeEvent::Presence)
            .into_iter()
            .collect(),
        Some(other) => {
            tracing::debug!(topic = other, "skipping /ig_realtime_sub topic");
            Vec::new()
        }
        None => {
            if let Some(p) = decode_presence(&v) {
                vec![RealtimeEvent::Presence(p)]
            } else {
                typing_events(&v)
            }
        }
    }
}

/// Decodes an inflated `/pubsub` (skywalker) body: typing only.
pub fn decode_pubsub(body: &[u8]) -> Vec<RealtimeEvent> {
    let Some((_, payload)) = unwrap_topic_payload(body) else {
        tracing::debug!("undecodable /pubsub payload");
        return Vec::new();
    };
    match parse_lossless_slice::<Value>(&payload) {
        Ok(v) => typing_events(&v),
        Err(_) => Vec::new(),
    }
}

/// Decodes `/t_region_hint`: Thrift `{1: hint}` or a bare string.
pub fn decode_region_hint(body: &[u8]) -> Option<String> {
    if let Ok(s) = thrift::decode_struct(body)
        && let Some(b) = s.field(1).and_then(thrift::Value::as_binary)
    {
        return Some(String::from_utf8_lossy(b).into_owned());
    }
    let text = std::str::from_utf8(body).ok()?.trim();
    (!text.is_empty() && text.len() < 64).then(|| text.to_owned())
}

/// Builds a `{1: topic, 2: payload}` wrapper (used by tests and the fake broker).
pub fn wrap_topic_payload(topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut w = thrift::Writer::new();
    w.binary(1, topic.as_bytes());
    w.binary(2, payload);
    w.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realtime_sub_typing_and_presence() {
        let typing = r#"{"event":"patch","data":[{"op":"add","path":"/direct_v2/threads/340282366841710300949128/activity_indicator_id/abc","value":"{\"timestamp\":\"1700000000000000\",\"sender_id\":\"42\",\"ttl\":12000,\"activity_status\":1}"}]}"#;
        let ev = decode_realtime_sub(&wrap_topic_payload("direct", typing.as_bytes()));
        match ev.as_slice() {
            [RealtimeEvent::Typing(t)] => {
                assert_eq!(t.sender_id, Some(crate::instagram::ids::UserPk(42)));
                assert!(t.active);
                assert_eq!(t.ttl_ms, Some(12000));
                assert_eq!(t.timestamp_us, Some(1_700_000_000_000_000));
            }
            other => panic!("{other:?}"),
        }
        let presence = r#"{"presence_event":{"user_id":"7","is_active":true,"last_activity_at_ms":"5","in_threads":null}}"#;
        let ev = decode_realtime_sub(&wrap_topic_payload(PRESENCE_QUERY_ID, presence.as_bytes()));
        assert_eq!(
            ev,
            vec![RealtimeEvent::Presence(Presence {
                user_id: 7,
                is_active: true,
                last_activity_at_ms: Some(5),
                in_threads: vec![]
            })]
        );
        assert_eq!(decode_realtime_sub(presence.as_bytes()).len(), 1);
        // Integer topic (M accepts it) and unknown topics.
        let mut w = thrift::Writer::new();
        w.i32(1, 5);
        w.binary(2, b"{}");
        assert!(decode_realtime_sub(&w.into_bytes()).is_empty());
        assert!(decode_realtime_sub(b"\xff\xff").is_empty());
    }

    #[test]
    fn region_hint_and_pubsub() {
        assert_eq!(
            decode_region_hint(&wrap_topic_payload("ASH", b"")),
            Some("ASH".into())
        );
        assert_eq!(decode_region_hint(b"LLA"), Some("LLA".into()));
        let mut w = thrift::Writer::new();
        w.i32(1, 88);
        w.binary(
            2,
            br#"{"event":"patch","data":[{"op":"add","path":"/direct_v2/threads/1/activity_indicator_id/x","value":"{\"activity_status\":0}","doublePublish":true}]}"#,
        );
        match decode_pubsub(&w.into_bytes()).as_slice() {
            [RealtimeEvent::Typing(t)] => assert!(!t.active),
            other => panic!("{other:?}"),
        }
    }
}
