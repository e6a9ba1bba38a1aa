//! Reactions from Instagram end to end.

use serde_json::Value;

use crate::bridging::{body_is, ghost, scene};
use crate::env;

/// A contact reacts, removes the reaction and adds the same emoji again: the Matrix user sees
/// the reaction at the end. (Its transaction id was derived from reactor, emoji and item only,
/// so the homeserver answered the re-add with the first, redacted, event.)
#[tokio::test]
async fn a_reaction_removed_and_added_again_with_the_same_emoji_is_shown() {
    let env = env();
    let w = &env.world;
    let s = scene(&[]).await;
    let item_id = w.ig.push_text(&s.thread, s.bob_pk, "react to me");
    let message = s
        .user
        .wait_for(&s.portal, "the message", |e| body_is(e, "react to me"))
        .await;
    let thumbs_up = |e: &Value| {
        e["type"] == "m.reaction"
            && e["content"]["m.relates_to"]["key"] == "👍"
            && e["content"]["m.relates_to"]["event_id"] == message["event_id"]
    };

    w.react(s.bob_pk, &s.thread, &item_id, Some("👍"));
    let first = s.user.wait_for(&s.portal, "the reaction", thumbs_up).await;
    let first_id = first["event_id"].as_str().unwrap_or_default().to_owned();
    w.react(s.bob_pk, &s.thread, &item_id, None);
    s.user.wait_redacted(&s.portal, &first_id).await;

    w.react(s.bob_pk, &s.thread, &item_id, Some("👍"));
    let again = s
        .user
        .wait_for(&s.portal, "the reaction added again", |e| {
            thumbs_up(e) && e["event_id"] != first_id.as_str()
        })
        .await;
    assert_eq!(again["sender"], ghost(s.bob_pk).as_str());
    let shown = s
        .user
        .event(&s.portal, again["event_id"].as_str().unwrap_or_default())
        .await;
    assert!(
        shown["unsigned"]["redacted_because"].is_null(),
        "the reaction is present: {shown}"
    );
    assert_eq!(shown["content"]["m.relates_to"]["key"], "👍");
}
