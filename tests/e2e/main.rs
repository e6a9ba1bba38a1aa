//! End-to-end tests: a real Synapse (started by `scripts/test`), the bridge running in this
//! process with the config and registration the script generated, and Matrix users talking
//! to the bot through their own client-server API sessions.
//!
//! Run through `scripts/test`; on their own these tests fail with a message saying so.

#[path = "../it/support/mod.rs"]
mod support;

mod accounts;
mod bridging;
mod hostile;
mod login;
mod matrix_client;
mod media;
mod presence;
mod provisioning;
mod proxy;
mod puppet_token;
mod reactions;
mod relay;
mod search;
mod skeleton;
mod stalls;
mod thread_commands;
mod world;

use std::sync::OnceLock;
use std::time::Duration;

use matrix_instagram::config::Config;

/// Where the script's Synapse listens, and the bridge's config.
pub struct Env {
    pub homeserver: String,
    pub config: Config,
    /// The fake Instagram the bridge talks to.
    pub world: world::World,
}

/// The environment, with the bridge started once for the whole test process.
pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let (Ok(config_path), Ok(homeserver)) = (
            std::env::var("MI_E2E_CONFIG"),
            std::env::var("MI_E2E_HOMESERVER"),
        ) else {
            panic!(
                "the end-to-end tests need a running Synapse: run them with `scripts/test` \
                 (MI_E2E_CONFIG and MI_E2E_HOMESERVER are not set)"
            );
        };
        let mut config = Config::load(config_path.as_ref())
            .unwrap_or_else(|e| panic!("bad e2e config {config_path}: {e}"));
        // Presence both ways (off by default), for `presence.rs`.
        config.bridge.presence.from_instagram = true;
        config.bridge.presence.to_instagram = true;
        let (world, config) = start_bridge(config);
        Env {
            homeserver,
            config,
            world,
        }
    })
}

/// Starts the fake Instagram and the bridge (pointed at it) on a runtime of its own that
/// lives as long as the test process.
fn start_bridge(mut config: Config) -> (world::World, Config) {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("bridge runtime");
        runtime.block_on(async move {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,matrix_instagram=debug".into());
            // The bridge runs on its own thread: log to the file the script names (it prints
            // the file when a test fails).
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
            let world = world::World::start().await;
            config.instagram.api_base_url = world.ig.api_base().parse().expect("fake api url");
            config.instagram.upload_base_url =
                world.ig.upload_base().parse().expect("fake upload url");
            config.instagram.mqtt.host = "127.0.0.1".into();
            config.instagram.mqtt.port = world.broker.plain_addr.port();
            config.instagram.mqtt.tls = false;
            config.instagram.min_request_gap_ms = 0;
            // Relay mode on, and logged-in users may relay with their own account.
            config.bridge.relay.enabled = true;
            config.bridge.relay.admin_only = false;
            if let Ok(ffmpeg) = std::env::var("MATRIX_INSTAGRAM_FFMPEG") {
                config.media.ffmpeg_path = Some(ffmpeg.into());
            }
            let running = matrix_instagram::app::start(config.clone())
                .await
                .expect("the bridge starts");
            let _ = ready_tx.send((world, config));
            // Keep the bridge alive until the process ends.
            std::future::pending::<()>().await;
            drop(running);
        });
    });
    ready_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the bridge did not start within 60 s")
}
