//! The measured phases on one logged-in user (1–6 of `main.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::matrix_client::{User, unique};
use crate::proc::Bridge;
use crate::stats::Latencies;
use crate::support::fake_instagram::state::FakeEvent;
use crate::syncer::{self, Arrivals};
use crate::{Bench, Scene};

/// The bridge's CPU per second while nothing happens (timers, keepalives).
pub async fn idle_cpu(bridge: &Bridge) -> f64 {
    // Let the login's work settle first.
    let _ = bridge
        .until_quiet(
            Instant::now(),
            Duration::from_millis(20),
            Duration::from_secs(30),
        )
        .await;
    let (c0, t0) = (bridge.cpu(), Instant::now());
    tokio::time::sleep(Duration::from_secs(3)).await;
    bridge.cpu().saturating_sub(c0).as_secs_f64() / t0.elapsed().as_secs_f64()
}

/// CPU per message of a phase: its CPU less the idle rate over its length.
fn per_message(bridge: &Bridge, c0: Duration, t0: Instant, idle: f64, n: usize) -> Duration {
    let used = bridge.cpu().saturating_sub(c0).as_secs_f64() - idle * t0.elapsed().as_secs_f64();
    Duration::from_secs_f64(used.max(0.0) / n.max(1) as f64)
}

/// Runs `send(i)` for i in 0..n at `rate` per second, each in a task of its own (a slow send
/// does not delay the next), and returns when each started.
async fn paced<F, Fut>(n: usize, rate: u32, send: F) -> Vec<Instant>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let gap = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let mut next = Instant::now();
    let mut started = Vec::with_capacity(n);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        tokio::time::sleep_until(next.into()).await;
        started.push(Instant::now());
        tasks.push(tokio::spawn(send(i)));
        next += gap;
    }
    for t in tasks {
        let _ = t.await;
    }
    started
}

fn latencies(bodies: &[String], started: &[Instant], arrivals: &Arrivals) -> Latencies {
    let mut samples = Vec::new();
    let mut missing = 0;
    for (body, t0) in bodies.iter().zip(started) {
        match arrivals.get(body) {
            Some(t1) => samples.push(t1.saturating_duration_since(*t0)),
            None => missing += 1,
        }
    }
    Latencies::new(samples, missing)
}

/// Synapse alone: one Matrix user sends `n` messages at `rate` to a room, another's sync
/// receives them.
pub async fn homeserver_baseline(bench: &Bench, rate: u32, n: usize) -> Latencies {
    let a = Arc::new(User::register(&bench.homeserver, &unique("bencha")).await);
    let b = User::register(&bench.homeserver, &unique("benchb")).await;
    let room = a.create_room_with(&b.user_id).await;
    b.join(&room).await;
    let arrivals = syncer::start(&bench.homeserver, b.access_token());
    // Warm up (the first sync, caches).
    a.send_text(&room, "warm-up").await;
    let warm = vec!["warm-up".to_string()];
    arrivals.wait_all(&warm, Duration::from_secs(30)).await;
    let tag = unique("hs");
    let bodies: Vec<String> = (0..n).map(|i| format!("{tag} {i}")).collect();
    let started = {
        let (a, room, bodies) = (a.clone(), room.clone(), bodies.clone());
        paced(n, rate, move |i| {
            let (a, room, body) = (a.clone(), room.clone(), bodies[i].clone());
            async move {
                a.send_text(&room, &body).await;
            }
        })
        .await
    };
    arrivals.wait_all(&bodies, Duration::from_secs(60)).await;
    latencies(&bodies, &started, &arrivals)
}

/// Instagram → Matrix: the contact writes at `rate`; published → in the user's sync.
pub async fn incoming(
    bench: &Bench,
    scene: &Scene,
    bridge: &Bridge,
    idle: f64,
    rate: u32,
) -> (Latencies, Duration) {
    let tag = unique("in");
    let bodies: Vec<String> = (0..bench.messages).map(|i| format!("{tag} {i}")).collect();
    let (c0, t0) = (bridge.cpu(), Instant::now());
    let started = {
        let (ig, thread, bob, bodies) = (
            bench.world.ig.clone(),
            scene.thread.clone(),
            scene.bob_pk,
            bodies.clone(),
        );
        paced(bench.messages, rate, move |i| {
            ig.push_text(&thread, bob, &bodies[i]);
            async {}
        })
        .await
    };
    scene
        .arrivals
        .wait_all(&bodies, Duration::from_secs(120))
        .await;
    let cpu = per_message(bridge, c0, t0, idle, bench.messages);
    (latencies(&bodies, &started, &scene.arrivals), cpu)
}

/// Items as they land on the fake Instagram, by text.
fn watch_instagram(bench: &Bench) -> Arrivals {
    let arrivals = Arrivals::default();
    let mut events = bench.world.ig.subscribe_events();
    let out = arrivals.clone();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(FakeEvent::ItemAdded { item, .. }) => {
                    if let Some(text) = item["text"].as_str() {
                        out.note(text, Instant::now());
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
    });
    arrivals
}

/// Matrix → Instagram: the user sends `n` messages at `rate` in the portal.
pub async fn outgoing(
    bench: &Bench,
    scene: &Scene,
    bridge: &Bridge,
    idle: f64,
    rate: u32,
    n: usize,
) -> (Latencies, Duration) {
    let landed = watch_instagram(bench);
    let tag = unique("out");
    let bodies: Vec<String> = (0..n).map(|i| format!("{tag} {i}")).collect();
    let (c0, t0) = (bridge.cpu(), Instant::now());
    let started = {
        let (user, portal, bodies) = (scene.user.clone(), scene.portal.clone(), bodies.clone());
        paced(n, rate, move |i| {
            let (user, portal, body) = (user.clone(), portal.clone(), bodies[i].clone());
            async move {
                user.send_text(&portal, &body).await;
            }
        })
        .await
    };
    landed.wait_all(&bodies, Duration::from_secs(120)).await;
    // The sends' delivery reports (status events, receipts) are part of their cost.
    let _ = bridge
        .until_quiet(
            Instant::now(),
            Duration::from_millis(20),
            Duration::from_secs(30),
        )
        .await;
    let cpu = per_message(bridge, c0, t0, idle, n);
    (latencies(&bodies, &started, &landed), cpu)
}

/// The broker stops answering the user's connection; how long until the bridge connected
/// again.
pub async fn half_open(bench: &Bench, scene: &Scene) -> Option<Duration> {
    let broker = &bench.world.broker;
    let connects = || {
        broker
            .connects()
            .iter()
            .filter(|c| c.user_id == scene.me_pk)
            .count()
    };
    let before = connects();
    let t0 = Instant::now();
    broker.stall(scene.me_pk, true);
    let replaced = loop {
        if connects() > before {
            break Some(t0.elapsed());
        }
        if t0.elapsed() > Duration::from_secs(180) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    broker.stall(scene.me_pk, false);
    // Back to normal before the next phase: a message crosses again.
    let probe = unique("after half-open");
    bench
        .world
        .ig
        .push_text(&scene.thread, scene.bob_pk, &probe);
    scene
        .arrivals
        .wait_all(&[probe], Duration::from_secs(120))
        .await;
    replaced
}

/// kill -9; 200 messages on Instagram while the bridge is dead; restart. How long from the
/// restart until the last is in Matrix, and until the new process listened.
pub async fn backlog(
    bench: &Bench,
    scene: &Scene,
    bridge: &mut Bridge,
    db: &str,
) -> (Option<Duration>, Duration) {
    bridge.kill();
    let tag = unique("backlog");
    let bodies: Vec<String> = (0..200).map(|i| format!("{tag} {i:03}")).collect();
    for b in &bodies {
        bench.world.ig.push_text(&scene.thread, scene.bob_pk, b);
    }
    let t0 = Instant::now();
    let (fresh, listen) = bench.launcher.spawn(db);
    *bridge = fresh;
    let done = scene
        .arrivals
        .wait_all(&bodies, Duration::from_secs(180))
        .await;
    (done.then(|| t0.elapsed()), listen)
}
