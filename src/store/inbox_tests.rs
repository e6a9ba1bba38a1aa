//! Store tests of the inbox and what moves with it (transactions, cursors, dead letters,
//! conversation claims), each run against SQLite and PostgreSQL.

use super::inbox::{NewInboxEntry, SOURCE_INSTAGRAM};
use super::testing::{entry, on_both_backends};

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
        s.set_login("@a:x", 5, "a", "{}").await.unwrap();
        let e = NewInboxEntry {
            source: SOURCE_INSTAGRAM.into(),
            portal_key: "t1".into(),
            receiver: "5".into(),
            payload: "{}".into(),
        };
        s.enqueue_with_cursor(5, 10, 1000, std::slice::from_ref(&e))
            .await
            .unwrap();
        assert_eq!(s.get_login(5).await.unwrap().unwrap().seq_id, Some(10));
        // An older batch never moves the cursor back.
        s.enqueue_with_cursor(5, 7, 999, &[e]).await.unwrap();
        let u = s.get_login(5).await.unwrap().unwrap();
        assert_eq!((u.seq_id, u.snapshot_at_ms), (Some(10), Some(1000)));
        assert_eq!(s.inbox_pending(0, 10).await.unwrap().len(), 2);
    });
}

#[tokio::test]
async fn a_fresh_snapshot_replaces_the_cursor_with_its_rows() {
    on_both_backends!(|s| {
        s.set_login("@a:x", 5, "a", "{}").await.unwrap();
        s.set_cursor(5, 50, 1000).await.unwrap();
        let e = NewInboxEntry {
            source: SOURCE_INSTAGRAM.into(),
            portal_key: "t1".into(),
            receiver: "5".into(),
            payload: "{}".into(),
        };
        // A resync's snapshot may carry a lower seq_id than the refused cursor: it replaces
        // it, in the transaction that queues the threads to catch up.
        s.enqueue_with_fresh_cursor(5, 20, 2000, std::slice::from_ref(&e))
            .await
            .unwrap();
        let u = s.get_login(5).await.unwrap().unwrap();
        assert_eq!((u.seq_id, u.snapshot_at_ms), (Some(20), Some(2000)));
        assert_eq!(s.inbox_pending(0, 10).await.unwrap().len(), 1);
    });
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
