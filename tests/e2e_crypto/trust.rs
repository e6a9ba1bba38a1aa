//! `encryption.self_sign` and `verification_levels.send` end to end, and the rest of a
//! conversation in an encrypted portal: the bot's device is cross-signed by the bot (as the
//! user's own client sees it) and stays so, with the same identity, across a restart; with
//! `send: cross-signed-tofu` a message from the user's unsigned device is refused with a
//! notice and a FAIL status, with the default (`unverified`) it is bridged; encrypted
//! reactions, edits and redactions reach Instagram, and Instagram's reactions and edits
//! arrive encrypted.

use serde_json::{Value, json};

use crate::encrypted::{
    decrypted_text, notice_from, sent_to_instagram, unique, unique_pk, wait_until,
};
use crate::olm_client::OlmUser;
use crate::{config, init_logging, start_bridge, world};

/// The bot's cross-signing master key as the homeserver publishes it.
fn published_master(keys: &Value, bot: &str) -> Option<String> {
    keys["master_keys"][bot]["keys"]
        .as_object()
        .and_then(|k| k.values().next())
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_bot_send_levels_and_relations() {
    let _one_bridge = crate::ONE_BRIDGE.lock().await;
    init_logging();
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut config, homeserver) = config(dir.path());
    config.encryption.self_sign = true;
    config.encryption.verification_levels.send =
        matrix_instagram::config::encryption::VerificationLevel::CrossSignedTofu;
    let w = world::World::start().await;
    let bridge = start_bridge(&w, config.clone()).await;
    let bot = config.bot_user_id();
    let ghost = |pk: i64| format!("@instagram_{pk}:{}", config.homeserver.domain);
    let crypto = bridge
        .bridge
        .intents
        .encryption()
        .expect("encryption on")
        .clone();
    let device = crypto.crypto().device_id().to_string();
    assert!(crypto.crypto().is_self_signed().await);

    let (me_pk, bob_pk) = (unique_pk(), unique_pk());
    let (me_name, bob_name) = (format!("me_{me_pk}"), format!("bob_{bob_pk}"));
    w.ig.add_account(&me_name, "correct horse battery", me_pk);
    w.ig.add_account(&bob_name, "unused", bob_pk);
    let thread = w.ig.add_thread(&[me_pk, bob_pk], None);
    w.ig.push_text(&thread, bob_pk, "hello before encryption");

    // The user's own client downloads the bot's keys: its device is signed by the bot's
    // self-signing key, and the homeserver publishes the bot's master key.
    let user = OlmUser::register(&homeserver, &unique("trust")).await;
    let (signed, master_seen) = user.sees_cross_signed(&bot, &device).await;
    assert!(
        signed,
        "the bot's device {device} is not cross-signed by the bot"
    );
    let master = published_master(&user.query_keys(&bot).await, &bot).expect("a master key");
    assert_eq!(master_seen.as_deref(), Some(master.as_str()));

    let management = user.create_dm(&bot).await;
    user.wait_for(&management, "the bot's welcome", notice_from(&bot, ""))
        .await;
    let login = format!("login {me_name} correct horse battery");
    user.send_plain(
        &management,
        "m.room.message",
        json!({"msgtype": "m.text", "body": login}),
    )
    .await;
    let name = format!("{bob_name} full");
    let portal = user
        .wait_for_invite("the DM portal", |state| {
            state
                .iter()
                .any(|e| e["type"] == "m.room.name" && e["content"]["name"] == name.as_str())
        })
        .await;
    user.join(&portal).await;
    user.wait_for(
        &management,
        "the end of the first sync",
        notice_from(&bot, "Done:"),
    )
    .await;
    user.wait_for(&portal, "the history", |e| {
        e["content"]["body"] == "hello before encryption"
    })
    .await;
    user.set_state(
        &portal,
        "m.room.encryption",
        json!({"algorithm": "m.megolm.v1.aes-sha2"}),
    )
    .await;
    wait_until("the bridge to hear that the room is encrypted", || async {
        crypto.is_encrypted(&portal).await.unwrap_or(false)
    })
    .await;

    // `send: cross-signed-tofu`: the user's device is signed by nobody, so its message is
    // decrypted, then refused with a notice and a FAIL status; nothing reaches Instagram.
    let refused = user
        .send_encrypted(
            &portal,
            "m.room.message",
            json!({"msgtype": "m.text", "body": "from an unsigned device"}),
        )
        .await;
    let notice = user
        .wait_for(&portal, "the refusal of the unsigned device", |e| {
            e["decrypted"] == true
                && e["sender"] == bot.as_str()
                && e["content"]["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("not trusted enough"))
        })
        .await;
    assert_eq!(notice["content"]["msgtype"], "m.notice");
    let body = notice["content"]["body"].as_str().unwrap_or_default();
    assert!(body.contains("cross-signed-tofu"), "{body}");
    user.wait_for(&portal, "the FAIL status of the refused message", |e| {
        e["type"] == "com.beeper.message_send_status"
            && e["content"]["m.relates_to"]["event_id"] == refused.as_str()
            && e["content"]["status"] == "FAIL"
    })
    .await;
    assert!(!sent_to_instagram(&w, me_pk, "from an unsigned device"));

    // Restarted with the default level: the same device and the same cross-signing identity
    // (nothing made anew), and the user's messages are bridged.
    bridge.shutdown().await;
    let mut config = config.clone();
    config.encryption.verification_levels.send =
        matrix_instagram::config::encryption::VerificationLevel::Unverified;
    let bridge = start_bridge(&w, config).await;
    let crypto = bridge
        .bridge
        .intents
        .encryption()
        .expect("encryption on")
        .clone();
    assert_eq!(crypto.crypto().device_id(), device);
    assert!(crypto.crypto().is_self_signed().await);
    assert_eq!(
        published_master(&user.query_keys(&bot).await, &bot).as_deref(),
        Some(master.as_str()),
        "the bot's cross-signing identity was made again"
    );
    let original = user
        .send_encrypted(
            &portal,
            "m.room.message",
            json!({"msgtype": "m.text", "body": "helo wrld"}),
        )
        .await;
    wait_until("the accepted message on Instagram", || async {
        sent_to_instagram(&w, me_pk, "helo wrld")
    })
    .await;
    user.wait_for(&portal, "its delivery status", |e| {
        e["type"] == "com.beeper.message_send_status"
            && e["content"]["m.relates_to"]["event_id"] == original.as_str()
            && e["content"]["status"] == "SUCCESS"
    })
    .await;
    matrix_relations(&w, &user, &portal, &thread, me_pk, &original).await;
    instagram_relations(&w, &user, &portal, &thread, (bob_pk, me_pk), &ghost(bob_pk)).await;
    bridge.shutdown().await;
}

fn my_item(w: &world::World, thread: &str, me_pk: i64) -> Option<Value> {
    w.ig.items(thread)
        .into_iter()
        .find(|i| i["user_id"] == me_pk && i["item_type"] == "text")
}

/// Encrypted reaction and edit, then a redaction of the encrypted message: each reaches
/// Instagram.
async fn matrix_relations(
    w: &world::World,
    user: &OlmUser,
    portal: &str,
    thread: &str,
    me_pk: i64,
    original: &str,
) {
    let item_id = my_item(w, thread, me_pk)
        .and_then(|i| i["item_id"].as_str().map(str::to_string))
        .expect("the message on Instagram");
    user.send_encrypted(
        portal,
        "m.reaction",
        json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": original, "key": "👍"}}),
    )
    .await;
    wait_until("the encrypted reaction on Instagram", || async {
        w.sent_commands(me_pk).iter().any(|c| {
            c["item_type"] == "reaction" && c["emoji"] == "👍" && c["item_id"] == item_id.as_str()
        })
    })
    .await;
    user.send_encrypted(
        portal,
        "m.room.message",
        json!({"msgtype": "m.text", "body": "* hello world",
               "m.new_content": {"msgtype": "m.text", "body": "hello world"},
               "m.relates_to": {"rel_type": "m.replace", "event_id": original}}),
    )
    .await;
    wait_until("the encrypted edit on Instagram", || async {
        my_item(w, thread, me_pk).is_some_and(|i| i["text"] == "hello world")
    })
    .await;
    user.redact(portal, original).await;
    wait_until("the unsend on Instagram", || async {
        !w.ig
            .items(thread)
            .iter()
            .any(|i| i["item_id"] == item_id.as_str())
    })
    .await;
}

/// Instagram's reaction and edit arrive encrypted, and the user's client decrypts them.
async fn instagram_relations(
    w: &world::World,
    user: &OlmUser,
    portal: &str,
    thread: &str,
    (bob_pk, me_pk): (i64, i64),
    bob: &str,
) {
    let item_id = w.ig.push_text(thread, bob_pk, "teh typo");
    let message = user
        .wait_for(
            portal,
            "Bob's message, encrypted",
            decrypted_text("teh typo"),
        )
        .await;
    w.react(bob_pk, thread, &item_id, Some("❤️"));
    let reaction = user
        .wait_for(portal, "Bob's reaction, encrypted", |e| {
            e["decrypted"] == true
                && e["type"] == "m.reaction"
                && e["content"]["m.relates_to"]["key"] == "❤️"
        })
        .await;
    assert_eq!(reaction["sender"], bob);
    assert_eq!(
        reaction["content"]["m.relates_to"]["event_id"],
        message["event_id"]
    );
    let mut edited =
        w.ig.items(thread)
            .into_iter()
            .find(|i| i["item_id"] == item_id.as_str())
            .unwrap_or_default();
    edited["text"] = json!("the typo, fixed");
    w.broker.push_patch(
        me_pk,
        "replace",
        &format!("/direct_v2/threads/{thread}/items/{item_id}"),
        &edited.to_string(),
    );
    let edit = user
        .wait_for(portal, "Bob's edit, encrypted", |e| {
            e["decrypted"] == true
                && e["content"]["m.relates_to"]["rel_type"] == "m.replace"
                && e["content"]["m.new_content"]["body"] == "the typo, fixed"
        })
        .await;
    assert_eq!(edit["sender"], bob);
    assert_eq!(
        edit["content"]["m.relates_to"]["event_id"],
        message["event_id"]
    );
}
