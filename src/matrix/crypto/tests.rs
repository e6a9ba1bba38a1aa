//! The crypto store's pickle key, without a homeserver.

use std::time::Duration;

use super::*;
use crate::matrix::client::RetryPolicy;

fn settings(dir: &std::path::Path, key: &str) -> CryptoSettings {
    CryptoSettings {
        store_path: dir.join("crypto"),
        pickle_key: Secret::new(key),
        device_creation: DeviceCreation::AppserviceLogin,
        self_sign: false,
        share_with: Trust::Any,
        accept_from: Trust::Any,
    }
}

#[tokio::test]
async fn a_wrong_pickle_key_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let bot = ruma::UserId::parse("@bot:localhost").unwrap();
    let retry = RetryPolicy {
        max_attempts: 1,
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    };
    // Nothing listens on the discard port: making the device fails, and says it may work later.
    let client = HomeserverClient::new("http://127.0.0.1:9", "as-token", bot, retry).unwrap();
    let first = Crypto::start(client.clone(), settings(dir.path(), "the first key"))
        .await
        .unwrap_err();
    assert!(first.is_transient(), "{first}");
    // The store was made with the first key; another one cannot open it.
    let second = Crypto::start(client, settings(dir.path(), "another key"))
        .await
        .unwrap_err();
    assert!(matches!(second, CryptoError::Open { .. }), "{second}");
    assert!(!second.is_transient());
    let text = second.to_string();
    assert!(
        !text.contains("another key") && !text.contains("the first key"),
        "{text}"
    );
}
