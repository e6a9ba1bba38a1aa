//! mautrix-instagram's rows → this bridge's rows (pure: no I/O).
//!
//! - A portal's `receiver` is the receiving account's pk for DMs and 0 for groups; here it is
//!   that pk too (the login's id) for DMs and empty for groups. Messages and reactions follow
//!   their room's portal.
//! - Message rows get `IMPORTED_HASH` as content hash: it marks them as bridged from the other
//!   side, so a catch-up walking back through a thread stops at the newest imported item
//!   instead of walking the old history again; the first update of such an item records its
//!   real hash instead of editing it (`store::messages::IMPORTED_CONTENT_HASH`).
//! - mautrix's own placeholder items (`fi.mau.instagram.*`) are not Instagram items: left out.
//! - The people of each DM (the contact's ghost and the receiving user) are stored for
//!   mentions, as the bridge would after reading the thread; group members are not in
//!   mautrix's database and are learnt when the bridge first reads the group.

use std::collections::{BTreeMap, HashMap};

use super::android_state;
use super::source::Source;
use crate::config::GhostIds;
use crate::secret::Secret;
use crate::store::ghosts::GhostRow;
use crate::store::import::{ImportBatch, ImportedUser};
use crate::store::members::MemberRow;
use crate::store::messages::{MessageRow, ReactionRow};
use crate::store::portals::PortalRow;

/// How this bridge names people: ghost ids and display names.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    pub ghosts: GhostIds<'a>,
    /// `bridge.displayname_template`.
    pub displayname_template: &'a str,
}

/// The content hash of imported message rows (never equal to a real one).
pub use crate::store::messages::IMPORTED_CONTENT_HASH as IMPORTED_HASH;

/// mautrix-instagram's internal item ids.
const INTERNAL_ITEM: &str = "fi.mau.instagram.";

/// The rows to write and what was left out, with reasons.
#[derive(Debug, Default)]
pub struct Plan {
    pub batch: ImportBatch,
    /// Users whose login is not carried over (they log in again), with the reason.
    pub logins_lost: Vec<String>,
    /// Portals left out, with the reason.
    pub portals_left_out: Vec<String>,
    pub messages_left_out: usize,
    pub reactions_left_out: usize,
    pub double_puppets: usize,
    /// The DM contact of each room (who can invite the bot there).
    pub contacts: HashMap<String, i64>,
}

/// Maps everything in `source`.
pub fn plan(source: &Source, names: &Names<'_>) -> Plan {
    let mut plan = Plan::default();
    plan_users(source, &mut plan);
    plan_members(source, names, &mut plan);
    for p in &source.puppets {
        plan.double_puppets += usize::from(p.custom_mxid);
        plan.batch.ghosts.push(GhostRow {
            ig_pk: p.pk,
            username: p.username.clone(),
            display_name: p.name.clone(),
            avatar_id: p.photo_id.clone(),
            avatar_mxc: p.photo_mxc.clone().filter(|m| !m.is_empty()),
            name_set: p.name_set,
            avatar_set: p.avatar_set,
        });
    }
    let rooms = plan_portals(source, &mut plan);
    plan_mappings(source, &rooms, &mut plan);
    plan
}

/// Users, with their logins carried over where possible.
fn plan_users(source: &Source, plan: &mut Plan) {
    let usernames: HashMap<i64, &str> = source
        .puppets
        .iter()
        .filter_map(|p| Some((p.pk, p.username.as_deref()?)))
        .collect();
    for u in &source.users {
        let mut user = ImportedUser {
            mxid: u.mxid.clone(),
            management_room: u.notice_room.clone().filter(|r| !r.is_empty()),
            ..Default::default()
        };
        match (u.igpk, u.state.as_ref()) {
            (Some(pk), Some(state)) => {
                let username = usernames.get(&pk).copied();
                match android_state::to_session(state.expose(), pk, username) {
                    Ok(session) => {
                        user.ig_pk = Some(pk);
                        user.ig_username = username.map(str::to_owned);
                        user.session = Some(Secret::new(session.to_json().to_string()));
                        user.seq_id = u.seq_id.filter(|s| *s > 0);
                        user.snapshot_at_ms = u.snapshot_at_ms.filter(|_| user.seq_id.is_some());
                    }
                    Err(e) => plan.logins_lost.push(format!("{}: {e}", u.mxid)),
                }
            }
            (Some(_), None) => plan
                .logins_lost
                .push(format!("{}: no stored login state", u.mxid)),
            (None, _) => {} // logged out there too
        }
        plan.batch.users.push(user);
    }
}

/// The two people of each DM with a room.
fn plan_members(source: &Source, names: &Names<'_>, plan: &mut Plan) {
    let puppets: HashMap<i64, &super::source::Puppet> =
        source.puppets.iter().map(|p| (p.pk, p)).collect();
    let mxid_of: HashMap<i64, &str> = source
        .users
        .iter()
        .filter_map(|u| Some((u.igpk?, u.mxid.as_str())))
        .collect();
    let mut threads: BTreeMap<&str, Vec<MemberRow>> = BTreeMap::new();
    for p in &source.portals {
        let (Some(_), Some(other), Some(own)) = (
            p.mxid.as_deref().filter(|r| !r.is_empty()),
            p.other_user_pk,
            mxid_of.get(&p.receiver),
        ) else {
            continue;
        };
        let people = threads.entry(p.thread_id.as_str()).or_default();
        if let Some(username) = puppets.get(&other).and_then(|u| u.username.as_deref()) {
            let name = puppets
                .get(&other)
                .and_then(|u| u.name.as_deref())
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or(username);
            people.push(MemberRow {
                pk: other,
                username: username.to_string(),
                display_name: names
                    .displayname_template
                    .replace("{displayname}", name)
                    .replace("{username}", username),
                mxid: names.ghosts.user_id(other),
            });
        }
        if let Some(username) = puppets.get(&p.receiver).and_then(|u| u.username.as_deref()) {
            people.push(MemberRow {
                pk: p.receiver,
                username: username.to_string(),
                display_name: username.to_string(),
                mxid: (*own).to_string(),
            });
        }
    }
    for (thread, mut people) in threads {
        people.sort_by_key(|m| m.pk);
        people.dedup_by_key(|m| m.pk);
        if !people.is_empty() {
            plan.batch.members.push((thread.to_string(), people));
        }
    }
}

/// Portals with a room; returns room → (thread, receiver) of each.
fn plan_portals<'a>(source: &'a Source, plan: &mut Plan) -> HashMap<&'a str, (&'a str, String)> {
    let mxid_of: HashMap<i64, &str> = source
        .users
        .iter()
        .filter_map(|u| Some((u.igpk?, u.mxid.as_str())))
        .collect();
    let mut rooms = HashMap::new();
    for p in &source.portals {
        let Some(room) = p.mxid.as_deref().filter(|r| !r.is_empty()) else {
            continue; // never had a room: nothing to keep
        };
        let is_group = p.receiver == 0;
        let receiver = if is_group {
            String::new()
        } else if mxid_of.contains_key(&p.receiver) {
            p.receiver.to_string()
        } else {
            plan.portals_left_out.push(format!(
                "thread {} (room {room}): its receiver, Instagram account {}, has no user in \
                 the old database",
                p.thread_id, p.receiver
            ));
            continue;
        };
        rooms.insert(room, (p.thread_id.as_str(), receiver.clone()));
        if let Some(pk) = p.other_user_pk {
            plan.contacts.insert(room.to_string(), pk);
        }
        plan.batch.portals.push(PortalRow {
            thread_id: p.thread_id.clone(),
            receiver,
            room_id: Some(room.to_string()),
            is_group,
            name: p.name.clone(),
            name_set: p.name_set,
            avatar_mxc: p.avatar_url.clone().filter(|a| !a.is_empty()),
            avatar_set: p.avatar_set,
            encrypted: p.encrypted,
            relay_user: p.relay_user_id.clone(),
            ..Default::default()
        });
    }
    rooms
}

/// Message and reaction rows of the portals' rooms.
fn plan_mappings(source: &Source, rooms: &HashMap<&str, (&str, String)>, plan: &mut Plan) {
    for m in &source.messages {
        let portal = rooms.get(m.mx_room.as_str());
        let Some((thread, receiver)) = portal.filter(|_| !m.item_id.starts_with(INTERNAL_ITEM))
        else {
            plan.messages_left_out += 1;
            continue;
        };
        plan.batch.messages.push(MessageRow {
            item_id: m.item_id.clone(),
            receiver: receiver.clone(),
            part_index: 0,
            thread_id: (*thread).to_string(),
            room_id: m.mx_room.clone(),
            event_id: m.mxid.clone(),
            sender_pk: m.sender,
            timestamp_us: m.ig_timestamp.unwrap_or(0),
            client_context: m.client_context.clone().filter(|c| !c.is_empty()),
            edit_count: 0,
            content_hash: Some(IMPORTED_HASH.into()),
        });
    }
    for r in &source.reactions {
        let portal = rooms.get(r.mx_room.as_str());
        let Some((_, receiver)) = portal.filter(|_| !r.ig_item_id.starts_with(INTERNAL_ITEM))
        else {
            plan.reactions_left_out += 1;
            continue;
        };
        plan.batch.reactions.push(ReactionRow {
            item_id: r.ig_item_id.clone(),
            receiver: receiver.clone(),
            sender_pk: r.ig_sender,
            room_id: r.mx_room.clone(),
            event_id: r.mxid.clone(),
            emoji: r.reaction.clone(),
            timestamp_us: r.mx_timestamp.unwrap_or(0).saturating_mul(1000),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::source::{Message, Portal, Puppet, Reaction, User};
    use super::*;

    fn source() -> Source {
        let state = r#"{"device": {"id": "android-0123456789abcdef", "uuid": "u", "phoneId": "p",
            "adid": "a", "fdid": "f", "descriptor": "d"},
            "session": {"authorization": "Bearer IGT:2:e30=", "ds_user_id": "11"},
            "cookies": {"sessionid": {"value": "11%3As", "domain": "instagram.com"}}}"#;
        let portal = |thread: &str, receiver, room: Option<&str>| Portal {
            thread_id: thread.into(),
            receiver,
            other_user_pk: None,
            mxid: room.map(str::to_owned),
            name: Some(format!("name {thread}")),
            avatar_url: None,
            name_set: true,
            avatar_set: false,
            encrypted: false,
            relay_user_id: None,
        };
        let message = |room: &str, item: &str| Message {
            mxid: format!("$e{item}"),
            mx_room: room.into(),
            item_id: item.into(),
            receiver: 11,
            sender: 22,
            client_context: None,
            ig_timestamp: Some(1_700_000_000_000_000),
        };
        Source {
            version: 14,
            users: vec![
                User {
                    mxid: "@alice:hs".into(),
                    igpk: Some(11),
                    state: Some(Secret::new(state)),
                    notice_room: Some("!notice:hs".into()),
                    seq_id: Some(77),
                    snapshot_at_ms: Some(1_700_000_000_000),
                },
                User {
                    mxid: "@bob:hs".into(),
                    igpk: Some(12),
                    state: Some(Secret::new("{\"device\": {}}")),
                    notice_room: None,
                    seq_id: None,
                    snapshot_at_ms: None,
                },
            ],
            puppets: vec![Puppet {
                pk: 11,
                name: Some("Alice".into()),
                username: Some("alice_ig".into()),
                photo_id: None,
                photo_mxc: None,
                name_set: true,
                avatar_set: false,
                custom_mxid: true,
            }],
            portals: vec![
                Portal {
                    other_user_pk: Some(22),
                    ..portal("dm", 11, Some("!dm:hs"))
                },
                portal("group", 0, Some("!group:hs")),
                portal("roomless", 11, None),
                portal("stranger", 99, Some("!stranger:hs")),
            ],
            messages: vec![
                message("!dm:hs", "1"),
                message("!group:hs", "2"),
                message("!dm:hs", "fi.mau.instagram.post_backfill_dummy.1"),
                message("!stranger:hs", "3"),
            ],
            reactions: vec![Reaction {
                mxid: "$r".into(),
                mx_room: "!dm:hs".into(),
                ig_item_id: "1".into(),
                ig_receiver: 11,
                ig_sender: 22,
                reaction: "❤".into(),
                mx_timestamp: Some(5),
            }],
            backfill_pending: 0,
        }
    }

    fn config() -> crate::config::Config {
        let text = include_str!("../../example-config.yaml")
            .replace("generate", "tok")
            .replace("domain: example.com", "domain: hs");
        crate::config::Config::from_yaml(&text, "t", std::iter::empty()).expect("config")
    }

    #[test]
    fn rows_are_mapped_to_this_bridges_keys() {
        let config = config();
        let names = Names {
            ghosts: config.ghosts(),
            displayname_template: "{displayname} (IG)",
        };
        let plan = plan(&source(), &names);
        let b = &plan.batch;
        let alice = &b.users[0];
        assert_eq!(alice.ig_pk, Some(11));
        assert_eq!(alice.ig_username.as_deref(), Some("alice_ig"));
        assert_eq!(alice.management_room.as_deref(), Some("!notice:hs"));
        assert_eq!(
            (alice.seq_id, alice.snapshot_at_ms),
            (Some(77), Some(1_700_000_000_000))
        );
        let session = alice.session.as_ref().unwrap().expose();
        assert!(session.contains("android-0123456789abcdef"), "{session}");
        assert!(b.users[1].session.is_none());
        assert_eq!(plan.logins_lost.len(), 1);
        assert!(
            plan.logins_lost[0].starts_with("@bob:hs: "),
            "{:?}",
            plan.logins_lost
        );

        let receivers: Vec<(&str, &str, bool)> = b
            .portals
            .iter()
            .map(|p| (p.thread_id.as_str(), p.receiver.as_str(), p.is_group))
            .collect();
        assert_eq!(receivers, [("dm", "11", false), ("group", "", true)]);
        assert_eq!(
            plan.portals_left_out.len(),
            1,
            "{:?}",
            plan.portals_left_out
        );
        assert!(plan.portals_left_out[0].contains("99"));

        let messages: Vec<(&str, &str, &str)> = b
            .messages
            .iter()
            .map(|m| {
                (
                    m.item_id.as_str(),
                    m.receiver.as_str(),
                    m.thread_id.as_str(),
                )
            })
            .collect();
        assert_eq!(messages, [("1", "11", "dm"), ("2", "", "group")]);
        assert!(
            b.messages
                .iter()
                .all(|m| m.content_hash.as_deref() == Some(IMPORTED_HASH))
        );
        assert_eq!(plan.messages_left_out, 2);
        assert_eq!(b.reactions[0].receiver, "11");
        assert_eq!(b.reactions[0].timestamp_us, 5000);
        assert_eq!(b.ghosts[0].username.as_deref(), Some("alice_ig"));
        assert_eq!(plan.double_puppets, 1);
        // The DM's people: the contact (no puppet row here, so unknown) and Alice.
        assert_eq!(b.members.len(), 1, "{:?}", b.members);
        let (thread, people) = &b.members[0];
        assert_eq!(thread, "dm");
        assert_eq!(people.len(), 1);
        assert_eq!(
            (
                people[0].pk,
                people[0].mxid.as_str(),
                people[0].username.as_str()
            ),
            (11, "@alice:hs", "alice_ig")
        );
    }
}
