//! End-to-end recovery tests: the bridge is stopped (gracefully, or killed with SIGKILL) and
//! started again on the same database while messages keep coming on both sides, and the
//! realtime cursor is refused ("resync required"). Nothing may be lost or doubled.
//!
//! A binary of its own because restarting the bridge would disturb the other end-to-end tests;
//! `scripts/test` runs it after them against the same Synapse, one test at a time (they share
//! the registration's port).

#[path = "../it/support/mod.rs"]
mod support;

#[path = "../e2e/matrix_client.rs"]
mod matrix_client;

#[path = "../e2e/world.rs"]
mod world;

mod accounts;
mod chat_state;
mod import;
mod mentions;
mod ops;
mod order;
mod outage;
mod proxy;
mod trace_log;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use matrix_client::{User, unique};
use matrix_instagram::app::RunningBridge;
use matrix_instagram::config::Config;
use serde_json::Value;

/// A bridge binary run by a test; killed when dropped, so a failing test leaves no process
/// holding the appservice port behind it.
struct Binary(Child);

impl Binary {
    /// SIGKILL: no shutdown code runs at all.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Harness {
    config: Config,
    config_path: String,
    homeserver: String,
    world: world::World,
}

fn init_logs(suffix: &str) {
    if let Some(file) = std::env::var("MI_E2E_LOG")
        .ok()
        .and_then(|p| std::fs::File::create(format!("{p}.{suffix}")).ok())
    {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info,matrix_instagram=debug")
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    }
}

/// The script's config, pointed at a fresh fake Instagram and a fresh SQLite database.
async fn harness(name: &str) -> Harness {
    init_logs(name);
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
    let world = world::World::start().await;
    config.instagram.api_base_url = world.ig.api_base().parse().expect("fake api url");
    config.instagram.upload_base_url = world.ig.upload_base().parse().expect("fake upload url");
    config.instagram.mqtt.host = "127.0.0.1".into();
    config.instagram.mqtt.port = world.broker.plain_addr.port();
    config.instagram.mqtt.tls = false;
    config.instagram.min_request_gap_ms = 0;
    let dir = std::path::Path::new(&config_path)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| ".".into());
    config.database.uri = format!("sqlite:{dir}/restart-{name}-{}.db", std::process::id()).into();
    Harness {
        config,
        config_path,
        homeserver,
        world,
    }
}

impl Harness {
    async fn start(&self) -> RunningBridge {
        matrix_instagram::app::start(self.config.clone())
            .await
            .expect("the bridge starts")
    }

    /// The real binary, configured like the in-process bridge through environment overrides.
    fn spawn_binary(&self, log: &str) -> Binary {
        let log_file = std::env::var("MI_E2E_LOG").ok().and_then(|p| {
            std::fs::File::options()
                .create(true)
                .append(true)
                .open(format!("{p}.{log}"))
                .ok()
        });
        self.spawn_binary_with(log_file, &[])
    }

    /// The real binary with more environment overrides, its output (if any) written to `out`.
    fn spawn_binary_with(&self, out: Option<std::fs::File>, env: &[(&str, &str)]) -> Binary {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_matrix-instagram"));
        cmd.arg("-c")
            .arg(&self.config_path)
            .env(
                "MATRIX_INSTAGRAM__DATABASE__URI",
                self.config.database.uri.expose(),
            )
            .env(
                "MATRIX_INSTAGRAM__INSTAGRAM__API_BASE_URL",
                self.config.instagram.api_base_url.as_str(),
            )
            .env(
                "MATRIX_INSTAGRAM__INSTAGRAM__UPLOAD_BASE_URL",
                self.config.instagram.upload_base_url.as_str(),
            )
            .env(
                "MATRIX_INSTAGRAM__INSTAGRAM__MQTT__HOST",
                &self.config.instagram.mqtt.host,
            )
            .env(
                "MATRIX_INSTAGRAM__INSTAGRAM__MQTT__PORT",
                self.config.instagram.mqtt.port.to_string(),
            )
            .env("MATRIX_INSTAGRAM__INSTAGRAM__MQTT__TLS", "false")
            .env("MATRIX_INSTAGRAM__INSTAGRAM__MIN_REQUEST_GAP_MS", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        match out {
            Some(f) => {
                let err = f.try_clone().expect("log file");
                cmd.stdout(f).stderr(err);
            }
            None => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = Binary(cmd.spawn().expect("spawn the bridge binary"));
        let port = self.config.appservice.port;
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the bridge binary did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        child
    }

    /// A Matrix user logged in to a fresh Instagram account with one DM thread (with history).
    async fn scene(&self, tag: &str) -> (User, String, i64, i64, String) {
        let s = self.scene_with_management(tag).await;
        (s.user, s.portal, s.me_pk, s.bob_pk, s.thread)
    }

    /// [`Self::scene`], with the user's management room.
    async fn scene_with_management(&self, tag: &str) -> Scene {
        let w = &self.world;
        let bot = self.config.bot_user_id();
        let tag_sum: i64 = tag.bytes().map(i64::from).sum();
        let me_pk = 31_000_000_000 + i64::from(std::process::id() % 10_000) * 1000 + tag_sum * 2;
        let bob_pk = me_pk + 1;
        let me_name = format!("{tag}_me_{me_pk}");
        w.ig.add_account(&me_name, "pw pw", me_pk);
        w.ig.add_account(&format!("{tag}_bob_{bob_pk}"), "x", bob_pk);
        let thread = w.ig.add_thread(&[me_pk, bob_pk], None);
        w.ig.push_text(&thread, bob_pk, "before the restart");

        let user = User::register(&self.homeserver, &unique(tag)).await;
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
        Scene {
            user,
            management,
            portal,
            me_pk,
            bob_pk,
            thread,
        }
    }

    /// Each body appears exactly once in Matrix and on Instagram. Checked once a sentinel
    /// sent after them has crossed each way: a conversation's events are applied in order, so
    /// whatever could still double one of them was applied before its sentinel.
    async fn assert_once(
        &self,
        user: &User,
        portal: &str,
        thread: &str,
        bob_pk: i64,
        bodies: &[&str],
    ) {
        let tag = unique("sentinel");
        let (from_ig, from_matrix) = (
            format!("{tag} from Instagram"),
            format!("{tag} from Matrix"),
        );
        self.world.ig.push_text(thread, bob_pk, &from_ig);
        user.send_text(portal, &from_matrix).await;
        user.wait_for(portal, "the Instagram sentinel", |e| body_is(e, &from_ig))
            .await;
        wait_until("the Matrix sentinel on Instagram", || {
            self.world
                .ig
                .items(thread)
                .iter()
                .any(|i| i["text"] == from_matrix.as_str())
        })
        .await;
        let timeline = user.full_timeline(portal).await;
        for body in bodies {
            let n = timeline.iter().filter(|e| body_is(e, body)).count();
            assert_eq!(n, 1, "{body:?} appears {n} times in Matrix");
            let m = self
                .world
                .ig
                .items(thread)
                .iter()
                .filter(|i| i["text"] == *body)
                .count();
            assert_eq!(m, 1, "{body:?} appears {m} times on Instagram");
        }
    }

    /// The Matrix id of a contact's ghost.
    fn ghost(&self, pk: i64) -> String {
        self.config.ghosts().user_id(pk)
    }
}

/// What [`Harness::scene_with_management`] sets up.
struct Scene {
    user: User,
    management: String,
    portal: String,
    me_pk: i64,
    bob_pk: i64,
    thread: String,
}

fn body_is(e: &Value, body: &str) -> bool {
    e["type"] == "m.room.message" && e["content"]["body"] == body
}

async fn wait_until(what: &str, check: impl Fn() -> bool) {
    wait_until_async(what, || std::future::ready(check())).await
}

/// [`wait_until`] for a check that has to wait itself (a Matrix request).
async fn wait_until_async<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_or_doubled_across_a_graceful_restart() {
    let h = harness("graceful").await;
    let w = &h.world;
    let bridge = h.start().await;
    let (user, portal, _me, bob_pk, thread) = h.scene("grc").await;
    user.send_text(&portal, "sent before the restart").await;
    wait_until("the first send", || {
        w.ig.items(&thread)
            .iter()
            .any(|i| i["text"] == "sent before the restart")
    })
    .await;

    // Stop the bridge. Both sides keep talking.
    bridge.shutdown().await;
    w.ig.push_text(&thread, bob_pk, "while the bridge was down");
    user.send_text(&portal, "sent while the bridge was down")
        .await;

    // Start again on the same database: the user is reconnected without doing anything.
    let bridge = h.start().await;
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
    w.ig.push_text(&thread, bob_pk, "after the restart");
    user.wait_for(&portal, "a live message after the restart", |e| {
        body_is(e, "after the restart")
    })
    .await;
    h.assert_once(
        &user,
        &portal,
        &thread,
        bob_pk,
        &[
            "before the restart",
            "sent before the restart",
            "while the bridge was down",
            "sent while the bridge was down",
            "after the restart",
        ],
    )
    .await;
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_or_doubled_when_the_bridge_is_killed() {
    let h = harness("kill").await;
    let w = &h.world;
    let mut child = h.spawn_binary("kill-1");
    let (user, portal, _me, bob_pk, thread) = h.scene("kil").await;
    user.send_text(&portal, "sent before the kill").await;
    w.ig.push_text(&thread, bob_pk, "received before the kill");
    user.wait_for(&portal, "the live message", |e| {
        body_is(e, "received before the kill")
    })
    .await;
    wait_until("the first send", || {
        w.ig.items(&thread)
            .iter()
            .any(|i| i["text"] == "sent before the kill")
    })
    .await;

    child.kill();
    w.ig.push_text(&thread, bob_pk, "while the bridge was dead");
    user.send_text(&portal, "sent while the bridge was dead")
        .await;

    let mut child = h.spawn_binary("kill-2");
    user.wait_for(&portal, "the message sent while dead", |e| {
        body_is(e, "while the bridge was dead")
    })
    .await;
    wait_until("the Matrix message sent while dead", || {
        w.ig.items(&thread)
            .iter()
            .any(|i| i["text"] == "sent while the bridge was dead")
    })
    .await;
    h.assert_once(
        &user,
        &portal,
        &thread,
        bob_pk,
        &[
            "before the restart",
            "sent before the kill",
            "received before the kill",
            "while the bridge was dead",
            "sent while the bridge was dead",
        ],
    )
    .await;
    child.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_cursor_resyncs_over_http_without_losing_messages() {
    let h = harness("resync").await;
    let w = &h.world;
    let bridge = h.start().await;
    let (user, portal, me_pk, bob_pk, thread) = h.scene("rsy").await;
    // The connection drops and stays down for a while; a message arrives meanwhile and the
    // broker no longer has the queue (iris answers IrisQueueOverflowException).
    w.broker.refuse_next(2);
    w.broker.set_iris_overflow(true);
    assert!(w.broker.drop_connections(me_pk) >= 1);
    w.ig.push_text(&thread, bob_pk, "missed while disconnected");
    user.wait_for(&portal, "the missed message, via the HTTP resync", |e| {
        body_is(e, "missed while disconnected")
    })
    .await;
    w.broker.set_iris_overflow(false);
    w.ig.push_text(&thread, bob_pk, "live again");
    user.wait_for(&portal, "live traffic after the resync", |e| {
        body_is(e, "live again")
    })
    .await;
    h.assert_once(
        &user,
        &portal,
        &thread,
        bob_pk,
        &[
            "before the restart",
            "missed while disconnected",
            "live again",
        ],
    )
    .await;
    bridge.shutdown().await;
}

/// A stranger's message request to `me`, with one message; returns the room name it gets.
fn request_from_stranger(w: &world::World, me: i64, stranger: i64, text: &str) -> String {
    let name = format!("stranger_{stranger}");
    w.ig.add_account(&name, "x", stranger);
    let thread = w.ig.add_thread(&[stranger, me], None);
    w.ig.set_pending(&thread, me);
    w.ig.push_text(&thread, stranger, text);
    format!("{name} full")
}

/// Waits for the invite to the room named `name`, joins it and waits for `text` in it.
async fn bridged_request(user: &User, name: &str, text: &str) {
    let room = user
        .wait_for_invite(name, |events| {
            events
                .iter()
                .any(|e| e["type"] == "m.room.name" && e["content"]["name"] == name)
        })
        .await;
    user.join(&room).await;
    user.wait_for(&room, text, |e| body_is(e, text)).await;
}

/// `bridge.message_requests: bridge` (the e2e config holds them): a request pending at login
/// and one sent while the bridge was down get rooms like any chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_bridge_policy_requests_pending_at_login_or_sent_while_down_get_rooms() {
    let mut h = harness("requests").await;
    h.config.bridge.message_requests = matrix_instagram::config::MessageRequests::Bridge;
    let w = &h.world;
    let bot = h.config.bot_user_id();
    let me = 32_000_000_000 + i64::from(std::process::id() % 10_000) * 1000;
    let me_name = format!("rq_me_{me}");
    w.ig.add_account(&me_name, "pw pw", me);
    let first = request_from_stranger(w, me, me + 1, "a request before the login");

    let bridge = h.start().await;
    let user = User::register(&h.homeserver, &unique("rq")).await;
    let management = user.create_dm(&bot).await;
    user.wait_for_notice_after(&management, &bot, None, |b| {
        b.contains("Instagram bridge bot")
    })
    .await;
    let login = user
        .send_text(&management, &format!("login {me_name} pw pw"))
        .await;
    bridged_request(&user, &first, "a request before the login").await;
    user.wait_for_notice_after(&management, &bot, Some(&login), |b| {
        b == "Bridging 1 message request…"
    })
    .await;
    user.wait_for_notice_after(&management, &bot, Some(&login), |b| {
        b == "Done: 1 conversation bridged."
    })
    .await;

    // Down while another stranger writes: the catch-up at the next start finds the request.
    bridge.shutdown().await;
    let second = request_from_stranger(w, me, me + 2, "a request while the bridge was down");
    let bridge = h.start().await;
    bridged_request(&user, &second, "a request while the bridge was down").await;
    bridge.shutdown().await;
}
