//! Accounts share one HTTP transport (connection pool, TLS) per setting, yet every request
//! carries only its own account's cookies and headers, and what one account's responses set
//! stays in that account's session.

use std::time::Duration;

use super::common::*;

#[tokio::test]
async fn two_accounts_on_one_transport_keep_their_own_cookies_and_headers() {
    let fake = fake().await;
    let alice = client(&fake, "@alice:example.org");
    let bob = client(&fake, "@bob:example.org");
    assert!(
        alice.shares_transport_with(&bob),
        "one setting, one transport"
    );
    // Logged in at the same time, over the same pool.
    let (a, b) = tokio::join!(alice.login("alice", PASSWORD), bob.login("bob", "bobpw"));
    assert_eq!(logged_in_user(a.unwrap()).pk.get(), ALICE);
    assert_eq!(logged_in_user(b.unwrap()).pk.get(), BOB);
    let (sa, sb) = (alice.session(), bob.session());
    assert_ne!(sa.sessionid(), sb.sessionid());
    assert_ne!(sa.cookies.get("csrftoken"), sb.cookies.get("csrftoken"));
    assert_ne!(sa.device.uuid, sb.device.uuid);

    fake.clear_requests();
    for _ in 0..3 {
        let (ua, ub) = tokio::join!(alice.current_user(), bob.current_user());
        assert_eq!(
            ua.unwrap().pk.get(),
            ALICE,
            "alice's request was answered as alice"
        );
        assert_eq!(
            ub.unwrap().pk.get(),
            BOB,
            "bob's request was answered as bob"
        );
    }
    let requests = fake.requests_to("/accounts/current_user/");
    assert_eq!(requests.len(), 6);
    for r in &requests {
        let device = r.header("x-ig-device-id").expect("device id header");
        let (own, other) = if device == sa.device.uuid {
            (&sa, &sb)
        } else {
            assert_eq!(device, sb.device.uuid, "a device of neither account");
            (&sb, &sa)
        };
        assert_eq!(
            r.header("authorization"),
            own.authorization.as_deref(),
            "each request carries its own account's authorization"
        );
        let cookie = r.header("cookie").unwrap_or_default();
        let own_csrf = own.cookies.get("csrftoken").expect("csrftoken");
        let other_csrf = other.cookies.get("csrftoken").expect("csrftoken");
        assert!(cookie.contains(own_csrf.as_str()), "{cookie}");
        assert!(!cookie.contains(other_csrf.as_str()), "{cookie}");
        assert_eq!(
            r.header("ig-u-ds-user-id").map(str::to_owned),
            own.user_pk().map(|pk| pk.get().to_string())
        );
    }
    // Sessions changed by those answers changed only their own account.
    assert_eq!(alice.session().sessionid(), sa.sessionid());
    assert_eq!(bob.session().sessionid(), sb.sessionid());
}

#[tokio::test]
async fn a_different_setting_gets_a_transport_of_its_own() {
    let fake = fake().await;
    let a = client(&fake, "@alice:example.org");
    let mut cfg = config(&fake);
    cfg.request_timeout = Duration::from_secs(7);
    let b = matrix_instagram::instagram::http::InstagramClient::new(
        cfg,
        matrix_instagram::instagram::http::Device::derive(b"test-seed", "@bob:example.org"),
    )
    .unwrap();
    assert!(!a.shares_transport_with(&b));
    logged_in_user(b.login("bob", "bobpw").await.unwrap());
}
