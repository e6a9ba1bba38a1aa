//! `leave`, `block` and `unblock` from Matrix: the group is left on Instagram and its room by
//! the user; the DM's contact (or a named user) is blocked and unblocked on Instagram.

use crate::bridging::{ask, body_is, scene, unique_pk, wait_until};
use crate::env;

#[tokio::test]
async fn leave_a_group_and_block_and_unblock_from_matrix() {
    let env = env();
    let w = &env.world;
    let s = scene(&[]).await;
    let dan_pk = unique_pk();
    let dan_name = format!("dan_{dan_pk}");
    w.ig.add_account(&dan_name, "unused", dan_pk);
    let group =
        w.ig.add_thread(&[s.bob_pk, s.me_pk, dan_pk], Some("Leavers"));
    w.ig.push_text(&group, dan_pk, "welcome leavers");
    let room = s
        .user
        .wait_for_invite("the group portal", |events| {
            events
                .iter()
                .any(|e| e["type"] == "m.room.name" && e["content"]["name"] == "Leavers")
        })
        .await;
    s.user.join(&room).await;
    s.user
        .wait_for(&room, "the group message", |e| {
            body_is(e, "welcome leavers")
        })
        .await;

    // In a DM, `leave` is refused: Instagram has no such thing.
    let answer = ask(&s.user, &s.portal, "!ig leave").await;
    assert!(answer.starts_with("Instagram has no leaving"), "{answer}");

    // Block the DM's contact from their room, then unblock them by name.
    let answer = ask(&s.user, &s.portal, "!ig block").await;
    assert!(answer.starts_with("You blocked @bob_"), "{answer}");
    assert!(w.ig.is_blocked(s.me_pk, s.bob_pk));
    let answer = ask(&s.user, &s.management, &format!("unblock {}", s.bob_pk)).await;
    assert!(answer.starts_with("You unblocked"), "{answer}");
    assert!(!w.ig.is_blocked(s.me_pk, s.bob_pk));
    let answer = ask(&s.user, &s.management, &format!("block @{dan_name}")).await;
    assert_eq!(answer, format!("You blocked @{dan_name} on Instagram."));
    assert!(w.ig.is_blocked(s.me_pk, dan_pk));
    let answer = ask(&s.user, &s.management, "block").await;
    assert!(answer.starts_with("Name the person"), "{answer}");

    // `leave` in the group: gone on Instagram, and the user is out of the room.
    let answer = ask(&s.user, &room, "!ig leave").await;
    assert_eq!(answer, "You left the group on Instagram.");
    assert!(
        !w.ig
            .thread(&group)
            .is_some_and(|t| t.users.contains(&s.me_pk))
    );
    wait_until("the user out of the group's room", || async {
        s.user
            .membership_of(&room, &s.user.user_id)
            .await
            .as_deref()
            == Some("leave")
    })
    .await;
}
