//! End-to-bridge encryption end to end: the script's Synapse (MSC2409/MSC3202 on, the
//! registration asking for the encryption fields) and the bridge with `encryption.allow`,
//! its crypto store in a folder of its own. The Matrix user's client encrypts and decrypts
//! with its own device ([`olm_client`]).
//!
//! A binary of its own: the bridge here has encryption on and is restarted mid-test; the
//! script runs it on SQLite and on PostgreSQL, each with a database of its own.

#[path = "../it/support/mod.rs"]
mod support;

#[path = "../e2e/world.rs"]
mod world;

mod encrypted;
mod olm_client;
mod trust;

use std::time::Duration;

use matrix_instagram::app::RunningBridge;
use matrix_instagram::config::Config;

/// One bridge at a time: every test's bridge listens on the registration's port.
pub static ONE_BRIDGE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The script's config with encryption allowed, the crypto store under `dir`.
pub fn config(dir: &std::path::Path) -> (Config, String) {
    let (Ok(config_path), Ok(homeserver)) = (
        std::env::var("MI_E2E_CONFIG"),
        std::env::var("MI_E2E_HOMESERVER"),
    ) else {
        panic!(
            "the encryption tests need a running Synapse: run them with `scripts/test` \
             (MI_E2E_CONFIG and MI_E2E_HOMESERVER are not set)"
        );
    };
    let mut config = Config::load(config_path.as_ref())
        .unwrap_or_else(|e| panic!("bad e2e config {config_path}: {e}"));
    let encryption = &mut config.encryption;
    encryption.allow = true;
    encryption.appservice = true;
    encryption.default = false;
    encryption.pickle_key = "a pickle key for the tests only".into();
    encryption.store_path = dir.join("crypto").display().to_string();
    // Long enough for the management room to answer first, short enough for a test.
    encryption.key_wait_secs = 15;
    (config, homeserver)
}

/// Starts the bridge, pointed at the fake Instagram, on the current runtime.
pub async fn start_bridge(world: &world::World, mut config: Config) -> RunningBridge {
    config.instagram.api_base_url = world.ig.api_base().parse().expect("fake api url");
    config.instagram.upload_base_url = world.ig.upload_base().parse().expect("fake upload url");
    config.instagram.mqtt.host = "127.0.0.1".into();
    config.instagram.mqtt.port = world.broker.plain_addr.port();
    config.instagram.mqtt.tls = false;
    config.instagram.min_request_gap_ms = 0;
    tokio::time::timeout(
        Duration::from_secs(60),
        matrix_instagram::app::start(config),
    )
    .await
    .expect("the bridge started within 60 s")
    .expect("the bridge starts")
}

/// Logs to the file the script names (it prints it when a test fails).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,matrix_instagram=debug,matrix_sdk_crypto=info".into());
    match std::env::var("MI_E2E_LOG")
        .ok()
        .and_then(|p| std::fs::File::create(p).ok())
    {
        Some(file) => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .try_init();
        }
        None => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
    }
}
