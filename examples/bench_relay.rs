//! Instagram → Matrix relay through the bridge: throughput and the latency the bridge adds.
//!
//! `cargo run --release --example bench_relay -- [messages=5000] [rate=200] [sqlite|postgres://…]`
//! (`BENCH_DB_CONNS=n` sets the database pool size; a PostgreSQL run uses a schema of its own,
//! dropped at the end)
//!
//! Runs the real bridge (in-process, real database) between the fake Instagram + fake MQTToT
//! broker of `tests/it/support` and a minimal fake homeserver that answers every
//! client-server call at once and timestamps each message it receives. A logged-in user's
//! realtime connection gets `messages` new items as fast as possible (throughput), then a
//! paced run at `rate` messages per second (latency: from the broker publishing the item to
//! the homeserver receiving the Matrix event). Prints numbers; asserts nothing.

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use support::fake_broker::{BrokerOptions, FakeBroker};
use support::fake_instagram::FakeInstagram;

/// The fake homeserver: when each bench message arrived.
#[derive(Default)]
struct Homeserver {
    arrivals: Mutex<HashMap<u64, Instant>>,
    sends: std::sync::atomic::AtomicU64,
}

async fn homeserver(State(hs): State<Arc<Homeserver>>, req: Request) -> axum::response::Response {
    let now = Instant::now();
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let json = |v: Value| axum::Json(v).into_response();
    if path == "/_matrix/client/versions" {
        return json(json!({"versions": ["v1.1", "v1.11"]}));
    }
    if path.ends_with("/ping") {
        return json(json!({"duration_ms": 1}));
    }
    if path.ends_with("/capabilities") {
        return json(
            json!({"capabilities": {"m.room_versions": {"default": "12", "available": {"12": "stable"}}}}),
        );
    }
    if path.ends_with("/register") {
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        let name = v["username"].as_str().unwrap_or("x");
        return json(json!({"user_id": format!("@{name}:bench")}));
    }
    if path.ends_with("/createRoom") {
        return json(json!({"room_id": "!bench:bench"}));
    }
    if path.ends_with("/join") || path.contains("/join/") {
        return json(json!({"room_id": "!bench:bench"}));
    }
    if path.contains("/upload") {
        return json(json!({"content_uri": "mxc://bench/x"}));
    }
    if method == axum::http::Method::PUT && path.contains("/send/") {
        let n = hs.sends.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        if let Some(seq) = v["body"]
            .as_str()
            .and_then(|b| b.strip_prefix("bench "))
            .and_then(|b| b.parse::<u64>().ok())
        {
            hs.arrivals
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(seq, now);
        }
        return json(json!({"event_id": format!("$e{n}")}));
    }
    json(json!({}))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn item(seq: u64, sender: i64, thread: &str) -> (String, String) {
    let item_id = format!("{}", 30_000_000_000_000_000_000u128 + u128::from(seq));
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    let value = json!({"item_id": item_id, "user_id": sender, "timestamp": ts,
        "item_type": "text", "text": format!("bench {seq}")});
    (
        format!("/direct_v2/threads/{thread}/items/{item_id}"),
        value.to_string(),
    )
}

async fn wait_for(hs: &Homeserver, seqs: std::ops::Range<u64>, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut report = Instant::now() + Duration::from_secs(5);
    loop {
        let arrived = {
            let a = hs.arrivals.lock().unwrap_or_else(|p| p.into_inner());
            seqs.clone().filter(|s| a.contains_key(s)).count()
        };
        if arrived == seqs.clone().count() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        if Instant::now() > report {
            eprintln!("  … {arrived} of {} arrived", seqs.clone().count());
            report += Duration::from_secs(5);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let messages: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let rate: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200);
    let db_arg = args.get(3).cloned().unwrap_or_else(|| "sqlite".into());
    let dir = tempfile::tempdir().expect("temp dir");

    // The world.
    let ig = FakeInstagram::start().await;
    let check = ig.clone();
    let broker = FakeBroker::start(BrokerOptions {
        password_check: Arc::new(move |p| check.account_for_mqtt_password(p)),
    })
    .await;
    let hs = Arc::new(Homeserver::default());
    let hs_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hs_addr = hs_listener.local_addr().expect("addr");
    let app = axum::Router::new()
        .fallback(homeserver)
        .with_state(hs.clone());
    tokio::spawn(async move {
        let _ = axum::serve(hs_listener, app).await;
    });

    // The bridge.
    let text = include_str!("../example-config.yaml")
        .replace("generate", "bench-secret")
        .replace("http://localhost:8008", &format!("http://{hs_addr}"))
        .replace("port: 29330", "port: 0")
        .replace("level: info", "level: warn");
    let mut config =
        matrix_instagram::config::Config::from_yaml(&text, "bench", std::iter::empty())
            .expect("bench config");
    // PostgreSQL: a schema of its own, dropped at the end, so runs never see each other's rows.
    let pg_schema =
        (db_arg != "sqlite").then(|| format!("bench_{}", uuid::Uuid::new_v4().simple()));
    config.database.uri = match &pg_schema {
        None => format!("sqlite:{}", dir.path().join("bench.db").display()).into(),
        Some(schema) => {
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&db_arg).await.expect("postgres");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&admin)
                .await
                .expect("create the bench schema");
            admin.close().await;
            let sep = if db_arg.contains('?') { '&' } else { '?' };
            format!("{db_arg}{sep}options=-c%20search_path%3D{schema}").into()
        }
    };
    config.instagram.api_base_url = ig.api_base().parse().expect("url");
    config.instagram.upload_base_url = ig.upload_base().parse().expect("url");
    config.instagram.mqtt.host = "127.0.0.1".into();
    config.instagram.mqtt.port = broker.plain_addr.port();
    config.instagram.mqtt.tls = false;
    config.instagram.min_request_gap_ms = 0;
    config.backfill.max_initial_conversations = 0;
    if let Ok(n) = std::env::var("BENCH_DB_CONNS") {
        config.database.max_open_conns = n.parse().unwrap_or(10);
    }
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let running = matrix_instagram::app::start(config)
        .await
        .expect("bridge starts");
    eprintln!("bridge started");
    let bridge = running.bridge.clone();

    // A logged-in user with one DM thread.
    let (me, bob) = (1_000_001_i64, 1_000_002_i64);
    ig.add_account("bench_me", "pw", me);
    ig.add_account("bench_bob", "pw", bob);
    let thread = ig.add_thread(&[me, bob], None);
    let mxid = "@bench:example.com";
    bridge.store.ensure_user(mxid).await.expect("user");
    let client = bridge.new_instagram_client(mxid).await.expect("client");
    let user = match client.login("bench_me", "pw").await {
        Ok(matrix_instagram::instagram::http::LoginOutcome::LoggedIn(u)) => u,
        other => panic!("login: {other:?}"),
    };
    bridge
        .store
        .set_login(
            mxid,
            user.pk.get(),
            &user.username,
            &client.session_json().to_string(),
        )
        .await
        .expect("store login");
    matrix_instagram::bridge::account::start_user(&bridge, mxid, client, user.username, true)
        .await
        .expect("start user");
    let deadline = Instant::now() + Duration::from_secs(20);
    while broker.connections(me) == 0 {
        assert!(Instant::now() < deadline, "the user never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("user connected");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Warm-up: creates the portal and the ghost.
    let (path, value) = item(0, bob, &thread);
    broker.push_patch(me, "add", &path, &value);
    assert!(
        wait_for(&hs, 0..1, Duration::from_secs(30)).await,
        "warm-up message never arrived"
    );

    // Throughput.
    let start = Instant::now();
    for seq in 1..=messages {
        let (path, value) = item(seq, bob, &thread);
        broker.push_patch(me, "add", &path, &value);
    }
    let ok = wait_for(&hs, 1..messages + 1, Duration::from_secs(600)).await;
    let elapsed = start.elapsed();
    println!(
        "throughput: {messages} messages in {:.2} s = {:.0} messages/s{}",
        elapsed.as_secs_f64(),
        messages as f64 / elapsed.as_secs_f64(),
        if ok { "" } else { " (INCOMPLETE: timed out)" }
    );

    // Latency at a steady rate.
    let paced = (rate * 10).min(messages.max(1000));
    let first = messages + 1;
    let mut sent_at = HashMap::new();
    let gap = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut next = Instant::now();
    for seq in first..first + paced {
        let (path, value) = item(seq, bob, &thread);
        sent_at.insert(seq, Instant::now());
        broker.push_patch(me, "add", &path, &value);
        next += gap;
        tokio::time::sleep_until(next.into()).await;
    }
    let ok = wait_for(&hs, first..first + paced, Duration::from_secs(120)).await;
    let arrivals = hs
        .arrivals
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut latencies: Vec<Duration> = sent_at
        .iter()
        .filter_map(|(seq, t)| arrivals.get(seq).map(|a| a.saturating_duration_since(*t)))
        .collect();
    latencies.sort();
    println!(
        "latency at {rate} messages/s over {paced} messages: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms{}",
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        if ok { "" } else { " (INCOMPLETE)" }
    );
    println!(
        "database: {}",
        if db_arg == "sqlite" {
            "sqlite (file)"
        } else {
            "postgres"
        }
    );
    running.shutdown().await;
    if let Some(schema) = pg_schema
        && let Ok(admin) = sqlx::AnyPool::connect(&db_arg).await
    {
        let drop = format!("DROP SCHEMA {schema} CASCADE");
        let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&admin).await;
        admin.close().await;
    }
}
