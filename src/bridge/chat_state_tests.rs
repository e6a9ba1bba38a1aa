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
