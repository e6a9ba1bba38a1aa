//! The bridge end to end: a Matrix user logs in to the fake Instagram through the bot, gets a
//! room per thread, and messages, reactions, unsends and read markers cross both ways.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::env;
use crate::matrix_client::{User, unique};

pub(crate) fn bot_id() -> String {
    env().config.bot_user_id()
}

pub(crate) fn unique_pk() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let base = (std::process::id() as i64 % 10_000) * 1_000_000 + 17_000_000_000;
    base + NEXT.fetch_add(1, Ordering::SeqCst)
}

pub(crate) fn ghost(pk: i64) -> String {
    format!("@instagram_{pk}:{}", env().config.homeserver.domain)
}

pub(crate) fn body_is(e: &Value, body: &str) -> bool {
    e["type"] == "m.room.message" && e["content"]["body"] == body
}

pub(crate) async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Logs a fresh Matrix user in to a fresh Instagram account with one DM thread; returns the
/// user, their management room, the portal room, and the Instagram ids.
pub(crate) struct Scene {
    pub(crate) user: User,
    pub(crate) management: String,
    pub(crate) portal: String,
    pub(crate) me_pk: i64,
    pub(crate) bob_pk: i64,
    pub(crate) thread: String,
}

pub(crate) async fn scene(history: &[&str]) -> Scene {
    let env = env();
    let w = &env.world;
    let bot = bot_id();
    let me_pk = unique_pk();
    let bob_pk = unique_pk();
    let me_name = format!("me_{me_pk}");
    let bob_name = format!("bob_{bob_pk}");
    w.ig.add_account(&me_name, "correct horse battery", me_pk);
    w.ig.add_account(&bob_name, "unused", bob_pk);
    let thread = w.ig.add_thread(&[me_pk, bob_pk], None);
    for text in history {
        w.ig.push_text(&thread, bob_pk, text);
    }

    let user = User::register(&env.homeserver, &unique("igu")).await;
    let management = user.create_dm(&bot).await;
    user.wait_for_notice_after(&management, &bot, None, |b| {
        b.contains("Instagram bridge bot")
    })
    .await;
    let login = user
        .send_text(
            &management,
            &format!("login {me_name} correct horse battery"),
        )
        .await;
    let answer = user
        .wait_for_notice_after(&management, &bot, Some(&login), |b| {
            b.starts_with("Successfully logged in")
        })
        .await;
    assert_eq!(answer, format!("Successfully logged in as @{me_name}."));
    // The message holding the password is gone from the room.
    user.wait_redacted(&management, &login).await;

    let expected_name = format!("{bob_name} full");
    let portal = user
        .wait_for_invite("the DM portal", |events| {
            events.iter().any(|e| {
                e["type"] == "m.room.name" && e["content"]["name"] == expected_name.as_str()
            })
        })
        .await;
    user.join(&portal).await;
    // The first sync is over (told once it is), so later answers of the bot are not confused
    // with its progress notices.
    user.wait_for_notice_after(&management, &bot, Some(&login), |b| {
        b.starts_with("Done: 1 conversation bridged.")
    })
    .await;
    Scene {
        user,
        management,
        portal,
        me_pk,
        bob_pk,
        thread,
    }
}

#[tokio::test]
async fn login_creates_portals_with_history_and_messages_cross_both_ways() {
    let env = env();
    let w = &env.world;
    let s = scene(&["hello from before", "second old message"]).await;
    let bob = ghost(s.bob_pk);

    // Backfill: the history, in order, from the contact's ghost, with Instagram's timestamps.
    let first = s
        .user
        .wait_for(&s.portal, "the backfilled history", |e| {
            body_is(e, "second old message")
        })
        .await;
    let timeline = s.user.timeline(&s.portal).await;
    let history: Vec<&Value> = timeline
        .iter()
        .filter(|e| e["type"] == "m.room.message" && e["sender"] == bob.as_str())
        .collect();
    assert_eq!(
        history
            .iter()
            .map(|e| e["content"]["body"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        vec!["hello from before", "second old message"]
    );
    let items = w.ig.items(&s.thread);
    let ig_ts_ms = items[1]["timestamp"].as_i64().unwrap_or_default() / 1000;
    assert_eq!(
        first["origin_server_ts"].as_i64(),
        Some(ig_ts_ms),
        "original timestamp kept"
    );
    // The room is marked as a bridge room.
    assert_eq!(
        s.user.display_name(&bob).await.as_deref(),
        Some(format!("bob_{} full (Instagram)", s.bob_pk).as_str())
    );

    // Instagram → Matrix, live over the realtime connection.
    let live_id =
        w.ig.push_text(&s.thread, s.bob_pk, "live hello <b>not bold</b>");
    let live = s
        .user
        .wait_for(&s.portal, "the live message", |e| {
            body_is(e, "live hello <b>not bold</b>")
        })
        .await;
    assert_eq!(live["sender"], bob.as_str());
    assert!(
        live["content"].get("formatted_body").is_none(),
        "never interpreted as HTML"
    );

    // Matrix → Instagram over the realtime connection, and its echo is not bridged back.
    let mine = s.user.send_text(&s.portal, "hi from matrix").await;
    wait_until("the send on /ig_send_message", || async {
        w.sent_commands(s.me_pk)
            .iter()
            .any(|c| c["action"] == "send_item" && c["text"] == "hi from matrix")
    })
    .await;
    let cmd = w
        .sent_commands(s.me_pk)
        .into_iter()
        .find(|c| c["text"] == "hi from matrix")
        .unwrap_or_default();
    assert_eq!(cmd["thread_id"], s.thread.as_str());
    assert_eq!(cmd["item_type"], "text");
    assert!(
        cmd["client_context"]
            .as_str()
            .is_some_and(|c| c.len() >= 18),
        "{cmd}"
    );
    // A reply from Matrix carries the replied item.
    let reply = s
        .user
        .send_event(
            &s.portal,
            "m.room.message",
            json!({
                "msgtype": "m.text",
                "body": "> <@x:y> live hello\n\nanswering",
                "m.relates_to": {"m.in_reply_to": {"event_id": live["event_id"]}},
            }),
        )
        .await;
    wait_until("the reply on /ig_send_message", || async {
        w.sent_commands(s.me_pk)
            .iter()
            .any(|c| c["text"] == "answering")
    })
    .await;
    let cmd = w
        .sent_commands(s.me_pk)
        .into_iter()
        .find(|c| c["text"] == "answering")
        .unwrap_or_default();
    assert_eq!(cmd["replied_to_item_id"], live_id.as_str(), "{cmd}");
    // The echoes come before a sentinel sent after them (one conversation, applied in
    // order): once it is in the room, nothing can still be doubled.
    w.ig.push_text(&s.thread, s.bob_pk, "sentinel after the echoes");
    s.user
        .wait_for(&s.portal, "the sentinel after the echoes", |e| {
            body_is(e, "sentinel after the echoes")
        })
        .await;
    let timeline = s.user.timeline(&s.portal).await;
    for (body, event) in [("hi from matrix", &mine), ("answering", &reply)] {
        let copies: Vec<&Value> = timeline
            .iter()
            .filter(|e| {
                e["type"] == "m.room.message"
                    && e["content"]["body"]
                        .as_str()
                        .is_some_and(|b| b.ends_with(body))
            })
            .collect();
        assert_eq!(copies.len(), 1, "{body} appears once: {copies:?}");
        assert_eq!(copies[0]["event_id"], event.as_str());
    }

    // Instagram reaction → Matrix reaction from the ghost; removal → redaction.
    w.react(s.bob_pk, &s.thread, &live_id, Some("😂"));
    let reaction = s
        .user
        .wait_for(&s.portal, "the reaction", |e| {
            e["type"] == "m.reaction" && e["content"]["m.relates_to"]["key"] == "😂"
        })
        .await;
    assert_eq!(reaction["sender"], bob.as_str());
    assert_eq!(
        reaction["content"]["m.relates_to"]["event_id"],
        live["event_id"]
    );
    w.react(s.bob_pk, &s.thread, &live_id, None);
    let reaction_id = reaction["event_id"].as_str().unwrap_or_default();
    s.user.wait_redacted(&s.portal, reaction_id).await;
    // Redacted by the ghost who reacted, not by the bot.
    let redacted = s.user.event(&s.portal, reaction_id).await;
    assert_eq!(
        redacted["unsigned"]["redacted_because"]["sender"],
        bob.as_str(),
        "{redacted}"
    );

    // Matrix reaction → Instagram reaction.
    s.user
        .send_event(
            &s.portal,
            "m.reaction",
            json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": live["event_id"], "key": "👍"}}),
        )
        .await;
    wait_until("the reaction command", || async {
        w.sent_commands(s.me_pk).iter().any(|c| {
            c["item_type"] == "reaction" && c["emoji"] == "👍" && c["item_id"] == live_id.as_str()
        })
    })
    .await;

    // Unsend on Instagram → redaction in Matrix.
    assert!(w.ig.remove_item(&s.thread, &live_id));
    s.user
        .wait_redacted(&s.portal, live["event_id"].as_str().unwrap_or_default())
        .await;

    // ping tells the truth.
    let asked = s.user.send_text(&s.management, "ping").await;
    let pong = s
        .user
        .wait_for_notice_after(&s.management, &bot_id(), Some(&asked), |_| true)
        .await;
    assert!(pong.contains(&format!("@me_{}", s.me_pk)), "{pong}");
    assert!(pong.contains("Realtime connection: connected."), "{pong}");
}

#[tokio::test]
async fn read_markers_cross_from_instagram() {
    let env = env();
    let w = &env.world;
    let s = scene(&["are you there?"]).await;
    let item = w.ig.items(&s.thread)[0]["item_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let backfilled = s
        .user
        .wait_for(&s.portal, "the history", |e| body_is(e, "are you there?"))
        .await;
    let target = backfilled["event_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(w.ig.mark_seen_as(s.bob_pk, &s.thread, &item));
    s.user
        .wait_for_receipt(&s.portal, &ghost(s.bob_pk), &target)
        .await;
}

#[tokio::test]
async fn login_with_two_factor_and_wrong_passwords() {
    use crate::support::fake_instagram::TwoFactor;
    let env = env();
    let w = &env.world;
    let bot = bot_id();
    let pk = unique_pk();
    let name = format!("tf_{pk}");
    w.ig.add_account(&name, "s3cret pass", pk);
    w.ig.set_two_factor(
        &name,
        TwoFactor {
            totp_code: Some("123456".into()),
            ..Default::default()
        },
    );
    let user = User::register(&env.homeserver, &unique("tfu")).await;
    let room = user.create_dm(&bot).await;
    user.wait_for_notice_after(&room, &bot, None, |b| b.contains("Instagram bridge bot"))
        .await;

    // A wrong password is refused with Instagram's reason, and the message is removed.
    let wrong = user.send_text(&room, &format!("login {name} nope")).await;
    let answer = user
        .wait_for_notice_after(&room, &bot, Some(&wrong), not_under_way)
        .await;
    assert!(answer.starts_with("Login failed:"), "{answer}");
    user.wait_redacted(&room, &wrong).await;

    // Step by step: username, password (removed), then the authenticator code.
    let asked = user.send_text(&room, "login").await;
    user.wait_for_notice_after(&room, &bot, Some(&asked), |b| b.contains("username"))
        .await;
    let asked = user.send_text(&room, &name).await;
    user.wait_for_notice_after(&room, &bot, Some(&asked), |b| b.contains("password"))
        .await;
    let secret = user.send_text(&room, "s3cret pass").await;
    let prompt = user
        .wait_for_notice_after(&room, &bot, Some(&secret), not_under_way)
        .await;
    assert!(prompt.contains("authenticator app"), "{prompt}");
    user.wait_redacted(&room, &secret).await;
    let bad = user.send_text(&room, "000000").await;
    let retry = user
        .wait_for_notice_after(&room, &bot, Some(&bad), |_| true)
        .await;
    assert!(retry.contains("Send the code again"), "{retry}");
    let good = user.send_text(&room, "123456").await;
    let done = user
        .wait_for_notice_after(&room, &bot, Some(&good), |_| true)
        .await;
    assert!(
        done.starts_with(&format!("Successfully logged in as @{name}")),
        "{done}"
    );
    // The password never appears in what the user's client can see.
    let timeline = user.timeline(&room).await;
    assert!(
        !serde_json::to_string(&timeline)
            .unwrap_or_default()
            .contains("s3cret"),
        "the password is gone from the room"
    );
}

#[tokio::test]
async fn edits_typing_receipts_unsends_and_failures() {
    let env = env();
    let w = &env.world;
    let s = scene(&["first"]).await;
    let bob = ghost(s.bob_pk);
    s.user
        .wait_for(&s.portal, "the history", |e| body_is(e, "first"))
        .await;

    // An edit on Instagram becomes an m.replace of the bridged event.
    let typo_id = w.ig.push_text(&s.thread, s.bob_pk, "teh typo");
    let typo = s
        .user
        .wait_for(&s.portal, "the typo", |e| body_is(e, "teh typo"))
        .await;
    let mut edited =
        w.ig.items(&s.thread)
            .into_iter()
            .find(|i| i["item_id"] == typo_id.as_str())
            .unwrap_or_default();
    edited["text"] = json!("the typo, fixed");
    w.broker.push_patch(
        s.me_pk,
        "replace",
        &format!("/direct_v2/threads/{}/items/{typo_id}", s.thread),
        &edited.to_string(),
    );
    let edit = s
        .user
        .wait_for(&s.portal, "the edit", |e| {
            e["content"]["m.relates_to"]["rel_type"] == "m.replace"
        })
        .await;
    assert_eq!(
        edit["content"]["m.relates_to"]["event_id"],
        typo["event_id"]
    );
    assert_eq!(edit["content"]["m.new_content"]["body"], "the typo, fixed");
    assert_eq!(edit["sender"], bob.as_str());

    // Your own message sent from the Instagram app shows up as your Instagram ghost.
    w.ig.send_item_as(
        s.me_pk,
        &s.thread,
        "text",
        json!({"text": "sent from my phone"}),
        "7000000000000000123",
    );
    let phone = s
        .user
        .wait_for(&s.portal, "the message from the app", |e| {
            body_is(e, "sent from my phone")
        })
        .await;
    assert_eq!(phone["sender"], ghost(s.me_pk).as_str());

    // Typing both ways.
    w.ig.set_typing_as(s.bob_pk, &s.thread, true);
    s.user.wait_for_typing(&s.portal, &bob).await;
    s.user.set_typing(&s.portal, true).await;
    wait_until("indicate_activity on Instagram", || async {
        w.sent_commands(s.me_pk).iter().any(|c| {
            c["action"] == "indicate_activity"
                && c["thread_id"] == s.thread.as_str()
                && (c["activity_status"] == 1 || c["activity_status"] == "1")
        })
    })
    .await;

    // A Matrix read receipt marks the item seen on Instagram.
    s.user
        .send_receipt(&s.portal, typo["event_id"].as_str().unwrap_or_default())
        .await;
    wait_until("mark_seen on Instagram", || async {
        w.sent_commands(s.me_pk)
            .iter()
            .any(|c| c["action"] == "mark_seen" && c["item_id"] == typo_id.as_str())
    })
    .await;

    // Redacting your own message unsends it on Instagram.
    let oops = s.user.send_text(&s.portal, "oops").await;
    wait_until("the item on Instagram", || async {
        w.ig.items(&s.thread).iter().any(|i| i["text"] == "oops")
    })
    .await;
    let oops_id =
        w.ig.items(&s.thread)
            .into_iter()
            .find(|i| i["text"] == "oops")
            .and_then(|i| i["item_id"].as_str().map(str::to_string))
            .unwrap_or_default();
    // Wait until the bridge recorded the mapping (the send status arrives after it).
    s.user
        .wait_for(&s.portal, "the send status", |e| {
            e["type"] == "com.beeper.message_send_status"
                && e["content"]["m.relates_to"]["event_id"] == oops.as_str()
        })
        .await;
    s.user.redact(&s.portal, &oops).await;
    wait_until("the unsend on Instagram", || async {
        !w.ig
            .items(&s.thread)
            .iter()
            .any(|i| i["item_id"] == oops_id.as_str())
    })
    .await;
    assert!(
        w.ig.requests_to(&format!("items/{oops_id}/delete/")).len() == 1,
        "one unsend request"
    );

    // A send Instagram refuses is reported in the room, never silently dropped.
    w.refuse_sends(s.me_pk, Some("thread is locked"));
    let refused = s.user.send_text(&s.portal, "this one fails").await;
    let notice = s
        .user
        .wait_for_notice_after(&s.portal, &bot_id(), Some(&refused), |b| {
            b.contains("not delivered")
        })
        .await;
    assert!(notice.contains("thread is locked"), "{notice}");
    let status = s
        .user
        .wait_for(&s.portal, "the failure status", |e| {
            e["type"] == "com.beeper.message_send_status"
                && e["content"]["m.relates_to"]["event_id"] == refused.as_str()
        })
        .await;
    assert_eq!(status["content"]["status"], "FAIL");
    w.refuse_sends(s.me_pk, None);
}

#[tokio::test]
async fn group_threads_become_shared_rooms_with_every_member() {
    let env = env();
    let w = &env.world;
    let s = scene(&[]).await;
    let carol_pk = unique_pk();
    w.ig.add_account(&format!("carol_{carol_pk}"), "unused", carol_pk);
    let group =
        w.ig.add_thread(&[s.bob_pk, s.me_pk, carol_pk], Some("Weekend plans"));
    let photo = {
        let img = image::RgbImage::from_pixel(24, 24, image::Rgb([10, 120, 200]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg)
            .expect("jpeg");
        out.into_inner()
    };
    w.ig.set_thread_image(&group, photo.clone(), 24, 24);
    // A new thread appears by its first message over the realtime connection.
    w.ig.push_text(&group, carol_pk, "who's in?");
    let room = s
        .user
        .wait_for_invite("the group portal", |events| {
            events
                .iter()
                .any(|e| e["type"] == "m.room.name" && e["content"]["name"] == "Weekend plans")
        })
        .await;
    s.user.join(&room).await;
    let first = s
        .user
        .wait_for(&room, "the group message", |e| body_is(e, "who's in?"))
        .await;
    assert_eq!(first["sender"], ghost(carol_pk).as_str());
    // The group's photo is the room's avatar.
    let avatar = s
        .user
        .wait_for(&room, "the group photo", |e| e["type"] == "m.room.avatar")
        .await;
    let mxc = avatar["content"]["url"].as_str().unwrap_or_default();
    assert_eq!(s.user.download(mxc).await, photo);
    for member in [ghost(s.bob_pk), ghost(carol_pk)] {
        s.user.wait_membership(&room, &member, "join").await;
    }
    let mine = s.user.send_text(&room, "me!").await;
    wait_until("the group send", || async {
        w.ig.items(&group)
            .iter()
            .any(|i| i["text"] == "me!" && i["user_id"] == s.me_pk)
    })
    .await;
    // Its echo comes before a sentinel sent after it.
    w.ig.push_text(&group, s.bob_pk, "sentinel after the group echo");
    s.user
        .wait_for(&room, "the sentinel after the group echo", |e| {
            body_is(e, "sentinel after the group echo")
        })
        .await;
    let copies = s
        .user
        .timeline(&room)
        .await
        .into_iter()
        .filter(|e| body_is(e, "me!"))
        .count();
    assert_eq!(copies, 1, "the echo is not bridged back");
    let _ = mine;

    // On Instagram, Bob adds Dave, removes Carol and renames the group: the room follows.
    let dave_pk = unique_pk();
    w.ig.add_account(&format!("dave_{dave_pk}"), "unused", dave_pk);
    assert!(w.ig.change_group_as(
        s.bob_pk,
        &group,
        &[dave_pk],
        &[carol_pk],
        Some("Long weekend")
    ));
    s.user
        .wait_for(&room, "the rename from Instagram", |e| {
            e["type"] == "m.room.name" && e["content"]["name"] == "Long weekend"
        })
        .await;
    s.user.wait_membership(&room, &ghost(dave_pk), "join").await;
    s.user
        .wait_membership(&room, &ghost(carol_pk), "leave")
        .await;
    let log = s
        .user
        .wait_for(&room, "the action log notice", |e| {
            e["content"]["msgtype"] == "m.notice"
                && e["content"]["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("named the group Long weekend"))
        })
        .await;
    assert_eq!(log["sender"], ghost(s.bob_pk).as_str());

    // Renaming the room renames the group on Instagram.
    s.user
        .set_state(&room, "m.room.name", json!({"name": "Beach day"}))
        .await;
    wait_until("the rename on Instagram", || async {
        w.ig.thread(&group).and_then(|t| t.title).as_deref() == Some("Beach day")
    })
    .await;
}

#[tokio::test]
async fn message_requests_wait_for_accept() {
    // The e2e config holds message requests (`bridge.message_requests: hold`).
    let env = env();
    let w = &env.world;
    let bot = bot_id();
    let s = scene(&[]).await;
    let stranger = unique_pk();
    let stranger_name = format!("stranger_{stranger}");
    w.ig.add_account(&stranger_name, "unused", stranger);
    let thread = w.ig.add_thread(&[stranger, s.me_pk], None);
    w.ig.set_pending(&thread, s.me_pk);
    w.ig.push_text(&thread, stranger, "hi, we haven't met");

    let notice = s
        .user
        .wait_for_notice_after(&s.management, &bot, None, |b| {
            b.contains("New message request")
        })
        .await;
    assert!(notice.contains(&format!("@{stranger_name}")), "{notice}");
    assert!(notice.contains(&format!("accept {thread}")), "{notice}");

    let asked = s.user.send_text(&s.management, "requests").await;
    let list = s
        .user
        .wait_for_notice_after(&s.management, &bot, Some(&asked), |_| true)
        .await;
    assert!(list.contains(&thread), "{list}");

    let asked = s
        .user
        .send_text(&s.management, &format!("accept {thread}"))
        .await;
    let ok = s
        .user
        .wait_for_notice_after(&s.management, &bot, Some(&asked), |_| true)
        .await;
    assert!(ok.starts_with("Accepted"), "{ok}");
    let expected = format!("{stranger_name} full");
    let room = s
        .user
        .wait_for_invite("the accepted request", |events| {
            events
                .iter()
                .any(|e| e["type"] == "m.room.name" && e["content"]["name"] == expected.as_str())
        })
        .await;
    s.user.join(&room).await;
    s.user
        .wait_for(&room, "the request's message", |e| {
            body_is(e, "hi, we haven't met")
        })
        .await;
    assert!(
        !w.ig
            .thread(&thread)
            .is_some_and(|t| t.pending_for.contains(&s.me_pk)),
        "approved on Instagram"
    );
}

/// Whether a notice is more than "Logging in to Instagram as @…" (said at once on `login`).
pub(crate) fn not_under_way(body: &str) -> bool {
    !body.starts_with("Logging in to Instagram as @")
}

/// Sends a command in the management room and returns the bot's answer (after the notice
/// that a login is under way, if any).
pub(crate) async fn ask(user: &User, room: &str, command: &str) -> String {
    let asked = user.send_text(room, command).await;
    user.wait_for_notice_after(room, &bot_id(), Some(&asked), not_under_way)
        .await
}

#[tokio::test]
async fn cookie_login_search_pm_and_logout() {
    let env = env();
    let w = &env.world;
    let bot = bot_id();
    let pk = unique_pk();
    let name = format!("ck_{pk}");
    let friend = unique_pk();
    let friend_name = format!("friend_{friend}");
    w.ig.add_account(&name, "unused", pk);
    w.ig.add_account(&friend_name, "unused", friend);
    let (_sessionid, authorization) = w.ig.issue_session(pk);

    let user = User::register(&env.homeserver, &unique("cku")).await;
    let room = user.create_dm(&bot).await;
    user.wait_for_notice_after(&room, &bot, None, |b| b.contains("Instagram bridge bot"))
        .await;
    let asked = user
        .send_text(&room, &format!("login-cookies {authorization}"))
        .await;
    let answer = user
        .wait_for_notice_after(&room, &bot, Some(&asked), |_| true)
        .await;
    assert!(
        answer.starts_with(&format!("Successfully logged in as @{name}")),
        "{answer}"
    );
    user.wait_for_notice_after(&room, &bot, Some(&asked), |b| {
        b.starts_with("You have no recent conversations")
    })
    .await;
    user.wait_redacted(&room, &asked).await;

    let found = ask(&user, &room, &format!("search {friend_name}")).await;
    assert!(found.contains(&format!("`{friend_name}`")), "{found}");
    assert!(found.contains(&friend.to_string()), "{found}");

    // `pm` opens the chat's room.
    let thread = w.ig.add_thread(&[pk, friend], None);
    let opened = ask(&user, &room, &format!("pm {friend_name}")).await;
    assert!(opened.starts_with("Opening the chat"), "{opened}");
    let expected = format!("{friend_name} full");
    let portal = user
        .wait_for_invite("the pm portal", |events| {
            events
                .iter()
                .any(|e| e["type"] == "m.room.name" && e["content"]["name"] == expected.as_str())
        })
        .await;
    user.join(&portal).await;
    user.send_text(&portal, "opened with pm").await;
    wait_until("the pm send", || async {
        w.ig.items(&thread)
            .iter()
            .any(|i| i["text"] == "opened with pm")
    })
    .await;

    // logout ends the session on Instagram and here.
    assert_eq!(
        ask(&user, &room, "logout").await,
        "Logged out of Instagram."
    );
    assert!(
        w.ig.requests_to("accounts/logout/")
            .iter()
            .any(|r| r.status == 200),
        "the logout reached Instagram"
    );
    assert_eq!(ask(&user, &room, "ping").await, "You're not logged in.");
}

#[tokio::test]
async fn login_through_a_challenge() {
    use crate::support::fake_instagram::Challenge;
    let env = env();
    let w = &env.world;
    let bot = bot_id();
    let pk = unique_pk();
    let name = format!("ch_{pk}");
    w.ig.add_account(&name, "pass word", pk);
    w.ig.set_challenge(
        &name,
        Some(Challenge {
            code: "424242".into(),
            first_step: "select_verify_method".into(),
        }),
    );
    let user = User::register(&env.homeserver, &unique("chu")).await;
    let room = user.create_dm(&bot).await;
    user.wait_for_notice_after(&room, &bot, None, |b| b.contains("Instagram bridge bot"))
        .await;
    let first = ask(&user, &room, &format!("login {name} pass word")).await;
    // The prompt lists the choices it accepts, with where each one goes.
    assert!(
        first.contains("`sms` (to +1 ***-***-**12) or `email` (to a***e@example.org)"),
        "{first}"
    );
    // A code before choosing gets a clear answer, and the choice is still open.
    let early = ask(&user, &room, "424242").await;
    assert!(
        early.starts_with("Instagram has not sent you a code yet: first choose"),
        "{early}"
    );
    let sent = ask(&user, &room, "email").await;
    assert!(sent.contains("security code"), "{sent}");
    let wrong = ask(&user, &room, "111111").await;
    assert!(wrong.contains("Send the code again"), "{wrong}");
    let done = ask(&user, &room, "424242").await;
    assert!(
        done.starts_with(&format!("Successfully logged in as @{name}")),
        "{done}"
    );
}

#[tokio::test]
async fn a_session_killed_on_instagram_logs_the_user_out_with_a_notice() {
    let env = env();
    let w = &env.world;
    let s = scene(&[]).await;
    // Instagram logs the session out (password changed elsewhere) and drops the connection.
    w.ig.kill_sessions(s.me_pk, 1);
    assert!(
        w.broker.drop_connections(s.me_pk) >= 1,
        "the bridge was connected"
    );
    // The reconnect is refused (CONNACK 5); the HTTP probe confirms the session is dead.
    let notice = s
        .user
        .wait_for_notice_after(&s.management, &bot_id(), None, |b| {
            b.contains("You were logged out of Instagram")
        })
        .await;
    assert!(notice.contains("`login`"), "{notice}");
    assert_eq!(
        ask(&s.user, &s.management, "ping").await,
        "You're not logged in."
    );
    // Told once: the session's end is handled before the user is stopped, so once another
    // command is answered (a sentinel after it), nothing more can come.
    assert_eq!(
        ask(&s.user, &s.management, "ping").await,
        "You're not logged in."
    );
    let told = s
        .user
        .timeline(&s.management)
        .await
        .iter()
        .filter(|e| {
            e["content"]["body"]
                .as_str()
                .is_some_and(|b| b.contains("You were logged out of Instagram"))
        })
        .count();
    assert_eq!(told, 1, "the user is told exactly once");
}

#[tokio::test]
async fn an_ack_without_item_id_is_completed_by_the_echo() {
    let env = env();
    let w = &env.world;
    let s = scene(&[]).await;
    w.bare_acks(s.me_pk, true);
    let sent = s.user.send_text(&s.portal, "ack without id").await;
    wait_until("the item on Instagram", || async {
        w.ig.items(&s.thread)
            .iter()
            .any(|i| i["text"] == "ack without id")
    })
    .await;
    let item_id =
        w.ig.items(&s.thread)
            .into_iter()
            .find(|i| i["text"] == "ack without id")
            .and_then(|i| i["item_id"].as_str().map(str::to_string))
            .unwrap_or_default();
    // Once the echo has arrived (it comes before a sentinel sent after it), a reaction on
    // that item finds the Matrix event.
    w.ig.push_text(&s.thread, s.bob_pk, "sentinel after the bare ack");
    s.user
        .wait_for(&s.portal, "the sentinel after the bare ack", |e| {
            body_is(e, "sentinel after the bare ack")
        })
        .await;
    w.react(s.bob_pk, &s.thread, &item_id, Some("🔥"));
    let reaction = s
        .user
        .wait_for(&s.portal, "the reaction on the sent message", |e| {
            e["type"] == "m.reaction" && e["content"]["m.relates_to"]["key"] == "🔥"
        })
        .await;
    assert_eq!(
        reaction["content"]["m.relates_to"]["event_id"],
        sent.as_str()
    );
    w.bare_acks(s.me_pk, false);
}

#[tokio::test]
async fn matrix_edits_and_the_reconnect_and_sync_commands() {
    let w = &env().world;
    let s = scene(&[]).await;
    let me = ghost(s.me_pk);
    let orig = s.user.send_text(&s.portal, "helo wrld").await;
    let find_mine = || {
        w.ig.items(&s.thread)
            .into_iter()
            .find(|i| i["user_id"] == s.me_pk && i["item_type"] == "text")
    };
    wait_until("the message on Instagram", || async {
        find_mine().is_some()
    })
    .await;

    // An edit from Matrix edits the Instagram message, and its echo is not bridged back.
    let edit = s
        .user
        .send_event(
            &s.portal,
            "m.room.message",
            json!({"msgtype": "m.text", "body": "* hello world",
                   "m.new_content": {"msgtype": "m.text", "body": "hello world"},
                   "m.relates_to": {"rel_type": "m.replace", "event_id": orig}}),
        )
        .await;
    wait_until("the edit on Instagram", || async {
        find_mine().is_some_and(|i| i["text"] == "hello world" && i["edit_count"] == 1)
    })
    .await;
    s.user
        .wait_for(&s.portal, "the edit's delivery status", |e| {
            e["type"] == "com.beeper.message_send_status"
                && e["content"]["m.relates_to"]["event_id"] == edit.as_str()
                && e["content"]["status"] == "SUCCESS"
        })
        .await;
    // A reaction on Instagram replaces the item there; that is not an edit either.
    let item_id = find_mine()
        .and_then(|i| i["item_id"].as_str().map(str::to_string))
        .unwrap_or_default();
    w.react(s.bob_pk, &s.thread, &item_id, Some("👍"));
    s.user
        .wait_for(&s.portal, "the reaction", |e| {
            e["type"] == "m.reaction" && e["content"]["m.relates_to"]["key"] == "👍"
        })
        .await;
    // The reaction's echo (the replaced item) comes before a sentinel sent after it.
    w.ig.push_text(&s.thread, s.bob_pk, "sentinel after the reaction");
    s.user
        .wait_for(&s.portal, "the sentinel after the reaction", |e| {
            body_is(e, "sentinel after the reaction")
        })
        .await;
    let echoed = s.user.timeline(&s.portal).await.into_iter().any(|e| {
        e["sender"] == me.as_str() && e["content"]["m.relates_to"]["rel_type"] == "m.replace"
    });
    assert!(!echoed, "the edit came back from Instagram as a new edit");

    // A reaction Instagram refuses as an emoji is removed, and the user is told why.
    w.refuse_sends(s.me_pk, Some("invalid unicode emoji"));
    let bad = s
        .user
        .send_event(
            &s.portal,
            "m.reaction",
            json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": orig, "key": "lol"}}),
        )
        .await;
    s.user
        .wait_for(&s.portal, "the refused-emoji notice", |e| {
            body_is(
                e,
                "Instagram doesn't accept lol as a reaction, so it was removed.",
            )
        })
        .await;
    s.user.wait_redacted(&s.portal, &bad).await;
    w.refuse_sends(s.me_pk, None);

    // `reconnect` reconnects, and messages keep flowing.
    assert_eq!(
        ask(&s.user, &s.management, "reconnect").await,
        "Reconnecting to Instagram."
    );
    w.ig.push_text(&s.thread, s.bob_pk, "after the reconnect");
    s.user
        .wait_for(&s.portal, "a message after the reconnect", |e| {
            body_is(e, "after the reconnect")
        })
        .await;
    // `sync` re-reads the inbox.
    let answer = ask(&s.user, &s.management, "sync").await;
    assert!(answer.starts_with("Catching up on "), "{answer}");
}
