//! Content hashes of bridged messages: an item replaced on Instagram is only edited on Matrix
//! when what it shows changed, and the echo of an edit sent from Matrix is recognised.

use super::to_matrix::Part;

/// The hash of the bodies of an item's parts, in order.
pub fn content_hash(parts: &[Part]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p.content["body"].as_str().unwrap_or_default().as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..12])
}

/// The [`content_hash`] of a message whose only part has this body (an edit sent from Matrix
/// records it, so that its echo is recognised).
pub fn body_hash(body: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(body.as_bytes());
    h.update([0]);
    hex::encode(&h.finalize()[..12])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn part(body: &str) -> Part {
        Part {
            event_type: "m.room.message",
            content: json!({"msgtype": "m.text", "body": body}),
            media: None,
        }
    }

    #[test]
    fn the_body_hash_is_the_hash_of_a_one_part_message() {
        assert_eq!(body_hash("fixed"), content_hash(&[part("fixed")]));
        assert_ne!(body_hash("fixed"), body_hash("fixed!"));
        assert_eq!(body_hash("x").len(), 24);
        // Part boundaries count: ["ab"] is not ["a", "b"].
        assert_ne!(
            content_hash(&[part("ab")]),
            content_hash(&[part("a"), part("b")])
        );
    }
}
