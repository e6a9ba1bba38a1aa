//! The chat-state rules: what crosses, once, and what is an echo.

use super::*;

fn seen(muted: Option<bool>, unread: Option<bool>, low: Option<bool>, fav: Option<bool>) -> Seen {
    Seen {
        muted,
        unread,
        low_priority: low,
        favourite: fav,
    }
}

#[test]
fn first_sight_carries_only_what_instagram_has_set() {
    let now = Instant::now();
    let mut known = Known::default();
    let changes = to_matrix(
        &mut known,
        &seen(Some(true), Some(false), None, Some(true)),
        now,
    );
    assert_eq!(changes, [(Field::Muted, true), (Field::Favourite, true)]);
    // A Matrix tag of the user's own is not taken away by a thread that never had it.
    let mut mine = Known::default();
    to_instagram(&mut mine, &seen(None, None, Some(true), None), true, now);
    assert!(to_matrix(&mut mine, &seen(None, None, Some(false), None), now).is_empty());
    assert!(mine.matrix.state.low_priority);
}

#[test]
fn a_change_crosses_once_and_its_echo_changes_nothing() {
    let now = Instant::now();
    let mut known = Known::default();
    assert_eq!(
        to_matrix(&mut known, &seen(Some(true), None, None, None), now),
        [(Field::Muted, true)]
    );
    // The echo of the push rule in the account-data sync: nothing goes back.
    assert!(to_instagram(&mut known, &seen(Some(true), None, None, None), false, now).is_empty());
    // The same thread again: nothing.
    assert!(to_matrix(&mut known, &seen(Some(true), None, None, None), now).is_empty());
    // Unmuted on Matrix: sent, and Instagram's echo changes nothing.
    assert_eq!(
        to_instagram(&mut known, &seen(Some(false), None, None, None), false, now),
        [(Field::Muted, false)]
    );
    assert!(to_matrix(&mut known, &seen(Some(false), None, None, None), now).is_empty());
}

#[test]
fn a_report_older_than_the_bridges_write_is_ignored_until_the_echo_or_the_wait_ends() {
    let now = Instant::now();
    let mut known = Known::default();
    to_matrix(&mut known, &seen(None, None, Some(true), Some(true)), now);
    // A sync made between the two tag writes (only the first one in it): not a change
    // made on Matrix, and it does not hide the next change from Instagram.
    assert!(
        to_instagram(
            &mut known,
            &seen(None, None, Some(true), Some(false)),
            false,
            now
        )
        .is_empty()
    );
    assert!(known.matrix.state.favourite);
    assert_eq!(
        to_matrix(&mut known, &seen(None, None, None, Some(false)), now),
        [(Field::Favourite, false)]
    );
    // An echo that never comes: after the wait, Matrix is believed again.
    let mut known = Known::default();
    to_matrix(&mut known, &seen(Some(true), None, None, None), now);
    let later = now + ECHO_WAIT + Duration::from_secs(1);
    assert_eq!(
        to_instagram(
            &mut known,
            &seen(Some(false), None, None, None),
            false,
            later
        ),
        [(Field::Muted, false)]
    );
}

#[test]
fn matrix_changes_cross_where_instagram_has_an_endpoint() {
    let now = Instant::now();
    let mut known = Known::default();
    let all = seen(Some(true), Some(true), Some(true), Some(true));
    assert_eq!(
        to_instagram(&mut known, &all, false, now),
        [
            (Field::Muted, true),
            (Field::Unread, true),
            (Field::LowPriority, true)
        ]
    );
    let mut known = Known::default();
    to_instagram(&mut known, &all, true, now);
    assert!(known.matrix.state.favourite, "a baseline is remembered");
    // Hidden on Instagram: its `archived: false` afterwards leaves the tag alone.
    let mut known = Known::default();
    to_instagram(&mut known, &seen(None, None, Some(true), None), false, now);
    assert!(to_matrix(&mut known, &seen(None, None, Some(false), None), now).is_empty());
    let mut known = Known::default();
    to_instagram(&mut known, &all, true, now);
    let none = seen(Some(false), Some(false), Some(false), Some(false));
    assert!(
        to_instagram(&mut known, &none, false, now).is_empty(),
        "Instagram has none of it"
    );
}

#[test]
fn read_state_is_the_unread_mark() {
    let thread: Thread = serde_json::from_value(serde_json::json!({
        "thread_id": "1", "muted": true, "read_state": 1, "archived": false
    }))
    .unwrap();
    let seen = of_thread(&thread);
    assert_eq!(seen.unread, Some(true));
    assert_eq!(seen.muted, Some(true));
    assert_eq!(seen.low_priority, Some(false));
    assert_eq!(seen.favourite, None);
}

#[test]
fn the_first_sync_is_a_baseline_only_where_the_matrix_side_was_never_seen() {
    let now = Instant::now();
    let mut fresh = Known::default();
    assert!(to_instagram(&mut fresh, &seen(Some(true), None, None, None), true, now).is_empty());
    assert!(fresh.matrix.observed && fresh.matrix.state.muted);
    // Seen before (an earlier run): what changed since crosses, even in a first sync.
    let mut seen_before = Known::default();
    seen_before.matrix.observed = true;
    assert_eq!(
        to_instagram(
            &mut seen_before,
            &seen(Some(true), None, None, None),
            true,
            now
        ),
        [(Field::Muted, true)]
    );
}

#[tokio::test]
async fn what_is_known_outlives_a_restart_and_changes_made_meanwhile_cross() {
    let (store, _dir) = crate::store::testing::sqlite().await;
    let room = RoomId::parse("!r:x").unwrap();
    let now = Instant::now();
    let states = ChatStates::default();
    // Muted on Instagram, written to Matrix; the watcher's first sync sees the user's tags.
    states
        .update(&store, "@a:x", &room, |k| {
            to_matrix(k, &seen(Some(true), None, None, None), now);
        })
        .await;
    states
        .update(&store, "@a:x", &room, |k| {
            to_instagram(k, &seen(Some(true), None, None, Some(true)), true, now);
        })
        .await;

    let restarted = ChatStates::default();
    let known = restarted.known(&store, "@a:x", &room).await;
    assert!(known.matrix.observed && known.matrix.state.muted && known.matrix.state.favourite);
    assert!(known.instagram.state.muted && !known.instagram.state.favourite);
    // Unmuted on Matrix while the bridge was down: the first sync after the restart sends it.
    let mut sent = Vec::new();
    restarted
        .update(&store, "@a:x", &room, |k| {
            sent = to_instagram(k, &seen(Some(false), None, None, Some(true)), true, now);
        })
        .await;
    assert_eq!(sent, [(Field::Muted, false)]);
    // Pinned on Instagram while down: the next thread sync writes it on Matrix once.
    let mut written = Vec::new();
    restarted
        .update(&store, "@a:x", &room, |k| {
            written = to_matrix(k, &seen(Some(false), None, None, Some(true)), now);
        })
        .await;
    assert_eq!(written, [(Field::Favourite, true)]);
    let again = ChatStates::default();
    let mut nothing = vec![(Field::Muted, true)];
    again
        .update(&store, "@a:x", &room, |k| {
            nothing = to_matrix(k, &seen(Some(false), None, None, Some(true)), now);
        })
        .await;
    assert!(nothing.is_empty(), "{nothing:?}");
    // Another user's state of the same room is their own.
    assert_eq!(again.known(&store, "@b:x", &room).await, Known::default());
}
