//! Fake direct endpoints (PROTOCOL C.1–C.3) and user lookups.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::state::{FakeEvent, State};
use super::{FakeInstagram, Req, Resp, api_threads, authed};

type Form = BTreeMap<String, String>;

pub(crate) fn not_found() -> Resp {
    Resp::fail(404, "Thread does not exist")
}

/// Parses `[id]`, `[id1,id2]` or `["id"]`.
fn parse_id_list(v: &str) -> Option<Vec<String>> {
    let inner = v.trim().strip_prefix('[')?.strip_suffix(']')?;
    Some(
        inner
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

fn parse_pks(v: &str) -> Option<Vec<i64>> {
    parse_id_list(v)?.iter().map(|s| s.parse().ok()).collect()
}

pub(crate) fn route(fake: &FakeInstagram, r: &Req, segs: &[&str]) -> Option<Resp> {
    let mut events = Vec::new();
    let resp = {
        let mut guard = fake.st();
        let st = &mut *guard;
        let me = match authed(st, r) {
            Ok(pk) => pk,
            Err(e) => {
                let known = matches!(
                    segs.first(),
                    Some(&"direct_v2") | Some(&"users") | Some(&"clips") | Some(&"friendships")
                );
                return known.then_some(e);
            }
        };
        let resp = match (r.method.as_str(), segs) {
            (
                "GET",
                [
                    "direct_v2",
                    kind @ ("inbox" | "pending_inbox" | "spam_inbox"),
                ],
            ) => inbox(st, r, me, kind),
            ("GET", ["direct_v2", "threads", "get_by_participants"]) => by_participants(st, r, me),
            ("GET", ["direct_v2", "threads", t]) => get_thread(st, r, me, t),
            ("POST", ["direct_v2", "threads", "broadcast", kind]) => match r.form() {
                Ok(f) => broadcast(st, r, me, kind, &f, &mut events),
                Err(e) => e,
            },
            ("POST", ["direct_v2", "threads", "approve_multiple"]) => match r.signed() {
                Ok(f) => {
                    for t in f
                        .get("thread_ids")
                        .and_then(|v| parse_id_list(v))
                        .unwrap_or_default()
                    {
                        if let Some(th) = st.thread_mut(&t) {
                            th.pending_for.remove(&me);
                        }
                    }
                    Resp::ok(json!({}))
                }
                Err(e) => e,
            },
            ("POST", ["direct_v2", "threads", t, "items", i, op]) => {
                api_threads::item_op(st, r, me, t, i, op, &mut events)
            }
            ("POST", ["direct_v2", "create_group_thread"]) => api_threads::create_group(st, r, me),
            ("POST", ["direct_v2", "threads", t, op]) => {
                api_threads::thread_op(st, r, me, t, op, &mut events)
            }
            ("GET", ["direct_v2", "get_presence"]) => {
                let map: serde_json::Map<String, Value> = st
                    .presence
                    .iter()
                    .map(|(pk, (a, ms))| {
                        (
                            pk.to_string(),
                            json!({"is_active": a, "last_activity_at_ms": ms.to_string()}),
                        )
                    })
                    .collect();
                Resp::ok(json!({"user_presence": map}))
            }
            // The media id alone, as the public clients send it (docs/PROTOCOL.md G); the
            // `<media_id>_<owner_id>` form is not an id here.
            ("GET", ["clips", "item"]) => match r.q("clips_media_id") {
                Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                    match st.clips.get(id) {
                        Some(m) => Resp::ok(json!({"media": m})),
                        None => Resp::fail(404, "Media not found or unavailable"),
                    }
                }
                _ => Resp::fail(400, "Invalid clips_media_id"),
            },
            ("POST", ["friendships", op @ ("block" | "unblock"), pk]) => {
                super::api_threads::block(st, r, me, op, pk)
            }
            ("GET", ["users", "search"]) => {
                let q = r.q("q").unwrap_or_default().to_lowercase();
                let users: Vec<Value> = st
                    .accounts
                    .iter()
                    .filter(|a| a.username.to_lowercase().contains(&q))
                    .map(|a| a.user_json(&st.base))
                    .collect();
                Resp::ok(json!({"num_results": users.len(), "users": users}))
            }
            ("GET", ["users", pk, "info"]) => {
                match pk.parse::<i64>().ok().and_then(|pk| st.account(pk)) {
                    Some(a) => Resp::ok(json!({"user": a.user_json(&st.base)})),
                    None => Resp::fail(404, "User not found"),
                }
            }
            ("GET", ["users", name, "usernameinfo"]) => match st.account_by_name(name) {
                Some(a) => Resp::ok(json!({"user": a.user_json(&st.base)})),
                None => Resp::fail(404, "User not found"),
            },
            _ => return None,
        };
        Some(resp)
    };
    for e in events {
        fake.emit(e);
    }
    resp
}

fn inbox(st: &State, r: &Req, me: i64, kind: &str) -> Resp {
    if r.q("visual_message_return_type").is_none() || r.q("persistentBadging").is_none() {
        return Resp::fail(400, "missing inbox parameters");
    }
    let limit: usize = r.q("limit").and_then(|l| l.parse().ok()).unwrap_or(20);
    let msg_limit: usize = r
        .q("thread_message_limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10);
    let offset: usize = match r.q("cursor") {
        Some(c) => {
            if r.q("direction") != Some("older") {
                return Resp::fail(400, "cursor without direction=older");
            }
            match c.strip_prefix("off:").and_then(|n| n.parse().ok()) {
                Some(n) => n,
                None => return Resp::fail(400, "bad cursor"),
            }
        }
        None => 0,
    };
    let mut threads: Vec<_> = st
        .threads
        .iter()
        .filter(|t| t.users.contains(&me) && !t.hidden_for.contains(&me))
        .filter(|t| match kind {
            "pending_inbox" => t.pending_for.contains(&me),
            "spam_inbox" => t.spam_for.contains(&me),
            _ => !t.pending_for.contains(&me) && !t.spam_for.contains(&me),
        })
        .collect();
    threads.sort_by_key(|t| std::cmp::Reverse(t.last_activity()));
    let total = threads.len();
    let page: Vec<Value> = threads
        .iter()
        .skip(offset)
        .take(limit)
        .map(|t| st.thread_json(t, me, msg_limit, None))
        .collect();
    let has_older = offset + limit < total;
    let pending = st
        .threads
        .iter()
        .filter(|t| t.pending_for.contains(&me))
        .count();
    Resp::ok(json!({
        "viewer": st.user_json(me), "seq_id": st.seq_id,
        "snapshot_at_ms": st.last_ts / 1000,
        "pending_requests_total": pending, "has_pending_top_requests": pending > 0,
        "most_recent_inviter": null,
        "inbox": {"threads": page, "has_older": has_older, "unseen_count": 0, "unseen_count_ts": 0,
            "blended_inbox_enabled": false,
            "oldest_cursor": if has_older { Value::from(format!("off:{}", offset + limit)) } else { Value::Null },
            "prev_cursor": {"cursor_timestamp_seconds": 0, "cursor_thread_v2_id": 0}}
    }))
}

fn get_thread(st: &State, r: &Req, me: i64, t: &str) -> Resp {
    let Some(th) = st.thread(t).filter(|th| th.users.contains(&me)) else {
        return not_found();
    };
    if r.q("visual_message_return_type").is_none() || r.q("direction").is_none() {
        return Resp::fail(400, "missing thread parameters");
    }
    let limit: usize = r.q("limit").and_then(|l| l.parse().ok()).unwrap_or(20);
    // A cursor is an item id of the thread (its `oldest_cursor`), read towards older items.
    if let Some(cursor) = r.q("cursor") {
        if r.q("direction") != Some("older") {
            return Resp::fail(400, "cursor without direction=older");
        }
        if !th.items.iter().any(|i| i["item_id"] == cursor) {
            return Resp::fail(400, "bad cursor");
        }
    }
    Resp::ok(json!({"thread": st.thread_json(th, me, limit, r.q("cursor"))}))
}

fn by_participants(st: &State, r: &Req, me: i64) -> Resp {
    let Some(mut want) = r.q("recipient_users").and_then(parse_pks) else {
        return Resp::fail(400, "bad recipient_users");
    };
    want.push(me);
    want.sort_unstable();
    want.dedup();
    let found = st.threads.iter().find(|t| {
        let mut u = t.users.clone();
        u.sort_unstable();
        u == want
    });
    match found {
        Some(t) => Resp::ok(json!({"thread": st.thread_json(t, me, 20, None)})),
        None => not_found(),
    }
}

fn ack(cc: &str, item: &Value, thread_id: &str, users: &[i64]) -> Resp {
    let p = json!({"client_context": cc, "item_id": item["item_id"],
        "timestamp": item["timestamp"].as_i64().unwrap_or_default().to_string(), "thread_id": thread_id});
    let mut md = p.clone();
    md["participant_ids"] = json!(users.iter().map(|u| u.to_string()).collect::<Vec<_>>());
    Resp::ok(
        json!({"action": "item_ack", "status_code": "200", "payload": p, "message_metadata": [md]}),
    )
}

fn broadcast(
    st: &mut State,
    r: &Req,
    me: i64,
    kind: &str,
    f: &Form,
    events: &mut Vec<FakeEvent>,
) -> Resp {
    let g = |k: &str| f.get(k).cloned().unwrap_or_default();
    if g("_uuid") != r.headers["x-ig-device-id"] {
        return Resp::fail(400, "_uuid does not match the device");
    }
    let cc = g("client_context");
    if kind == "indicate_activity" {
        let Some(t) = f
            .get("thread_ids")
            .and_then(|v| parse_id_list(v))
            .and_then(|l| l.into_iter().next())
        else {
            return Resp::fail(400, "missing thread_ids");
        };
        let Some(th) = st.thread_mut(&t).filter(|th| th.users.contains(&me)) else {
            return not_found();
        };
        let typing = g("activity_status") == "1";
        th.typing.insert(me, typing);
        events.push(FakeEvent::Typing {
            thread_id: t,
            user_pk: me,
            typing,
        });
        return Resp::ok(
            json!({"action": "item_ack", "status_code": "200", "payload": {"client_context": cc, "activity_status": typing as i64}}),
        );
    }
    if g("action") != "send_item"
        || cc.is_empty()
        || g("mutation_token") != cc
        || g("offline_threading_id") != cc
    {
        return Resp::fail(
            400,
            "bad send_item fields (action/client_context/mutation_token/offline_threading_id)",
        );
    }
    if g("device_id") != r.headers["x-ig-android-id"] {
        return Resp::fail(400, "device_id does not match the device");
    }
    // target
    let thread_id = if let Some(ids) = f.get("thread_ids") {
        match parse_id_list(ids).and_then(|l| l.into_iter().next()) {
            Some(t) => t,
            None => return Resp::fail(400, "bad thread_ids"),
        }
    } else if let Some(ru) = f.get("recipient_users") {
        let Ok(lists) = serde_json::from_str::<Vec<Vec<Value>>>(ru) else {
            return Resp::fail(400, "bad recipient_users");
        };
        let mut want: Vec<i64> = lists
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
            .collect();
        want.push(me);
        want.sort_unstable();
        want.dedup();
        let existing = st.threads.iter().find(|t| {
            let mut u = t.users.clone();
            u.sort_unstable();
            u == want
        });
        match existing {
            Some(t) => t.thread_id.clone(),
            None => {
                let (id, v2) = st.next_thread_id();
                let mut users = vec![me];
                users.extend(want.iter().filter(|&&u| u != me));
                st.threads.push(super::ThreadRec {
                    thread_id: id.clone(),
                    thread_v2_id: v2,
                    users,
                    ..Default::default()
                });
                id
            }
        }
    } else {
        return Resp::fail(400, "missing thread_ids or recipient_users");
    };
    let Some(th) = st.thread(&thread_id).filter(|t| t.users.contains(&me)) else {
        return not_found();
    };
    let users = th.users.clone();
    // idempotent retry: same client_context from the same sender
    if let Some(existing) = th
        .items
        .iter()
        .find(|i| i["client_context"] == cc.as_str() && i["user_id"] == me)
    {
        return ack(&cc, existing, &thread_id, &users);
    }
    if kind == "reaction" {
        return reaction(st, me, &thread_id, f, &cc, events);
    }
    let (item_type, payload) = match kind {
        "text" => {
            let Some(text) = f.get("text") else {
                return Resp::fail(400, "missing text");
            };
            let mut p = json!({"text": text});
            if let Some(reply) = f.get("replied_to_item_id") {
                let Some(orig) = th.items.iter().find(|i| i["item_id"] == reply.as_str()) else {
                    return Resp::fail(400, "replied_to_item_id not found");
                };
                let mut o = orig.clone();
                if let Value::Object(m) = &mut o {
                    m.remove("replied_to_message");
                }
                p["replied_to_message"] = o;
            }
            if let Some(m) = f.get("mentioned_user_ids") {
                let ids: Value = serde_json::from_str(m).unwrap_or(Value::Null);
                p["text_entities"] = json!({"mentioned_user_ids": ids});
            }
            ("text", p)
        }
        "link" => {
            let urls: Vec<String> = f
                .get("link_urls")
                .and_then(|u| serde_json::from_str(u).ok())
                .unwrap_or_default();
            let Some(text) = f.get("link_text") else {
                return Resp::fail(400, "missing link_text");
            };
            (
                "link",
                json!({"link": {"text": text, "link_context": {"link_url": urls.first(), "link_title": "Title"}}}),
            )
        }
        "like" => ("like", json!({"like": "❤️"})),
        "animated_media" => {
            let Some(id) = f.get("id") else {
                return Resp::fail(400, "missing id");
            };
            (
                "animated_media",
                json!({"animated_media": {"id": id, "is_sticker": false, "images": {"fixed_height": {
                "url": format!("https://media.giphy.com/{id}.gif"), "webp": format!("https://media.giphy.com/{id}.webp"),
                "width": "200", "height": "200"}}}}),
            )
        }
        "media_share" => {
            let Some(id) = f.get("media_id") else {
                return Resp::fail(400, "missing media_id");
            };
            (
                "media_share",
                json!({"media_share": {"id": id, "media_type": 1, "code": "Cfake"}}),
            )
        }
        "photo_attachment" | "video_attachment" | "voice_attachment" => {
            let fbid = g("attachment_fbid");
            let Some((mime, _)) = st.media.get(&fbid) else {
                return Resp::fail(400, "unknown attachment_fbid");
            };
            let url = format!("{}/cdn/media/{fbid}", st.base);
            match kind {
                "photo_attachment" => {
                    if !mime.starts_with("image/") || g("allow_full_aspect_ratio") != "true" {
                        return Resp::fail(400, "bad photo attachment");
                    }
                    (
                        "media",
                        json!({"media": {"id": fbid, "media_type": 1, "original_width": 1080, "original_height": 1080,
                        "image_versions2": {"candidates": [{"width": 1080, "height": 1080, "url": url}, {"width": 150, "height": 150, "url": format!("{url}?s=150")}]}}}),
                    )
                }
                "video_attachment" => {
                    if !mime.starts_with("video/") || g("video_result") != fbid {
                        return Resp::fail(400, "bad video attachment");
                    }
                    (
                        "media",
                        json!({"media": {"id": fbid, "media_type": 2, "original_width": 720, "original_height": 1280,
                        "video_versions": [{"type": 101, "width": 720, "height": 1280, "url": url}]}}),
                    )
                }
                _ => {
                    let Ok(wave) = serde_json::from_str::<Vec<f64>>(&g("waveform")) else {
                        return Resp::fail(400, "bad waveform");
                    };
                    if !mime.starts_with("audio/") || g("waveform_sampling_frequency_hz") != "10" {
                        return Resp::fail(400, "bad voice attachment");
                    }
                    (
                        "voice_media",
                        json!({"voice_media": {"view_mode": "permanent", "seen_count": 0, "media": {"id": fbid, "media_type": 11,
                        "product_type": "direct_audio", "audio": {"audio_src": url, "duration": wave.len() * 100,
                        "waveform_data": wave, "waveform_sampling_frequency_hz": 10}}}}),
                    )
                }
            }
        }
        other => return Resp::fail(400, &format!("unknown broadcast type {other}")),
    };
    let id = st.next_item_id();
    let ts = st.now_us();
    let mut item = json!({"item_id": id, "user_id": me, "timestamp": ts, "item_type": item_type, "client_context": cc});
    if let (Value::Object(m), Value::Object(p)) = (&mut item, payload) {
        m.extend(p);
    }
    st.seq_id += 1;
    if let Some(th) = st.thread_mut(&thread_id) {
        th.items.push(item.clone());
    }
    events.push(FakeEvent::ItemAdded {
        thread_id: thread_id.clone(),
        item: item.clone(),
    });
    ack(&cc, &item, &thread_id, &users)
}

fn reaction(
    st: &mut State,
    me: i64,
    thread_id: &str,
    f: &Form,
    cc: &str,
    events: &mut Vec<FakeEvent>,
) -> Resp {
    let g = |k: &str| f.get(k).cloned().unwrap_or_default();
    if g("item_type") != "reaction" || g("node_type") != "item" || g("reaction_type") != "like" {
        return Resp::fail(400, "bad reaction fields");
    }
    let status = g("reaction_status");
    let emoji = g("emoji");
    if !(status == "created" && !emoji.is_empty() || status == "deleted") {
        return Resp::fail(400, "bad reaction_status/emoji");
    }
    let ts = st.now_us();
    st.seq_id += 1;
    let Some(th) = st.thread_mut(thread_id) else {
        return not_found();
    };
    let item_id = g("item_id");
    let Some(item) = th
        .items
        .iter_mut()
        .find(|i| i["item_id"] == item_id.as_str())
    else {
        return Resp::fail(400, "item_id not found");
    };
    let mut emojis: Vec<Value> = item["reactions"]["emojis"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    emojis.retain(|r| r["sender_id"] != me);
    if status == "created" {
        emojis.push(json!({"sender_id": me, "timestamp": ts, "emoji": emoji, "super_react_type": "none", "client_context": cc}));
    }
    item["reactions"] = json!({"likes_count": 0, "likes": [], "emojis": emojis});
    let snapshot = item.clone();
    let users = th.users.clone();
    events.push(FakeEvent::ItemChanged {
        thread_id: thread_id.to_owned(),
        item: snapshot.clone(),
    });
    let mut a = snapshot;
    a["timestamp"] = json!(ts);
    ack(cc, &a, thread_id, &users)
}
