//! Iris (PROTOCOL.md E.8): the subscribe request, its response, and `/ig_message_sync` decoding
//! (the path table). The patch decoder is shared with `/pubsub` and `/ig_realtime_sub`.
//!
//! Lenient by design: `value` may be double-encoded JSON, a bare string or already an object;
//! timestamps and ids may be numbers or strings; unknown paths are logged at debug and skipped.
//! JSON is parsed losslessly ([`parse_lossless`]): integers beyond 64 bits (thread and item
//! ids) become their exact decimal text, never floats.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::events::{ItemEvent, Reaction, SyncBatch, SyncEvent, Typing, Undecodable};
use crate::instagram::ids::{ItemId, ThreadId, UserPk};
use crate::instagram::types::{Thread, ThreadItem, parse_lossless, parse_lossless_slice};

/// The caller's position in the iris queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub seq_id: i64,
    pub snapshot_at_ms: i64,
}

/// `/ig_sub_iris` body (key order as M).
#[derive(Debug, Serialize)]
pub struct IrisSubscribe<'a> {
    pub seq_id: i64,
    pub snapshot_at_ms: i64,
    pub snapshot_app_version: &'a str,
    pub timezone_offset: i64,
    pub subscription_type: &'a str,
}

/// The JSON body of an iris subscribe from `cursor`.
pub fn subscribe_json(cursor: Cursor, app_version: &str, timezone_offset: i64) -> Vec<u8> {
    serde_json::to_vec(&IrisSubscribe {
        seq_id: cursor.seq_id,
        snapshot_at_ms: cursor.snapshot_at_ms,
        snapshot_app_version: app_version,
        timezone_offset,
        subscription_type: "message",
    })
    .unwrap_or_default()
}

/// A decoded `/ig_sub_iris_response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IrisResponse {
    Subscribed {
        seq_id: Option<i64>,
        latest_seq_id: Option<i64>,
        subscribed_at_ms: Option<i64>,
    },
    Refused {
        error_type: Option<i64>,
        error_message: String,
    },
}

/// Parses a `/ig_sub_iris_response` body.
pub fn parse_response(body: &[u8]) -> Option<IrisResponse> {
    let v: Value = parse_lossless_slice(body).ok()?;
    let obj = v.as_object()?;
    let error_message = obj.get("error_message").and_then(|m| match m {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    });
    let error_type = obj.get("error_type").and_then(as_i64);
    let succeeded = obj.get("succeeded").and_then(Value::as_bool);
    if succeeded == Some(false) || error_message.is_some() || error_type.is_some() {
        return Some(IrisResponse::Refused {
            error_type,
            error_message: error_message.unwrap_or_else(|| "iris subscribe failed".to_owned()),
        });
    }
    Some(IrisResponse::Subscribed {
        seq_id: obj.get("seq_id").and_then(as_i64),
        latest_seq_id: obj.get("latest_seq_id").and_then(as_i64),
        subscribed_at_ms: obj.get("subscribed_at_ms").and_then(as_i64),
    })
}

/// An integer given as a JSON number or a decimal string.
pub fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().and_then(|u| i64::try_from(u).ok()))
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18)
                    .map(|f| f as i64)
            }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An id given as a string or a number (numbers beyond 64 bits are strings after a lossless
/// parse).
pub fn as_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// The op's value, decoded once more (losslessly) if it is a JSON string holding an object or
/// array.
fn op_value(op: &Value) -> Value {
    match op.get("value") {
        Some(Value::String(s)) => {
            let t = s.trim_start();
            if (t.starts_with('{') || t.starts_with('['))
                && let Ok(inner) = parse_lossless::<Value>(s)
            {
                return inner;
            }
            Value::String(s.clone())
        }
        Some(v) => v.clone(),
        None => Value::Null,
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(as_id)
}

/// An item op's value decoded into the typed model (`replaced`: an edit or a new version),
/// or kept whole as [`SyncEvent::Undecodable`] when it does not fit.
fn item_event(
    path: &str,
    thread_id: &str,
    item_id: &str,
    item: Value,
    mutation_token: Option<&str>,
    replaced: bool,
) -> SyncEvent {
    let mut typed: ThreadItem = match ThreadItem::deserialize(&item) {
        Ok(typed) => typed,
        Err(e) => return undecodable(path, thread_id, item, &e),
    };
    if typed.item_id.as_str().is_empty() {
        typed.item_id = ItemId::new(item_id);
    }
    let event = ItemEvent {
        thread_id: ThreadId::new(thread_id),
        mutation_token: mutation_token.map(str::to_owned),
        item: Box::new(typed),
    };
    if replaced {
        SyncEvent::ItemReplaced(event)
    } else {
        SyncEvent::NewItem(event)
    }
}

/// A thread op's value decoded into the typed model.
fn thread_event(path: &str, thread_id: &str, value: Value, added: bool) -> SyncEvent {
    let thread: Thread = match Thread::deserialize(&value) {
        Ok(thread) => thread,
        Err(e) => return undecodable(path, thread_id, value, &e),
    };
    let (thread_id, thread) = (ThreadId::new(thread_id), Box::new(thread));
    if added {
        SyncEvent::ThreadAdded { thread_id, thread }
    } else {
        SyncEvent::ThreadReplaced { thread_id, thread }
    }
}

fn undecodable(path: &str, thread_id: &str, raw: Value, error: &serde_json::Error) -> SyncEvent {
    tracing::warn!(path, "an Instagram payload does not fit the model: {error}");
    SyncEvent::Undecodable(Undecodable {
        thread_id: ThreadId::new(thread_id),
        path: path.to_owned(),
        raw,
        error: error.to_string(),
    })
}

/// Typing from an `activity_indicator_id` op.
pub fn typing_from(thread_id: &str, indicator: &str, op: &str, value: &Value) -> Typing {
    let activity_status = value.get("activity_status").and_then(as_i64).unwrap_or(0);
    Typing {
        thread_id: ThreadId::new(thread_id),
        activity_indicator_id: indicator.to_owned(),
        sender_id: value.get("sender_id").and_then(as_i64).map(UserPk),
        activity_status,
        active: op != "remove" && activity_status != 0,
        ttl_ms: value.get("ttl").and_then(as_i64),
        timestamp_us: value.get("timestamp").and_then(as_i64),
    }
}

/// Decodes one patch operation (`{"op","path","value"}`) through the E.8 path table.
/// `mutation_token` is the envelope's. Unknown paths give `None`.
pub fn decode_op(op: &Value, mutation_token: Option<&str>) -> Option<SyncEvent> {
    let kind = op.get("op").and_then(Value::as_str).unwrap_or("add");
    let path = op.get("path").and_then(Value::as_str)?;
    let token = op
        .get("mutation_token")
        .and_then(Value::as_str)
        .or(mutation_token);
    let value = op_value(op);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let event = match parts.as_slice() {
        ["direct_v2", "threads" | "visual_threads", t, "items", i] => match kind {
            "remove" => SyncEvent::ItemRemoved {
                thread_id: ThreadId::new(*t),
                item_id: ItemId::new(*i),
            },
            _ if value.is_object() => item_event(path, t, i, value, token, kind == "replace"),
            _ => return unknown(path),
        },
        ["direct_v2", "threads", t, "items", i, "reactions", rk, u] => {
            let user_id = u.parse().ok()?;
            let reaction = Reaction {
                thread_id: ThreadId::new(*t),
                item_id: ItemId::new(*i),
                kind: (*rk).to_owned(),
                user_id,
                emoji: value
                    .get("emoji")
                    .and_then(Value::as_str)
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned),
                timestamp_us: value.get("timestamp").and_then(as_i64),
                super_react_type: value
                    .get("super_react_type")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                client_context: token
                    .map(str::to_owned)
                    .or_else(|| str_field(&value, "client_context")),
            };
            if kind == "remove" {
                SyncEvent::ReactionRemoved(reaction)
            } else {
                SyncEvent::ReactionAdded(reaction)
            }
        }
        ["direct_v2", "threads", t, "participants", u, "has_seen"] => {
            let item_id = str_field(&value, "item_id")
                .or_else(|| op.get("item_id").and_then(as_id))
                .map(ItemId::new);
            SyncEvent::Seen {
                thread_id: ThreadId::new(*t),
                user_id: u.parse().ok()?,
                item_id,
                timestamp_us: value
                    .get("timestamp")
                    .and_then(as_i64)
                    .or_else(|| op.get("timestamp").and_then(as_i64)),
            }
        }
        ["direct_v2", "threads", t, "activity_indicator_id", id] => {
            SyncEvent::Typing(typing_from(t, id, kind, &value))
        }
        ["direct_v2", "threads", t, "admin_user_ids", u] => SyncEvent::AdminChanged {
            thread_id: ThreadId::new(*t),
            user_id: u.parse().ok()?,
            is_admin: kind != "remove",
        },
        [
            "direct_v2",
            "threads",
            t,
            "approval_required_for_new_members",
        ] => SyncEvent::ApprovalRequired {
            thread_id: ThreadId::new(*t),
            value: match value {
                Value::String(s) if s == "true" => Value::Bool(true),
                Value::String(s) if s == "false" => Value::Bool(false),
                other => other,
            },
        },
        ["direct_v2", "threads", t, "thread_image"] => SyncEvent::ThreadImage {
            thread_id: ThreadId::new(*t),
            image: value.get("thread_image").cloned().unwrap_or(value),
        },
        ["direct_v2", "inbox", "threads", t] => match kind {
            "remove" => SyncEvent::ThreadRemoved {
                thread_id: ThreadId::new(*t),
            },
            _ => thread_event(path, t, value, kind == "add"),
        },
        ["direct_v2", "inbox", "unseen_count"] => SyncEvent::UnseenCount {
            count: as_i64(&value)?,
            ts_us: op.get("ts").and_then(as_i64),
        },
        _ => return unknown(path),
    };
    Some(event)
}

fn unknown(path: &str) -> Option<SyncEvent> {
    tracing::debug!(path, "skipping unknown iris path");
    None
}

/// Decodes one iris/pubsub envelope (`{"event":"patch","data":[...],...}`), appending events.
/// Also accepts the flattened form (`"message":{"path","op",...}`) some libraries emit.
/// Returns the envelope's `seq_id`.
pub fn decode_envelope(env: &Value, out: &mut Vec<SyncEvent>) -> Option<i64> {
    let token = env.get("mutation_token").and_then(Value::as_str);
    if let Some(ops) = env.get("data").and_then(Value::as_array) {
        out.extend(ops.iter().filter_map(|op| decode_op(op, token)));
    } else if let Some(msg) = env.get("message").filter(|m| m.get("path").is_some()) {
        // Flattened: the value's fields are merged into the op.
        let mut op = msg.clone();
        if op.get("value").is_none() {
            let value = msg.clone();
            if let Some(o) = op.as_object_mut() {
                o.insert("value".to_owned(), value);
            }
        }
        out.extend(decode_op(&op, token));
    } else if env.get("path").is_some() {
        out.extend(decode_op(env, token));
    }
    env.get("seq_id").and_then(as_i64)
}

/// Decodes a `/ig_message_sync` body: an array of envelopes (or one envelope).
pub fn decode_message_sync(body: &[u8]) -> Result<SyncBatch, serde_json::Error> {
    let v: Value = parse_lossless_slice(body)?;
    Ok(decode_message_sync_value(&v))
}

/// As [`decode_message_sync`], from parsed JSON.
pub fn decode_message_sync_value(v: &Value) -> SyncBatch {
    let mut batch = SyncBatch::default();
    let envelopes: &[Value] = match v {
        Value::Array(a) => a,
        other => std::slice::from_ref(other),
    };
    for env in envelopes {
        if let Some(seq) = decode_envelope(env, &mut batch.events) {
            batch.seq_id = Some(batch.seq_id.map_or(seq, |s| s.max(seq)));
        }
    }
    batch
}

#[cfg(test)]
#[path = "iris_tests.rs"]
mod tests;
