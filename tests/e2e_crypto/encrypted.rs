//! One conversation's story, end to end: a DM portal turned encrypted by the user keeps
//! bridging both ways (Instagram messages arrive as ciphertext the user's client decrypts;
//! the user's encrypted messages reach Instagram as plaintext); after a bridge restart the
//! sessions made before it still decrypt; with `encryption.default` a new portal is created
//! encrypted.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::olm_client::OlmUser;
use crate::{config, init_logging, start_bridge, world};

pub(crate) fn unique_pk() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let base = (std::process::id() as i64 % 10_000) * 1_000_000 + 29_000_000_000;
    base + NEXT.fetch_add(1, Ordering::SeqCst)
}

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

pub(crate) async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn notice_from(bot: &str, start: &'static str) -> impl Fn(&Value) -> bool {
    let bot = bot.to_string();
    move |e: &Value| {
        e["sender"] == bot.as_str()
            && e["content"]["msgtype"] == "m.notice"
            && e["content"]["body"]
                .as_str()
                .is_some_and(|b| b.starts_with(start))
    }
}

/// Decrypted by the user's own device (the client marks what it decrypted).
pub(crate) fn decrypted_text(body: &'static str) -> impl Fn(&Value) -> bool {
    move |e: &Value| {
        e["decrypted"] == true && e["type"] == "m.room.message" && e["content"]["body"] == body
    }
}

pub(crate) fn sent_to_instagram(w: &world::World, pk: i64, text: &str) -> bool {
    w.sent_commands(pk)
        .iter()
        .any(|c| c["action"] == "send_item" && c["text"] == text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_portals_bridge_both_ways_across_a_restart() {
    let _one_bridge = crate::ONE_BRIDGE.lock().await;
    init_logging();
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, homeserver) = config(dir.path());
    let w = world::World::start().await;
    let bridge = start_bridge(&w, config.clone()).await;
    let bot = config.bot_user_id();
    let ghost = |pk: i64| format!("@instagram_{pk}:{}", config.homeserver.domain);

    let (me_pk, bob_pk) = (unique_pk(), unique_pk());
    let (me_name, bob_name) = (format!("me_{me_pk}"), format!("bob_{bob_pk}"));
    w.ig.add_account(&me_name, "correct horse battery", me_pk);
    w.ig.add_account(&bob_name, "unused", bob_pk);
    let thread = w.ig.add_thread(&[me_pk, bob_pk], None);
    w.ig.push_text(&thread, bob_pk, "plain old times");

    // The user's client has its own device and keys before anything is bridged.
    let user = OlmUser::register(&homeserver, &unique("e2ee")).await;
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
    user.wait_for(
        &management,
        "the login",
        notice_from(&bot, "Successfully logged in"),
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
    // The first sync is over (as in the other end-to-end tests, live messages come after it).
    user.wait_for(
        &management,
        "the end of the first sync",
        notice_from(&bot, "Done:"),
    )
    .await;
    // Not encrypted yet (encryption.default is off): the history arrives in plaintext.
    let old = user
        .wait_for(&portal, "the plaintext history", |e| {
            e["content"]["body"] == "plain old times"
        })
        .await;
    assert_eq!(old["type"], "m.room.message");

    // The user turns encryption on mid-conversation.
    user.set_state(
        &portal,
        "m.room.encryption",
        json!({"algorithm": "m.megolm.v1.aes-sha2"}),
    )
    .await;
    // The bridge learns it from its next transaction (a message it sends before then still
    // goes out unencrypted, as with any client that has not synced the change yet).
    let rooms = bridge
        .bridge
        .intents
        .encryption()
        .expect("encryption on")
        .clone();
    wait_until("the bridge to hear that the room is encrypted", || async {
        rooms.is_encrypted(&portal).await.unwrap_or(false)
    })
    .await;
    w.ig.push_text(&thread, bob_pk, "secret from instagram");
    let secret = user
        .wait_for(
            &portal,
            "the Instagram message, encrypted",
            decrypted_text("secret from instagram"),
        )
        .await;
    assert_eq!(secret["sender"], ghost(bob_pk).as_str());
    user.send_encrypted(
        &portal,
        "m.room.message",
        json!({"msgtype": "m.text", "body": "secret from matrix"}),
    )
    .await;
    wait_until("the decrypted message on Instagram", || async {
        sent_to_instagram(&w, me_pk, "secret from matrix")
    })
    .await;
    // A message whose room key comes after it waits for the key, then is bridged.
    user.send_encrypted_key_late(
        &portal,
        json!({"msgtype": "m.text", "body": "the key came late"}),
    )
    .await;
    wait_until("the message whose key came late, on Instagram", || async {
        sent_to_instagram(&w, me_pk, "the key came late")
    })
    .await;
    // A message whose key never comes holds up its own conversation only, then is set aside
    // with a notice.
    user.send_encrypted_key_never(
        &portal,
        json!({"msgtype": "m.text", "body": "nobody has my key"}),
    )
    .await;
    user.send_plain(
        &management,
        "m.room.message",
        json!({"msgtype": "m.text", "body": "ping"}),
    )
    .await;
    user.wait_for(
        &management,
        "the bot's answer while the portal waits for a key",
        notice_from(&bot, "You're logged in"),
    )
    .await;
    assert!(
        user.seen_in(&portal, |e| e["sender"] == bot.as_str()
            && e["content"]["msgtype"] == "m.notice")
            .await
            .is_none(),
        "the portal was still waiting for the key when the management room answered"
    );
    let set_aside = user
        .wait_for(&portal, "the notice about the undecryptable message", |e| {
            e["decrypted"] == true
                && e["sender"] == bot.as_str()
                && e["content"]["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("could not decrypt"))
        })
        .await;
    assert_eq!(set_aside["content"]["msgtype"], "m.notice");
    assert!(!sent_to_instagram(&w, me_pk, "nobody has my key"));
    attachments_both_ways(&w, &user, &portal, &thread, (bob_pk, &ghost(bob_pk)), me_pk).await;
    // The session the next message after the restart uses too.
    user.send_encrypted(
        &portal,
        "m.room.message",
        json!({"msgtype": "m.text", "body": "before the restart"}),
    )
    .await;
    wait_until(
        "the last message before the restart on Instagram",
        || async { sent_to_instagram(&w, me_pk, "before the restart") },
    )
    .await;

    // Restarted (with encryption.default and .require on now): the sessions made before
    // still work.
    bridge.shutdown().await;
    let mut config = config.clone();
    config.encryption.default = true;
    config.encryption.require = true;
    let bridge = start_bridge(&w, config).await;
    user.send_encrypted(
        &portal,
        "m.room.message",
        json!({"msgtype": "m.text", "body": "after the restart"}),
    )
    .await;
    wait_until(
        "the message sent after the restart on Instagram",
        || async { sent_to_instagram(&w, me_pk, "after the restart") },
    )
    .await;
    w.ig.push_text(&thread, bob_pk, "instagram after the restart");
    user.wait_for(
        &portal,
        "an Instagram message after the restart",
        decrypted_text("instagram after the restart"),
    )
    .await;
    // An unencrypted message is refused, with a notice (itself encrypted).
    user.send_plain(
        &portal,
        "m.room.message",
        json!({"msgtype": "m.text", "body": "plaintext, refused"}),
    )
    .await;
    let refusal = user
        .wait_for(&portal, "the refusal", |e| {
            e["decrypted"] == true
                && e["sender"] == bot.as_str()
                && e["content"]["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("accepts only encrypted messages"))
        })
        .await;
    assert_eq!(refusal["content"]["msgtype"], "m.notice");
    assert!(!sent_to_instagram(&w, me_pk, "plaintext, refused"));

    // A new conversation gets an encrypted portal from the start.
    let carol_pk = unique_pk();
    let carol_name = format!("carol_{carol_pk}");
    w.ig.add_account(&carol_name, "unused", carol_pk);
    let second = w.ig.add_thread(&[me_pk, carol_pk], None);
    w.ig.push_text(&second, carol_pk, "hello in a new room");
    let carol_room = format!("{carol_name} full");
    let new_portal = user
        .wait_for_invite("the new portal", |state| {
            state
                .iter()
                .any(|e| e["type"] == "m.room.name" && e["content"]["name"] == carol_room.as_str())
        })
        .await;
    user.join(&new_portal).await;
    user.wait_for(
        &new_portal,
        "the first message of the new portal, encrypted",
        decrypted_text("hello in a new room"),
    )
    .await;
    let (status, state) = user
        .get(&format!(
            "/_matrix/client/v3/rooms/{new_portal}/state/m.room.encryption/"
        ))
        .await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["algorithm"], "m.megolm.v1.aes-sha2");
    bridge.shutdown().await;
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

/// The newest item of a type in a fake Instagram thread.
fn newest_item(w: &world::World, thread: &str, item_type: &str) -> Option<Value> {
    w.ig.items(thread)
        .into_iter()
        .filter(|i| i["item_type"] == item_type)
        .max_by_key(|i| i["timestamp"].as_i64().unwrap_or(0))
}

/// Media in an encrypted portal: Instagram's photo arrives as an encrypted attachment the
/// user's client opens with its own key; the user's encrypted photo reaches Instagram as
/// the bytes it sent; a tampered one is refused with a notice and a FAIL status.
async fn attachments_both_ways(
    w: &world::World,
    user: &OlmUser,
    portal: &str,
    thread: &str,
    (bob_pk, bob): (i64, &str),
    me_pk: i64,
) {
    // Instagram → Matrix.
    let photo = jpeg(64, 48);
    let tag = unique_pk();
    let photo_url =
        w.ig.add_cdn_object(&format!("{tag}/photo.jpg"), photo.clone());
    w.ig.push_item(
        thread,
        bob_pk,
        "media",
        json!({"media": {"id": format!("{tag}1_1"), "media_type": 1, "original_width": 64, "original_height": 48,
            "image_versions2": {"candidates": [{"width": 64, "height": 48, "url": photo_url}]}}}),
    );
    let event = user
        .wait_for(portal, "the Instagram photo, encrypted", |e| {
            e["decrypted"] == true && e["content"]["msgtype"] == "m.image"
        })
        .await;
    assert_eq!(event["sender"], bob);
    let content = &event["content"];
    assert!(content.get("url").is_none(), "a plain url in {content}");
    assert_eq!(content["file"]["v"], "v2", "{content}");
    assert_eq!(content["info"]["mimetype"], "image/jpeg");
    assert_eq!(content["info"]["size"].as_u64(), Some(photo.len() as u64));
    assert_eq!(user.download_decrypted(&content["file"]).await, photo);

    // Matrix → Instagram: the plaintext, byte for byte (a small JPEG is sent as it is).
    let mine = jpeg(30, 20);
    let file = user.upload_encrypted(&mine).await;
    user.send_encrypted(
        portal,
        "m.room.message",
        json!({"msgtype": "m.image", "body": "mine.jpg", "file": file,
               "info": {"mimetype": "image/jpeg", "w": 30, "h": 20}}),
    )
    .await;
    let sent_by_me = |i: &Value| i["user_id"].as_i64() == Some(me_pk);
    wait_until("the decrypted photo on Instagram", || async {
        newest_item(w, thread, "media").is_some_and(|i| sent_by_me(&i))
    })
    .await;
    let item = newest_item(w, thread, "media").unwrap_or_default();
    let fbid = item["media"]["id"].as_str().unwrap_or_default().to_string();
    let (mime, bytes) = w.ig.uploaded(&fbid).expect("uploaded");
    assert_eq!(mime, "image/jpeg");
    assert_eq!(bytes, mine);

    // A file that does not match its hash: a notice and a FAIL status, nothing sent.
    let mut tampered = user.upload_encrypted(&jpeg(10, 10)).await;
    let other = user.upload_encrypted(&jpeg(12, 12)).await;
    tampered["hashes"] = other["hashes"].clone();
    let before = w.ig.items(thread).len();
    let bad = user
        .send_encrypted(
            portal,
            "m.room.message",
            json!({"msgtype": "m.image", "body": "bad.jpg", "file": tampered,
                   "info": {"mimetype": "image/jpeg"}}),
        )
        .await;
    user.wait_for(portal, "the notice about the tampered photo", |e| {
        e["decrypted"] == true
            && e["content"]["msgtype"] == "m.notice"
            && e["content"]["body"]
                .as_str()
                .is_some_and(|b| b.contains("encrypted file could not be opened"))
    })
    .await;
    user.wait_for(portal, "the FAIL status of the tampered photo", |e| {
        e["type"] == "com.beeper.message_send_status"
            && e["content"]["m.relates_to"]["event_id"] == bad.as_str()
            && e["content"]["status"] == "FAIL"
    })
    .await;
    assert_eq!(
        w.ig.items(thread).len(),
        before,
        "the tampered photo was sent"
    );
}
