//! End-to-end restart test: the bridge is stopped and started again (same database, same
//! registration) while messages keep coming on both sides. Nothing may be lost or doubled.
//!
//! A binary of its own because restarting the bridge would disturb the other end-to-end tests;
//! `scripts/test` runs it after them against the same Synapse.

#[path = "../it/support/mod.rs"]
mod support;

#[path = "../e2e/matrix_client.rs"]
mod matrix_client;

#[path = "../e2e/world.rs"]
mod world;

use std::time::{Duration, Instant};

use matrix_client::{User, unique};
use matrix_instagram::app::RunningBridge;
use matrix_instagram::config::Config;
use serde_json::Value;

fn config_from_env() -> (Config, String) {
    let (Ok(config_path), Ok(homeserver)) = (
        std::env::var("MI_E2E_CONFIG"),
        std::env::var("MI_E2E_HOMESERVER"),
    ) else {
        panic!(
            "the end-to-end tests need a running Synapse: run them with `scripts/test` \
             (MI_E2E_CONFIG and MI_E2E_HOMESERVER are not set)"
        );
    };
    let config = Config::load(config_path.as_ref())
        .unwrap_or_else(|e| panic!("bad e2e config {config_path}: {e}"));
    (config, homeserver)
}

fn body_is(e: &Value, body: &str) -> bool {
    e["type"] == "m.room.message" && e["content"]["body"] == body
}

async fn start(config: &Config) -> RunningBridge {
    matrix_instagram::app::start(config.clone())
        .await
        .expect("the bridge starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_or_doubled_across_a_bridge_restart() {
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
    let (mut config, homeserver) = config_from_env();
    let w = world::World::start().await;
    config.instagram.api_base_url = w.ig.api_base().parse().expect("fake api url");
    config.instagram.upload_base_url = w.ig.upload_base().parse().expect("fake upload url");
    config.instagram.mqtt.host = "127.0.0.1".into();
    config.instagram.mqtt.port = w.broker.plain_addr.port();
    config.instagram.mqtt.tls = false;
    config.instagram.min_request_gap_ms = 0;
    let bot = config.bot_user_id();

    let me_pk = 31_000_000_001 + i64::from(std::process::id() % 1000) * 10;
    let bob_pk = me_pk + 1;
    let me_name = format!("restart_me_{me_pk}");
    w.ig.add_account(&me_name, "pw pw", me_pk);
    w.ig.add_account(&format!("restart_bob_{bob_pk}"), "x", bob_pk);
    let thread = w.ig.add_thread(&[me_pk, bob_pk], None);
    w.ig.push_text(&thread, bob_pk, "before the restart");

    let bridge = start(&config).await;
    let user = User::register(&homeserver, &unique("rst")).await;
    let management = user.create_dm(&bot).await;
    user.wait_for_notice_after(&management, &bot, None, |b| {
        b.contains("Instagram bridge bot")
    })
    .await;
    let login = user
        .send_text(&management, &format!("login {me_name} pw pw"))
        .await;
    user.wait_for_notice_after(&management, &bot, Some(&login), |b| {
        b.contains("Successfully")
    })
    .await;
    let portal = user
        .wait_for_invite("the portal", |events| {
            events.iter().any(|e| e["type"] == "m.room.name")
        })
        .await;
    user.join(&portal).await;
    user.wait_for(&portal, "the history", |e| body_is(e, "before the restart"))
        .await;
    let first = user.send_text(&portal, "sent before the restart").await;
    wait_until("the first send", || {
        w.ig.items(&thread)
            .iter()
            .any(|i| i["text"] == "sent before the restart")
    })
    .await;
    let _ = first;

    // Stop the bridge. Both sides keep talking.
    bridge.shutdown().await;
    w.ig.push_text(&thread, bob_pk, "while the bridge was down");
    let offline = user
        .send_text(&portal, "sent while the bridge was down")
        .await;

    // Start again on the same database: the user is reconnected without doing anything.
    let bridge = start(&config).await;
    user.wait_for(
        &portal,
        "the Instagram message sent during the downtime",
        |e| body_is(e, "while the bridge was down"),
    )
    .await;
    wait_until("the Matrix message sent during the downtime", || {
        w.ig.items(&thread)
            .iter()
            .any(|i| i["text"] == "sent while the bridge was down")
    })
    .await;

    // Live traffic works again, both ways.
    w.ig.push_text(&thread, bob_pk, "after the restart");
    user.wait_for(&portal, "a live message after the restart", |e| {
        body_is(e, "after the restart")
    })
    .await;

    // Nothing doubled on either side.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let timeline = user.timeline(&portal).await;
    for body in [
        "before the restart",
        "sent before the restart",
        "while the bridge was down",
        "sent while the bridge was down",
        "after the restart",
    ] {
        let n = timeline.iter().filter(|e| body_is(e, body)).count();
        assert_eq!(n, 1, "{body:?} appears {n} times in Matrix");
        let m =
            w.ig.items(&thread)
                .iter()
                .filter(|i| i["text"] == body)
                .count();
        assert_eq!(m, 1, "{body:?} appears {m} times on Instagram");
    }
    let _ = offline;
    bridge.shutdown().await;
}

async fn wait_until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
