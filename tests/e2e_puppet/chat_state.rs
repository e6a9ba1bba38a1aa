//! Chat state both ways for a user with double puppeting: mute, unread, archive and pin set
//! in the Instagram app are the user's push rule, `m.marked_unread` and tags; the user's own
//! changes on Matrix reach Instagram; a thread deleted on Instagram is said in its room.

use reqwest::Method;
use serde_json::{Value, json};

use crate::matrix_client::User;
use crate::support::fake_instagram::ChatStateChange;
use crate::{env, unique_pk, wait_until};

async fn room_rule(user: &User, room: &str) -> Option<Value> {
    let (status, body) = user
        .get(&format!("/_matrix/client/v3/pushrules/global/room/{room}"))
        .await;
    (status == 200).then_some(body)
}

async fn tags(user: &User, room: &str) -> Vec<String> {
    let (_, body) = user
        .get(&format!(
            "/_matrix/client/v3/user/{}/rooms/{room}/tags",
            user.user_id
        ))
        .await;
    body["tags"]
        .as_object()
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

async fn marked_unread(user: &User, room: &str) -> Option<bool> {
    let (status, body) = user
        .get(&format!(
            "/_matrix/client/v3/user/{}/rooms/{room}/account_data/m.marked_unread",
            user.user_id
        ))
        .await;
    (status == 200).then(|| body["unread"] == true)
}

async fn put(user: &User, path: &str, body: Value) {
    let (status, answer) = user.call(Method::PUT, path, Some(body)).await;
    assert_eq!(status, 200, "PUT {path}: {answer}");
}

#[tokio::test]
async fn chat_state_crosses_both_ways_and_a_deleted_thread_is_said() {
    let env = env();
    let w = &env.world;
    let bot = env.config.bot_user_id();
    let (me_pk, ann_pk, cy_pk) = (unique_pk(), unique_pk(), unique_pk());
    let me_name = format!("me_{me_pk}");
    let (ann_name, cy_name) = (format!("ann_{ann_pk}"), format!("cy_{cy_pk}"));
    w.ig.add_account(&me_name, "correct horse battery", me_pk);
    w.ig.add_account(&ann_name, "unused", ann_pk);
    w.ig.add_account(&cy_name, "unused", cy_pk);
    let with_ann = w.ig.add_thread(&[me_pk, ann_pk], None);
    let with_cy = w.ig.add_thread(&[me_pk, cy_pk], None);
    w.ig.push_text(&with_ann, ann_pk, "hi from ann");
    w.ig.push_text(&with_cy, cy_pk, "hi from cy");

    let user = crate::logged_in_user("cs", &me_name, "Done: 2 conversations bridged.").await;
    let ann_room = user
        .wait_joined_room_named(&format!("{ann_name} full"))
        .await;
    let cy_room = user
        .wait_joined_room_named(&format!("{cy_name} full"))
        .await;

    // Instagram → Matrix: muted, archived, pinned and marked unread in the app.
    let all = ChatStateChange {
        muted: Some(true),
        archived: Some(true),
        pinned: Some(true),
        unread: Some(true),
    };
    assert!(w.ig.set_chat_state_as(me_pk, &with_ann, all));
    wait_until("the mute as the user's room push rule", || async {
        room_rule(&user, &ann_room)
            .await
            .is_some_and(|r| !r["actions"].to_string().contains("\"notify\""))
    })
    .await;
    wait_until("archive and pin as tags", || async {
        let t = tags(&user, &ann_room).await;
        t.contains(&"m.lowpriority".to_string()) && t.contains(&"m.favourite".to_string())
    })
    .await;
    wait_until("the unread mark", || async {
        marked_unread(&user, &ann_room).await == Some(true)
    })
    .await;

    // Unmuted and unpinned in the app: the rule and the tag go.
    let some = ChatStateChange {
        muted: Some(false),
        pinned: Some(false),
        ..Default::default()
    };
    assert!(w.ig.set_chat_state_as(me_pk, &with_ann, some));
    wait_until("the rule deleted", || async {
        room_rule(&user, &ann_room).await.is_none()
    })
    .await;
    wait_until("the favourite tag removed", || async {
        !tags(&user, &ann_room)
            .await
            .contains(&"m.favourite".to_string())
    })
    .await;
    assert!(
        tags(&user, &ann_room)
            .await
            .contains(&"m.lowpriority".to_string())
    );

    // Matrix → Instagram: the user mutes the other room with a room push rule...
    let muted = |pk: i64, thread: String| async move {
        w.ig.thread(&thread)
            .is_some_and(|t| t.muted_for.contains(&pk))
    };
    put(
        &user,
        &format!("/_matrix/client/v3/pushrules/global/room/{cy_room}"),
        json!({"actions": ["dont_notify"]}),
    )
    .await;
    wait_until("the thread muted on Instagram", || {
        muted(me_pk, with_cy.clone())
    })
    .await;
    // ...and unmutes it.
    let (status, _) = user
        .call(
            Method::DELETE,
            &format!("/_matrix/client/v3/pushrules/global/room/{cy_room}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    wait_until("the thread unmuted on Instagram", || async {
        !muted(me_pk, with_cy.clone()).await
    })
    .await;

    // Marked unread with the unstable type some clients still write.
    put(
        &user,
        &format!(
            "/_matrix/client/v3/user/{}/rooms/{cy_room}/account_data/com.famedly.marked_unread",
            user.user_id
        ),
        json!({"unread": true}),
    )
    .await;
    wait_until("the thread marked unread on Instagram", || async {
        w.ig.thread(&with_cy)
            .is_some_and(|t| t.unread_for.contains(&me_pk))
    })
    .await;

    // Low priority hides the thread on Instagram; the removal that follows is the bridge's
    // own echo and says nothing in the room.
    put(
        &user,
        &format!(
            "/_matrix/client/v3/user/{}/rooms/{cy_room}/tags/m.lowpriority",
            user.user_id
        ),
        json!({}),
    )
    .await;
    wait_until("the thread hidden on Instagram", || async {
        w.ig.thread(&with_cy)
            .is_some_and(|t| t.hidden_for.contains(&me_pk))
    })
    .await;

    // Deleted in the Instagram app: the user is told in the room, which stays.
    assert!(w.ig.delete_thread_as(me_pk, &with_ann));
    user.wait_for(&ann_room, "the deleted-thread notice", |e| {
        e["sender"] == bot.as_str()
            && e["content"]["body"]
                .as_str()
                .is_some_and(|b| b.contains("deleted or hidden on Instagram"))
    })
    .await;
    assert_eq!(
        user.membership_of(&ann_room, &user.user_id)
            .await
            .as_deref(),
        Some("join")
    );
    // A message in the hidden thread still arrives (the conversation goes on).
    w.ig.push_text(&with_cy, cy_pk, "still here");
    user.wait_for(&cy_room, "the message after hiding", |e| {
        e["content"]["body"] == "still here"
    })
    .await;
    let said = user.timeline(&cy_room).await.iter().any(|e| {
        e["content"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("deleted or hidden on Instagram"))
    });
    assert!(!said, "the bridge's own hide was reported as a deletion");
}
