//! Mutators of the shared state for the fake MQTT broker and end-to-end tests: they act as a
//! given user (as if over MQTT) and emit [`FakeEvent`]s.

use serde_json::{Value, json};

use super::{FakeEvent, FakeInstagram};

impl FakeInstagram {
    /// Stores an item as if `sender` sent it (e.g. over MQTT), deduplicated by
    /// `client_context` like Instagram; emits [`FakeEvent::ItemAdded`] for new items. Returns
    /// the stored item, or `None` for an unknown thread or a non-participant.
    pub fn send_item_as(
        &self,
        sender: i64,
        thread_id: &str,
        item_type: &str,
        fields: Value,
        client_context: &str,
    ) -> Option<Value> {
        let item = {
            let mut st = self.st();
            let th = st.thread(thread_id).filter(|t| t.users.contains(&sender))?;
            if let Some(existing) = th
                .items
                .iter()
                .find(|i| i["client_context"] == client_context && i["user_id"] == sender)
            {
                return Some(existing.clone());
            }
            let id = st.next_item_id();
            let ts = st.now_us();
            let mut item = json!({"item_id": id, "user_id": sender, "timestamp": ts,
                "item_type": item_type, "client_context": client_context});
            if let (Value::Object(m), Value::Object(extra)) = (&mut item, fields) {
                m.extend(extra);
            }
            st.seq_id += 1;
            st.thread_mut(thread_id)?.items.push(item.clone());
            item
        };
        self.emit(FakeEvent::ItemAdded {
            thread_id: thread_id.to_owned(),
            item: item.clone(),
        });
        Some(item)
    }

    /// Marks an item seen by `pk`; emits [`FakeEvent::Seen`].
    pub fn mark_seen_as(&self, pk: i64, thread_id: &str, item_id: &str) -> bool {
        let ts = {
            let mut st = self.st();
            let ts = st.now_us();
            let Some(th) = st.thread_mut(thread_id) else {
                return false;
            };
            if !th.items.iter().any(|i| i["item_id"] == item_id) {
                return false;
            }
            th.last_seen.insert(pk, (item_id.to_owned(), ts));
            ts
        };
        self.emit(FakeEvent::Seen {
            thread_id: thread_id.into(),
            user_pk: pk,
            item_id: item_id.into(),
            timestamp: ts,
        });
        true
    }

    /// Sets `pk` typing in a thread; emits [`FakeEvent::Typing`].
    pub fn set_typing_as(&self, pk: i64, thread_id: &str, typing: bool) {
        if let Some(th) = self.st().thread_mut(thread_id) {
            th.typing.insert(pk, typing);
        }
        self.emit(FakeEvent::Typing {
            thread_id: thread_id.into(),
            user_pk: pk,
            typing,
        });
    }

    /// Sets (`Some`) or removes (`None`) the reaction of `pk` on an item; emits
    /// [`FakeEvent::ItemChanged`].
    pub fn react_as(&self, pk: i64, thread_id: &str, item_id: &str, emoji: Option<&str>) -> bool {
        let item = {
            let mut st = self.st();
            let ts = st.now_us();
            let Some(th) = st.thread_mut(thread_id) else {
                return false;
            };
            let Some(item) = th.items.iter_mut().find(|i| i["item_id"] == item_id) else {
                return false;
            };
            let mut emojis: Vec<Value> = item["reactions"]["emojis"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            emojis.retain(|r| r["sender_id"] != pk);
            if let Some(e) = emoji {
                emojis.push(json!({"sender_id": pk, "timestamp": ts, "emoji": e, "super_react_type": "none"}));
            }
            item["reactions"] = json!({"likes_count": 0, "likes": [], "emojis": emojis});
            item.clone()
        };
        self.emit(FakeEvent::ItemChanged {
            thread_id: thread_id.into(),
            item,
        });
        true
    }

    /// Removes an item (unsend); emits [`FakeEvent::ItemRemoved`].
    pub fn remove_item(&self, thread_id: &str, item_id: &str) -> bool {
        let removed = {
            let mut st = self.st();
            let Some(th) = st.thread_mut(thread_id) else {
                return false;
            };
            let before = th.items.len();
            th.items.retain(|i| i["item_id"] != item_id);
            before != th.items.len()
        };
        if removed {
            self.emit(FakeEvent::ItemRemoved {
                thread_id: thread_id.into(),
                item_id: item_id.into(),
            });
        }
        removed
    }

    /// A contact changes a group the way the Instagram app does: adds (`added`) and removes
    /// (`removed`) members and/or renames it; an `action_log` item says what happened, and
    /// [`FakeEvent::ThreadChanged`] tells the participants.
    pub fn change_group_as(
        &self,
        actor: i64,
        thread_id: &str,
        added: &[i64],
        removed: &[i64],
        title: Option<&str>,
    ) -> bool {
        {
            let mut st = self.st();
            let Some(th) = st
                .thread_mut(thread_id)
                .filter(|t| t.users.contains(&actor))
            else {
                return false;
            };
            let mut what = Vec::new();
            for pk in added {
                if !th.users.contains(pk) {
                    th.users.push(*pk);
                    th.left_users.retain(|u| u != pk);
                    what.push(format!("added {pk}"));
                }
            }
            for pk in removed {
                if th.users.contains(pk) {
                    th.users.retain(|u| u != pk);
                    th.left_users.push(*pk);
                    what.push(format!("removed {pk}"));
                }
            }
            if let Some(t) = title {
                th.title = Some(t.to_owned());
                what.push(format!("named the group {t}"));
            }
            let description = format!("{actor} {}.", what.join(", "));
            let id = st.next_item_id();
            let ts = st.now_us();
            st.seq_id += 1;
            let item = json!({"item_id": id, "user_id": actor, "timestamp": ts, "item_type": "action_log",
                "action_log": {"description": description}});
            if let Some(th) = st.thread_mut(thread_id) {
                th.items.push(item.clone());
            }
            drop(st);
            self.emit(FakeEvent::ItemAdded {
                thread_id: thread_id.to_owned(),
                item,
            });
        }
        self.emit(FakeEvent::ThreadChanged {
            thread_id: thread_id.to_owned(),
        });
        true
    }

    /// `pk` changes the thread's chat state in the Instagram app (mute, archive, pin, mark
    /// unread: `None` leaves one as it is); [`FakeEvent::ThreadChanged`] tells the
    /// participants. False for an unknown thread or a non-participant.
    pub fn set_chat_state_as(&self, pk: i64, thread_id: &str, state: ChatStateChange) -> bool {
        {
            let mut st = self.st();
            st.seq_id += 1;
            let Some(th) = st.thread_mut(thread_id).filter(|t| t.users.contains(&pk)) else {
                return false;
            };
            for (set, value) in [
                (&mut th.muted_for, state.muted),
                (&mut th.archived_for, state.archived),
                (&mut th.pinned_for, state.pinned),
                (&mut th.unread_for, state.unread),
            ] {
                match value {
                    Some(true) => set.insert(pk),
                    Some(false) => set.remove(&pk),
                    None => false,
                };
            }
        }
        self.emit(FakeEvent::ThreadChanged {
            thread_id: thread_id.to_owned(),
        });
        true
    }

    /// `pk` deletes the thread from their inbox in the Instagram app.
    pub fn delete_thread_as(&self, pk: i64, thread_id: &str) -> bool {
        {
            let mut st = self.st();
            st.seq_id += 1;
            let Some(th) = st.thread_mut(thread_id).filter(|t| t.users.contains(&pk)) else {
                return false;
            };
            th.hidden_for.insert(pk);
        }
        self.emit(FakeEvent::ThreadHidden {
            thread_id: thread_id.to_owned(),
            user_pk: pk,
        });
        true
    }

    /// The thread as `viewer` gets it (`/direct_v2/threads/{id}/`), with its newest items.
    pub fn thread_view(&self, thread_id: &str, viewer: i64) -> Option<Value> {
        let st = self.st();
        let th = st.thread(thread_id)?.clone();
        Some(st.thread_json(&th, viewer, 1, None))
    }

    /// Registers a reel for `GET clips/item/?clips_media_id=<media_id>` (the id's digits
    /// before any `_<owner_id>`).
    pub fn add_clip(&self, media_id: &str, media: Value) {
        assert!(
            media_id.bytes().all(|b| b.is_ascii_digit()),
            "clips are found by their media id alone"
        );
        self.st().clips.insert(media_id.to_owned(), media);
    }
}

/// A chat-state change made in the Instagram app (`None`: unchanged).
#[derive(Debug, Clone, Copy, Default)]
pub struct ChatStateChange {
    pub muted: Option<bool>,
    pub archived: Option<bool>,
    pub pinned: Option<bool>,
    pub unread: Option<bool>,
}
