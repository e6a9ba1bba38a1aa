//! Double puppeting end to end: the bridge runs with `double_puppet.secrets` set for the
//! test server (the second registration, written by `generate-registration --double-puppet`,
//! is loaded by the script's Synapse). A user who logs in is joined to their portals without
//! an invite to accept, their DMs are in `m.direct`, and what they do in the Instagram app
//! appears as them, once, and never goes back to Instagram.
//!
//! A binary of its own because every user of the test server gets double puppeting here, which
//! would change what the other end-to-end tests see; `scripts/test` runs it after them, with
//! a database of its own, against the same Synapse (it shares the registration's port).

#[path = "../it/support/mod.rs"]
mod support;

#[path = "../e2e/matrix_client.rs"]
mod matrix_client;

#[path = "../e2e/world.rs"]
mod world;

mod chat_state;
mod puppeting;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use matrix_instagram::config::Config;
use matrix_instagram::matrix::registration::DoublePuppetRegistration;

pub struct Env {
    pub homeserver: String,
    pub config: Config,
    pub world: world::World,
}

/// A new Matrix user (localpart from `prefix`) who opened the bot's DM and logged in as the
/// Instagram account `ig_name` (password "correct horse battery"), once the bot's summary
/// starts with `done`.
pub async fn logged_in_user(prefix: &str, ig_name: &str, done: &str) -> matrix_client::User {
    let env = env();
    let bot = env.config.bot_user_id();
    let user = matrix_client::User::register(&env.homeserver, &matrix_client::unique(prefix)).await;
    let management = user.create_dm(&bot).await;
    user.wait_for_notice_after(&management, &bot, None, |b| {
        b.contains("Instagram bridge bot")
    })
    .await;
    let login = user
        .send_text(
            &management,
            &format!("login {ig_name} correct horse battery"),
        )
        .await;
    user.wait_for_notice_after(&management, &bot, Some(&login), |b| b.starts_with(done))
        .await;
    user
}

/// The script's config with the double-puppet secret of its second registration, and the
/// bridge started once for the whole test process.
pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let (Ok(config_path), Ok(homeserver), Ok(registration)) = (
            std::env::var("MI_E2E_CONFIG"),
            std::env::var("MI_E2E_HOMESERVER"),
            std::env::var("MI_E2E_DOUBLE_PUPPET"),
        ) else {
            panic!(
                "the double-puppet tests need a running Synapse with the double-puppet \
                 registration: run them with `scripts/test` (MI_E2E_CONFIG, MI_E2E_HOMESERVER \
                 or MI_E2E_DOUBLE_PUPPET is not set)"
            );
        };
        let mut config = Config::load(config_path.as_ref())
            .unwrap_or_else(|e| panic!("bad e2e config {config_path}: {e}"));
        let text = std::fs::read_to_string(&registration)
            .unwrap_or_else(|e| panic!("cannot read {registration}: {e}"));
        let reg: DoublePuppetRegistration = serde_saphyr::from_str(&text)
            .unwrap_or_else(|e| panic!("bad double-puppet registration {registration}: {e}"));
        config.double_puppet.secrets.insert(
            config.homeserver.domain.clone(),
            format!("as_token:{}", reg.as_token.expose()).into(),
        );
        let (world, config) = start_bridge(config);
        Env {
            homeserver,
            config,
            world,
        }
    })
}

fn start_bridge(mut config: Config) -> (world::World, Config) {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("bridge runtime");
        runtime.block_on(async move {
            if let Some(file) = std::env::var("MI_E2E_LOG")
                .ok()
                .and_then(|p| std::fs::File::create(p).ok())
            {
                let _ = tracing_subscriber::fmt()
                    .with_env_filter("info,matrix_instagram=debug")
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file))
                    .try_init();
            }
            let world = world::World::start().await;
            config.instagram.api_base_url = world.ig.api_base().parse().expect("fake api url");
            config.instagram.upload_base_url =
                world.ig.upload_base().parse().expect("fake upload url");
            config.instagram.mqtt.host = "127.0.0.1".into();
            config.instagram.mqtt.port = world.broker.plain_addr.port();
            config.instagram.mqtt.tls = false;
            config.instagram.min_request_gap_ms = 0;
            let running = matrix_instagram::app::start(config.clone())
                .await
                .expect("the bridge starts");
            let _ = ready_tx.send((world, config));
            std::future::pending::<()>().await;
            drop(running);
        });
    });
    ready_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the bridge did not start within 60 s")
}

pub(crate) async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) fn unique_pk() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let base = (std::process::id() as i64 % 10_000) * 1_000_000 + 27_000_000_000;
    base + NEXT.fetch_add(1, Ordering::SeqCst)
}
