//! Presence both ways (enabled for the end-to-end bridge): a contact's Instagram activity
//! status is their ghost's presence, and the user's own presence reaches Instagram as the
//! realtime foreground state.

use serde_json::json;

use crate::bridging::{ghost, scene, unique_pk, wait_until};
use crate::env;
use crate::matrix_client::User;

async fn presence_of(user: &User, who: &str) -> Option<String> {
    let (status, body) = user
        .get(&format!("/_matrix/client/v3/presence/{who}/status"))
        .await;
    (status == 200).then(|| body["presence"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn contacts_activity_is_their_ghosts_presence_and_mine_reaches_instagram() {
    let env = env();
    let w = &env.world;
    // Active before the login: read with get_presence when the account starts.
    let carol_pk = unique_pk();
    w.ig.add_account(&format!("carol_{carol_pk}"), "unused", carol_pk);
    w.ig.set_presence(carol_pk, true, 1_700_000_000_000);
    let s = scene(&[]).await;
    // Presence is visible to those who share a room: a group with carol.
    let group =
        w.ig.add_thread(&[s.me_pk, s.bob_pk, carol_pk], Some("Presence club"));
    w.ig.push_text(&group, carol_pk, "hi all");
    let room = s
        .user
        .wait_for_invite("the group portal", |events| {
            events
                .iter()
                .any(|e| e["type"] == "m.room.name" && e["content"]["name"] == "Presence club")
        })
        .await;
    s.user.join(&room).await;
    wait_until("carol's ghost online", || async {
        presence_of(&s.user, &ghost(carol_pk)).await.as_deref() == Some("online")
    })
    .await;

    // Realtime presence events move bob's ghost.
    let event = |active: bool| {
        json!({"presence_event": {"user_id": s.bob_pk.to_string(), "is_active": active,
            "last_activity_at_ms": "1700000000000", "in_threads": null}})
        .to_string()
    };
    w.broker
        .push_realtime_sub(s.me_pk, "17846944882223835", &event(true));
    wait_until("bob's ghost online", || async {
        presence_of(&s.user, &ghost(s.bob_pk)).await.as_deref() == Some("online")
    })
    .await;
    w.broker
        .push_realtime_sub(s.me_pk, "17846944882223835", &event(false));
    wait_until("bob's ghost offline", || async {
        presence_of(&s.user, &ghost(s.bob_pk)).await.as_deref() == Some("offline")
    })
    .await;

    // The user is online on Matrix (their client syncs): shown active on Instagram, read
    // when the account started. Then their changes follow (foreground state, topic 102).
    let last_foreground = || {
        w.broker
            .received(s.me_pk)
            .iter()
            .rev()
            .find(|r| r.topic == "102")
            .and_then(|r| r.payload.get(1).copied())
    };
    // Compact Thrift booleans: 0x11 true, 0x12 false (field 1, in_foreground_app).
    wait_until("shown active at login", || async {
        last_foreground() == Some(0x11)
    })
    .await;
    for (presence, byte) in [("unavailable", 0x12), ("online", 0x11)] {
        let (status, _) = s
            .user
            .call(
                reqwest::Method::PUT,
                &format!("/_matrix/client/v3/presence/{}/status", s.user.user_id),
                Some(json!({ "presence": presence })),
            )
            .await;
        assert_eq!(status, 200);
        wait_until(&format!("{presence} on Instagram"), || async {
            last_foreground() == Some(byte)
        })
        .await;
    }
}
