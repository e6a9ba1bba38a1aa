//! Session persistence: save/restore, change notification, redaction, stable device.

use matrix_instagram::instagram::http::{Device, InstagramClient, Session};

use super::common::*;

#[tokio::test]
async fn session_json_restores_a_working_client() {
    let (fake, c) = alice().await;
    let json = c.session_json();
    let text = json.to_string();
    assert!(text.contains("authorization") && text.contains("sessionid"));
    let restored =
        InstagramClient::from_session_json(config(&fake), serde_json::from_str(&text).unwrap())
            .unwrap();
    assert_eq!(restored.session(), c.session());
    let u = restored.current_user().await.unwrap();
    assert_eq!(u.pk.get(), ALICE);
    // no new login happened
    assert!(fake.requests_to("/accounts/login/").is_empty());
    let r = fake.last_request("/accounts/current_user/").unwrap();
    assert_eq!(
        r.header("x-ig-device-id"),
        Some(c.session().device.uuid.as_str())
    );
    assert!(
        Session::from_json(serde_json::json!({"version": 99, "device": json["device"]})).is_err()
    );
    assert!(Session::from_json(serde_json::json!([1])).is_err());
}

#[tokio::test]
async fn session_changes_tick_and_debug_is_redacted() {
    let fake = fake().await;
    let c = client(&fake, "@alice:example.org");
    let mut rx = c.session_changes();
    let before = *rx.borrow_and_update();
    logged_in_user(c.login("alice", PASSWORD).await.unwrap());
    assert!(rx.has_changed().unwrap());
    assert!(*rx.borrow_and_update() > before);
    let s = c.session();
    let dbg = format!("{s:?} {c:?}");
    assert!(!dbg.contains(&s.sessionid().unwrap()), "{dbg}");
    assert!(!dbg.contains(s.authorization.as_deref().unwrap()), "{dbg}");
    assert!(!dbg.contains(PASSWORD));
}

#[tokio::test]
async fn relogin_keeps_the_same_device() {
    let fake = fake().await;
    let a = client(&fake, "@alice:example.org");
    logged_in_user(a.login("alice", PASSWORD).await.unwrap());
    let b = client(&fake, "@alice:example.org");
    logged_in_user(b.login("alice", PASSWORD).await.unwrap());
    let logins = fake.requests_to("/accounts/login/");
    assert_eq!(logins.len(), 2);
    for k in ["guid", "phone_id", "device_id", "adid"] {
        assert_eq!(logins[0].field(k), logins[1].field(k), "{k}");
    }
    assert_eq!(
        logins[0].header("user-agent"),
        logins[1].header("user-agent")
    );
    assert_eq!(
        logins[0].header("x-ig-family-device-id"),
        logins[1].header("x-ig-family-device-id")
    );
    assert_eq!(
        a.session().device,
        Device::derive(b"test-seed", "@alice:example.org")
    );
}
