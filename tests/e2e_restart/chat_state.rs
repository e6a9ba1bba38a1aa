//! Chat state across a restart (double puppeting): what the bridge knew of each side is
//! stored, so a change made on either side while the bridge was down crosses once it is back.

use reqwest::Method;

use crate::support::fake_instagram::ChatStateChange;
use crate::{harness, wait_until, wait_until_async};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_state_changed_while_the_bridge_was_down_crosses_after_it() {
    let h = harness("chatstate").await;
    let w = &h.world;
    let bot = h.config.bot_user_id();
    let bridge = h.start().await;
    let s = h.scene_with_management("cst").await;
    let (user, room) = (&s.user, s.portal.as_str());
    let rule = format!("/_matrix/client/v3/pushrules/global/room/{room}");
    let tags = format!("/_matrix/client/v3/user/{}/rooms/{room}/tags", user.user_id);

    let token = user.another_token().await;
    let asked = user
        .send_text(&s.management, &format!("login-matrix {token}"))
        .await;
    let answer = user
        .wait_for_notice_after(&s.management, &bot, Some(&asked), |_| true)
        .await;
    assert!(answer.starts_with("Double puppeting is on"), "{answer}");

    // Muted in the app: the user's room push rule (both sides now known).
    let mute = ChatStateChange {
        muted: Some(true),
        ..Default::default()
    };
    assert!(w.ig.set_chat_state_as(s.me_pk, &s.thread, mute));
    wait_until_async("the mute as the user's push rule", || async {
        user.get(&rule).await.0 == 200
    })
    .await;

    // The bridge stops; the user unmutes the room on Matrix and pins the thread in the app.
    bridge.shutdown().await;
    let (status, body) = user.call(Method::DELETE, &rule, None).await;
    assert_eq!(status, 200, "{body}");
    let pin = ChatStateChange {
        pinned: Some(true),
        ..Default::default()
    };
    assert!(w.ig.set_chat_state_as(s.me_pk, &s.thread, pin));

    // Back: each change crosses to the other side.
    let bridge = h.start().await;
    wait_until("the thread unmuted on Instagram", || {
        !w.ig
            .thread(&s.thread)
            .is_some_and(|t| t.muted_for.contains(&s.me_pk))
    })
    .await;
    wait_until_async("the pin as the favourite tag", || async {
        let (_, body) = user.get(&tags).await;
        body["tags"].get("m.favourite").is_some()
    })
    .await;
    // The unmute was not undone by Instagram's older state, and it stays unmuted.
    assert_eq!(user.get(&rule).await.0, 404);
    bridge.shutdown().await;
}
