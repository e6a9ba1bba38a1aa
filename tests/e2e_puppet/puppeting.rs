//! What a user with double puppeting sees.

use serde_json::Value;

use crate::{env, unique_pk, wait_until};

const SOURCE_KEY: &str = "fi.mau.double_puppet_source";

fn ghost(pk: i64) -> String {
    format!("@instagram_{pk}:{}", env().config.homeserver.domain)
}

fn body_is(e: &Value, body: &str) -> bool {
    e["type"] == "m.room.message" && e["content"]["body"] == body
}

#[tokio::test]
async fn own_instagram_activity_appears_as_the_user_once_and_portals_are_joined() {
    let env = env();
    let w = &env.world;
    let (me_pk, bob_pk) = (unique_pk(), unique_pk());
    let (me_name, bob_name) = (format!("me_{me_pk}"), format!("bob_{bob_pk}"));
    w.ig.add_account(&me_name, "correct horse battery", me_pk);
    w.ig.add_account(&bob_name, "unused", bob_pk);
    let thread = w.ig.add_thread(&[me_pk, bob_pk], None);
    w.ig.push_text(&thread, bob_pk, "hello from before");

    let user = crate::logged_in_user("dp", &me_name, "Done: 1 conversation bridged.").await;

    // The portal is joined for the user (they never join it themselves) and listed in
    // m.direct under the contact's ghost.
    let portal = user
        .wait_joined_room_named(&format!("{bob_name} full"))
        .await;
    assert_eq!(
        user.membership_of(&portal, &user.user_id).await.as_deref(),
        Some("join")
    );
    let direct = user.direct_rooms(&ghost(bob_pk)).await;
    assert!(direct.contains(&portal), "m.direct: {direct:?}");
    user.wait_for(&portal, "the history", |e| body_is(e, "hello from before"))
        .await;

    // A message sent from the Instagram app on the phone: from the user, marked, once.
    let phone_item = w.ig.push_text(&thread, me_pk, "from my phone");
    let mine = user
        .wait_for(&portal, "the phone message", |e| {
            body_is(e, "from my phone")
        })
        .await;
    assert_eq!(mine["sender"], user.user_id.as_str());
    assert_eq!(mine["content"][SOURCE_KEY], "matrix-instagram");

    // Edited on the phone: the user's m.replace.
    let typo_id = w.ig.push_text(&thread, me_pk, "my tpyo");
    let typo = user
        .wait_for(&portal, "the phone typo", |e| body_is(e, "my tpyo"))
        .await;
    let mut edited =
        w.ig.items(&thread)
            .into_iter()
            .find(|i| i["item_id"] == typo_id.as_str())
            .unwrap_or_default();
    edited["text"] = serde_json::json!("my typo, fixed");
    w.broker.push_patch(
        me_pk,
        "replace",
        &format!("/direct_v2/threads/{thread}/items/{typo_id}"),
        &edited.to_string(),
    );
    let edit = user
        .wait_for(&portal, "the phone edit", |e| {
            e["content"]["m.new_content"]["body"] == "my typo, fixed"
        })
        .await;
    assert_eq!(edit["sender"], user.user_id.as_str());
    assert_eq!(
        edit["content"]["m.relates_to"]["event_id"],
        typo["event_id"]
    );
    assert_eq!(edit["content"][SOURCE_KEY], "matrix-instagram");

    // A message from Matrix crosses, and its echo is not bridged back.
    user.send_text(&portal, "from matrix").await;
    wait_until("the Matrix message on Instagram", || async {
        w.ig.items(&thread)
            .iter()
            .any(|i| i["text"] == "from matrix" && i["user_id"] == me_pk)
    })
    .await;

    // An event a bridge sent as the user (it carries the marker) never goes to Instagram;
    // the conversation is ordered, so once the next message is there, it was passed over.
    user.send_event(
        &portal,
        "m.room.message",
        serde_json::json!({
            "msgtype": "m.text",
            "body": "sent by a bridge as me",
            SOURCE_KEY: "some-bridge",
        }),
    )
    .await;
    user.send_text(&portal, "after the marked one").await;
    wait_until("the message after the marked one", || async {
        w.ig.items(&thread)
            .iter()
            .any(|i| i["text"] == "after the marked one")
    })
    .await;
    assert!(
        !w.ig
            .items(&thread)
            .iter()
            .any(|i| i["text"] == "sent by a bridge as me"),
        "a marked event was bridged to Instagram"
    );

    // A reaction and a read on the phone: as the user.
    w.react(me_pk, &thread, &history_item(w, &thread), Some("👍"));
    let reaction = user
        .wait_for(&portal, "the phone reaction", |e| {
            e["type"] == "m.reaction" && e["content"]["m.relates_to"]["key"] == "👍"
        })
        .await;
    assert_eq!(reaction["sender"], user.user_id.as_str());
    assert_eq!(reaction["content"][SOURCE_KEY], "matrix-instagram");
    let bob_item = w.ig.push_text(&thread, bob_pk, "read me on your phone");
    let bob_msg = user
        .wait_for(&portal, "the message to read", |e| {
            body_is(e, "read me on your phone")
        })
        .await;
    assert!(w.ig.mark_seen_as(me_pk, &thread, &bob_item));
    user.wait_for_receipt(
        &portal,
        &user.user_id,
        bob_msg["event_id"].as_str().unwrap_or_default(),
    )
    .await;

    // Unsent on the phone: redacted by the user.
    assert!(w.ig.remove_item(&thread, &phone_item));
    let mine_id = mine["event_id"].as_str().unwrap_or_default();
    user.wait_redacted(&portal, mine_id).await;
    let redacted = user.event(&portal, mine_id).await;
    assert_eq!(
        redacted["unsigned"]["redacted_because"]["sender"],
        user.user_id.as_str()
    );

    // Everything before a sentinel has been applied: count what arrived.
    w.ig.push_text(&thread, bob_pk, "sentinel");
    user.wait_for(&portal, "the sentinel", |e| body_is(e, "sentinel"))
        .await;
    let timeline = user.timeline(&portal).await;
    let count = |body: &str| timeline.iter().filter(|e| body_is(e, body)).count();
    assert_eq!(count("from matrix"), 1, "the Matrix message is not echoed");
    assert!(
        !timeline
            .iter()
            .any(|e| e["sender"] == ghost(me_pk).as_str() && e["type"] == "m.room.message"),
        "nothing from the user's own ghost"
    );
    let phone_copies = timeline
        .iter()
        .filter(|e| e["event_id"] == mine["event_id"] || body_is(e, "from my phone"))
        .count();
    assert_eq!(phone_copies, 1, "the phone message arrived once");
    // Nothing the bridge did as the user went back to Instagram.
    let sent = w.sent_commands(me_pk);
    assert!(
        !sent
            .iter()
            .any(|c| c["text"] == "from my phone" || c["text"] == "my typo, fixed"),
        "the phone message was sent back: {sent:?}"
    );
    assert!(
        !sent.iter().any(|c| c["item_type"] == "reaction"),
        "the phone reaction was sent back: {sent:?}"
    );
    assert!(
        !sent
            .iter()
            .any(|c| c["action"] == "mark_seen" && c["item_id"] == bob_item.as_str()),
        "the read marker set from the phone was sent back: {sent:?}"
    );
    assert_eq!(
        w.ig.items(&thread)
            .iter()
            .filter(|i| i["text"] == "from matrix")
            .count(),
        1
    );
}

#[tokio::test]
async fn group_portals_are_joined_and_own_messages_appear_as_the_user() {
    let env = env();
    let w = &env.world;
    let (me_pk, bob_pk, carol_pk) = (unique_pk(), unique_pk(), unique_pk());
    let me_name = format!("me_{me_pk}");
    w.ig.add_account(&me_name, "correct horse battery", me_pk);
    w.ig.add_account(&format!("bob_{bob_pk}"), "unused", bob_pk);
    w.ig.add_account(&format!("carol_{carol_pk}"), "unused", carol_pk);
    let dm = w.ig.add_thread(&[me_pk, bob_pk], None);
    w.ig.push_text(&dm, bob_pk, "an older chat");
    let user = crate::logged_in_user("dpg", &me_name, "Done: 1 conversation bridged.").await;

    // A group appears live: its room is joined for the user.
    let group =
        w.ig.add_thread(&[bob_pk, me_pk, carol_pk], Some("Puppet group"));
    w.ig.push_text(&group, carol_pk, "hi group");
    let room = user.wait_joined_room_named("Puppet group").await;
    user.wait_for(&room, "the group message", |e| body_is(e, "hi group"))
        .await;
    w.ig.push_text(&group, me_pk, "my phone in the group");
    let mine = user
        .wait_for(&room, "the own group message", |e| {
            body_is(e, "my phone in the group")
        })
        .await;
    assert_eq!(mine["sender"], user.user_id.as_str());
    assert_eq!(mine["content"][SOURCE_KEY], "matrix-instagram");
    w.ig.push_text(&group, bob_pk, "group sentinel");
    user.wait_for(&room, "the group sentinel", |e| {
        body_is(e, "group sentinel")
    })
    .await;
    let timeline = user.timeline(&room).await;
    assert_eq!(
        timeline
            .iter()
            .filter(|e| body_is(e, "my phone in the group"))
            .count(),
        1
    );
    assert!(
        !w.sent_commands(me_pk)
            .iter()
            .any(|c| c["text"] == "my phone in the group"),
        "sent back to Instagram"
    );
}

/// The item id of the thread's first item (the history).
fn history_item(w: &crate::world::World, thread: &str) -> String {
    w.ig.items(thread)
        .iter()
        .find(|i| i["text"] == "hello from before")
        .and_then(|i| i["item_id"].as_str())
        .unwrap_or_default()
        .to_string()
}
