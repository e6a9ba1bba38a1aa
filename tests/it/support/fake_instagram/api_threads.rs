//! Fake thread operations: seen, unsend, edit, groups, requests, hide, mute, mark unread.

use serde_json::json;

use super::api_direct::not_found;
use super::state::{FakeEvent, State};
use super::{Req, Resp};

pub(crate) fn item_op(
    st: &mut State,
    r: &Req,
    me: i64,
    t: &str,
    i: &str,
    op: &str,
    events: &mut Vec<FakeEvent>,
) -> Resp {
    let f = match op {
        "delete" => r.signed(),
        "seen" | "edit" => r.form(),
        _ => return Resp::bytes(404, b"Not Found".to_vec(), "text/plain"),
    };
    let f = match f {
        Ok(f) => f,
        Err(e) => return e,
    };
    let ts = st.now_us();
    st.seq_id += 1;
    let Some(th) = st.thread_mut(t).filter(|th| th.users.contains(&me)) else {
        return not_found();
    };
    let Some(pos) = th.items.iter().position(|x| x["item_id"] == i) else {
        return Resp::fail(404, "Item not found");
    };
    match op {
        "seen" => {
            if f.get("action").map(String::as_str) != Some("mark_seen")
                || f.get("thread_id").map(String::as_str) != Some(t)
            {
                return Resp::fail(400, "bad mark_seen fields");
            }
            th.last_seen.insert(me, (i.to_owned(), ts));
            th.unread_for.remove(&me);
            events.push(FakeEvent::Seen {
                thread_id: t.to_owned(),
                user_pk: me,
                item_id: i.to_owned(),
                timestamp: ts,
            });
            Resp::ok(
                json!({"action": "mark_seen", "payload": {"timestamp": ts.to_string(), "count": 0}}),
            )
        }
        "delete" => {
            if th.items[pos]["user_id"] != me {
                return Resp::fail(400, "You can only unsend your own messages");
            }
            th.items.remove(pos);
            events.push(FakeEvent::ItemRemoved {
                thread_id: t.to_owned(),
                item_id: i.to_owned(),
            });
            Resp::ok(json!({}))
        }
        _ => {
            let item = &mut th.items[pos];
            if item["user_id"] != me {
                return Resp::fail(400, "You can only edit your own messages");
            }
            if f.get("original_message_client_context").map(String::as_str)
                != item["client_context"].as_str()
            {
                return Resp::fail(400, "original_message_client_context does not match");
            }
            let Some(body) = f.get("body") else {
                return Resp::fail(400, "missing body");
            };
            item["text"] = json!(body);
            let n = item["edit_count"].as_i64().unwrap_or(0) + 1;
            item["edit_count"] = json!(n);
            let snapshot = item.clone();
            events.push(FakeEvent::ItemChanged {
                thread_id: t.to_owned(),
                item: snapshot.clone(),
            });
            Resp::ok(json!({"item": snapshot}))
        }
    }
}

pub(crate) fn create_group(st: &mut State, r: &Req, me: i64) -> Resp {
    let f = match r.signed() {
        Ok(f) => f,
        Err(e) => return e,
    };
    let Some(users) = f
        .get("recipient_users")
        .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
    else {
        return Resp::fail(400, "recipient_users must be a JSON list of strings");
    };
    if f.get("_uid").map(String::as_str) != Some(me.to_string().as_str()) {
        return Resp::fail(400, "_uid mismatch");
    }
    let mut all = vec![me];
    all.extend(users.iter().filter_map(|u| u.parse::<i64>().ok()));
    let (id, v2) = st.next_thread_id();
    st.threads.push(super::ThreadRec {
        thread_id: id.clone(),
        thread_v2_id: v2,
        users: all,
        admins: vec![me],
        title: f.get("thread_title").cloned(),
        is_group: true,
        ..Default::default()
    });
    let th = st.thread(&id).cloned().unwrap_or_default();
    Resp::ok(st.thread_json(&th, me, 20, None))
}

pub(crate) fn thread_op(
    st: &mut State,
    r: &Req,
    me: i64,
    t: &str,
    op: &str,
    events: &mut Vec<FakeEvent>,
) -> Resp {
    let f = match op {
        "mark_unread" => r.signed(),
        "update_title" | "add_user" | "remove_users" | "leave" | "approve" | "decline" | "hide"
        | "mute" | "unmute" => r.form(),
        _ => return Resp::bytes(404, b"Not Found".to_vec(), "text/plain"),
    };
    let f = match f {
        Ok(f) => f,
        Err(e) => return e,
    };
    if f.get("_uuid") != r.headers.get("x-ig-device-id") {
        return Resp::fail(400, "_uuid does not match the device");
    }
    let me_name = st
        .account(me)
        .map(|a| a.username.clone())
        .unwrap_or_default();
    let log_id = st.next_item_id();
    let ts = st.now_us();
    let Some(th) = st.thread_mut(t).filter(|th| th.users.contains(&me)) else {
        return not_found();
    };
    let mut log = None;
    match op {
        "update_title" => {
            let Some(title) = f.get("title") else {
                return Resp::fail(400, "missing title");
            };
            th.title = Some(title.clone());
            log = Some(format!("{me_name} named the group {title}."));
        }
        "add_user" | "remove_users" => {
            let Some(ids) = f
                .get("user_ids")
                .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
            else {
                return Resp::fail(400, "user_ids must be a JSON list of strings");
            };
            for u in ids.iter().filter_map(|u| u.parse::<i64>().ok()) {
                if op == "add_user" {
                    if !th.users.contains(&u) {
                        th.users.push(u);
                    }
                } else {
                    th.users.retain(|&x| x != u);
                    th.left_users.push(u);
                }
            }
            th.is_group = true;
            log = Some(format!("{me_name} changed the members."));
        }
        "leave" => {
            th.users.retain(|&x| x != me);
            th.left_users.push(me);
            log = Some(format!("{me_name} left the group."));
        }
        "approve" => {
            if f.get("filter").map(String::as_str) != Some("DEFAULT") {
                return Resp::fail(400, "missing filter");
            }
            th.pending_for.remove(&me);
        }
        "decline" | "hide" => {
            th.pending_for.remove(&me);
            th.hidden_for.insert(me);
            events.push(FakeEvent::ThreadHidden {
                thread_id: t.to_owned(),
                user_pk: me,
            });
        }
        "mute" => {
            th.muted_for.insert(me);
        }
        "unmute" => {
            th.muted_for.remove(&me);
        }
        _ => {
            th.unread_for.insert(me);
        }
    }
    if let Some(description) = log {
        let item = json!({"item_id": log_id, "user_id": me, "timestamp": ts, "item_type": "action_log",
            "action_log": {"description": description}});
        th.items.push(item.clone());
        events.push(FakeEvent::ItemAdded {
            thread_id: t.to_owned(),
            item,
        });
    }
    events.push(FakeEvent::ThreadChanged {
        thread_id: t.to_owned(),
    });
    Resp::ok(json!({}))
}

/// `friendships/block/{pk}/` and `unblock/` (docs/PROTOCOL.md C.7): signed, naming the same
/// user in the path and `user_id`, the caller in `_uid`, the device in `_uuid`.
pub(crate) fn block(st: &mut State, r: &Req, me: i64, op: &str, pk: &str) -> Resp {
    let f = match r.signed() {
        Ok(f) => f,
        Err(e) => return e,
    };
    let Ok(target) = pk.parse::<i64>() else {
        return Resp::fail(400, "bad user id");
    };
    if f.get("user_id").map(String::as_str) != Some(pk) {
        return Resp::fail(400, "user_id does not match the path");
    }
    if f.get("_uid").map(String::as_str) != Some(me.to_string().as_str()) {
        return Resp::fail(400, "_uid mismatch");
    }
    if f.get("_uuid") != r.headers.get("x-ig-device-id") {
        return Resp::fail(400, "_uuid does not match the device");
    }
    if !matches!(
        f.get("surface").map(String::as_str),
        Some("profile" | "direct_thread_info")
    ) {
        return Resp::fail(400, "missing surface");
    }
    if st.account(target).is_none() || target == me {
        return Resp::fail(404, "User not found");
    }
    let blocking = op == "block";
    if blocking {
        st.blocks.insert((me, target));
    } else {
        st.blocks.remove(&(me, target));
    }
    Resp::ok(
        json!({"friendship_status": {"blocking": blocking, "following": false,
        "followed_by": false, "is_private": false, "outgoing_request": false,
        "incoming_request": false}}),
    )
}
