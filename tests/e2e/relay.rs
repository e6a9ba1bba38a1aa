//! Relay mode end to end: in a group portal with `set-relay`, a member without an Instagram
//! login talks through the relay's account with the formatted prefix, and their reaction is
//! refused with a notice. Private chats are never relayed.

use serde_json::json;

use crate::bridging::{body_is, bot_id, ghost, scene, unique_pk, wait_until};
use crate::env;
use crate::matrix_client::{User, unique};

#[tokio::test]
async fn a_relay_forwards_a_member_without_login_and_refuses_their_reaction() {
    let env = env();
    let w = &env.world;
    let s = scene(&[]).await;
    let bot = bot_id();
    let carol_pk = unique_pk();
    w.ig.add_account(&format!("carol_{carol_pk}"), "unused", carol_pk);
    let group =
        w.ig.add_thread(&[s.bob_pk, s.me_pk, carol_pk], Some("Relay club"));
    let hello_id = w.ig.push_text(&group, carol_pk, "hello relay club");
    let room = s
        .user
        .wait_for_invite("the group portal", |events| {
            events
                .iter()
                .any(|e| e["type"] == "m.room.name" && e["content"]["name"] == "Relay club")
        })
        .await;
    s.user.join(&room).await;
    let hello = s
        .user
        .wait_for(&room, "the group message", |e| {
            body_is(e, "hello relay club")
        })
        .await;

    // A DM is never relayed.
    let asked = s.user.send_text(&s.portal, "!ig set-relay").await;
    let answer = s
        .user
        .wait_for_notice_after(&s.portal, &bot, Some(&asked), |_| true)
        .await;
    assert!(
        answer.starts_with("Private chats are never relayed"),
        "{answer}"
    );

    let asked = s.user.send_text(&room, "!ig set-relay").await;
    let answer = s
        .user
        .wait_for_notice_after(&room, &bot, Some(&asked), |_| true)
        .await;
    assert!(
        answer.starts_with("Messages from people without their own login are now relayed"),
        "{answer}"
    );

    // Someone without a login joins the room and writes.
    let outsider = User::register(&env.homeserver, &unique("relayed")).await;
    let localpart = outsider
        .user_id
        .trim_start_matches('@')
        .split(':')
        .next()
        .unwrap_or_default()
        .to_string();
    s.user.invite(&room, &outsider.user_id).await;
    outsider.join(&room).await;
    outsider.send_text(&room, "hi from outside").await;
    let expected = format!("{localpart}: hi from outside");
    wait_until("the relayed message on Instagram", || async {
        w.ig.items(&group)
            .iter()
            .any(|i| i["text"] == expected.as_str() && i["user_id"] == s.me_pk)
    })
    .await;

    // Their reaction is refused with a notice, and Instagram gets nothing.
    let reaction = outsider
        .send_event(
            &room,
            "m.reaction",
            json!({"m.relates_to": {
                "rel_type": "m.annotation", "event_id": hello["event_id"], "key": "👍"
            }}),
        )
        .await;
    let notice = s
        .user
        .wait_for_notice_after(&room, &bot, Some(&reaction), |b| {
            b.starts_with("Reactions from people without their own Instagram login")
        })
        .await;
    assert!(notice.contains("relay"), "{notice}");
    // The relay's own message keeps its normal form, and comes after the reaction would have.
    s.user.send_text(&room, "relay speaking").await;
    wait_until("the relay's own message", || async {
        w.ig.items(&group)
            .iter()
            .any(|i| i["text"] == "relay speaking" && i["user_id"] == s.me_pk)
    })
    .await;
    let reacted = w
        .sent_commands(s.me_pk)
        .into_iter()
        .any(|c| c["item_id"] == hello_id.as_str() && c["item_type"] == "reaction");
    assert!(!reacted, "a relayed reaction reached Instagram");
    // The relayed message's echo is not bridged back as a second copy.
    w.ig.push_text(&group, s.bob_pk, "sentinel after the relay");
    s.user
        .wait_for(&room, "the sentinel", |e| {
            body_is(e, "sentinel after the relay")
        })
        .await;
    let copies = s
        .user
        .timeline(&room)
        .await
        .into_iter()
        .filter(|e| {
            e["content"]["body"]
                .as_str()
                .is_some_and(|b| b.contains("hi from outside"))
        })
        .count();
    assert_eq!(copies, 1, "only the outsider's own event, no echo");
    let _ = ghost(carol_pk);

    // unset-relay: the outsider is not relayed any more.
    let asked = s.user.send_text(&room, "!ig unset-relay").await;
    let answer = s
        .user
        .wait_for_notice_after(&room, &bot, Some(&asked), |_| true)
        .await;
    assert!(answer.contains("no longer relayed"), "{answer}");
}
