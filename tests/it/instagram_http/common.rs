//! Shared setup: a fake with three accounts and clients pointed at it.

use matrix_instagram::instagram::http::{Device, HttpConfig, InstagramClient, LoginOutcome};
use matrix_instagram::instagram::types::User;

use crate::support::fake_instagram::FakeInstagram;

pub const ALICE: i64 = 1001;
pub const BOB: i64 = 1002;
pub const CAROL: i64 = 1003;
pub const PASSWORD: &str = "correct horse battery staple";

pub async fn fake() -> FakeInstagram {
    let fake = FakeInstagram::start().await;
    fake.add_account("alice", PASSWORD, ALICE)
        .add_account("bob", "bobpw", BOB)
        .add_account("carol", "carolpw", CAROL);
    fake
}

pub fn config(fake: &FakeInstagram) -> HttpConfig {
    HttpConfig::for_local(fake.base(), &fake.upload_base())
}

pub fn client(fake: &FakeInstagram, mxid: &str) -> InstagramClient {
    InstagramClient::new(config(fake), Device::derive(b"test-seed", mxid)).unwrap()
}

pub fn logged_in_user(outcome: LoginOutcome) -> User {
    match outcome {
        LoginOutcome::LoggedIn(u) => u,
        other => panic!("expected LoggedIn, got {other:?}"),
    }
}

/// A fake plus a client logged in as alice.
pub async fn alice() -> (FakeInstagram, InstagramClient) {
    let fake = fake().await;
    let c = client(&fake, "@alice:example.org");
    let u = logged_in_user(c.login("alice", PASSWORD).await.unwrap());
    assert_eq!(u.pk.get(), ALICE);
    fake.clear_requests();
    (fake, c)
}
