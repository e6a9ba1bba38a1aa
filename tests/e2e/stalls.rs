//! One stalled conversation must not slow another: conversations have their own workers, and
//! the dispatcher never waits for a full or slow one.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::bridging::{body_is, ghost, scene, unique_pk, wait_until};
use crate::env;
use crate::matrix_client::User;

/// How long a message from Instagram takes to show in the room, measured by the test.
async fn crossing_time(user: &User, room: &str, thread: &str, sender: i64, text: &str) -> Duration {
    let w = &env().world;
    let start = Instant::now();
    w.ig.push_text(thread, sender, text);
    user.wait_for(room, text, |e| body_is(e, text)).await;
    start.elapsed()
}

/// The slowest of three crossings.
async fn slowest_of_three(
    user: &User,
    room: &str,
    thread: &str,
    sender: i64,
    tag: &str,
) -> Duration {
    let mut slowest = Duration::ZERO;
    for i in 0..3 {
        let t = crossing_time(user, room, thread, sender, &format!("{tag} {i}")).await;
        slowest = slowest.max(t);
    }
    slowest
}

#[tokio::test]
async fn a_stalled_conversation_leaves_another_as_fast_as_before() {
    let w = &env().world;
    let s = scene(&[]).await;
    // A second conversation of the same account, with Carol.
    let carol_pk = unique_pk();
    let carol_name = format!("carol_{carol_pk}");
    w.ig.add_account(&carol_name, "unused", carol_pk);
    let other = w.ig.add_thread(&[carol_pk, s.me_pk], None);
    w.ig.push_text(&other, carol_pk, "hi, it's carol");
    let room_name = format!("{carol_name} full");
    let room = s
        .user
        .wait_for_invite("Carol's portal", |events| {
            events
                .iter()
                .any(|e| e["type"] == "m.room.name" && e["content"]["name"] == room_name.as_str())
        })
        .await;
    s.user.join(&room).await;
    s.user
        .wait_for(&room, "Carol's first message", |e| {
            body_is(e, "hi, it's carol")
        })
        .await;
    let baseline = slowest_of_three(&s.user, &room, &other, carol_pk, "before the stall").await;

    // Bob's conversation stalls: a photo whose download hangs, and 100 messages behind it
    // (more than a worker keeps in memory).
    let path = format!("{}/stuck.jpg", s.bob_pk);
    let url = w.ig.add_cdn_object(&path, vec![0xFF, 0xD8, 0xFF, 0xE0]);
    w.ig.hang_cdn_object(&path, true);
    w.ig.push_item(
        &s.thread,
        s.bob_pk,
        "media",
        json!({"media": {"id": format!("{}9_1", s.bob_pk), "media_type": 1,
            "original_width": 8, "original_height": 8,
            "image_versions2": {"candidates": [{"width": 8, "height": 8, "url": url}]}}}),
    );
    for i in 0..100 {
        w.ig.push_text(&s.thread, s.bob_pk, &format!("behind the stall {i:03}"));
    }
    wait_until("the photo's download to hang", || async {
        w.ig.hanging_downloads() > 0
    })
    .await;

    let stalled = slowest_of_three(&s.user, &room, &other, carol_pk, "during the stall").await;
    let bob = ghost(s.bob_pk);
    assert!(
        w.ig.hanging_downloads() > 0
            && !s
                .user
                .bodies_from(&s.portal, &bob)
                .await
                .iter()
                .any(|b| b.starts_with("behind the stall")),
        "Bob's conversation was stalled throughout"
    );
    let allowed = (baseline * 5).max(Duration::from_secs(3));
    eprintln!("crossing time: {baseline:?} before the stall, {stalled:?} during it");
    assert!(
        stalled <= allowed,
        "a message of another conversation took {stalled:?} during the stall, {baseline:?} \
         before it"
    );

    // Released, Bob's conversation catches up, everything in order.
    w.ig.hang_cdn_object(&path, false);
    s.user
        .wait_for(&s.portal, "the last message behind the stall", |e| {
            body_is(e, "behind the stall 099")
        })
        .await;
    let behind: Vec<String> = s
        .user
        .bodies_from(&s.portal, &bob)
        .await
        .into_iter()
        .filter(|b| b.starts_with("behind the stall"))
        .collect();
    let expected: Vec<String> = (0..100)
        .map(|i| format!("behind the stall {i:03}"))
        .collect();
    assert_eq!(behind, expected);
}
