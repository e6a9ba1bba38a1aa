//! The fake Instagram world of the end-to-end tests: the fake HTTP API and the fake MQTToT
//! broker sharing one state. What happens in the fake Instagram (a contact writes, reacts,
//! unsends, reads, types) reaches every participant's realtime connection as Instagram would
//! send it: iris patches on `/ig_message_sync`, typing on `/ig_realtime_sub`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::support::fake_broker::{AckMode, BrokerOptions, FakeBroker};
use crate::support::fake_instagram::FakeInstagram;
use crate::support::fake_instagram::state::FakeEvent;

pub struct World {
    pub ig: FakeInstagram,
    pub broker: Arc<FakeBroker>,
    /// Accounts whose realtime sends are refused, with the refusal message.
    refusals: Arc<Mutex<HashMap<i64, String>>>,
    /// Accounts whose send acks carry no item id (the echo is then the only source of it).
    bare_acks: Arc<Mutex<std::collections::HashSet<i64>>>,
}

impl World {
    /// Starts both fakes and the glue between them on the current runtime.
    pub async fn start() -> World {
        let ig = FakeInstagram::start().await;
        let check = ig.clone();
        let broker = Arc::new(
            FakeBroker::start(BrokerOptions {
                password_check: Arc::new(move |p| check.account_for_mqtt_password(p)),
            })
            .await,
        );
        let refusals: Arc<Mutex<HashMap<i64, String>>> = Arc::default();
        let bare_acks: Arc<Mutex<std::collections::HashSet<i64>>> = Arc::default();
        let bare = bare_acks.clone();
        // Realtime sends act on the shared fake Instagram, which then publishes the created
        // item to every participant (the sender's echo included), as Instagram does.
        let (state, refused) = (ig.clone(), refusals.clone());
        broker.set_ack_mode(AckMode::Delegate(Arc::new(move |pk, cmd| {
            if let Some(message) = refused.lock().unwrap_or_else(|p| p.into_inner()).get(&pk) {
                return Err(message.clone());
            }
            let created = apply_command(&state, pk, cmd)?;
            if bare.lock().unwrap_or_else(|p| p.into_inner()).contains(&pk) {
                return Ok(None);
            }
            Ok(created)
        })));
        let world = World {
            ig,
            broker,
            refusals,
            bare_acks,
        };
        world.spawn_glue();
        world
    }

    /// Makes the acks of `pk`'s sends carry no item id (`false`: normal acks again).
    pub fn bare_acks(&self, pk: i64, on: bool) {
        let mut set = self.bare_acks.lock().unwrap_or_else(|p| p.into_inner());
        if on {
            set.insert(pk);
        } else {
            set.remove(&pk);
        }
    }

    /// Makes Instagram refuse every realtime send of `pk` with `message` (`None`: accept again).
    pub fn refuse_sends(&self, pk: i64, message: Option<&str>) {
        let mut map = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        match message {
            Some(m) => map.insert(pk, m.to_string()),
            None => map.remove(&pk),
        };
    }

    fn participants(&self, thread_id: &str) -> Vec<i64> {
        self.ig
            .thread(thread_id)
            .map(|t| t.users)
            .unwrap_or_default()
    }

    fn spawn_glue(&self) {
        let mut events = self.ig.subscribe_events();
        let ig = self.ig.clone();
        let broker = self.broker.clone();
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                let thread = match &event {
                    FakeEvent::ItemAdded { thread_id, .. }
                    | FakeEvent::ItemChanged { thread_id, .. }
                    | FakeEvent::ItemRemoved { thread_id, .. }
                    | FakeEvent::Seen { thread_id, .. }
                    | FakeEvent::Typing { thread_id, .. }
                    | FakeEvent::ThreadChanged { thread_id }
                    | FakeEvent::ThreadHidden { thread_id, .. } => thread_id.clone(),
                };
                let users = ig.thread(&thread).map(|t| t.users).unwrap_or_default();
                for pk in users {
                    match &event {
                        FakeEvent::ItemAdded { item, .. } | FakeEvent::ItemChanged { item, .. } => {
                            let op = if matches!(event, FakeEvent::ItemAdded { .. }) {
                                "add"
                            } else {
                                "replace"
                            };
                            let path = format!(
                                "/direct_v2/threads/{thread}/items/{}",
                                item["item_id"].as_str().unwrap_or_default()
                            );
                            broker.push_patch(pk, op, &path, &item.to_string());
                        }
                        FakeEvent::ItemRemoved { item_id, .. } => {
                            let path = format!("/direct_v2/threads/{thread}/items/{item_id}");
                            broker.push_patch(pk, "remove", &path, item_id);
                        }
                        FakeEvent::Seen {
                            user_pk,
                            item_id,
                            timestamp,
                            ..
                        } => {
                            let path = format!(
                                "/direct_v2/threads/{thread}/participants/{user_pk}/has_seen"
                            );
                            let value =
                                json!({"timestamp": timestamp.to_string(), "item_id": item_id});
                            broker.push_patch(pk, "replace", &path, &value.to_string());
                        }
                        FakeEvent::Typing {
                            user_pk, typing, ..
                        } => {
                            let value = json!({
                                "timestamp": (chrono_us()).to_string(),
                                "sender_id": user_pk.to_string(),
                                "ttl": 12000,
                                "activity_status": i32::from(*typing),
                            });
                            let body = json!({"event": "patch", "data": [{
                                "op": "add",
                                "path": format!("/direct_v2/threads/{thread}/activity_indicator_id/{}", uuid::Uuid::new_v4()),
                                "value": value.to_string(),
                            }]});
                            broker.push_realtime_sub(pk, "direct", &body.to_string());
                        }
                        // Removed from that user's inbox only.
                        FakeEvent::ThreadHidden { user_pk, .. } => {
                            if pk == *user_pk {
                                let path = format!("/direct_v2/inbox/threads/{thread}");
                                broker.push_patch(pk, "remove", &path, &thread);
                            }
                        }
                        // Instagram sends the changed thread (members, title, photo).
                        FakeEvent::ThreadChanged { .. } => {
                            if let Some(view) = ig.thread_view(&thread, pk) {
                                let path = format!("/direct_v2/inbox/threads/{thread}");
                                broker.push_patch(pk, "replace", &path, &view.to_string());
                            }
                        }
                    }
                }
            }
        });
    }

    /// A contact reacts (`Some`) or un-reacts (`None`): the fake's state changes and every
    /// participant gets the reaction patch.
    pub fn react(&self, pk: i64, thread_id: &str, item_id: &str, emoji: Option<&str>) {
        assert!(self.ig.react_as(pk, thread_id, item_id, emoji), "react_as");
        let path = format!("/direct_v2/threads/{thread_id}/items/{item_id}/reactions/emojis/{pk}");
        let (op, value) = match emoji {
            Some(e) => (
                "add",
                json!({"timestamp": chrono_us(), "emoji": e, "super_react_type": "none"})
                    .to_string(),
            ),
            None => ("remove", pk.to_string()),
        };
        for user in self.participants(thread_id) {
            self.broker.push_patch(user, op, &path, &value);
        }
    }

    /// The `/ig_send_message` commands a user's connection sent.
    pub fn sent_commands(&self, pk: i64) -> Vec<Value> {
        self.broker.received_json(pk, "132")
    }
}

/// What Instagram does with an `/ig_send_message` command.
fn apply_command(
    ig: &FakeInstagram,
    pk: i64,
    cmd: &Value,
) -> Result<Option<(String, i64)>, String> {
    let thread = cmd["thread_id"].as_str().unwrap_or_default();
    let ctx = cmd["client_context"].as_str().unwrap_or_default();
    match (cmd["action"].as_str(), cmd["item_type"].as_str()) {
        (Some("send_item"), Some("text")) => {
            let mut fields = json!({"text": cmd["text"]});
            if let Some(replied) = cmd["replied_to_item_id"].as_str() {
                fields["replied_to_message"] = json!({"item_id": replied});
            }
            let item = ig
                .send_item_as(pk, thread, "text", fields, ctx)
                .ok_or("thread not found")?;
            Ok(Some((
                item["item_id"].as_str().unwrap_or_default().to_string(),
                item["timestamp"].as_i64().unwrap_or_default(),
            )))
        }
        (Some("send_item"), Some("link")) => {
            let fields = json!({"link": {"text": cmd["link_text"], "client_context": ctx}});
            let item = ig
                .send_item_as(pk, thread, "link", fields, ctx)
                .ok_or("thread not found")?;
            Ok(Some((
                item["item_id"].as_str().unwrap_or_default().to_string(),
                item["timestamp"].as_i64().unwrap_or_default(),
            )))
        }
        (Some("send_item"), Some("reaction")) => {
            let item = cmd["item_id"].as_str().unwrap_or_default();
            let emoji = cmd["emoji"]
                .as_str()
                .filter(|e| !e.is_empty() && cmd["reaction_status"] != "deleted");
            if ig.react_as(pk, thread, item, emoji) {
                Ok(None)
            } else {
                Err("item not found".into())
            }
        }
        (Some("mark_seen"), _) => {
            let item = cmd["item_id"].as_str().unwrap_or_default();
            ig.mark_seen_as(pk, thread, item);
            Ok(None)
        }
        (Some("indicate_activity"), _) => {
            let on = match &cmd["activity_status"] {
                Value::String(s) => s != "0",
                Value::Number(n) => n.as_i64() != Some(0),
                _ => false,
            };
            ig.set_typing_as(pk, thread, on);
            Ok(None)
        }
        _ => Ok(None),
    }
}

fn chrono_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
