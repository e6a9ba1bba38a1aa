//! The fake's state: accounts, sessions, threads with items, media, recorded requests and
//! injected faults. Items are kept as raw JSON (the wire shape), never as client types.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};

/// Two-factor settings of an account.
#[derive(Debug, Clone, Default)]
pub struct TwoFactor {
    pub totp_code: Option<String>,
    pub sms_code: Option<String>,
    pub backup_code: Option<String>,
}

/// A challenge the account must pass after a correct password.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The code to submit.
    pub code: String,
    /// First step: `select_verify_method`, `delta_login_review`, or an unsupported step name.
    pub first_step: String,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub pk: i64,
    pub username: String,
    pub password: String,
    pub full_name: String,
    pub two_factor: Option<TwoFactor>,
    pub challenge: Option<Challenge>,
    /// `error_type` forced on every login (e.g. `sentry_block`, `inactive_user`).
    pub login_error: Option<String>,
}

impl Account {
    /// The user as Instagram shows it; the profile picture is on the fake's own CDN (`base`),
    /// so nothing outside loopback is ever fetched.
    pub fn user_json(&self, base: &str) -> Value {
        json!({
            "pk": self.pk, "pk_id": self.pk.to_string(), "username": self.username,
            "full_name": self.full_name,
            "profile_pic_url": format!("{base}/cdn/pic/{}.jpg", self.pk),
            "profile_pic_id": format!("{}_pic", self.pk),
            "is_private": false, "is_verified": false,
            "interop_messaging_user_fbid": self.pk + 1_000_000,
        })
    }
}

#[derive(Debug, Clone)]
pub struct SessionRec {
    pub pk: i64,
    pub sessionid: String,
    pub alive: bool,
    /// `logout_reason` to answer with once dead.
    pub logout_reason: i64,
    /// The `ig-u-shbid` / `ig-u-shbts` values set with this session, if any: once set, rupload
    /// wants them back.
    pub shbid: Option<String>,
    pub shbts: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ThreadRec {
    pub thread_id: String,
    pub thread_v2_id: String,
    /// All participants, including the owner of each view.
    pub users: Vec<i64>,
    pub left_users: Vec<i64>,
    pub admins: Vec<i64>,
    pub title: Option<String>,
    pub is_group: bool,
    /// Items, oldest first, raw wire JSON.
    pub items: Vec<Value>,
    /// Users for whom this thread is a pending request.
    pub pending_for: HashSet<i64>,
    pub spam_for: HashSet<i64>,
    pub hidden_for: HashSet<i64>,
    pub muted_for: HashSet<i64>,
    /// Users who archived the thread (`archived`) or pinned it (`is_pin`) in the app.
    pub archived_for: HashSet<i64>,
    pub pinned_for: HashSet<i64>,
    pub unread_for: HashSet<i64>,
    /// user pk → (item_id, timestamp µs)
    pub last_seen: HashMap<i64, (String, i64)>,
    pub typing: HashMap<i64, bool>,
    /// The group photo (`thread_image`, a media object), if set.
    pub thread_image: Option<Value>,
}

impl ThreadRec {
    pub fn last_activity(&self) -> i64 {
        self.items
            .last()
            .and_then(|i| i["timestamp"].as_i64())
            .unwrap_or(0)
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Lower-case header names.
    pub headers: Vec<(String, String)>,
    /// Raw form fields (for `signed_body` requests: only `signed_body`).
    pub form: BTreeMap<String, String>,
    /// The decoded `signed_body` JSON, when the body was signed.
    pub signed: Option<serde_json::Map<String, Value>>,
    pub body_len: usize,
    /// HTTP status the fake answered.
    pub status: u16,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The parameters, whichever the encoding (signed JSON values or raw form).
    pub fn fields(&self) -> BTreeMap<String, String> {
        match &self.signed {
            Some(m) => m
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect(),
            None => self.form.clone(),
        }
    }
    pub fn field(&self, name: &str) -> Option<String> {
        self.fields().get(name).cloned()
    }
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A canned answer for the next matching requests.
#[derive(Debug, Clone)]
pub struct Fault {
    pub path_contains: String,
    pub status: u16,
    pub body: String,
    pub times: u32,
}

/// Something that happened, for the fake broker and end-to-end tests.
#[derive(Debug, Clone)]
pub enum FakeEvent {
    ItemAdded {
        thread_id: String,
        item: Value,
    },
    ItemChanged {
        thread_id: String,
        item: Value,
    },
    ItemRemoved {
        thread_id: String,
        item_id: String,
    },
    Seen {
        thread_id: String,
        user_pk: i64,
        item_id: String,
        timestamp: i64,
    },
    Typing {
        thread_id: String,
        user_pk: i64,
        typing: bool,
    },
    ThreadChanged {
        thread_id: String,
    },
    /// The thread left one user's inbox (hidden, declined or deleted by them): Instagram
    /// removes it from that user's inbox only.
    ThreadHidden {
        thread_id: String,
        user_pk: i64,
    },
}

#[derive(Debug, Default)]
pub struct State {
    /// `http://127.0.0.1:port`.
    pub base: String,
    pub accounts: Vec<Account>,
    pub sessions: Vec<SessionRec>,
    pub threads: Vec<ThreadRec>,
    /// media_id → (mime, bytes)
    pub media: HashMap<String, (String, Vec<u8>)>,
    /// CDN path (after `/cdn/`) → (bytes, expired)
    pub cdn: HashMap<String, (Vec<u8>, bool)>,
    pub requests: Vec<Recorded>,
    pub faults: Vec<Fault>,
    /// username → live two-factor identifier
    pub two_factor_ids: HashMap<String, String>,
    /// nonce → (pk, current step)
    pub challenges: HashMap<String, (i64, String)>,
    pub presence: BTreeMap<i64, (bool, i64)>,
    /// (blocker, blocked) pairs.
    pub blocks: std::collections::BTreeSet<(i64, i64)>,
    /// reel media id (no `_owner`) → media JSON
    pub clips: HashMap<String, Value>,
    pub seq_id: i64,
    pub counter: u128,
    pub last_ts: i64,
    /// CDN objects whose downloads hang until released.
    pub hung_cdn: std::collections::HashSet<String>,
    /// CDN downloads hanging right now.
    pub held: usize,
}

impl State {
    pub fn next_counter(&mut self) -> u128 {
        self.counter += 1;
        self.counter
    }

    pub fn next_item_id(&mut self) -> String {
        (29_000_000_000_000_000_000_000_000_000_000_000u128 + self.next_counter()).to_string()
    }

    pub fn next_thread_id(&mut self) -> (String, String) {
        let n = self.next_counter();
        (
            (340_282_366_841_710_300_949_128_000_000_000_000_000u128 + n).to_string(),
            (17_900_000_000_000_000u128 + n).to_string(),
        )
    }

    /// Strictly increasing "now" in µs.
    pub fn now_us(&mut self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        self.last_ts = now.max(self.last_ts + 1);
        self.last_ts
    }

    pub fn account(&self, pk: i64) -> Option<&Account> {
        self.accounts.iter().find(|a| a.pk == pk)
    }

    pub fn account_by_name(&self, username: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.username == username)
    }

    pub fn user_json(&self, pk: i64) -> Value {
        self.account(pk)
            .map(|a| a.user_json(&self.base))
            .unwrap_or_else(|| json!({"pk": pk, "username": format!("user{pk}"), "full_name": ""}))
    }

    pub fn thread(&self, id: &str) -> Option<&ThreadRec> {
        self.threads.iter().find(|t| t.thread_id == id)
    }

    pub fn thread_mut(&mut self, id: &str) -> Option<&mut ThreadRec> {
        self.threads.iter_mut().find(|t| t.thread_id == id)
    }

    /// A thread as `viewer` sees it, with at most `limit` items older than `cursor`.
    pub fn thread_json(
        &self,
        t: &ThreadRec,
        viewer: i64,
        limit: usize,
        cursor: Option<&str>,
    ) -> Value {
        let mut newest_first: Vec<&Value> = t.items.iter().rev().collect();
        if let Some(c) = cursor
            && let Some(pos) = newest_first.iter().position(|i| i["item_id"] == c)
        {
            newest_first = newest_first.split_off(pos + 1);
        }
        let has_older = newest_first.len() > limit;
        newest_first.truncate(limit);
        let oldest = newest_first
            .last()
            .and_then(|i| i["item_id"].as_str())
            .unwrap_or("");
        let newest = newest_first
            .first()
            .and_then(|i| i["item_id"].as_str())
            .unwrap_or("");
        let others: Vec<Value> = t
            .users
            .iter()
            .filter(|&&u| u != viewer)
            .map(|&u| self.user_json(u))
            .collect();
        let title = t.title.clone().unwrap_or_else(|| {
            others
                .iter()
                .filter_map(|u| u["username"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        });
        let seen: serde_json::Map<String, Value> = t
            .last_seen
            .iter()
            .map(|(pk, (item, ts))| {
                (
                    pk.to_string(),
                    json!({"item_id": item, "timestamp": ts.to_string(), "shh_seen_state": {}}),
                )
            })
            .collect();
        let mut thread = json!({
            "thread_id": t.thread_id, "thread_v2_id": t.thread_v2_id,
            "users": others,
            "left_users": t.left_users.iter().map(|&u| self.user_json(u)).collect::<Vec<_>>(),
            "admin_user_ids": t.admins, "viewer_id": viewer,
            "inviter": self.user_json(t.users.first().copied().unwrap_or(viewer)),
            "thread_title": title, "named": t.title.is_some(), "is_group": t.is_group,
            "canonical": !t.is_group, "pending": t.pending_for.contains(&viewer),
            "archived": t.archived_for.contains(&viewer),
            "muted": t.muted_for.contains(&viewer), "vc_muted": false,
            "is_pin": t.pinned_for.contains(&viewer), "is_spam": t.spam_for.contains(&viewer), "thread_type": "private",
            "last_activity_at": t.last_activity(),
            "read_state": i64::from(t.unread_for.contains(&viewer)),
            "last_seen_at": seen,
            "has_older": has_older, "has_newer": false,
            "oldest_cursor": oldest, "newest_cursor": newest,
            "items": newest_first,
        });
        if let Some(image) = &t.thread_image {
            thread["thread_image"] = image.clone();
        }
        thread
    }
}
