//! Several Instagram accounts per Matrix user across a restart: both logins come back by
//! themselves, each bridging its own room, and the preferred login is kept.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::matrix_client::{User, unique};
use crate::{Harness, body_is, harness, wait_until};

/// Waits until the user is invited to a room of each name, joins them; returns name → room.
async fn wait_for_invites(user: &User, names: &[String]) -> HashMap<String, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut found = HashMap::new();
    while found.len() < names.len() {
        let body = user.sync_next().await;
        for (room, data) in body["rooms"]["invite"].as_object().into_iter().flatten() {
            for e in data["invite_state"]["events"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if e["type"] == "m.room.name"
                    && let Some(name) = e["content"]["name"].as_str()
                    && names.iter().any(|n| n == name)
                {
                    found.insert(name.to_string(), room.clone());
                }
            }
        }
        assert!(Instant::now() < deadline, "invites {found:?} of {names:?}");
    }
    for room in found.values() {
        user.join(room).await;
    }
    found
}

/// Sends a command and returns the bot's first answer after it.
async fn ask(
    h: &Harness,
    user: &User,
    room: &str,
    text: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let sent = user.send_text(room, text).await;
    user.wait_for_notice_after(room, &h.config.bot_user_id(), Some(&sent), done)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_logins_of_a_user_come_back_after_a_restart() {
    let h = harness("accounts").await;
    let w = &h.world;
    let bridge = h.start().await;
    let base = 32_000_000_000 + i64::from(std::process::id() % 10_000) * 1000;
    let (a, b, x, y) = (base + 1, base + 2, base + 3, base + 4);
    let names: Vec<String> = ["acc_a", "acc_b", "acc_x", "acc_y"]
        .iter()
        .zip([a, b, x, y])
        .map(|(n, pk)| format!("{n}_{pk}"))
        .collect();
    for (name, pk) in names.iter().zip([a, b, x, y]) {
        w.ig.add_account(name, "pw", pk);
    }
    let with_x = w.ig.add_thread(&[a, x], None);
    let with_y = w.ig.add_thread(&[b, y], None);

    let user = User::register(&h.homeserver, &unique("accr")).await;
    let bot = h.config.bot_user_id();
    let management = user.create_dm(&bot).await;
    user.wait_for_notice_after(&management, &bot, None, |b| {
        b.contains("Instagram bridge bot")
    })
    .await;
    for name in &names[..2] {
        let answer = ask(&h, &user, &management, &format!("login {name} pw"), |b| {
            b.starts_with("Successfully") || b.starts_with("You're")
        })
        .await;
        assert_eq!(answer, format!("Successfully logged in as @{name}."));
    }
    let wanted = [format!("{} full", names[2]), format!("{} full", names[3])];
    let rooms = wait_for_invites(&user, &wanted).await;
    let (room_x, room_y) = (&rooms[&wanted[0]], &rooms[&wanted[1]]);
    let chosen = ask(
        &h,
        &user,
        &management,
        &format!("set-preferred-login {}", names[1]),
        |b| b.starts_with("Commands now use"),
    )
    .await;
    assert_eq!(chosen, format!("Commands now use @{} (id {b}).", names[1]));

    // Down; both contacts write meanwhile.
    bridge.shutdown().await;
    w.ig.push_text(&with_x, x, "to a while down");
    w.ig.push_text(&with_y, y, "to b while down");
    let bridge = h.start().await;

    // Both logins reconnect by themselves and catch up, each in its own room.
    user.wait_for(room_x, "a's missed message", |e| {
        body_is(e, "to a while down")
    })
    .await;
    user.wait_for(room_y, "b's missed message", |e| {
        body_is(e, "to b while down")
    })
    .await;
    w.ig.push_text(&with_x, x, "to a after");
    w.ig.push_text(&with_y, y, "to b after");
    user.wait_for(room_x, "a live message", |e| body_is(e, "to a after"))
        .await;
    user.wait_for(room_y, "b live message", |e| body_is(e, "to b after"))
        .await;
    user.send_text(room_x, "a answers").await;
    user.send_text(room_y, "b answers").await;
    wait_until("both answers on Instagram, each from its account", || {
        let from = |thread: &str, pk: i64, text: &str| {
            w.ig.items(thread)
                .iter()
                .any(|i| i["text"] == text && i["user_id"] == pk)
        };
        from(&with_x, a, "a answers") && from(&with_y, b, "b answers")
    })
    .await;
    let listed = ask(&h, &user, &management, "list-logins", |b| {
        b.starts_with("**Your Instagram accounts**")
    })
    .await;
    assert!(
        listed.contains(&format!("@{} (id {a})", names[0])),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.contains(&format!("@{} (id {b})", names[1])) && l.ends_with("— preferred")),
        "the preferred login is kept: {listed}"
    );
    bridge.shutdown().await;
}
