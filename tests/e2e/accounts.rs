//! Several Instagram accounts per Matrix user: one Matrix user logs in to two Instagram
//! accounts, each account's threads get rooms of their own (a thread between the two accounts
//! is two rooms; a group both are in is one room), messages cross both ways in each,
//! `list-logins` shows both, `set-preferred-login` picks the account commands (and the shared
//! group) use, and `logout <one>` leaves the other bridging.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bridging::{ask, body_is, bot_id, ghost, unique_pk, wait_until};
use crate::env;
use crate::matrix_client::{User, unique};

/// Waits until the user is invited to a room of each name; returns name → room.
async fn wait_for_invites(user: &User, names: &[String]) -> HashMap<String, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut found = HashMap::new();
    while found.len() < names.len() {
        let body = user.sync_next().await;
        for (room, data) in body["rooms"]["invite"].as_object().into_iter().flatten() {
            let events = data["invite_state"]["events"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for e in &events {
                if e["type"] == "m.room.name"
                    && let Some(name) = e["content"]["name"].as_str()
                    && names.iter().any(|n| n == name)
                {
                    found.insert(name.to_string(), room.clone());
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "invites seen {found:?}, wanted {names:?}"
        );
    }
    for room in found.values() {
        user.join(room).await;
    }
    found
}

/// Logs in with the bot and waits for the first sync's summary.
async fn login(user: &User, management: &str, username: &str, summary: &str) {
    let asked = user
        .send_text(management, &format!("login {username} pw"))
        .await;
    let answer = user
        .wait_for_notice_after(management, &bot_id(), Some(&asked), |b| {
            b.starts_with("Successfully logged in")
        })
        .await;
    assert_eq!(answer, format!("Successfully logged in as @{username}."));
    user.wait_for_notice_after(management, &bot_id(), Some(&asked), |b| {
        b.starts_with(summary)
    })
    .await;
}

/// A message typed in a room reaches the thread on Instagram, sent by `pk`.
async fn sent_by(thread: &str, pk: i64, text: &str) {
    let w = &env().world;
    wait_until(&format!("{text:?} on Instagram"), || async {
        w.ig.items(thread)
            .iter()
            .any(|i| i["text"] == text && i["user_id"] == pk)
    })
    .await;
}

/// The login `list-logins` marks as preferred: "@name (id pk)".
fn preferred(listed: &str) -> String {
    let lines: Vec<&str> = listed
        .lines()
        .filter(|l| l.ends_with("— preferred"))
        .collect();
    assert_eq!(lines.len(), 1, "one preferred login: {listed}");
    let line = lines[0].trim_start_matches("* ");
    line[..line.find("):").map_or(line.len(), |i| i + 1)].to_string()
}

fn is_from(e: &Value, body: &str, sender: &str) -> bool {
    body_is(e, body) && e["sender"] == sender
}

#[tokio::test]
async fn one_matrix_user_bridges_two_instagram_accounts() {
    let env = env();
    let w = &env.world;
    let bot = bot_id();
    let (a, b, bob, carol, dave) = (
        unique_pk(),
        unique_pk(),
        unique_pk(),
        unique_pk(),
        unique_pk(),
    );
    let (a_name, b_name) = (format!("pers_{a}"), format!("biz_{b}"));
    let (bob_name, carol_name, dave_name) = (
        format!("bob_{bob}"),
        format!("carol_{carol}"),
        format!("dave_{dave}"),
    );
    for (name, pk) in [
        (&a_name, a),
        (&b_name, b),
        (&bob_name, bob),
        (&carol_name, carol),
        (&dave_name, dave),
    ] {
        w.ig.add_account(name, "pw", pk);
    }
    let with_bob = w.ig.add_thread(&[a, bob], None);
    let with_carol = w.ig.add_thread(&[b, carol], None);
    let between = w.ig.add_thread(&[a, b], None);
    // A group both accounts are in: one shared room.
    let team = format!("Team {a}");
    let group = w.ig.add_thread(&[carol, a, b], Some(&team));
    w.ig.push_text(&with_bob, bob, "hi personal");
    w.ig.push_text(&with_carol, carol, "hi business");
    w.ig.push_text(&between, b, "business says hi to personal");

    let user = User::register(&env.homeserver, &unique("multi")).await;
    let management = user.create_dm(&bot).await;
    user.wait_for_notice_after(&management, &bot, None, |b| {
        b.contains("Instagram bridge bot")
    })
    .await;

    // Two logins; each account's threads get their own rooms. The thread between the two
    // accounts is a room for each (named after the other account).
    login(
        &user,
        &management,
        &a_name,
        "Done: 3 conversations bridged.",
    )
    .await;
    login(
        &user,
        &management,
        &b_name,
        "Done: 3 conversations bridged.",
    )
    .await;
    let names = [
        format!("{bob_name} full"),
        format!("{b_name} full"),
        format!("{carol_name} full"),
        format!("{a_name} full"),
        team.clone(),
    ];
    let rooms = wait_for_invites(&user, &names).await;
    let (bob_room, between_a, carol_room, between_b) = (
        &rooms[&names[0]],
        &rooms[&names[1]],
        &rooms[&names[2]],
        &rooms[&names[3]],
    );
    let group_room = &rooms[&team];
    assert_ne!(between_a, between_b, "one room per account");

    // The same Instagram account again is refused.
    let again = ask(&user, &management, &format!("login {a_name} pw")).await;
    assert_eq!(again, format!("You're already logged in as @{a_name}."));

    let listed = ask(&user, &management, "list-logins").await;
    assert!(listed.contains(&format!("@{a_name} (id {a})")), "{listed}");
    assert!(listed.contains(&format!("@{b_name} (id {b})")), "{listed}");
    assert_eq!(
        preferred(&listed),
        format!("@{a_name} (id {a})"),
        "the first login is preferred until another is chosen: {listed}"
    );

    // Instagram → Matrix, each in its account's room.
    user.wait_for(bob_room, "Bob's message", |e| {
        is_from(e, "hi personal", &ghost(bob))
    })
    .await;
    user.wait_for(carol_room, "Carol's message", |e| {
        is_from(e, "hi business", &ghost(carol))
    })
    .await;
    user.wait_for(between_a, "the business account's message", |e| {
        is_from(e, "business says hi to personal", &ghost(b))
    })
    .await;
    w.ig.push_text(&with_carol, carol, "live to business");
    user.wait_for(carol_room, "a live message", |e| {
        is_from(e, "live to business", &ghost(carol))
    })
    .await;

    // Matrix → Instagram, through the room's account.
    user.send_text(bob_room, "personal answers bob").await;
    sent_by(&with_bob, a, "personal answers bob").await;
    user.send_text(carol_room, "business answers carol").await;
    sent_by(&with_carol, b, "business answers carol").await;
    // Between the two accounts: sent as one, received by the other's room.
    user.send_text(between_a, "personal to business").await;
    sent_by(&between, a, "personal to business").await;
    user.wait_for(between_b, "the personal account's message", |e| {
        is_from(e, "personal to business", &ghost(a))
    })
    .await;
    user.send_text(between_b, "business to personal").await;
    sent_by(&between, b, "business to personal").await;
    user.wait_for(between_a, "the business account's answer", |e| {
        is_from(e, "business to personal", &ghost(b))
    })
    .await;

    // In the shared group, the user speaks through the preferred login (both are members).
    user.send_text(group_room, "group via the personal account")
        .await;
    sent_by(&group, a, "group via the personal account").await;

    // Commands that need one account use the preferred one: Dave has a chat with the
    // business account only (new, so not bridged yet).
    let with_dave = w.ig.add_thread(&[b, dave], None);
    let refused = ask(&user, &management, &format!("pm {dave_name}")).await;
    assert!(refused.starts_with("Could not open the chat"), "{refused}");
    let chosen = ask(
        &user,
        &management,
        &format!("set-preferred-login @{b_name}"),
    )
    .await;
    assert_eq!(chosen, format!("Commands now use @{b_name} (id {b})."));
    let opened = ask(&user, &management, &format!("pm {dave_name}")).await;
    assert!(opened.starts_with("Opening the chat"), "{opened}");
    let dave_room = &wait_for_invites(&user, &[format!("{dave_name} full")]).await
        [&format!("{dave_name} full")];
    user.send_text(group_room, "group via the business account")
        .await;
    sent_by(&group, b, "group via the business account").await;
    let listed = ask(&user, &management, "list-logins").await;
    assert_eq!(
        preferred(&listed),
        format!("@{b_name} (id {b})"),
        "{listed}"
    );
    w.ig.push_text(&with_dave, dave, "dave writes");
    user.wait_for(dave_room, "Dave's message", |e| {
        is_from(e, "dave writes", &ghost(dave))
    })
    .await;

    // With several logins, `logout` asks which; `logout <one>` leaves the other bridging.
    let which = ask(&user, &management, "logout").await;
    assert!(which.contains("which one?"), "{which}");
    let out = ask(&user, &management, &format!("logout {a_name}")).await;
    assert_eq!(out, format!("Logged out of Instagram as @{a_name}."));
    let listed = ask(&user, &management, "list-logins").await;
    assert!(!listed.contains(&a_name), "{listed}");
    assert_eq!(
        preferred(&listed),
        format!("@{b_name} (id {b})"),
        "{listed}"
    );
    w.ig.push_text(&with_carol, carol, "still bridged");
    user.wait_for(carol_room, "a message after the other logout", |e| {
        is_from(e, "still bridged", &ghost(carol))
    })
    .await;
    user.send_text(carol_room, "business still answers").await;
    sent_by(&with_carol, b, "business still answers").await;
    let pong = ask(&user, &management, "ping").await;
    assert!(pong.contains(&format!("@{b_name}")), "{pong}");
    assert!(!pong.contains(&format!("@{a_name}")), "{pong}");
}
