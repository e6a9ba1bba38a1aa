//! A conversation's people: remembered by the worker, stored, and read back by the next
//! worker (or the bridge after a restart) without asking Instagram.

use super::*;
use crate::bridge::test_support::{bridge, sqlite};
use crate::instagram::ids::{ThreadId, UserPk};
use crate::instagram::types::User;

fn thread(id: &str, people: &[(i64, &str, Option<&str>)]) -> Thread {
    Thread {
        thread_id: ThreadId::new(id),
        users: people
            .iter()
            .map(|(pk, username, full_name)| User {
                pk: UserPk(*pk),
                username: (*username).into(),
                full_name: full_name.map(str::to_owned),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn names(users: &[KnownUser]) -> Vec<(i64, &str, &str, &str)> {
    users
        .iter()
        .map(|u| {
            (
                u.pk,
                u.username.as_str(),
                u.display_name.as_str(),
                u.mxid.as_str(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_people_of_a_thread_outlive_the_worker_that_read_them() {
    let dir = tempfile::tempdir().unwrap();
    // No homeserver is needed: nothing here talks to one.
    let bridge = bridge(sqlite(&dir).await, "http://127.0.0.1:9");
    let mut worker = Portal::new();
    assert!(worker.members(&bridge, "t1").await.is_empty());

    let read = thread("t1", &[(2, "bob", Some("Bob B")), (1, "amy", None)]);
    worker.remember(&bridge, &read, None).await;
    let expected = vec![
        (1, "amy", "amy (Instagram)", "@instagram_1:example.com"),
        (2, "bob", "Bob B (Instagram)", "@instagram_2:example.com"),
    ];
    assert_eq!(names(&worker.members(&bridge, "t1").await), expected);

    // The next worker of the conversation (or the bridge after a restart) reads them back.
    let mut next = Portal::new();
    assert_eq!(names(&next.members(&bridge, "t1").await), expected);
    // Another thread has its own people (none yet).
    assert!(next.members(&bridge, "t2").await.is_empty());

    // Bob left and Cy joined: the stored set follows.
    next.remember(
        &bridge,
        &thread("t1", &[(1, "amy", None), (3, "cy", None)]),
        None,
    )
    .await;
    let mut after = Portal::new();
    assert_eq!(
        names(&after.members(&bridge, "t1").await),
        vec![
            (1, "amy", "amy (Instagram)", "@instagram_1:example.com"),
            (3, "cy", "cy (Instagram)", "@instagram_3:example.com"),
        ]
    );
}

#[tokio::test]
async fn invites_are_tried_once_per_worker() {
    let mut worker = Portal::new();
    assert!(!worker.invited("@alice:example.com"));
    worker.mark_invited("@alice:example.com");
    assert!(worker.invited("@alice:example.com"));
    assert!(!worker.invited("@bob:example.com"));
    assert!(!Portal::new().invited("@alice:example.com"));
}
