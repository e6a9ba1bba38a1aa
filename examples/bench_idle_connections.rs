//! Memory per idle realtime connection.
//!
//! `cargo run --release --example bench_idle_connections -- [N=1000] [plain|tls]`
//!
//! Re-executes itself with `--broker` to run the fake broker (tests/it/support/fake_broker) in a
//! child process, so only the clients' memory is measured here. Starts N clients (distinct
//! accounts), waits until every one has connected and subscribed iris, lets them idle, then
//! prints the resident-memory growth (VmRSS of /proc/self/status) divided by N.

#[path = "../tests/it/support/fake_broker/mod.rs"]
mod fake_broker;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use matrix_instagram::instagram::realtime::{
    ConnectParams, Cursor, Password, RealtimeClient, RealtimeConfig, RealtimeEvent,
};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

async fn run_broker() {
    let broker =
        fake_broker::FakeBroker::start(fake_broker::BrokerOptions::any_sessionid_pk()).await;
    println!(
        "{} {} {}",
        broker.plain_addr.port(),
        broker.tls_addr.port(),
        broker.ca_path().display()
    );
    // Serve until the parent closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .ok();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--broker") {
        run_broker().await;
        return;
    }
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let tls = args.get(1).map(String::as_str) == Some("tls");

    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .arg("--broker")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn broker");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("broker ports");
    let mut parts = line.split_whitespace();
    let plain: u16 = parts
        .next()
        .and_then(|p| p.parse().ok())
        .expect("plain port");
    let tls_port: u16 = parts.next().and_then(|p| p.parse().ok()).expect("tls port");
    let ca = parts.next().expect("ca path").to_owned();

    let config = RealtimeConfig {
        host: "127.0.0.1".into(),
        port: if tls { tls_port } else { plain },
        tls,
        extra_ca: tls.then(|| ca.into()),
        connect_timeout: Duration::from_secs(60),
        iris_timeout: Duration::from_secs(60),
        ..RealtimeConfig::default()
    };
    // Warm up allocator/TLS state with one client so one-off costs are not counted per client.
    let warm = start(&config, 1).await;
    let before = rss_kib();
    let started = Instant::now();
    let mut clients = Vec::with_capacity(n);
    let mut waiters = Vec::with_capacity(n);
    for i in 0..n {
        let (client, mut rx) = start_raw(&config, 10_000 + i as i64);
        clients.push(client);
        waiters.push(tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if matches!(ev, RealtimeEvent::IrisSubscribed { .. }) {
                    return rx;
                }
            }
            rx
        }));
    }
    let mut receivers = Vec::with_capacity(n);
    for w in waiters {
        receivers.push(w.await.expect("waiter"));
    }
    let connected_in = started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib();
    let per = (after.saturating_sub(before)) as f64 * 1024.0 / n as f64;
    println!(
        "{n} idle {} connections: connected in {:.1}s, RSS {before} KiB -> {after} KiB, {:.1} KiB per connection (target <= 64 KiB)",
        if tls { "TLS" } else { "plaintext" },
        connected_in.as_secs_f64(),
        per / 1024.0
    );
    drop((warm, clients, receivers));
    drop(child.stdin.take());
    let _ = child.wait();
}

fn start_raw(
    config: &RealtimeConfig,
    pk: i64,
) -> (RealtimeClient, tokio::sync::mpsc::Receiver<RealtimeEvent>) {
    let params = ConnectParams::new(
        pk,
        "Instagram 256.0.0.18.105 Android (33/13; 420dpi; 1080x2219; Google/google; Pixel 6; oriole; oriole; en_US; 407842973)",
        "7b2e6d4a-1c3f-4e5a-9b8c-0d1e2f3a4b5c",
        Password::SessionId(pk.to_string()),
        "256.0.0.18.105",
    );
    let cursor = Cursor {
        seq_id: 1000,
        snapshot_at_ms: 1_700_000_000_000,
    };
    RealtimeClient::start(config.clone(), params, cursor).expect("start client")
}

async fn start(
    config: &RealtimeConfig,
    pk: i64,
) -> (RealtimeClient, tokio::sync::mpsc::Receiver<RealtimeEvent>) {
    let (c, mut rx) = start_raw(config, pk);
    while let Some(ev) = rx.recv().await {
        if matches!(ev, RealtimeEvent::IrisSubscribed { .. }) {
            break;
        }
    }
    (c, rx)
}
