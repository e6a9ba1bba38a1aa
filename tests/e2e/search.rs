//! `search <text>` finds Instagram users and messages in the user's bridged chats, each with
//! a matrix.to link to its event.

use crate::bridging::{ask, body_is, scene};

#[tokio::test]
async fn search_finds_messages_with_links_to_their_events() {
    let s = scene(&["the quick brown fox", "nothing to see"]).await;
    let fox = s
        .user
        .wait_for(&s.portal, "the history", |e| {
            body_is(e, "the quick brown fox")
        })
        .await;
    let event_id = fox["event_id"].as_str().unwrap_or_default().to_string();
    let mut answer = String::new();
    // The homeserver indexes messages as they arrive: ask until it has them.
    for _ in 0..50 {
        answer = ask(&s.user, &s.management, "search brown").await;
        if answer.contains("**Messages**") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(answer.contains("the quick brown fox"), "{answer}");
    assert!(
        answer.contains(&format!("https://matrix.to/#/{}/{event_id}", s.portal)),
        "{answer}"
    );
    assert!(!answer.contains("nothing to see"), "{answer}");
    let none = ask(&s.user, &s.management, "search zebra").await;
    assert!(none.contains("No messages found in your chats."), "{none}");
}
