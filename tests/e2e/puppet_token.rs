//! Double puppeting with the user's own access token (`login-matrix`), on a server without a
//! `double_puppet.secrets` entry: the token is redacted at once, portals are joined for the
//! user, their phone messages appear as them; when the homeserver stops accepting the token
//! the user is told and their messages appear from their ghost again, none lost.

use serde_json::json;

use crate::bridging::{body_is, bot_id, ghost, unique_pk};
use crate::env;
use crate::matrix_client::{User, unique};

/// A Matrix user with a management room, and an Instagram account with one DM (Bob wrote).
struct Scene {
    user: User,
    management: String,
    me_pk: i64,
    bob_pk: i64,
    me_name: String,
    bob_name: String,
    thread: String,
}

async fn scene(tag: &str) -> Scene {
    let env = env();
    let w = &env.world;
    let bot = bot_id();
    let (me_pk, bob_pk) = (unique_pk(), unique_pk());
    let (me_name, bob_name) = (format!("me_{me_pk}"), format!("bob_{bob_pk}"));
    w.ig.add_account(&me_name, "correct horse battery", me_pk);
    w.ig.add_account(&bob_name, "unused", bob_pk);
    let thread = w.ig.add_thread(&[me_pk, bob_pk], None);
    w.ig.push_text(&thread, bob_pk, "hi there");
    let user = User::register(&env.homeserver, &unique(tag)).await;
    let management = user.create_dm(&bot).await;
    user.wait_for_notice_after(&management, &bot, None, |b| {
        b.contains("Instagram bridge bot")
    })
    .await;
    Scene {
        user,
        management,
        me_pk,
        bob_pk,
        me_name,
        bob_name,
        thread,
    }
}

#[tokio::test]
async fn login_matrix_puppets_with_the_users_token_until_it_dies() {
    let env = env();
    let w = &env.world;
    let bot = bot_id();
    let Scene {
        user,
        management,
        me_pk,
        bob_pk,
        me_name,
        bob_name,
        thread,
    } = scene("lm").await;
    let token = user.another_token().await;
    let asked = user
        .send_text(&management, &format!("login-matrix {token}"))
        .await;
    user.wait_redacted(&management, &asked).await;
    let answer = user
        .wait_for_notice_after(&management, &bot, Some(&asked), |_| true)
        .await;
    assert!(answer.starts_with("Double puppeting is on"), "{answer}");

    let login = user
        .send_text(
            &management,
            &format!("login {me_name} correct horse battery"),
        )
        .await;
    user.wait_for_notice_after(&management, &bot, Some(&login), |b| {
        b.starts_with("Done: 1 conversation bridged.")
    })
    .await;
    let portal = user
        .wait_joined_room_named(&format!("{bob_name} full"))
        .await;
    w.ig.push_text(&thread, me_pk, "phone one");
    let one = user
        .wait_for(&portal, "the first phone message", |e| {
            body_is(e, "phone one")
        })
        .await;
    assert_eq!(one["sender"], user.user_id.as_str());

    // The token dies (logged out elsewhere): a notice, and the ghost speaks again.
    let status = reqwest::Client::new()
        .post(format!("{}/_matrix/client/v3/logout", env.homeserver))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .expect("logout")
        .status();
    assert!(status.is_success());
    w.ig.push_text(&thread, me_pk, "phone two");
    let two = user
        .wait_for(&portal, "the second phone message", |e| {
            body_is(e, "phone two")
        })
        .await;
    assert_eq!(two["sender"], ghost(me_pk).as_str());
    user.wait_for_notice_after(&management, &bot, Some(&login), |b| {
        b.contains("no longer accepts the token")
    })
    .await;
    w.ig.push_text(&thread, bob_pk, "sentinel");
    user.wait_for(&portal, "the sentinel", |e| body_is(e, "sentinel"))
        .await;
    let copies = user
        .timeline(&portal)
        .await
        .into_iter()
        .filter(|e| body_is(e, "phone two"))
        .count();
    assert_eq!(copies, 1, "the message met by the dead token arrived once");

    let asked = user.send_text(&management, "logout-matrix").await;
    let answer = user
        .wait_for_notice_after(&management, &bot, Some(&asked), |_| true)
        .await;
    assert_eq!(answer, "Double puppeting was not on.");
}

/// Double puppeting turned on after the portals exist: they are joined as the user (no invite
/// to accept) and the DM is listed in the user's `m.direct`.
#[tokio::test]
async fn login_matrix_after_login_joins_the_portals_already_there() {
    let bot = bot_id();
    let Scene {
        user,
        management,
        bob_pk,
        me_name,
        bob_name,
        ..
    } = scene("lj").await;
    let login = user
        .send_text(
            &management,
            &format!("login {me_name} correct horse battery"),
        )
        .await;
    user.wait_for_notice_after(&management, &bot, Some(&login), |b| {
        b.starts_with("Done: 1 conversation bridged.")
    })
    .await;
    // Without double puppeting the portal is an invite.
    let invited = user
        .wait_for_invite("the portal", |events| {
            events.iter().any(|e| e["type"] == "m.room.name")
        })
        .await;

    let token = user.another_token().await;
    let asked = user
        .send_text(&management, &format!("login-matrix {token}"))
        .await;
    let answer = user
        .wait_for_notice_after(&management, &bot, Some(&asked), |_| true)
        .await;
    assert!(answer.starts_with("Double puppeting is on"), "{answer}");
    let portal = user
        .wait_joined_room_named(&format!("{bob_name} full"))
        .await;
    assert_eq!(portal, invited, "the invited portal is the one joined");
    let contact = ghost(bob_pk);
    let mut listed = Vec::new();
    for _ in 0..100 {
        listed = user.direct_rooms(&contact).await;
        if listed.contains(&portal) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        listed.contains(&portal),
        "the DM is in m.direct under {contact}: {listed:?}"
    );
}
