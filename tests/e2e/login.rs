//! Logging in, end to end: what the bot says while it works, SMS codes on accounts with an
//! authenticator app, and message requests already pending at login.

use serde_json::Value;

use crate::bridging::{ask, body_is, bot_id, unique_pk};
use crate::env;
use crate::matrix_client::{User, unique};

/// A Matrix user in their management room with the bot, the bot's welcome seen.
async fn management_room(prefix: &str) -> (User, String) {
    let env = env();
    let bot = bot_id();
    let user = User::register(&env.homeserver, &unique(prefix)).await;
    let room = user.create_dm(&bot).await;
    user.wait_for_notice_after(&room, &bot, None, |b| b.contains("Instagram bridge bot"))
        .await;
    (user, room)
}

/// The bot's notices in `room` after the event `after`, oldest first.
async fn notices_after(user: &User, room: &str, after: &str) -> Vec<String> {
    let timeline = user.timeline(room).await;
    let start = timeline
        .iter()
        .position(|e| e["event_id"] == after)
        .map(|p| p + 1)
        .unwrap_or(timeline.len());
    timeline[start..]
        .iter()
        .filter(|e| e["sender"] == bot_id().as_str() && e["content"]["msgtype"] == "m.notice")
        .filter_map(|e| e["content"]["body"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn login_says_at_once_that_it_works_then_how_the_first_sync_goes() {
    let w = &env().world;
    let bot = bot_id();
    let me = unique_pk();
    let (bob, carol) = (unique_pk(), unique_pk());
    let name = format!("pr_{me}");
    w.ig.add_account(&name, "pass word", me);
    w.ig.add_account(&format!("bob_{bob}"), "x", bob);
    w.ig.add_account(&format!("carol_{carol}"), "x", carol);
    for (other, text) in [(bob, "from bob"), (carol, "from carol")] {
        let thread = w.ig.add_thread(&[me, other], None);
        w.ig.push_text(&thread, other, text);
    }
    let (user, room) = management_room("pru").await;
    let login = user
        .send_text(&room, &format!("login {name} pass word"))
        .await;
    user.wait_for_notice_after(&room, &bot, Some(&login), |b| b.starts_with("Done:"))
        .await;
    assert_eq!(
        notices_after(&user, &room, &login).await,
        vec![
            format!("Logging in to Instagram as @{name}…"),
            format!("Successfully logged in as @{name}."),
            "Bridging your 2 most recent conversations…".to_string(),
            "Done: 2 conversations bridged.".to_string(),
        ]
    );
    // Done means done: both rooms exist and have their history.
    let rooms = invited_rooms(
        &user,
        &[&format!("bob_{bob} full"), &format!("carol_{carol} full")],
    )
    .await;
    for (portal, text) in rooms.iter().zip(["from bob", "from carol"]) {
        user.join(portal).await;
        user.wait_for(portal, text, |e| body_is(e, text)).await;
    }
}

/// Waits for invites to rooms with these names (in one sync or several); their ids in order.
async fn invited_rooms(user: &User, names: &[&str]) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    let mut found: Vec<Option<String>> = vec![None; names.len()];
    while found.iter().any(Option::is_none) {
        assert!(
            std::time::Instant::now() < deadline,
            "no invites to {names:?}"
        );
        let body = user.sync_next().await;
        let Some(invites) = body["rooms"]["invite"].as_object() else {
            continue;
        };
        for (room, data) in invites {
            let events = data["invite_state"]["events"].as_array();
            for (i, name) in names.iter().enumerate() {
                let named = events.is_some_and(|events| {
                    events.iter().any(|e: &Value| {
                        e["type"] == "m.room.name" && e["content"]["name"] == *name
                    })
                });
                if named {
                    found[i] = Some(room.clone());
                }
            }
        }
    }
    found.into_iter().flatten().collect()
}

#[tokio::test]
async fn an_sms_code_is_sent_as_one_on_an_account_with_an_authenticator_app() {
    use crate::support::fake_instagram::TwoFactor;
    let w = &env().world;
    let pk = unique_pk();
    let name = format!("sms_{pk}");
    w.ig.add_account(&name, "pass word", pk);
    w.ig.set_two_factor(
        &name,
        TwoFactor {
            totp_code: Some("123456".into()),
            sms_code: Some("654321".into()),
            backup_code: None,
        },
    );
    let (user, room) = management_room("smsu").await;
    let prompt = ask(&user, &room, &format!("login {name} pass word")).await;
    assert!(prompt.contains("authenticator app"), "{prompt}");
    for choice in ["`sms`", "`sms <code>`", "`totp <code>`", "`backup <code>`"] {
        assert!(prompt.contains(choice), "{choice} in {prompt}");
    }
    // The user would rather get an SMS: the code that comes is an SMS code (method 1).
    let sent = ask(&user, &room, "resend-sms").await;
    assert!(sent.starts_with("A code is on its way by SMS"), "{sent}");
    let done = ask(&user, &room, "654321").await;
    assert_eq!(done, format!("Successfully logged in as @{name}."));
    // This account's submission (other tests log in at the same time).
    let submitted =
        w.ig.requests_to("/accounts/two_factor_login/")
            .into_iter()
            .rfind(|r| r.field("username").as_deref() == Some(name.as_str()));
    assert_eq!(
        submitted.and_then(|r| r.field("verification_method")),
        Some("1".to_string())
    );

    // Saying the kind works without asking for an SMS first (a fresh login, by another
    // Matrix user once the first one logged out: one Instagram account has one owner here).
    assert_eq!(
        ask(&user, &room, "logout").await,
        "Logged out of Instagram."
    );
    let (user, room) = management_room("smsu").await;
    ask(&user, &room, &format!("login {name} pass word")).await;
    let done = ask(&user, &room, "sms 654321").await;
    assert_eq!(done, format!("Successfully logged in as @{name}."));
}

#[tokio::test]
async fn requests_pending_at_login_are_announced() {
    // The e2e config holds message requests (`bridge.message_requests: hold`).
    let w = &env().world;
    let bot = bot_id();
    let me = unique_pk();
    let stranger = unique_pk();
    let name = format!("rq_{me}");
    let stranger_name = format!("stranger_{stranger}");
    w.ig.add_account(&name, "pass word", me);
    w.ig.add_account(&stranger_name, "x", stranger);
    let thread = w.ig.add_thread(&[stranger, me], None);
    w.ig.set_pending(&thread, me);
    w.ig.push_text(&thread, stranger, "sent before you logged in");

    let (user, room) = management_room("rqu").await;
    let login = user
        .send_text(&room, &format!("login {name} pass word"))
        .await;
    let notice = user
        .wait_for_notice_after(&room, &bot, Some(&login), |b| {
            b.contains("New message request")
        })
        .await;
    assert!(notice.contains(&format!("@{stranger_name}")), "{notice}");
    assert!(notice.contains(&format!("accept {thread}")), "{notice}");
    let done = user
        .wait_for_notice_after(&room, &bot, Some(&login), |b| b.starts_with("Done:"))
        .await;
    assert_eq!(
        done,
        "Done: 1 message request waits for `accept` (see `requests`)."
    );
    let said = notices_after(&user, &room, &login).await;
    assert!(
        said.iter()
            .any(|b| b == "Announcing 1 message request here…"),
        "{said:?}"
    );
    // Held, not bridged: accepting it makes its room.
    let ok = ask(&user, &room, &format!("accept {thread}")).await;
    assert!(ok.starts_with("Accepted"), "{ok}");
    let portal = user
        .wait_for_invite("the accepted request", |events| {
            events.iter().any(|e| e["type"] == "m.room.name")
        })
        .await;
    user.join(&portal).await;
    user.wait_for(&portal, "the request's message", |e| {
        body_is(e, "sent before you logged in")
    })
    .await;
}

/// `!ig login <user> <password>` in a portal is refused (log in only in the management room),
/// and its message is removed all the same; so is a cookie import.
#[tokio::test]
async fn secret_commands_typed_in_a_portal_are_redacted_though_refused() {
    let s = crate::bridging::scene(&[]).await;
    let bot = bot_id();
    let login = s
        .user
        .send_text(&s.portal, "!ig login someone pass word")
        .await;
    let refused = s
        .user
        .wait_for_notice_after(&s.portal, &bot, Some(&login), |_| true)
        .await;
    assert!(refused.contains("only in your private chat"), "{refused}");
    s.user.wait_redacted(&s.portal, &login).await;
    let cookies = s
        .user
        .send_text(&s.portal, "!ig login-cookies sessionid=1%3Aportal%3Asecret")
        .await;
    s.user.wait_redacted(&s.portal, &cookies).await;
    let timeline = serde_json::to_string(&s.user.timeline(&s.portal).await).unwrap_or_default();
    assert!(!timeline.contains("pass word") && !timeline.contains("portal%3Asecret"));
}

/// Two-factor and challenge codes are removed from the room like passwords; the answers that
/// are no secret (a choice of where the code goes) stay.
#[tokio::test]
async fn login_codes_are_redacted_like_passwords() {
    use crate::support::fake_instagram::{Challenge, TwoFactor};
    let w = &env().world;
    let bot = bot_id();
    let pk = unique_pk();
    let name = format!("code_{pk}");
    w.ig.add_account(&name, "pass word", pk);
    w.ig.set_two_factor(
        &name,
        TwoFactor {
            totp_code: Some("123456".into()),
            ..Default::default()
        },
    );
    let (user, room) = management_room("codeu").await;
    ask(&user, &room, &format!("login {name} pass word")).await;
    let code = user.send_text(&room, "123456").await;
    user.wait_for_notice_after(&room, &bot, Some(&code), |b| b.starts_with("Successfully"))
        .await;
    user.wait_redacted(&room, &code).await;

    let pk = unique_pk();
    let name = format!("chc_{pk}");
    w.ig.add_account(&name, "pass word", pk);
    w.ig.set_challenge(
        &name,
        Some(Challenge {
            code: "424242".into(),
            first_step: "select_verify_method".into(),
        }),
    );
    let (user, room) = management_room("chcu").await;
    ask(&user, &room, &format!("login {name} pass word")).await;
    let choice = user.send_text(&room, "email").await;
    user.wait_for_notice_after(&room, &bot, Some(&choice), |b| b.contains("security code"))
        .await;
    let code = user.send_text(&room, "424242").await;
    user.wait_for_notice_after(&room, &bot, Some(&code), |b| b.starts_with("Successfully"))
        .await;
    user.wait_redacted(&room, &code).await;
    let kept = user.event(&room, &choice).await;
    assert_eq!(kept["content"]["body"], "email", "{kept}");
}
