//! The walking skeleton end to end: a Matrix user DMs the bot and gets answers.

use std::time::{Duration, Instant};

use crate::env;
use crate::matrix_client::{User, unique};

fn bot_id() -> String {
    env().config.bot_user_id()
}

#[tokio::test]
async fn bot_answers_commands_in_the_management_room() {
    let env = env();
    let bot = bot_id();
    let alice = User::register(&env.homeserver, &unique("alice")).await;
    let room = alice.create_dm(&bot).await;
    alice.wait_membership(&room, &bot, "join").await;
    let welcome = alice
        .wait_for_notice_after(&room, &bot, None, |b| b.contains("Instagram bridge bot"))
        .await;
    assert!(
        welcome.contains("`login`"),
        "welcome tells how to log in: {welcome}"
    );

    let asked = alice.send_text(&room, "help").await;
    let help = alice
        .wait_for_notice_after(&room, &bot, Some(&asked), |_| true)
        .await;
    for command in ["`help`", "`version`", "`ping`", "`cancel`"] {
        assert!(help.contains(command), "help lists {command}: {help}");
    }
    assert!(
        help.contains("Show this help."),
        "each command has a line: {help}"
    );

    let asked = alice.send_text(&room, "ping").await;
    let answer = alice
        .wait_for_notice_after(&room, &bot, Some(&asked), |_| true)
        .await;
    assert_eq!(answer, "You're not logged in.");

    let asked = alice.send_text(&room, "frobnicate now").await;
    let answer = alice
        .wait_for_notice_after(&room, &bot, Some(&asked), |_| true)
        .await;
    assert_eq!(answer, "Unknown command, try `help`.");

    // The prefix is accepted in the management room too.
    let asked = alice.send_text(&room, "!ig version").await;
    let answer = alice
        .wait_for_notice_after(&room, &bot, Some(&asked), |_| true)
        .await;
    assert!(
        answer.contains(&format!("v{}", env!("CARGO_PKG_VERSION"))),
        "version: {answer}"
    );

    let asked = alice.send_text(&room, "cancel").await;
    let answer = alice
        .wait_for_notice_after(&room, &bot, Some(&asked), |_| true)
        .await;
    assert_eq!(answer, "There is nothing to cancel.");
}

#[tokio::test]
async fn users_without_permission_are_refused_and_left() {
    let env = env();
    let bot = bot_id();
    // The e2e config gives this user only the relay level.
    let outsider = User::register(&env.homeserver, "outsider").await;
    let room = outsider.create_dm(&bot).await;
    let refusal = outsider
        .wait_for_notice_after(&room, &bot, None, |b| b.contains("permission"))
        .await;
    assert!(
        refusal.starts_with("Sorry, you don't have permission"),
        "{refusal}"
    );
    outsider.wait_membership(&room, &bot, "leave").await;
}

#[tokio::test]
async fn outside_the_management_room_commands_need_the_prefix() {
    let env = env();
    let bot = bot_id();
    let bob = User::register(&env.homeserver, &unique("bob")).await;
    let room = bob.create_room_with(&bot).await;
    bob.wait_membership(&room, &bot, "join").await;
    let hello = bob
        .wait_for_notice_after(&room, &bot, None, |b| b.contains("!ig help"))
        .await;
    assert!(hello.contains("Instagram bridge bot"), "{hello}");

    let plain = bob.send_text(&room, "ping").await;
    let prefixed = bob.send_text(&room, "!ig ping").await;
    let answer = bob
        .wait_for_notice_after(&room, &bot, Some(&plain), |_| true)
        .await;
    assert_eq!(answer, "You're not logged in.");
    // The one answer after the plain "ping" is the one to the prefixed command.
    let timeline = bob.timeline(&room).await;
    let start = timeline
        .iter()
        .position(|e| e["event_id"] == plain.as_str())
        .expect("plain ping in timeline");
    let bot_replies_before_prefixed = timeline[start..]
        .iter()
        .take_while(|e| e["event_id"] != prefixed.as_str())
        .filter(|e| e["sender"] == bot.as_str())
        .count();
    assert_eq!(
        bot_replies_before_prefixed, 0,
        "plain text is not a command here"
    );

    let asked = bob.send_text(&room, "!ig help").await;
    let help = bob
        .wait_for_notice_after(&room, &bot, Some(&asked), |_| true)
        .await;
    assert!(
        help.contains("`!ig ping`"),
        "help shows the prefix here: {help}"
    );
}

#[tokio::test]
async fn bot_profile_comes_from_the_config() {
    let env = env();
    let bot = bot_id();
    let carol = User::register(&env.homeserver, &unique("carol")).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let name = carol.display_name(&bot).await;
        if name.as_deref() == Some(env.config.appservice.bot.displayname.as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "bot display name is {name:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
