//! Matrix transaction ids for what the bridge sends. Each is derived from the Instagram event
//! it bridges, so a replayed inbox row (after a crash or a retry) reuses the id and the
//! homeserver returns the event it already has instead of sending a second one.

use ruma::OwnedTransactionId;

/// A short, stable tag of the receiving Matrix user (ids are per receiver: two users of the
/// bridge in one thread bridge the same item separately).
fn receiver_tag(receiver: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(receiver.as_bytes())[..6])
}

fn txn(kind: &str, item_id: &str, receiver: &str, part: usize) -> OwnedTransactionId {
    OwnedTransactionId::from(format!(
        "mi.{kind}.{item_id}.{}.{part}",
        receiver_tag(receiver)
    ))
}

/// Part `part` of a new item.
pub fn item(item_id: &str, receiver: &str, part: usize) -> OwnedTransactionId {
    txn("item", item_id, receiver, part)
}

/// The `edit_number`th edit (1 for the first) of an item.
pub fn edit(item_id: &str, receiver: &str, edit_number: i64) -> OwnedTransactionId {
    txn(&format!("edit{edit_number}"), item_id, receiver, 0)
}

/// A reaction of `reactor` with `emoji` on an item, as Instagram reported it at `timestamp_us`.
///
/// The timestamp tells a re-added reaction from the first one: with (reactor, emoji, item)
/// alone, a reaction removed and added again with the same emoji got the id of the first,
/// and the homeserver answered with that (redacted) event, so the reaction never showed. The
/// timestamp is part of the stored event, so a replay of the same event keeps its id. Without
/// one (Instagram always sends it; rows stored before it was kept lack it) the id is the old
/// form.
pub fn reaction(
    item_id: &str,
    receiver: &str,
    reactor: i64,
    emoji: &str,
    timestamp_us: Option<i64>,
) -> OwnedTransactionId {
    let emoji = hex::encode(emoji.as_bytes());
    let kind = match timestamp_us {
        Some(ts) => format!("react.{reactor}.{emoji}.{ts}"),
        None => format!("react.{reactor}.{emoji}"),
    };
    txn(&kind, item_id, receiver, 0)
}

/// The `com.beeper.message_send_status` event about a Matrix event.
pub fn send_status(event_id: &str) -> OwnedTransactionId {
    OwnedTransactionId::from(format!("status.{event_id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_keep_their_established_form() {
        let r = receiver_tag("@alice:x");
        assert_eq!(r.len(), 12);
        assert_eq!(
            item("123", "@alice:x", 2).as_str(),
            format!("mi.item.123.{r}.2")
        );
        assert_eq!(item("123", "@alice:x", 2), item("123", "@alice:x", 2));
        assert_ne!(item("123", "@alice:x", 2), item("123", "@bob:x", 2));
        assert_ne!(item("123", "@alice:x", 2), item("123", "@alice:x", 1));
        assert_eq!(
            edit("123", "@alice:x", 3).as_str(),
            format!("mi.edit3.123.{r}.0")
        );
        assert_ne!(edit("123", "@alice:x", 1), edit("123", "@alice:x", 2));
        assert_eq!(send_status("$e").as_str(), "status.$e");
    }

    #[test]
    fn a_re_added_reaction_gets_a_new_id_and_a_replay_the_same() {
        let first = reaction("123", "@alice:x", 42, "😂", Some(1_700_000_000_000_001));
        let replay = reaction("123", "@alice:x", 42, "😂", Some(1_700_000_000_000_001));
        let re_added = reaction("123", "@alice:x", 42, "😂", Some(1_700_000_000_000_900));
        assert_eq!(first, replay);
        assert_ne!(
            first, re_added,
            "a re-added reaction must not reuse the first id"
        );
        assert_ne!(
            first,
            reaction("123", "@alice:x", 42, "👍", Some(1_700_000_000_000_001))
        );
        assert_ne!(
            first,
            reaction("123", "@alice:x", 43, "😂", Some(1_700_000_000_000_001))
        );
        // Rows stored without a timestamp keep the id they were first sent with.
        let r = receiver_tag("@alice:x");
        assert_eq!(
            reaction("123", "@alice:x", 42, "😂", None).as_str(),
            format!("mi.react.42.f09f9882.123.{r}.0")
        );
    }
}
