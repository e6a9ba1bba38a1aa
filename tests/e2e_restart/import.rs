//! Switching from mautrix-instagram: its rooms are made in Synapse the way it made them (the
//! contact's ghost creates the DM and invites the user; ghosts and the user talk in it), its
//! database is created and filled by mautrix-instagram 0.3.1 itself with those ids, then
//! `import-mautrix` runs and the bridge starts on the result. The user is connected without
//! logging in, a new Instagram message lands in the OLD room, replies to imported messages
//! thread correctly both ways, and a user whose session died gets a clear notice.

use serde_json::{Value, json};

use crate::matrix_client::{User, unique};
use crate::support::mautrix::{Kind, MautrixDb, Schema};
use crate::{Harness, body_is, harness, wait_until};

/// The appservice itself (as_token), acting as its bot or, with `user_id`, as a ghost: what
/// mautrix-instagram did with the same registration.
struct Appservice {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Appservice {
    fn new(h: &Harness) -> Appservice {
        matrix_instagram::tls::ensure_crypto_provider();
        Appservice {
            base: h.homeserver.clone(),
            token: h.config.appservice.as_token.expose().to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        as_user: Option<&str>,
        body: Value,
    ) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body);
        if let Some(user) = as_user {
            req = req.query(&[("user_id", user)]);
        }
        let resp = req.send().await.expect("appservice request");
        let status = resp.status();
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success() || value["errcode"] == "M_USER_IN_USE",
            "{path}: {status} {value}"
        );
        value
    }

    async fn register(&self, localpart: &str) {
        self.call(
            reqwest::Method::POST,
            "/_matrix/client/v3/register",
            None,
            json!({"type": "m.login.application_service", "username": localpart}),
        )
        .await;
    }

    async fn create_dm(&self, ghost: &str, invite: &str, name: &str) -> String {
        let body = self
            .call(
                reqwest::Method::POST,
                "/_matrix/client/v3/createRoom",
                Some(ghost),
                json!({"invite": [invite], "is_direct": true, "preset": "private_chat",
                       "name": name}),
            )
            .await;
        body["room_id"].as_str().expect("room_id").to_string()
    }

    async fn send(&self, as_user: &str, room: &str, event_type: &str, content: Value) -> String {
        let txn = uuid::Uuid::new_v4().simple().to_string();
        let body = self
            .call(
                reqwest::Method::PUT,
                &format!("/_matrix/client/v3/rooms/{room}/send/{event_type}/{txn}"),
                Some(as_user),
                content,
            )
            .await;
        body["event_id"].as_str().expect("event_id").to_string()
    }

    async fn send_text(&self, as_user: &str, room: &str, text: &str) -> String {
        let content = json!({"msgtype": "m.text", "body": text});
        self.send(as_user, room, "m.room.message", content).await
    }

    /// The bot joins (a room it was invited to).
    async fn bot_join(&self, room: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/_matrix/client/v3/join/{room}"),
            None,
            json!({}),
        )
        .await;
    }
}

/// An item's timestamp (µs) in the fake Instagram.
fn item_timestamp(h: &Harness, thread: &str, item_id: &str) -> i64 {
    let items = h.world.ig.items(thread);
    let item = items
        .iter()
        .find(|i| i["item_id"] == item_id)
        .expect("the item");
    match &item["timestamp"] {
        Value::Number(n) => n.as_i64().expect("timestamp"),
        Value::String(s) => s.parse().expect("timestamp"),
        other => panic!("timestamp {other}"),
    }
}

async fn switch_from_mautrix(kind: Kind) {
    let tag = match kind {
        Kind::Sqlite => "imps",
        Kind::Postgres => "impp",
    };
    let mut h = harness(tag).await;
    let _schema = match kind {
        Kind::Sqlite => None,
        Kind::Postgres => {
            let schema = Schema::new("e2eimport");
            h.config.database.uri = schema.uri().into();
            Some(schema)
        }
    };
    let w = &h.world;
    let bot = h.config.bot_user_id();
    let base = 33_000_000_000 + i64::from(std::process::id() % 10_000) * 1000;
    let (me_pk, bob_pk, dead_pk) = match kind {
        Kind::Sqlite => (base + 10, base + 11, base + 12),
        Kind::Postgres => (base + 20, base + 21, base + 22),
    };
    w.ig.add_account(&format!("{tag}_me_{me_pk}"), "pw pw", me_pk);
    w.ig.add_account(&format!("{tag}_bob_{bob_pk}"), "x", bob_pk);
    w.ig.add_account(&format!("{tag}_dead_{dead_pk}"), "x", dead_pk);
    let thread = w.ig.add_thread(&[me_pk, bob_pk], None);
    let old_from_ig = w.ig.push_text(&thread, bob_pk, "old: from Instagram");
    let old_from_matrix = w.ig.push_text(&thread, me_pk, "old: from Matrix");
    let (sessionid, authorization) = w.ig.issue_session(me_pk);
    let (dead_sessionid, dead_authorization) = w.ig.issue_session(dead_pk);
    w.ig.kill_sessions(dead_pk, 1);

    // The rooms as mautrix-instagram made them, with the same registration.
    let asv = Appservice::new(&h);
    let ghost = h.ghost(bob_pk);
    let ghost_localpart = ghost
        .trim_start_matches('@')
        .split(':')
        .next()
        .expect("localpart")
        .to_string();
    asv.register(&ghost_localpart).await;
    let user = User::register(&h.homeserver, &unique(tag)).await;
    let room = asv.create_dm(&ghost, &user.user_id, "Bob").await;
    user.join(&room).await;
    let old_ig_event = asv.send_text(&ghost, &room, "old: from Instagram").await;
    let old_matrix_event = user.send_text(&room, "old: from Matrix").await;
    // Bob reacted to it on Instagram, and mautrix-instagram bridged the reaction.
    w.ig.react_as(bob_pk, &thread, &old_from_matrix, Some("❤️"));
    let old_reaction = asv
        .send(
            &ghost,
            &room,
            "m.reaction",
            json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": old_matrix_event,
                                    "key": "❤️"}}),
        )
        .await;
    let management = user.create_dm(&bot).await;
    asv.bot_join(&management).await;
    let dead = User::register(&h.homeserver, &unique(&format!("{tag}dead"))).await;
    let dead_management = dead.create_dm(&bot).await;
    asv.bot_join(&dead_management).await;

    // mautrix-instagram's database, written by mautrix-instagram.
    let now_ms = matrix_instagram::store::now_ms();
    let description = json!({
        "users": [
            {"mxid": user.user_id, "igpk": me_pk, "notice_room": management,
             "seq_id": w.ig.seq_id(), "snapshot_at_ms": now_ms, "device_seed": tag,
             "authorization": authorization, "ds_user_id": me_pk.to_string(),
             "cookies": {"sessionid": sessionid, "csrftoken": "csrf"}},
            {"mxid": dead.user_id, "igpk": dead_pk, "notice_room": dead_management,
             "seq_id": w.ig.seq_id(), "snapshot_at_ms": now_ms, "device_seed": "dead",
             "authorization": dead_authorization, "ds_user_id": dead_pk.to_string(),
             "cookies": {"sessionid": dead_sessionid}}
        ],
        "puppets": [
            {"pk": me_pk, "name": "Me", "username": format!("{tag}_me_{me_pk}")},
            {"pk": bob_pk, "name": "Bob", "username": format!("{tag}_bob_{bob_pk}"),
             "name_set": true}
        ],
        "portals": [
            {"thread_id": thread, "receiver": me_pk, "other_user_pk": bob_pk, "mxid": room,
             "name": "Bob", "name_set": true}
        ],
        "messages": [
            {"mxid": old_ig_event, "mx_room": room, "item_id": old_from_ig, "receiver": me_pk,
             "sender": bob_pk, "ig_timestamp": item_timestamp(&h, &thread, &old_from_ig)},
            {"mxid": old_matrix_event, "mx_room": room, "item_id": old_from_matrix,
             "receiver": me_pk, "sender": me_pk, "client_context": "6900000000000000001",
             "ig_timestamp": item_timestamp(&h, &thread, &old_from_matrix)}
        ],
        "reactions": [
            {"mxid": old_reaction, "mx_room": room, "ig_item_id": old_from_matrix,
             "ig_receiver": me_pk, "ig_sender": bob_pk, "reaction": "❤️",
             "mx_timestamp": now_ms}
        ]
    });
    let source = MautrixDb::create(kind, &description);
    let before = source.fingerprint();

    // The import, with the real binary.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_matrix-instagram"))
        .args([
            "import-mautrix",
            "-c",
            &h.config_path,
            "--from",
            &source.uri(),
        ])
        .env(
            "MATRIX_INSTAGRAM__DATABASE__URI",
            h.config.database.uri.expose(),
        )
        .output()
        .expect("run import-mautrix");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("portals (rooms)    1 imported"), "{stdout}");
    assert!(stdout.contains("Instagram logins   2 imported"), "{stdout}");
    assert!(stdout.contains("bridge bot         in 1 of 1"), "{stdout}");
    assert_eq!(source.fingerprint(), before, "the source did not change");
    // The bot, left out of DMs by mautrix-instagram, was let in by the contact's ghost.
    assert_eq!(
        user.membership_of(&room, &bot).await.as_deref(),
        Some("join")
    );

    let bridge = h.start().await;
    // A new Instagram message lands in the old room.
    w.ig.push_text(&thread, bob_pk, "new: after the switch");
    user.wait_for(&room, "a new Instagram message in the old room", |e| {
        body_is(e, "new: after the switch") && e["sender"] == ghost.as_str()
    })
    .await;
    // Connected without logging in. (The bot's welcome, for the join into the management
    // room done above while no bridge ran, may come before or after the answer.)
    let asked = user.send_text(&management, "ping").await;
    let pong = user
        .wait_for_notice_after(&management, &bot, Some(&asked), |b| b.contains("logged in"))
        .await;
    assert!(
        pong.contains(&format!("You're logged in as @{tag}_me_{me_pk}"))
            && pong.contains("Realtime connection: connected."),
        "{pong}"
    );

    // An Instagram reply to an imported message threads to its old event.
    w.ig.push_item(
        &thread,
        bob_pk,
        "text",
        json!({"text": "new: a reply from Instagram",
               "replied_to_message": {"item_id": old_from_ig, "user_id": bob_pk,
                                      "text": "old: from Instagram", "item_type": "text",
                                      "timestamp": item_timestamp(&h, &thread, &old_from_ig)}}),
    );
    let reply = user
        .wait_for(&room, "the Instagram reply", |e| {
            e["content"]["body"]
                .as_str()
                .is_some_and(|b| b.contains("new: a reply from Instagram"))
        })
        .await;
    assert_eq!(
        reply["content"]["m.relates_to"]["m.in_reply_to"]["event_id"], old_ig_event,
        "{reply}"
    );

    // A Matrix reply to an imported message goes to Instagram as a reply to its old item.
    user.send_event(
        &room,
        "m.room.message",
        json!({"msgtype": "m.text", "body": "new: a reply from Matrix",
               "m.relates_to": {"m.in_reply_to": {"event_id": old_matrix_event}}}),
    )
    .await;
    wait_until("the Matrix reply on Instagram", || {
        w.ig.items(&thread).iter().any(|i| {
            i["text"] == "new: a reply from Matrix"
                && i["replied_to_message"]["item_id"] == old_from_matrix.as_str()
        })
    })
    .await;

    // Bob takes his old reaction back, and unsends his old message: the old events go.
    w.react(bob_pk, &thread, &old_from_matrix, None);
    user.wait_redacted(&room, &old_reaction).await;
    assert!(w.ig.remove_item(&thread, &old_from_ig));
    user.wait_redacted(&room, &old_ig_event).await;

    // The old history was not bridged again, and no old message was "edited" by the update
    // Instagram sent with the reaction change (a sentinel after it has crossed).
    w.ig.push_text(&thread, bob_pk, "new: sentinel");
    user.wait_for(&room, "the sentinel", |e| body_is(e, "new: sentinel"))
        .await;
    let timeline = user.full_timeline(&room).await;
    let n = timeline
        .iter()
        .filter(|e| body_is(e, "old: from Matrix"))
        .count();
    assert_eq!(n, 1, "the old message appears {n} times");
    let edits: Vec<&Value> = timeline
        .iter()
        .filter(|e| e["content"]["m.relates_to"]["rel_type"] == "m.replace")
        .collect();
    assert!(edits.is_empty(), "no edit of an old message: {edits:?}");

    // The user whose session died is told so, in their management room.
    let notice = dead
        .wait_for_notice_after(&dead_management, &bot, None, |b| {
            b.contains("logged out of Instagram")
        })
        .await;
    assert!(notice.contains("`login`"), "{notice}");
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_from_mautrix_instagram_on_sqlite_keeps_the_rooms_and_the_login() {
    switch_from_mautrix(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_from_mautrix_instagram_on_postgres_keeps_the_rooms_and_the_login() {
    switch_from_mautrix(Kind::Postgres).await;
}
