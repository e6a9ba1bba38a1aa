//! `/ig_send_message` commands and their acks (PROTOCOL.md E.10), foreground state (E.11).
//! Field sets follow M (the bridge posture).

use serde_json::{Map, Value, json};

use super::iris::{as_i64, as_id};
use super::thrift::Writer;

/// A new client-generated message id in the OTID form: `(unix_ms << 22) + random(10000..5000000)`.
pub fn new_client_context() -> String {
    use rand::Rng;
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let r: u64 = rand::thread_rng().gen_range(10_000..5_000_000);
    ((ms << 22) + r).to_string()
}

/// What a reply points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    pub item_id: String,
    pub client_context: Option<String>,
}

/// One command for `/ig_send_message`. Every variant carries the `client_context` its ack is
/// matched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Text {
        thread_id: String,
        client_context: String,
        text: String,
        reply_to: Option<ReplyTo>,
        mentioned_user_ids: Vec<i64>,
    },
    Link {
        thread_id: String,
        client_context: String,
        text: String,
        urls: Vec<String>,
    },
    Reaction {
        thread_id: String,
        client_context: String,
        item_id: String,
        /// `None` removes our reaction.
        emoji: Option<String>,
        target_item_type: String,
    },
    MarkSeen {
        thread_id: String,
        client_context: String,
        item_id: String,
    },
    IndicateActivity {
        thread_id: String,
        client_context: String,
        typing: bool,
    },
}

impl Command {
    pub fn client_context(&self) -> &str {
        match self {
            Command::Text { client_context, .. }
            | Command::Link { client_context, .. }
            | Command::Reaction { client_context, .. }
            | Command::MarkSeen { client_context, .. }
            | Command::IndicateActivity { client_context, .. } => client_context,
        }
    }

    /// The JSON body (before zlib).
    pub fn to_json(&self) -> Vec<u8> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        match self {
            Command::Text {
                thread_id,
                client_context,
                text,
                reply_to,
                mentioned_user_ids,
            } => {
                send_item_common(&mut put, thread_id, client_context, "text");
                put("text", json!(text));
                if let Some(r) = reply_to {
                    put("replied_to_item_id", json!(r.item_id));
                    if let Some(c) = &r.client_context {
                        put("replied_to_client_context", json!(c));
                    }
                }
                if !mentioned_user_ids.is_empty() {
                    let ids: Vec<String> = mentioned_user_ids.iter().map(i64::to_string).collect();
                    put(
                        "mentioned_user_ids",
                        json!(serde_json::to_string(&ids).unwrap_or_default()),
                    );
                    put("sampled", json!(true));
                }
            }
            Command::Link {
                thread_id,
                client_context,
                text,
                urls,
            } => {
                send_item_common(&mut put, thread_id, client_context, "link");
                put("link_text", json!(text));
                put(
                    "link_urls",
                    json!(serde_json::to_string(urls).unwrap_or_default()),
                );
            }
            Command::Reaction {
                thread_id,
                client_context,
                item_id,
                emoji,
                target_item_type,
            } => {
                send_item_common(&mut put, thread_id, client_context, "reaction");
                put("item_id", json!(item_id));
                put("node_type", json!("item"));
                put("reaction_type", json!("like"));
                put(
                    "reaction_status",
                    json!(if emoji.is_some() {
                        "created"
                    } else {
                        "deleted"
                    }),
                );
                put("target_item_type", json!(target_item_type));
                put("emoji", json!(emoji.as_deref().unwrap_or("")));
                put("reaction_action_source", json!("double_tap"));
            }
            Command::MarkSeen {
                thread_id,
                client_context,
                item_id,
            } => {
                put("action", json!("mark_seen"));
                put("thread_id", json!(thread_id));
                put("item_id", json!(item_id));
                put("client_context", json!(client_context));
                put("offline_threading_id", json!(client_context));
            }
            Command::IndicateActivity {
                thread_id,
                client_context,
                typing,
            } => {
                put("action", json!("indicate_activity"));
                put("thread_id", json!(thread_id));
                put("client_context", json!(client_context));
                put("offline_threading_id", json!(client_context));
                put("activity_status", json!(u8::from(*typing)));
            }
        }
        serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
    }
}

/// The fields of every `send_item` (text, link, reaction): docs/PROTOCOL.md G.
fn send_item_common(put: &mut impl FnMut(&str, Value), thread: &str, ctx: &str, item_type: &str) {
    put("action", json!("send_item"));
    put("thread_id", json!(thread));
    put("client_context", json!(ctx));
    put("offline_threading_id", json!(ctx));
    put("item_type", json!(item_type));
    put("is_shh_mode", json!("0"));
}

/// Outcome of an ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckStatus {
    Ok,
    Failed { message: String },
}

/// A decoded `/ig_send_message_response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendAck {
    pub action: Option<String>,
    pub status: AckStatus,
    pub status_code: Option<String>,
    pub client_context: Option<String>,
    pub item_id: Option<String>,
    pub thread_id: Option<String>,
    pub timestamp_us: Option<i64>,
    pub ttl_ms: Option<i64>,
}

/// Parses an ack body.
pub fn parse_ack(body: &[u8]) -> Option<SendAck> {
    let v: Value = crate::instagram::types::parse_lossless_slice(body).ok()?;
    let obj = v.as_object()?;
    let payload = obj.get("payload").filter(|p| p.is_object());
    let from_payload = |k: &str| payload.and_then(|p| p.get(k));
    let ok = obj.get("status").and_then(Value::as_str) == Some("ok");
    let status = if ok {
        AckStatus::Ok
    } else {
        let message = from_payload("message")
            .or_else(|| obj.get("message"))
            .or_else(|| obj.get("exception"))
            .or_else(|| obj.get("content"))
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
            .unwrap_or_else(|| "send failed".to_owned());
        AckStatus::Failed { message }
    };
    Some(SendAck {
        action: obj.get("action").and_then(Value::as_str).map(str::to_owned),
        status,
        status_code: obj.get("status_code").and_then(as_id),
        client_context: from_payload("client_context")
            .or_else(|| obj.get("client_context"))
            .and_then(as_id),
        item_id: from_payload("item_id").and_then(as_id),
        thread_id: from_payload("thread_id").and_then(as_id),
        timestamp_us: from_payload("timestamp")
            .or_else(|| from_payload("indicate_activity_ts"))
            .and_then(as_i64),
        ttl_ms: from_payload("ttl").and_then(as_i64),
    })
}

/// The `/t_fs` body before zlib: `0x00` + Thrift (E.11).
pub fn foreground_state(
    in_foreground_app: bool,
    in_foreground_device: bool,
    keep_alive_timeout_secs: Option<i32>,
    subscribe_topics: &[&str],
    request_id: Option<i64>,
) -> Vec<u8> {
    let mut w = Writer::with_prefix(&[0]);
    w.bool(1, in_foreground_app);
    w.bool(2, in_foreground_device);
    if let Some(k) = keep_alive_timeout_secs {
        w.i32(3, k);
    }
    if !subscribe_topics.is_empty() {
        w.list_binary(4, subscribe_topics);
    }
    if let Some(r) = request_id {
        w.i64(8, r);
    }
    w.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreground_state_matches_the_vector() {
        let hex = crate::instagram::test_fixtures::text("derived/foreground_state.hex");
        let got: String = foreground_state(true, true, Some(60), &["146"], Some(99))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, hex.trim());
    }

    fn obj(c: &Command) -> Value {
        serde_json::from_slice(&c.to_json()).unwrap()
    }

    #[test]
    fn commands_carry_m_fields() {
        let v = obj(&Command::Text {
            thread_id: "123".into(),
            client_context: "c1".into(),
            text: "test".into(),
            reply_to: Some(ReplyTo {
                item_id: "9".into(),
                client_context: Some("c0".into()),
            }),
            mentioned_user_ids: vec![5, 6],
        });
        assert_eq!(v["action"], "send_item");
        assert_eq!(v["item_type"], "text");
        assert_eq!(v["text"], "test");
        assert_eq!(v["offline_threading_id"], "c1");
        assert_eq!(v["replied_to_item_id"], "9");
        assert_eq!(v["replied_to_client_context"], "c0");
        assert_eq!(v["mentioned_user_ids"], r#"["5","6"]"#);
        let v = obj(&Command::Reaction {
            thread_id: "123".into(),
            client_context: "c".into(),
            item_id: "456".into(),
            emoji: None,
            target_item_type: "text".into(),
        });
        assert_eq!(v["reaction_status"], "deleted");
        assert_eq!(v["emoji"], "");
        assert_eq!(v["node_type"], "item");
        assert_eq!(v["is_shh_mode"], "0");
        assert_eq!(v["offline_threading_id"], "c");
        let v = obj(&Command::Link {
            thread_id: "1".into(),
            client_context: "c".into(),
            text: "see https://x".into(),
            urls: vec!["https://x".into()],
        });
        assert_eq!(v["link_urls"], r#"["https://x"]"#);
        let v = obj(&Command::MarkSeen {
            thread_id: "123".into(),
            client_context: "c".into(),
            item_id: "456".into(),
        });
        assert_eq!(v["action"], "mark_seen");
        let v = obj(&Command::IndicateActivity {
            thread_id: "123".into(),
            client_context: "c".into(),
            typing: true,
        });
        assert_eq!(v["activity_status"], 1);
        assert_eq!(v["offline_threading_id"], "c");
    }

    #[test]
    fn acks_ok_and_errors() {
        let a = parse_ack(
            br#"{"action":"item_ack","status_code":"400","payload":{"client_context":"c","message":"invalid unicode emoji"},"status":"fail"}"#,
        )
        .unwrap();
        assert_eq!(
            a.status,
            AckStatus::Failed {
                message: "invalid unicode emoji".into()
            }
        );
        assert_eq!(a.client_context.as_deref(), Some("c"));
        let a = parse_ack(br#"{"status":"fail","exception":"Boom"}"#).unwrap();
        assert_eq!(a.client_context, None);
        assert!(parse_ack(b"[]").is_none());
        let c1 = new_client_context();
        assert!(c1.parse::<u64>().unwrap() > 1 << 62);
    }
}
