//! N accounts logging in at once through the provisioning API, on a fresh bridge process and
//! database: time until all are connected, until the bridge is quiet, memory per user.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Bench;

/// What one N-user run measured.
pub struct Run {
    n: usize,
    logged_in: usize,
    all_logged_in: Duration,
    all_connected: Option<Duration>,
    quiet: Option<Duration>,
    rss_before_kib: u64,
    rss_after_kib: u64,
    cpu: Duration,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = |d: Option<Duration>| match d {
            Some(d) => format!("{:.2} s", d.as_secs_f64()),
            None => "NEVER (300 s)".into(),
        };
        let grown = self.rss_after_kib.saturating_sub(self.rss_before_kib);
        writeln!(
            f,
            "   logins answered: {}/{} after {:.2} s",
            self.logged_in,
            self.n,
            self.all_logged_in.as_secs_f64()
        )?;
        writeln!(f, "   all connected after {}", secs(self.all_connected))?;
        writeln!(f, "   bridge quiet after {}", secs(self.quiet))?;
        writeln!(
            f,
            "   bridge CPU for the whole login wave: {:.2} s ({:.1} ms per user)",
            self.cpu.as_secs_f64(),
            self.cpu.as_secs_f64() * 1000.0 / self.n.max(1) as f64
        )?;
        write!(
            f,
            "   resident memory {} → {} KiB: {:.1} KiB per user",
            self.rss_before_kib,
            self.rss_after_kib,
            grown as f64 / self.n.max(1) as f64
        )
    }
}

/// Where the provisioning API is, and its shared secret.
struct Prov {
    http: reqwest::Client,
    port: u16,
    secret: String,
}

/// One provisioning call with the shared secret, acting for `user_id`.
async fn call(prov: &Prov, user_id: &str, path: &str, body: Option<Value>) -> Option<Value> {
    let url = format!("http://127.0.0.1:{}/_matrix/provision/v3{path}", prov.port);
    let mut req = prov
        .http
        .post(url)
        .bearer_auth(&prov.secret)
        .query(&[("user_id", user_id)]);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.ok()?;
    if !resp.status().is_success() {
        eprintln!("   provisioning {path}: {}", resp.status());
        return None;
    }
    resp.json().await.ok()
}

/// A password login, start to finish; whether it completed.
async fn login(prov: &Prov, user_id: &str, username: &str) -> bool {
    let Some(step) = call(prov, user_id, "/login/start/password", None).await else {
        return false;
    };
    let path = format!(
        "/login/step/{}/{}/{}",
        step["login_id"].as_str().unwrap_or_default(),
        step["step_id"].as_str().unwrap_or_default(),
        step["type"].as_str().unwrap_or_default(),
    );
    let body = json!({"username": username, "password": "pw"});
    call(prov, user_id, &path, Some(body))
        .await
        .is_some_and(|done| done["type"] == "complete")
}

pub async fn run(bench: &Bench, n: usize, round: usize) -> Run {
    let db = bench.sqlite(&format!("bench-users-{n}-{round}.db"));
    let (bridge, _) = bench.launcher.spawn(&db);
    let limit = Duration::from_millis(20);
    let _ = bridge
        .until_quiet(Instant::now(), limit, Duration::from_secs(60))
        .await;
    let rss_before_kib = bridge.rss_kib();

    let base_pk = 50_000_000_000 + (round as i64) * 1_000_000;
    let domain = bench.config.homeserver.domain.clone();
    let accounts: Vec<(String, String, i64)> = (0..n)
        .map(|i| {
            let pk = base_pk + i as i64;
            let name = format!("bench_u{round}_{i}");
            bench.world.ig.add_account(&name, "pw", pk);
            (format!("@{name}:{domain}"), name, pk)
        })
        .collect();
    let prov = Arc::new(Prov {
        // No connection kept open after its request: an integration logging users in does
        // not hold a connection to the bridge per user, and each one would be counted as
        // that user's memory (an axum connection costs the bridge about 40 KiB).
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(0)
            .build()
            .expect("http client"),
        port: bench.config.appservice.port,
        secret: bench.config.provisioning.shared_secret.expose().to_string(),
    });

    let (c0, origin) = (bridge.cpu(), Instant::now());
    let tasks: Vec<_> = accounts
        .iter()
        .map(|(mxid, name, _)| {
            let (prov, mxid, name) = (prov.clone(), mxid.clone(), name.clone());
            tokio::spawn(async move { login(&prov, &mxid, &name).await })
        })
        .collect();
    let mut logged_in = 0;
    for t in tasks {
        if t.await.unwrap_or(false) {
            logged_in += 1;
        }
    }
    let all_logged_in = origin.elapsed();

    let broker = bench.world.broker.clone();
    let mut waiting: HashSet<i64> = accounts.iter().map(|(_, _, pk)| *pk).collect();
    let all_connected = loop {
        waiting.retain(|pk| broker.connections(*pk) == 0);
        if waiting.is_empty() {
            break Some(origin.elapsed());
        }
        if origin.elapsed() > Duration::from_secs(300) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let quiet = bridge
        .until_quiet(origin, limit, Duration::from_secs(300))
        .await;
    let cpu = bridge.cpu().saturating_sub(c0);
    let rss_after_kib = bridge.rss_kib();
    drop(bridge);
    Run {
        n,
        logged_in,
        all_logged_in,
        all_connected,
        quiet,
        rss_before_kib,
        rss_after_kib,
        cpu,
    }
}
