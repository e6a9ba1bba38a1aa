//! What the bridge's in-process tests share: a real `Bridge` value on a real store, talking to
//! whatever homeserver address the test gives (an in-process fake, or none at all).

use std::sync::Arc;

use super::Bridge;
use crate::config::Config;
use crate::matrix::client::RetryPolicy;
use crate::matrix::{HomeserverClient, Intents};
use crate::store::{PoolOptions, Store};

/// A bridge on `store`, talking to the homeserver at `address`.
pub fn bridge(store: Store, address: &str) -> Arc<Bridge> {
    let yaml = format!(
        "
homeserver:
  address: {address}
  domain: example.com
appservice:
  as_token: the-as-token
  hs_token: the-hs-token
bridge:
  permissions:
    example.com: user
"
    );
    let config = Config::from_yaml(&yaml, "test.yaml", std::iter::empty()).unwrap();
    let bot = ruma::UserId::parse(config.bot_user_id()).unwrap();
    let client =
        HomeserverClient::new(address, "the-as-token", bot, RetryPolicy::default()).unwrap();
    let metrics = crate::metrics::Metrics::new();
    Bridge::new(Arc::new(config), store, Intents::new(client), metrics)
}

pub async fn sqlite(dir: &tempfile::TempDir) -> Store {
    let uri = format!("sqlite:{}", dir.path().join("test.db").display());
    Store::connect(&uri, PoolOptions::default()).await.unwrap()
}
