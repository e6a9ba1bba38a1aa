//! The end-to-end benchmark: the real bridge (the release binary, a process of its own)
//! between a real Synapse and the fake Instagram of `tests/it/support` (API over HTTP, MQTToT
//! over TLS). Run it with `scripts/bench`, which builds everything in release mode, starts a
//! throwaway Synapse and passes its addresses here. Prints figures; asserts nothing.
//!
//! In one run, in this order:
//! 1. Synapse's own send→sync latency (one Matrix user to another, 5 and 20 msg/s);
//! 2. Instagram → Matrix at 5 msg/s: latency from the fake publishing the item to the Matrix
//!    user's `/sync` returning it, and what the bridge adds over (1); bridge CPU per message;
//! 3. Matrix → Instagram at 5 msg/s: from the Matrix client's send to the fake Instagram
//!    holding the item; bridge CPU per message;
//! 4. Matrix → Instagram at 20 msg/s in one conversation;
//! 5. a half-open realtime socket (the broker stops answering): time until the bridge has
//!    connected again;
//! 6. kill -9, 200 messages written on Instagram while the bridge is dead, restart: time until
//!    the last of them is in Matrix;
//! 7. for each N of `MI_BENCH_USERS` (default `100 1000`): a fresh bridge and database, N
//!    accounts logging in at once through the provisioning API; time until all are connected,
//!    until the bridge is quiet (≤ 2 % CPU over a second), and resident memory per user.
//!
//! Environment (set by `scripts/bench`): `MI_BENCH_CONFIG`, `MI_BENCH_HOMESERVER`,
//! `MI_BENCH_BRIDGE` (the binary), `MI_BENCH_DIR` (databases, logs); optional
//! `MI_BENCH_USERS`, `MI_BENCH_MESSAGES` (messages per paced run, default 100),
//! `MI_BENCH_ONLY_USERS=1` (phase 7 alone), `MI_BENCH_WRAPPER` (a command the bridge runs
//! under, e.g. `heaptrack -o /dev/shm/bridge`: the bridge is still measured and killed by its
//! own pid).
//! `MATRIX_INSTAGRAM__…` variables reach the bridge process unchanged.

#[path = "../../tests/it/support/mod.rs"]
mod support;

#[path = "../../tests/e2e/matrix_client.rs"]
mod matrix_client;

#[path = "../../tests/e2e/world.rs"]
mod world;

mod phases;
mod proc;
mod stats;
mod syncer;
mod users;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use matrix_client::{User, unique};
use matrix_instagram::config::Config;
use serde_json::Value;

/// What every phase needs.
pub struct Bench {
    pub homeserver: String,
    pub config: Config,
    pub launcher: proc::Launcher,
    pub dir: PathBuf,
    pub world: world::World,
    pub messages: usize,
}

/// The one logged-in user of phases 1–6 and their portal.
pub struct Scene {
    pub user: std::sync::Arc<User>,
    pub portal: String,
    pub me_pk: i64,
    pub bob_pk: i64,
    pub thread: String,
    pub arrivals: syncer::Arrivals,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the benchmark with scripts/bench");
    })
}

pub fn body_is(e: &Value, body: &str) -> bool {
    e["type"] == "m.room.message" && e["content"]["body"] == body
}

impl Bench {
    fn sqlite(&self, name: &str) -> String {
        format!("sqlite:{}", self.dir.join(name).display())
    }

    /// A Matrix user logged in to a fresh Instagram account with one DM thread (as the
    /// end-to-end tests set it up: the bot's `login` command, then the portal invite).
    async fn scene(&self) -> Scene {
        let w = &self.world;
        let bot = self.config.bot_user_id();
        let me_pk = 41_000_000_000;
        let bob_pk = me_pk + 1;
        let me_name = format!("bench_me_{me_pk}");
        w.ig.add_account(&me_name, "pw pw", me_pk);
        w.ig.add_account(&format!("bench_bob_{bob_pk}"), "x", bob_pk);
        let thread = w.ig.add_thread(&[me_pk, bob_pk], None);
        w.ig.push_text(&thread, bob_pk, "history");

        let user = User::register(&self.homeserver, &unique("benchme")).await;
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
        user.wait_for(&portal, "the history", |e| body_is(e, "history"))
            .await;
        let arrivals = syncer::start(&self.homeserver, user.access_token());
        Scene {
            user: std::sync::Arc::new(user),
            portal,
            me_pk,
            bob_pk,
            thread,
            arrivals,
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let config_path = PathBuf::from(env("MI_BENCH_CONFIG"));
    let config = Config::load(&config_path).expect("the bench config loads");
    let dir = PathBuf::from(env("MI_BENCH_DIR"));
    let messages = std::env::var("MI_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let user_counts: Vec<usize> = std::env::var("MI_BENCH_USERS")
        .unwrap_or_else(|_| "100 1000".into())
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();

    let world = world::World::start().await;
    let overrides = [
        (
            "MATRIX_INSTAGRAM__INSTAGRAM__API_BASE_URL",
            world.ig.api_base(),
        ),
        (
            "MATRIX_INSTAGRAM__INSTAGRAM__UPLOAD_BASE_URL",
            world.ig.upload_base(),
        ),
        (
            "MATRIX_INSTAGRAM__INSTAGRAM__MQTT__HOST",
            "127.0.0.1".into(),
        ),
        (
            "MATRIX_INSTAGRAM__INSTAGRAM__MQTT__PORT",
            world.broker.tls_addr.port().to_string(),
        ),
        ("MATRIX_INSTAGRAM__INSTAGRAM__MQTT__TLS", "true".into()),
        (
            "MATRIX_INSTAGRAM__INSTAGRAM__EXTRA_CA_FILE",
            world.broker.ca_path().display().to_string(),
        ),
    ];
    let launcher = proc::Launcher {
        binary: PathBuf::from(env("MI_BENCH_BRIDGE")),
        config: config_path,
        port: config.appservice.port,
        env: overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        log: Some(dir.join("bridge.log")),
    };
    let bench = Bench {
        homeserver: env("MI_BENCH_HOMESERVER"),
        config,
        launcher,
        dir,
        world,
        messages,
    };
    let started = Instant::now();
    println!("== matrix-instagram end-to-end benchmark");
    println!(
        "   bridge {}; Synapse at {}; MQTToT over TLS; {} messages per paced run",
        bench.launcher.binary.display(),
        bench.homeserver,
        bench.messages
    );

    if std::env::var("MI_BENCH_ONLY_USERS").as_deref() != Ok("1") {
        one_user(&bench).await;
    }
    for (i, n) in user_counts.iter().enumerate() {
        let run = users::run(&bench, *n, i).await;
        println!("\n7. {n} users logging in at once (provisioning API, fresh bridge and database)");
        println!("{run}");
    }
    println!(
        "\n== done in {:.0} s (bridge log: {})",
        started.elapsed().as_secs_f64(),
        bench.dir.join("bridge.log").display()
    );
    // The fakes' tasks end with the runtime.
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// Phases 1–6, on one logged-in user.
async fn one_user(bench: &Bench) {
    let db = bench.sqlite("bench-main.db");
    let (mut bridge, listen) = bench.launcher.spawn(&db);
    println!("   bridge process listening after {}", stats::ms(listen));
    let scene = bench.scene().await;
    let idle = phases::idle_cpu(&bridge).await;

    let hs = phases::homeserver_baseline(bench, 5, bench.messages).await;
    println!("\n1. Synapse's own send→sync, 5 msg/s: {}", hs.show());
    let hs20 = phases::homeserver_baseline(bench, 20, bench.messages * 2).await;
    println!("   and at 20 msg/s in one room: {}", hs20.show());

    let (incoming, cpu_in) = phases::incoming(bench, &scene, &bridge, idle, 5).await;
    println!("\n2. Instagram → Matrix, 5 msg/s (published → in the Matrix user's sync)");
    println!("   end to end: {}", incoming.show());
    println!(
        "   added by the bridge over Synapse's own: p50 {}, p99 {}",
        stats::diff_ms(incoming.p50(), hs.p50()),
        stats::diff_ms(incoming.p99(), hs.p99())
    );
    println!("   bridge CPU per message: {}", stats::ms(cpu_in));

    let (out5, cpu_out) = phases::outgoing(bench, &scene, &bridge, idle, 5, bench.messages).await;
    println!("\n3. Matrix → Instagram, 5 msg/s (client's send → the item on Instagram)");
    println!("   end to end: {}", out5.show());
    println!(
        "   over Synapse's own send→sync: p50 {}, p99 {}",
        stats::diff_ms(out5.p50(), hs.p50()),
        stats::diff_ms(out5.p99(), hs.p99())
    );
    println!("   bridge CPU per message: {}", stats::ms(cpu_out));

    let (out20, cpu_out20) =
        phases::outgoing(bench, &scene, &bridge, idle, 20, bench.messages * 2).await;
    println!("\n4. Matrix → Instagram, 20 msg/s in one conversation");
    println!("   end to end: {}", out20.show());
    println!(
        "   over Synapse's own send→sync at 20 msg/s: p50 {}, p99 {}",
        stats::diff_ms(out20.p50(), hs20.p50()),
        stats::diff_ms(out20.p99(), hs20.p99())
    );
    println!("   bridge CPU per message: {}", stats::ms(cpu_out20));

    let half_open = phases::half_open(bench, &scene).await;
    println!("\n5. half-open realtime socket (the broker stops answering)");
    match half_open {
        Some(d) => println!(
            "   noticed and a new connection made after {:.1} s",
            d.as_secs_f64()
        ),
        None => println!("   NOT replaced within 180 s"),
    }

    let (backlog, relisten) = phases::backlog(bench, &scene, &mut bridge, &db).await;
    println!("\n6. kill -9, 200 messages written while dead, restart");
    println!(
        "   restarted process listening after {}; all 200 in Matrix after {}",
        stats::ms(relisten),
        match backlog {
            Some(d) => format!("{:.2} s", d.as_secs_f64()),
            None => "NEVER (180 s)".into(),
        }
    );
    drop(bridge);
}
