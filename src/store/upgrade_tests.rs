//! Migration 0006 (several logins per user) on a database a single-account bridge wrote: the
//! login, its cursor, its rooms, message mappings, reactions and queued rows are all found
//! again under the login's id; what is not the portal's receiver stays as it was.

use super::users::ProxySetting;
use super::{PoolOptions, Store};
use crate::secret::Secret;

/// The schema before logins.
const BEFORE: i64 = 5;

/// What a single-account bridge had: @a:x logged in as pk 11 with a DM and a group, @b:x
/// without a login (but with an old DM portal), and rows queued and set aside.
const OLD_ROWS: &[&str] = &[
    "INSERT INTO users (mxid, ig_pk, ig_username, session, management_room, seq_id, \
     snapshot_at_ms, connection_state, created_at_ms, updated_at_ms, proxy) VALUES \
     ('@a:x', 11, 'alice', '{\"s\":1}', '!m:x', 42, 1000, 'connected', 1, 2, 'socks5://h:1')",
    "INSERT INTO users (mxid, management_room, created_at_ms, updated_at_ms) VALUES \
     ('@b:x', '!mb:x', 1, 2)",
    "INSERT INTO portals (thread_id, receiver, room_id, is_group) VALUES \
     ('dm1', '@a:x', '!dm:x', 0), ('g1', '', '!g:x', 1), ('dmb', '@b:x', '!dmb:x', 0)",
    "INSERT INTO messages (item_id, receiver, part_index, thread_id, room_id, event_id, \
     sender_pk, timestamp_us) VALUES ('i1', '@a:x', 0, 'dm1', '!dm:x', '$e1', 22, 5), \
     ('i2', '', 0, 'g1', '!g:x', '$e2', 11, 6)",
    "INSERT INTO reactions (item_id, receiver, sender_pk, room_id, event_id, emoji, \
     timestamp_us) VALUES ('i1', '@a:x', 22, '!dm:x', '$r1', 'x', 7)",
    "INSERT INTO inbox (source, portal_key, receiver, payload, created_at_ms) VALUES \
     ('instagram', 'dm1', '@a:x', '{}', 1), ('matrix', '!dm:x', '@a:x', '{}', 2)",
    "INSERT INTO dead_letters (id, source, portal_key, receiver, payload, reason, \
     created_at_ms, failed_at_ms) VALUES (99, 'instagram', 'dm1', '@a:x', '{}', 'r', 1, 2), \
     (100, 'matrix', '!dm:x', '@a:x', '{}', 'r', 1, 2)",
];

async fn upgrade(uri: &str) -> Store {
    let old = Store::connect_migrated_to(uri, PoolOptions::default(), Some(BEFORE))
        .await
        .expect("the old schema");
    for sql in OLD_ROWS {
        sqlx::query(sqlx::AssertSqlSafe(*sql))
            .execute(&old.writer)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    old.close().await;
    Store::connect(uri, PoolOptions::default())
        .await
        .expect("the upgraded store")
}

async fn finds_everything(s: &Store) {
    let login = s.get_login(11).await.unwrap().expect("the login");
    assert_eq!(login.mxid, "@a:x");
    assert_eq!(login.ig_username.as_deref(), Some("alice"));
    assert_eq!(
        login.session.as_ref().map(Secret::expose),
        Some("{\"s\":1}")
    );
    assert_eq!((login.seq_id, login.snapshot_at_ms), (Some(42), Some(1000)));
    assert_eq!(login.connection_state, "connected");
    assert_eq!(s.logged_in_logins().await.unwrap().len(), 1);
    let a = s.get_user("@a:x").await.unwrap().unwrap();
    assert_eq!(a.management_room.as_deref(), Some("!m:x"));
    assert_eq!(a.preferred_login, Some(11));
    assert_eq!(
        s.get_proxy("@a:x").await.unwrap(),
        ProxySetting::Url(Secret::new("socks5://h:1"))
    );
    let b = s.get_user("@b:x").await.unwrap().unwrap();
    assert_eq!(
        (b.management_room.as_deref(), b.preferred_login),
        (Some("!mb:x"), None)
    );
    assert!(s.logins_of("@b:x").await.unwrap().is_empty());

    // The DM is the login's now; the group stays shared; a portal of a user without a
    // login is left as it was.
    let dm = s.get_portal("dm1", "11").await.unwrap().expect("the DM");
    assert_eq!(dm.room_id.as_deref(), Some("!dm:x"));
    assert!(s.get_portal("dm1", "@a:x").await.unwrap().is_none());
    assert!(s.get_portal("g1", "").await.unwrap().is_some());
    assert!(s.get_portal("dmb", "@b:x").await.unwrap().is_some());
    assert_eq!(
        s.get_portal_by_room("!dm:x")
            .await
            .unwrap()
            .unwrap()
            .receiver,
        "11"
    );

    assert_eq!(s.get_message_parts("i1", "11").await.unwrap().len(), 1);
    assert!(s.get_message_parts("i1", "@a:x").await.unwrap().is_empty());
    assert_eq!(s.get_message_parts("i2", "").await.unwrap().len(), 1);
    assert_eq!(
        s.get_message_by_event("!dm:x", "$e1")
            .await
            .unwrap()
            .unwrap()
            .receiver,
        "11"
    );
    assert!(s.get_reaction("i1", "11", 22).await.unwrap().is_some());

    // Rows read by the login name it; a Matrix row names its sender, as before.
    let inbox: Vec<(String, String)> = s
        .inbox_pending(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.source, r.receiver))
        .collect();
    assert_eq!(
        inbox,
        [
            ("instagram".to_string(), "11".to_string()),
            ("matrix".to_string(), "@a:x".to_string())
        ]
    );
    let mut dead: Vec<(i64, String)> = s
        .dead_letters(10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.id, d.receiver))
        .collect();
    dead.sort();
    assert_eq!(dead, [(99, "11".to_string()), (100, "@a:x".to_string())]);

    // And the upgraded login works on: a second account joins it.
    s.set_login("@a:x", 12, "alice_biz", "{}").await.unwrap();
    assert_eq!(s.logins_of("@a:x").await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_single_account_install_upgrades_to_logins_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let uri = format!("sqlite:{}", dir.path().join("old.db").display());
    finds_everything(&upgrade(&uri).await).await;
}

#[tokio::test]
async fn a_single_account_install_upgrades_to_logins_on_postgres() {
    let uri = super::testing::postgres_uri().await;
    finds_everything(&upgrade(&uri).await).await;
}
