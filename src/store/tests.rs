//! Store tests, each run against SQLite and PostgreSQL.

use super::ghosts::GhostRow;
use super::messages::{MessageRow, ReactionRow};
use super::portals::PortalRow;
use super::testing::{entry, on_both_backends};
use crate::secret::Secret;

#[tokio::test]
async fn users_lifecycle() {
    on_both_backends!(|s| {
        assert!(s.get_user("@a:x").await.unwrap().is_none());
        let u = s.ensure_user("@a:x").await.unwrap();
        assert_eq!(u.preferred_login, None);
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
    });
}

#[tokio::test]
async fn a_user_has_several_logins() {
    on_both_backends!(|s| {
        s.ensure_user("@a:x").await.unwrap();
        s.set_login("@a:x", 17841400000000001, "alice", "{\"secret\":1}")
            .await
            .unwrap();
        s.set_login("@a:x", 2, "alice_biz", "{\"secret\":2}")
            .await
            .unwrap();
        s.set_cursor(17841400000000001, 42, 1_700_000_000_000)
            .await
            .unwrap();
        let l = s.get_login(17841400000000001).await.unwrap().unwrap();
        assert_eq!(l.mxid, "@a:x");
        assert_eq!(l.ig_username.as_deref(), Some("alice"));
        assert_eq!(
            (l.seq_id, l.snapshot_at_ms),
            (Some(42), Some(1_700_000_000_000))
        );
        assert_eq!(l.connection_state, "logged_in");
        assert_eq!(l.receiver(), "17841400000000001");
        assert_eq!(
            l.session.as_ref().map(Secret::expose),
            Some("{\"secret\":1}")
        );
        assert!(!format!("{l:?}").contains("secret"), "{l:?}");
        let pks: Vec<i64> = s
            .logins_of("@a:x")
            .await
            .unwrap()
            .iter()
            .map(|l| l.ig_pk)
            .collect();
        assert_eq!(pks.len(), 2);
        assert!(pks.contains(&2) && pks.contains(&17841400000000001));
        assert_eq!(s.logged_in_logins().await.unwrap().len(), 2);
        s.set_connection_state(2, "connected").await.unwrap();
        assert_eq!(
            s.get_login(2).await.unwrap().unwrap().connection_state,
            "connected"
        );

        // The first login is preferred until another is chosen; a preferred login that goes
        // leaves the oldest remaining one preferred, and the last one none.
        let preferred = async || s.get_user("@a:x").await.unwrap().unwrap().preferred_login;
        assert_eq!(preferred().await, Some(17841400000000001));
        s.set_preferred_login("@a:x", Some(2)).await.unwrap();
        assert_eq!(preferred().await, Some(2));
        assert!(s.delete_login(2).await.unwrap());
        assert!(!s.delete_login(2).await.unwrap());
        assert_eq!(preferred().await, Some(17841400000000001));
        assert_eq!(s.logins_of("@a:x").await.unwrap().len(), 1);

        // The same account logging in again starts without a cursor.
        s.set_login("@a:x", 17841400000000001, "alice", "{}")
            .await
            .unwrap();
        let again = s.get_login(17841400000000001).await.unwrap().unwrap();
        assert_eq!(again.seq_id, None);
        assert!(s.delete_login(17841400000000001).await.unwrap());
        assert_eq!(preferred().await, None);
    });
}

#[tokio::test]
async fn a_users_proxy_choice_survives_a_logout() {
    use super::users::ProxySetting;
    on_both_backends!(|s| {
        assert_eq!(s.get_proxy("@p:x").await.unwrap(), ProxySetting::Default);
        s.ensure_user("@p:x").await.unwrap();
        assert_eq!(s.get_proxy("@p:x").await.unwrap(), ProxySetting::Default);
        let url = ProxySetting::Url(Secret::new("socks5://u:pw@127.0.0.1:1080"));
        s.set_proxy("@p:x", &url).await.unwrap();
        assert_eq!(s.get_proxy("@p:x").await.unwrap(), url);
        s.set_login("@p:x", 1, "p", "{}").await.unwrap();
        s.delete_login(1).await.unwrap();
        assert_eq!(
            s.get_proxy("@p:x").await.unwrap(),
            url,
            "kept across logout"
        );
        s.set_proxy("@p:x", &ProxySetting::Direct).await.unwrap();
        assert_eq!(s.get_proxy("@p:x").await.unwrap(), ProxySetting::Direct);
        s.set_proxy("@p:x", &ProxySetting::Default).await.unwrap();
        assert_eq!(s.get_proxy("@p:x").await.unwrap(), ProxySetting::Default);
        assert!(!format!("{url:?}").contains("pw@"), "{url:?}");
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
        // A portal moved to a new room is no longer found by the old one (the lookups by
        // room are cached).
        let mut moved = p.clone();
        moved.room_id = Some("!new:x".into());
        s.upsert_portal(&moved).await.unwrap();
        assert!(s.get_portal_by_room("!r:x").await.unwrap().is_none());
        assert_eq!(s.get_portal_by_room("!new:x").await.unwrap(), Some(moved));
        s.delete_portal(thread, "@a:x").await.unwrap();
        assert!(s.get_portal_by_room("!r:x").await.unwrap().is_none());
        assert!(s.get_portal_by_room("!new:x").await.unwrap().is_none());

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
