//! Store tests, each run against SQLite and PostgreSQL.

use super::ghosts::GhostRow;
use super::inbox::{NewInboxEntry, SOURCE_INSTAGRAM, SOURCE_MATRIX};
use super::messages::{MessageRow, ReactionRow};
use super::portals::PortalRow;
use super::testing::on_both_backends;
use crate::secret::Secret;

fn entry(key: &str, payload: &str) -> NewInboxEntry {
    NewInboxEntry {
        source: SOURCE_MATRIX.into(),
        portal_key: key.into(),
        receiver: String::new(),
        payload: payload.into(),
    }
}

#[tokio::test]
async fn users_lifecycle() {
    on_both_backends!(|s| {
        assert!(s.get_user("@a:x").await.unwrap().is_none());
        let u = s.ensure_user("@a:x").await.unwrap();
        assert_eq!(u.connection_state, "logged_out");
        assert_eq!(
            s.ensure_user("@a:x").await.unwrap(),
            u,
            "ensure is idempotent"
        );
        s.set_management_room("@a:x", "!room:x").await.unwrap();
        let by_room = s
            .get_user_by_management_room("!room:x")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_room.mxid, "@a:x");
        // The room moves to another user: the first one loses it.
        s.ensure_user("@b:x").await.unwrap();
        s.set_management_room("@b:x", "!room:x").await.unwrap();
        assert_eq!(
            s.get_user("@a:x").await.unwrap().unwrap().management_room,
            None
        );

        s.set_login("@a:x", 17841400000000001, "alice", "{\"secret\":1}")
            .await
            .unwrap();
        s.set_cursor("@a:x", 42, 1_700_000_000_000).await.unwrap();
        let u = s.get_user("@a:x").await.unwrap().unwrap();
        assert_eq!(u.ig_pk, Some(17841400000000001));
        assert_eq!(u.ig_username.as_deref(), Some("alice"));
        assert_eq!(u.seq_id, Some(42));
        assert_eq!(u.connection_state, "logged_in");
        assert_eq!(
            u.session.as_ref().map(Secret::expose),
            Some("{\"secret\":1}")
        );
        assert!(!format!("{u:?}").contains("secret"), "{u:?}");
        let logged: Vec<_> = s
            .logged_in_users()
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.mxid)
            .collect();
        assert_eq!(logged, vec!["@a:x".to_string()]);
        s.clear_login("@a:x").await.unwrap();
        let u = s.get_user("@a:x").await.unwrap().unwrap();
        assert_eq!((u.session, u.seq_id, u.ig_pk), (None, None, None));
        assert!(s.logged_in_users().await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn portals_and_ghosts_round_trip() {
    on_both_backends!(|s| {
        let thread = "340282366841710300949128137443944319108";
        let mut p = PortalRow {
            thread_id: thread.into(),
            receiver: "@a:x".into(),
            is_group: false,
            name: Some("Bob".into()),
            name_set: true,
            ..Default::default()
        };
        s.upsert_portal(&p).await.unwrap();
        assert_eq!(s.get_portal(thread, "@a:x").await.unwrap(), Some(p.clone()));
        assert!(
            s.get_portal(thread, "@b:x").await.unwrap().is_none(),
            "DMs are per receiver"
        );
        p.room_id = Some("!r:x".into());
        p.encrypted = true;
        s.upsert_portal(&p).await.unwrap();
        assert_eq!(s.get_portal_by_room("!r:x").await.unwrap(), Some(p.clone()));
        assert_eq!(s.portals_of_receiver("@a:x").await.unwrap().len(), 1);
        s.delete_portal(thread, "@a:x").await.unwrap();
        assert!(s.get_portal_by_room("!r:x").await.unwrap().is_none());

        let g = GhostRow {
            ig_pk: 9_007_199_254_740_993,
            username: Some("bob".into()),
            display_name: Some("Bob B".into()),
            name_set: true,
            ..Default::default()
        };
        s.upsert_ghost(&g).await.unwrap();
        assert_eq!(s.get_ghost(g.ig_pk).await.unwrap(), Some(g.clone()));
        let g2 = GhostRow {
            avatar_mxc: Some("mxc://x/y".into()),
            avatar_set: true,
            ..g
        };
        s.upsert_ghost(&g2).await.unwrap();
        assert_eq!(s.get_ghost(g2.ig_pk).await.unwrap(), Some(g2));
    });
}

#[tokio::test]
async fn messages_are_unique_on_both_sides() {
    on_both_backends!(|s| {
        let m = MessageRow {
            item_id: "30000000000000000000000000000000001".into(),
            receiver: "@a:x".into(),
            part_index: 0,
            thread_id: "t1".into(),
            room_id: "!r:x".into(),
            event_id: "$e1".into(),
            sender_pk: 5,
            timestamp_us: 1_700_000_000_123_456,
            client_context: Some("7000000000000000001".into()),
            edit_count: 0,
            content_hash: Some("h1".into()),
        };
        assert!(s.insert_message(&m).await.unwrap());
        assert!(!s.insert_message(&m).await.unwrap(), "replay is a no-op");
        let same_event = MessageRow {
            item_id: "other".into(),
            ..m.clone()
        };
        assert!(
            !s.insert_message(&same_event).await.unwrap(),
            "event id is unique per room"
        );
        let part = MessageRow {
            part_index: 1,
            event_id: "$e2".into(),
            ..m.clone()
        };
        assert!(s.insert_message(&part).await.unwrap());
        let parts = s.get_message_parts(&m.item_id, "@a:x").await.unwrap();
        assert_eq!(
            parts.iter().map(|p| p.part_index).collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert_eq!(
            s.get_message_by_event("!r:x", "$e2").await.unwrap(),
            Some(part)
        );
        assert_eq!(
            s.get_message_by_client_context("7000000000000000001", "@a:x")
                .await
                .unwrap(),
            Some(m.clone())
        );
        s.record_edit(&m.item_id, "@a:x", Some("h2")).await.unwrap();
        let last = s
            .last_message_in_thread("t1", "@a:x")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((last.part_index, last.edit_count), (0, 1));
        assert_eq!(last.content_hash.as_deref(), Some("h2"));
        s.set_message_item_id(&m.item_id, "real-id", "@a:x")
            .await
            .unwrap();
        assert_eq!(
            s.get_message_parts("real-id", "@a:x").await.unwrap().len(),
            2
        );
        s.set_message_item_id("real-id", &m.item_id, "@a:x")
            .await
            .unwrap();
        s.delete_message(&m.item_id, "@a:x").await.unwrap();
        assert!(
            s.get_message_parts(&m.item_id, "@a:x")
                .await
                .unwrap()
                .is_empty()
        );

        let r = ReactionRow {
            item_id: m.item_id.clone(),
            receiver: "@a:x".into(),
            sender_pk: 5,
            room_id: "!r:x".into(),
            event_id: "$re1".into(),
            emoji: "❤️".into(),
            timestamp_us: 1,
        };
        s.upsert_reaction(&r).await.unwrap();
        let changed = ReactionRow {
            event_id: "$re2".into(),
            emoji: "😂".into(),
            ..r.clone()
        };
        s.upsert_reaction(&changed).await.unwrap();
        assert_eq!(
            s.get_reaction(&r.item_id, "@a:x", 5).await.unwrap(),
            Some(changed.clone())
        );
        assert!(
            s.get_reaction_by_event("!r:x", "$re1")
                .await
                .unwrap()
                .is_none()
        );
        s.delete_reaction(&r.item_id, "@a:x", 5).await.unwrap();
        assert!(
            s.get_reaction(&r.item_id, "@a:x", 5)
                .await
                .unwrap()
                .is_none()
        );
    });
}

#[tokio::test]
async fn deferred_message_rows_are_written_with_the_inbox_removal() {
    on_both_backends!(|s| {
        let row = |i: usize, part: i32| MessageRow {
            item_id: format!("item{i}"),
            receiver: "@a:x".into(),
            part_index: part,
            thread_id: "t1".into(),
            room_id: "!r:x".into(),
            event_id: format!("$e{i}.{part}"),
            sender_pk: 5,
            timestamp_us: i as i64,
            content_hash: (part == 0).then(|| format!("h{i}")),
            ..Default::default()
        };
        let ids = s
            .enqueue(&[entry("t1", "a"), entry("t1", "b")])
            .await
            .unwrap();
        // 23 rows: every INSERT shape (16, 4, 1) is used; one part is already in the database.
        s.insert_message(&row(0, 0)).await.unwrap();
        for i in 0..22 {
            s.insert_message_deferred(&row(i, 0)).await.unwrap();
        }
        s.insert_message_deferred(&row(0, 1)).await.unwrap();
        // Seen by the apply path before they are written, merged with the written parts.
        let parts = s.get_message_parts("item0", "@a:x").await.unwrap();
        assert_eq!(
            parts.iter().map(|p| p.part_index).collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert_eq!(
            s.get_message_parts("item7", "@a:x").await.unwrap(),
            vec![row(7, 0)]
        );
        // Not written yet: a fresh read of the database does not see them.
        assert_eq!(
            sqlx::query("SELECT item_id FROM messages")
                .fetch_all(&s.pool)
                .await
                .unwrap()
                .len(),
            1
        );
        s.inbox_remove_many(&ids).await.unwrap();
        assert!(s.inbox_pending(0, 10).await.unwrap().is_empty());
        assert_eq!(
            sqlx::query("SELECT item_id FROM messages")
                .fetch_all(&s.pool)
                .await
                .unwrap()
                .len(),
            23
        );
        assert_eq!(
            s.get_message_parts("item21", "@a:x").await.unwrap(),
            vec![row(21, 0)]
        );
        // Any other query of the table writes deferred rows first.
        s.insert_message_deferred(&row(30, 0)).await.unwrap();
        assert_eq!(
            s.get_message_by_event("!r:x", "$e30.0").await.unwrap(),
            Some(row(30, 0))
        );
    });
}

#[tokio::test]
async fn transactions_are_recorded_once_with_their_events() {
    on_both_backends!(|s| {
        let ids = s
            .record_transaction(
                "txn1",
                &[entry("!a:x", "{\"n\":1}"), entry("!b:x", "{\"n\":2}")],
            )
            .await
            .unwrap()
            .expect("first time");
        assert_eq!(ids.len(), 2);
        assert!(s.transaction_seen("txn1").await.unwrap());
        assert_eq!(
            s.record_transaction("txn1", &[entry("!a:x", "{}")])
                .await
                .unwrap(),
            None
        );
        let pending = s.inbox_pending(0, 10).await.unwrap();
        assert_eq!(
            pending.len(),
            2,
            "the replayed transaction enqueued nothing"
        );
        assert_eq!(pending[0].payload, "{\"n\":1}");
        assert!(pending[0].id < pending[1].id);
        assert_eq!(s.inbox_bump_attempts(pending[0].id).await.unwrap(), 1);
        s.inbox_remove(pending[0].id).await.unwrap();
        s.inbox_remove_many(&[]).await.unwrap();
        let rest = s.inbox_pending(0, 10).await.unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(s.inbox_pending(rest[0].id, 10).await.unwrap().len(), 0);
        // Several at once.
        let more = s
            .enqueue(&[entry("!c:x", "{}"), entry("!d:x", "{}")])
            .await
            .unwrap();
        s.inbox_remove_many(&[rest[0].id, more[0], more[1]])
            .await
            .unwrap();
        assert!(s.inbox_pending(0, 10).await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn realtime_batches_move_the_cursor_atomically() {
    on_both_backends!(|s| {
        s.ensure_user("@a:x").await.unwrap();
        let e = NewInboxEntry {
            source: SOURCE_INSTAGRAM.into(),
            portal_key: "t1".into(),
            receiver: "@a:x".into(),
            payload: "{}".into(),
        };
        s.enqueue_with_cursor("@a:x", 10, 1000, std::slice::from_ref(&e))
            .await
            .unwrap();
        assert_eq!(s.get_user("@a:x").await.unwrap().unwrap().seq_id, Some(10));
        // An older batch never moves the cursor back.
        s.enqueue_with_cursor("@a:x", 7, 999, &[e]).await.unwrap();
        let u = s.get_user("@a:x").await.unwrap().unwrap();
        assert_eq!((u.seq_id, u.snapshot_at_ms), (Some(10), Some(1000)));
        assert_eq!(s.inbox_pending(0, 10).await.unwrap().len(), 2);
    });
}

#[tokio::test]
async fn a_fresh_snapshot_replaces_the_cursor_with_its_rows() {
    on_both_backends!(|s| {
        s.ensure_user("@a:x").await.unwrap();
        s.set_cursor("@a:x", 50, 1000).await.unwrap();
        let e = NewInboxEntry {
            source: SOURCE_INSTAGRAM.into(),
            portal_key: "t1".into(),
            receiver: "@a:x".into(),
            payload: "{}".into(),
        };
        // A resync's snapshot may carry a lower seq_id than the refused cursor: it replaces
        // it, in the transaction that queues the threads to catch up.
        s.enqueue_with_fresh_cursor("@a:x", 20, 2000, std::slice::from_ref(&e))
            .await
            .unwrap();
        let u = s.get_user("@a:x").await.unwrap().unwrap();
        assert_eq!((u.seq_id, u.snapshot_at_ms), (Some(20), Some(2000)));
        assert_eq!(s.inbox_pending(0, 10).await.unwrap().len(), 1);
    });
}

#[tokio::test]
async fn data_survives_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:{}", dir.path().join("persist.db").display());
    {
        let s = super::Store::connect(&uri, Default::default())
            .await
            .unwrap();
        s.record_transaction("t-persist", &[entry("!a:x", "{}")])
            .await
            .unwrap();
        // Deferred message rows are written when the store closes.
        s.insert_message_deferred(&MessageRow {
            item_id: "i".into(),
            receiver: "@a:x".into(),
            room_id: "!a:x".into(),
            event_id: "$e".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        s.close().await;
    }
    let s = super::Store::connect(&uri, Default::default())
        .await
        .unwrap();
    assert!(s.transaction_seen("t-persist").await.unwrap());
    assert_eq!(s.inbox_pending(0, 10).await.unwrap().len(), 1);
    assert!(
        s.get_message_by_event("!a:x", "$e")
            .await
            .unwrap()
            .is_some()
    );
}

/// The dispatcher reads the inbox by increasing id: a writer must not commit a higher id
/// while a lower one is still uncommitted, or the lower one would be passed over.
#[tokio::test]
async fn inbox_ids_become_visible_in_order() {
    on_both_backends!(|s| {
        let mut first = s.writer.begin().await.unwrap();
        let low = super::inbox::insert_entries(&mut first, s.backend, &[entry("p", "1")], 1)
            .await
            .unwrap()[0];
        let other = s.clone();
        let second = tokio::spawn(async move { other.enqueue(&[entry("q", "2")]).await });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !second.is_finished(),
            "a second writer committed while the first was open"
        );
        assert!(s.inbox_pending(0, 10).await.unwrap().is_empty());
        first.commit().await.unwrap();
        let high = second.await.unwrap().unwrap()[0];
        assert!(high > low);
        let seen: Vec<i64> = s
            .inbox_pending(0, 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(seen, vec![low, high]);
    });
}

#[tokio::test]
async fn dead_letters_keep_the_event_and_can_be_put_back() {
    on_both_backends!(|s| {
        s.enqueue(&[entry("!r:x", "first"), entry("!r:x", "second")])
            .await
            .unwrap();
        let pending = s.inbox_pending(0, 10).await.unwrap();
        s.dead_letter(&pending[0], "malformed event").await.unwrap();
        // Gone from the inbox, kept with the reason.
        let left = s.inbox_pending(0, 10).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].payload, "second");
        let dead = s.dead_letters(10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].id, pending[0].id);
        assert_eq!(dead[0].payload, "first");
        assert_eq!(dead[0].reason, "malformed event");
        assert_eq!(dead[0].attempts, 1);
        assert_eq!(s.dead_letter_count().await.unwrap(), 1);
        // Dead-lettering twice is harmless.
        s.dead_letter(&pending[0], "again").await.unwrap();
        assert_eq!(s.dead_letter_count().await.unwrap(), 1);
        // Put back: a new inbox row at the end of the queue, nothing left dead.
        let ids = s.retry_dead_letters(None).await.unwrap();
        assert_eq!(ids.len(), 1);
        assert!(ids[0] > left[0].id);
        let again = s.inbox_pending(left[0].id, 10).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].payload, "first");
        assert_eq!(s.dead_letter_count().await.unwrap(), 0);
        assert!(s.retry_dead_letters(Some(12345)).await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn a_conversation_is_claimed_by_one_owner_at_a_time() {
    on_both_backends!(|s| {
        assert!(
            s.claim_conversation("thread:1", "proc-a", 60_000)
                .await
                .unwrap()
        );
        // Renewing is fine; another owner must wait.
        assert!(
            s.claim_conversation("thread:1", "proc-a", 60_000)
                .await
                .unwrap()
        );
        assert!(
            !s.claim_conversation("thread:1", "proc-b", 60_000)
                .await
                .unwrap()
        );
        assert!(
            s.claim_conversation("thread:2", "proc-b", 60_000)
                .await
                .unwrap()
        );
        // Released: the other owner may take it.
        s.release_conversation("thread:1", "proc-a").await.unwrap();
        assert!(
            s.claim_conversation("thread:1", "proc-b", 60_000)
                .await
                .unwrap()
        );
        // An expired claim (its process died) can be taken over.
        assert!(
            s.claim_conversation("thread:3", "proc-a", -1)
                .await
                .unwrap()
        );
        assert!(
            s.claim_conversation("thread:3", "proc-b", 60_000)
                .await
                .unwrap()
        );
        s.release_all_claims("proc-b").await.unwrap();
        assert!(
            s.claim_conversation("thread:2", "proc-a", 60_000)
                .await
                .unwrap()
        );
    });
}

mod open_errors {
    use std::time::{Duration, Instant};

    use super::super::{PoolOptions, Store, StoreError};

    fn quick() -> PoolOptions {
        PoolOptions {
            connect_timeout: Duration::from_secs(1),
            ..PoolOptions::default()
        }
    }

    #[tokio::test]
    async fn postgres_refusing_names_host_and_port_never_the_password() {
        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let started = Instant::now();
        let uri = format!("postgres://bridge:hunter2@127.0.0.1:{port}/ig");
        let e = Store::connect(&uri, PoolOptions::default())
            .await
            .expect_err("nothing listens there");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        assert!(matches!(e, StoreError::Connect { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(text.contains("user `bridge`"), "{text}");
        assert!(text.contains("check that PostgreSQL is running"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
    }

    #[tokio::test]
    async fn postgres_that_never_answers_is_given_up_on_in_bounded_time() {
        // Accepts TCP connections and says nothing, like a server behind a broken proxy.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listener");
        let port = listener.local_addr().expect("addr").port();
        let held = tokio::spawn(async move {
            let mut sockets = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                sockets.push(s);
            }
        });
        let started = Instant::now();
        let e = Store::connect(&format!("postgres://u:pw@127.0.0.1:{port}/x"), quick())
            .await
            .expect_err("silent server");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        let text = e.to_string();
        assert!(text.contains("no answer within 1 s"), "{text}");
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        held.abort();
    }

    #[tokio::test]
    async fn sqlite_file_that_cannot_be_created_names_path_and_reason() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("no-such-folder").join("bridge.db");
        let e = Store::connect(&format!("sqlite:{}", missing.display()), quick())
            .await
            .expect_err("missing folder")
            .to_string();
        assert!(e.contains(&missing.display().to_string()), "{e}");
        assert!(e.contains("does not exist"), "{e}");

        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").expect("write");
        let under_file = file.join("bridge.db");
        let e = Store::connect(&format!("sqlite:{}", under_file.display()), quick())
            .await
            .expect_err("parent is a file")
            .to_string();
        assert!(e.contains("is not a folder"), "{e}");

        // A folder where the file should be: SQLite's own message names neither.
        let folder = dir.path().join("taken");
        std::fs::create_dir(&folder).expect("mkdir");
        let e = Store::connect(&format!("sqlite:{}", folder.display()), quick())
            .await
            .expect_err("a folder is no database")
            .to_string();
        assert!(e.contains(&folder.display().to_string()), "{e}");
        assert!(e.contains("cannot create or open it"), "{e}");
    }
}
