//! Pacing per account, back-off on rate limits, retries of transient failures and timeouts.
//! Most tests use real time with small delays; `pacing_and_backoff_on_paused_time` runs the
//! minute-long schedule on paused time (with a long request timeout, since virtual time
//! auto-advances while the client waits on loopback I/O).

use std::time::{Duration, Instant};

use matrix_instagram::instagram::Error;
use matrix_instagram::instagram::http::InstagramClient;
use serde_json::json;

use super::common::*;

fn with(
    fake: &crate::support::fake_instagram::FakeInstagram,
    c: &InstagramClient,
    f: impl FnOnce(&mut matrix_instagram::instagram::http::HttpConfig),
) -> InstagramClient {
    let mut cfg = config(fake);
    f(&mut cfg);
    InstagramClient::with_session(cfg, c.session()).unwrap()
}

#[tokio::test]
async fn a_burst_goes_at_once_then_requests_are_spaced() {
    let (fake, c) = alice().await;
    let c = with(&fake, &c, |cfg| {
        cfg.min_request_gap = Duration::from_millis(150);
        cfg.request_burst = 2;
    });
    // The burst: two requests at once.
    let start = Instant::now();
    c.current_user().await.unwrap();
    c.current_user().await.unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(150),
        "{:?}",
        start.elapsed()
    );
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.current_user().await })
        })
        .collect();
    for h in calls {
        h.await.unwrap().unwrap();
    }
    // With the burst spent, 4 more requests need 4 gaps' worth of refill since the start.
    assert!(
        start.elapsed() >= Duration::from_millis(600),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(fake.requests_to("/accounts/current_user/").len(), 6);
}

#[tokio::test]
async fn rate_limits_back_off_with_growing_delays_then_give_up() {
    let (fake, c) = alice().await;
    let c = with(&fake, &c, |cfg| {
        cfg.rate_limit_base_delay = Duration::from_millis(100);
        cfg.max_rate_limit_retries = 2;
    });
    fake.inject(
        "/accounts/current_user/",
        429,
        json!({"message": "Please wait a few minutes before you try again.", "status": "fail"}),
        2,
    );
    let start = Instant::now();
    c.current_user().await.unwrap();
    // 100 ms, then 200 ms
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(fake.requests_to("/accounts/current_user/").len(), 3);
    fake.inject(
        "/accounts/current_user/",
        400,
        json!({"message": "Please wait a few minutes before you try again.", "status": "fail"}),
        3,
    );
    let e = c.current_user().await.unwrap_err();
    assert!(
        matches!(e, Error::RateLimited { .. }) && e.is_transient() && e.retry_after().is_some(),
        "{e:?}"
    );
    assert!(!e.is_session_dead());
}

#[tokio::test]
async fn transient_failures_retry_and_network_errors_are_transient() {
    let (fake, c) = alice().await;
    fake.inject(
        "/accounts/current_user/",
        500,
        json!({"message": "oops", "status": "fail"}),
        2,
    );
    c.current_user().await.unwrap();
    assert_eq!(fake.requests_to("/accounts/current_user/").len(), 3);
    fake.inject("/accounts/current_user/", 502, json!({}), 10);
    let e = c.current_user().await.unwrap_err();
    assert!(
        matches!(e, Error::Transient { .. }) && e.is_transient(),
        "{e:?}"
    );
    // nothing listens: a network error, retried then reported as transient
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut cfg = config(&fake);
    cfg.api_base = format!("http://127.0.0.1:{port}/api/v1/");
    cfg.max_retries = 1;
    let dead = InstagramClient::with_session(cfg, c.session()).unwrap();
    let e = dead.current_user().await.unwrap_err();
    assert!(matches!(e, Error::Transient { .. }), "{e:?}");
}

#[tokio::test]
async fn requests_time_out() {
    // a server that accepts and never answers
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let fake = fake().await;
    let mut cfg = config(&fake);
    cfg.api_base = format!("http://127.0.0.1:{port}/api/v1/");
    cfg.request_timeout = Duration::from_millis(200);
    cfg.max_retries = 0;
    let c = InstagramClient::new(
        cfg,
        matrix_instagram::instagram::http::Device::derive(b"s", "@t:x"),
    )
    .unwrap();
    let start = Instant::now();
    let e = c.current_user().await.unwrap_err();
    assert!(matches!(e, Error::Transient { .. }), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// The same pacing and back-off on paused (virtual) time: long gaps cost no real time.
#[tokio::test(start_paused = true)]
async fn pacing_and_backoff_on_paused_time() {
    let (fake, c) = alice().await;
    let c = with(&fake, &c, |cfg| {
        cfg.min_request_gap = Duration::from_secs(5);
        cfg.request_burst = 1;
        cfg.rate_limit_base_delay = Duration::from_secs(60);
        cfg.request_timeout = Duration::from_secs(3600);
    });
    let real = Instant::now();
    let virt = tokio::time::Instant::now();
    for _ in 0..3 {
        c.current_user().await.unwrap();
    }
    assert!(
        virt.elapsed() >= Duration::from_secs(10),
        "{:?}",
        virt.elapsed()
    );
    fake.inject(
        "/accounts/current_user/",
        429,
        json!({"message": "Please wait a few minutes before you try again.", "status": "fail"}),
        2,
    );
    let virt = tokio::time::Instant::now();
    c.current_user().await.unwrap();
    // 60 s then 120 s of growing back-off
    assert!(
        virt.elapsed() >= Duration::from_secs(180),
        "{:?}",
        virt.elapsed()
    );
    assert!(
        real.elapsed() < Duration::from_secs(30),
        "{:?}",
        real.elapsed()
    );
}
