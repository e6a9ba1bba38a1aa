//! A user's chat state for a room, as Matrix keeps it in their account: muted (a `room`-kind
//! push rule that does not notify), marked unread (`m.marked_unread` room account data, also
//! read from the unstable `com.famedly.marked_unread`), low priority and favourite (the
//! `m.lowpriority` and `m.favourite` tags). Written through a double puppet's intent; read back
//! with a `/sync` filtered down to that account data (account data is not in appservice
//! transactions).
//!
//! Nothing here knows about Instagram.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ruma::api::client::config::set_room_account_data;
use ruma::api::client::filter::{FilterDefinition, RoomEventFilter};
use ruma::api::client::push::{delete_pushrule, set_pushrule};
use ruma::api::client::sync::sync_events;
use ruma::api::client::tag::{create_tag, delete_tag};
use ruma::events::RoomAccountDataEventType;
use ruma::events::tag::TagInfo;
use ruma::presence::PresenceState;
use ruma::push::{NewPushRule, NewSimplePushRule, RuleKind};
use ruma::{OwnedRoomId, RoomId};
use serde_json::{Value, json};

use super::client::MatrixError;
use super::intent::Intent;

/// Room account data marking a room unread (Matrix 1.12).
pub const MARKED_UNREAD: &str = "m.marked_unread";
/// The unstable name of [`MARKED_UNREAD`] (MSC2867), still written by some clients.
pub const MARKED_UNREAD_UNSTABLE: &str = "com.famedly.marked_unread";
/// The tag of low-priority rooms.
pub const LOW_PRIORITY: &str = "m.lowpriority";
/// The tag of favourite rooms.
pub const FAVOURITE: &str = "m.favourite";

/// One room's chat state in a user's account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoomChatState {
    pub muted: bool,
    pub unread: bool,
    pub low_priority: bool,
    pub favourite: bool,
}

/// What changed in one room's account data (`None`: not in this sync).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomAccountData {
    /// The room's tags, when `m.tag` changed.
    pub tags: Option<BTreeSet<String>>,
    /// The marked-unread flag, when it changed.
    pub marked_unread: Option<bool>,
}

/// One account-data `/sync` answer.
#[derive(Debug, Clone, Default)]
pub struct AccountDataSync {
    pub next_batch: String,
    /// The user's whole `m.push_rules`, when it changed.
    pub push_rules: Option<Value>,
    pub rooms: BTreeMap<OwnedRoomId, RoomAccountData>,
}

/// Whether push actions notify (a `"notify"` action; `dont_notify` and no action do not).
fn notifies(rule: &Value) -> bool {
    rule.get("actions")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some("notify")))
}

fn enabled(rule: &Value) -> bool {
    rule.get("enabled").and_then(Value::as_bool).unwrap_or(true)
}

/// The rooms muted by the user's push rules: an enabled `room` rule that does not notify (the
/// bridges' convention), or an enabled `override` rule named after the room whose one
/// condition is that room (Element's "mute") and that does not notify.
pub fn muted_rooms(push_rules: &Value) -> BTreeSet<String> {
    let global = &push_rules["global"];
    let mut muted = BTreeSet::new();
    for rule in global["room"].as_array().into_iter().flatten() {
        if let Some(id) = rule["rule_id"].as_str()
            && enabled(rule)
            && !notifies(rule)
        {
            muted.insert(id.to_owned());
        }
    }
    for rule in global["override"].as_array().into_iter().flatten() {
        let Some(id) = rule["rule_id"].as_str() else {
            continue;
        };
        let conditions = rule["conditions"].as_array().map(Vec::as_slice);
        let only_this_room = matches!(conditions, Some([c])
            if c["kind"] == "event_match" && c["key"] == "room_id" && c["pattern"] == id);
        if only_this_room && enabled(rule) && !notifies(rule) {
            muted.insert(id.to_owned());
        }
    }
    muted
}

/// The marked-unread flag of a room's account data events (the stable type wins).
fn marked_unread(events: &[Value]) -> Option<bool> {
    let of = |kind: &str| {
        events
            .iter()
            .find(|e| e["type"] == kind)
            .map(|e| e["content"]["unread"].as_bool().unwrap_or(false))
    };
    of(MARKED_UNREAD).or_else(|| of(MARKED_UNREAD_UNSTABLE))
}

fn tags(events: &[Value]) -> Option<BTreeSet<String>> {
    let tag = events.iter().find(|e| e["type"] == "m.tag")?;
    Some(
        tag["content"]["tags"]
            .as_object()
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default(),
    )
}

/// The parts of a `/sync` answer the chat state needs, from its account data events (as
/// JSON: a malformed event reads as absent, never as an error).
pub fn account_data_of(
    next_batch: String,
    global: &[Value],
    rooms: BTreeMap<OwnedRoomId, Vec<Value>>,
) -> AccountDataSync {
    let push_rules = global
        .iter()
        .find(|e| e["type"] == "m.push_rules")
        .map(|e| e["content"].clone());
    let rooms = rooms
        .into_iter()
        .map(|(room, events)| {
            let data = RoomAccountData {
                tags: tags(&events),
                marked_unread: marked_unread(&events),
            };
            (room, data)
        })
        .filter(|(_, d)| d.tags.is_some() || d.marked_unread.is_some())
        .collect();
    AccountDataSync {
        next_batch,
        push_rules,
        rooms,
    }
}

fn to_json<T>(raw: &[ruma::serde::Raw<T>]) -> Vec<Value> {
    raw.iter()
        .filter_map(|e| serde_json::from_str(e.json().get()).ok())
        .collect()
}

fn filter() -> FilterDefinition {
    let mut filter = FilterDefinition::ignore_all();
    filter.account_data.types = Some(vec!["m.push_rules".into()]);
    let mut room = RoomEventFilter::ignore_all();
    room.types = Some(vec![
        "m.tag".into(),
        MARKED_UNREAD.into(),
        MARKED_UNREAD_UNSTABLE.into(),
    ]);
    filter.room.account_data = room;
    filter.room.rooms = None;
    filter
}

impl Intent {
    /// Mutes (a `room` push rule without notify actions) or unmutes (the rule deleted) `room`.
    pub async fn set_room_muted(&self, room: &RoomId, muted: bool) -> Result<(), MatrixError> {
        if muted {
            let rule = NewPushRule::Room(NewSimplePushRule::new(room.to_owned(), vec![]));
            self.client()
                .send(set_pushrule::v3::Request::new(rule), Some(&self.user_id))
                .await?;
            return Ok(());
        }
        let request = delete_pushrule::v3::Request::new(RuleKind::Room, room.to_string());
        match self.client().send(request, Some(&self.user_id)).await {
            Err(e) if e.errcode() == Some("M_NOT_FOUND") => Ok(()),
            other => other.map(drop),
        }
    }

    /// Adds or removes one of the user's tags on `room`.
    pub async fn set_room_tag(
        &self,
        room: &RoomId,
        tag: &str,
        on: bool,
    ) -> Result<(), MatrixError> {
        let (user, room) = (self.user_id.clone(), room.to_owned());
        let result = if on {
            let request = create_tag::v3::Request::new(user, room, tag.into(), TagInfo::new());
            self.client()
                .send(request, Some(&self.user_id))
                .await
                .map(drop)
        } else {
            let request = delete_tag::v3::Request::new(user, room, tag.into());
            self.client()
                .send(request, Some(&self.user_id))
                .await
                .map(drop)
        };
        match result {
            Err(e) if !on && e.errcode() == Some("M_NOT_FOUND") => Ok(()),
            other => other,
        }
    }

    /// Sets the room's marked-unread flag (the stable and the unstable type, which clients
    /// still read).
    pub async fn set_marked_unread(&self, room: &RoomId, unread: bool) -> Result<(), MatrixError> {
        for kind in [MARKED_UNREAD, MARKED_UNREAD_UNSTABLE] {
            let raw = ruma::serde::Raw::new(&json!({ "unread": unread }))
                .map_err(|e| MatrixError::Protocol {
                    endpoint: "config::set_room_account_data",
                    reason: e.to_string(),
                })?
                .cast_unchecked();
            let request = set_room_account_data::v3::Request::new_raw(
                self.user_id.clone(),
                room.to_owned(),
                RoomAccountDataEventType::from(kind),
                raw,
            );
            self.client().send(request, Some(&self.user_id)).await?;
        }
        Ok(())
    }

    /// One `/sync` of the user's push rules and rooms' tags and marked-unread flags, waiting
    /// up to `timeout` for a change after `since`. It never sets the user's presence.
    pub async fn sync_account_data(
        &self,
        since: Option<&str>,
        timeout: Duration,
    ) -> Result<AccountDataSync, MatrixError> {
        let mut request = sync_events::v3::Request::new();
        request.filter = Some(sync_events::v3::Filter::FilterDefinition(filter()));
        request.since = since.map(str::to_owned);
        request.timeout = Some(timeout);
        request.set_presence = PresenceState::Offline;
        let response = self.client().send(request, Some(&self.user_id)).await?;
        let global = to_json(&response.account_data.events);
        let rooms = response
            .rooms
            .join
            .into_iter()
            .map(|(room, joined)| (room, to_json(&joined.account_data.events)))
            .collect();
        Ok(account_data_of(response.next_batch, &global, rooms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_rules_without_notify_and_elements_override_mute() {
        let rules = json!({"global": {
            "room": [
                {"rule_id": "!a:x", "actions": ["dont_notify"], "enabled": true},
                {"rule_id": "!b:x", "actions": [], "enabled": true},
                {"rule_id": "!c:x", "actions": ["notify"], "enabled": true},
                {"rule_id": "!d:x", "actions": [], "enabled": false},
            ],
            "override": [
                {"rule_id": "!e:x", "actions": [], "enabled": true,
                 "conditions": [{"kind": "event_match", "key": "room_id", "pattern": "!e:x"}]},
                {"rule_id": ".m.rule.master", "actions": [], "enabled": false, "conditions": []},
                {"rule_id": "!f:x", "actions": [], "enabled": true,
                 "conditions": [{"kind": "event_match", "key": "room_id", "pattern": "!other:x"}]},
            ],
        }});
        let muted: Vec<_> = muted_rooms(&rules).into_iter().collect();
        assert_eq!(muted, ["!a:x", "!b:x", "!e:x"]);
        assert!(muted_rooms(&json!({"global": "garbage"})).is_empty());
        assert!(muted_rooms(&json!(null)).is_empty());
    }

    #[test]
    fn room_account_data_reads_tags_and_either_unread_type() {
        let room = OwnedRoomId::try_from("!r:x").unwrap();
        let quiet = OwnedRoomId::try_from("!q:x").unwrap();
        let rooms = BTreeMap::from([
            (
                room.clone(),
                vec![
                    json!({"type": "m.tag", "content": {"tags": {"m.favourite": {}, "u.work": {"order": 0.5}}}}),
                    json!({"type": MARKED_UNREAD_UNSTABLE, "content": {"unread": true}}),
                ],
            ),
            (quiet.clone(), vec![json!({"type": "m.fully_read"})]),
        ]);
        let sync = account_data_of("s1".into(), &[], rooms);
        let data = &sync.rooms[&room];
        assert_eq!(
            data.tags.as_ref().unwrap().iter().collect::<Vec<_>>(),
            ["m.favourite", "u.work"]
        );
        assert_eq!(data.marked_unread, Some(true));
        assert!(!sync.rooms.contains_key(&quiet));
        assert!(sync.push_rules.is_none());

        // The stable type wins; a malformed content reads as not unread.
        let both = vec![
            json!({"type": MARKED_UNREAD_UNSTABLE, "content": {"unread": true}}),
            json!({"type": MARKED_UNREAD, "content": {"unread": "yes"}}),
        ];
        assert_eq!(marked_unread(&both), Some(false));
        assert_eq!(
            tags(&[json!({"type": "m.tag", "content": 3})]),
            Some(BTreeSet::new())
        );
    }
}
