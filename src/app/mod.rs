//! Builds everything from the config and runs it until a signal.

pub mod health;
mod metrics_server;
pub mod probe;
mod readiness;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ruma::UserId;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bridge::{self, Bridge};
use crate::config::Config;
use crate::matrix::appservice::{self, ServerConfig};
use crate::matrix::client::RetryPolicy;
use crate::matrix::{HomeserverClient, Intents};
use crate::metrics::Metrics;
use crate::store::{PoolOptions, Store};

/// A started bridge. Dropping it does not stop it: call [`RunningBridge::shutdown`].
pub struct RunningBridge {
    pub bridge: Arc<Bridge>,
    /// Where the appservice server listens.
    pub local_addr: SocketAddr,
    /// Where `/metrics` is served, when `metrics.enabled`.
    pub metrics_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningBridge {
    /// Stops accepting requests, lets in-flight work finish, and closes the database.
    pub async fn shutdown(self) {
        tracing::info!("shutting down");
        self.bridge.bridge_states.shutting_down();
        let _ = self.shutdown.send(true);
        let users: Vec<_> = self.bridge.accounts.iter().map(|u| u.clone()).collect();
        for user in users {
            user.stop().await;
        }
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!("a task ended abnormally during shutdown: {e}");
            }
        }
        self.bridge.store.close().await;
        tracing::info!("stopped");
    }
}

/// Starts every part of the bridge; returns once the appservice server is listening.
pub async fn start(config: Config) -> anyhow::Result<RunningBridge> {
    let config = Arc::new(config);
    let store = Store::connect(
        config.database.uri.expose(),
        PoolOptions {
            max_connections: config.database.max_open_conns,
            min_connections: config.database.min_idle_conns,
            ..PoolOptions::default()
        },
    )
    .await?;
    let bot_id = UserId::parse(config.bot_user_id())
        .context("appservice.bot.username does not make a valid user id")?;
    let retry = RetryPolicy {
        max_attempts: config.homeserver.retry.max_attempts,
        initial_delay: Duration::from_millis(config.homeserver.retry.initial_delay_ms),
        max_delay: Duration::from_millis(config.homeserver.retry.max_delay_ms),
    };
    let client = HomeserverClient::new(
        config.homeserver.address.as_str(),
        config.appservice.as_token.expose(),
        bot_id,
        retry,
    )?;
    let metrics = Metrics::new();
    let requests = metrics.homeserver_requests.clone();
    client.set_request_hook(Arc::new(move |endpoint, took, ok| {
        let outcome = if ok { "ok" } else { "error" };
        requests
            .with_label_values(&[endpoint, outcome])
            .observe(took.as_secs_f64());
    }));
    let intents = Intents::new(client);
    let bridge = Bridge::new(config.clone(), store, intents, metrics.clone());

    let (shutdown, shutdown_rx) = watch::channel(false);
    let router = appservice::router(
        ServerConfig {
            hs_token: config.appservice.hs_token.clone(),
            max_body_size: config.appservice.max_body_size,
        },
        bridge.clone(),
    );
    let health = Arc::new(health::Health::default());
    let mut router = router.merge(health::router(bridge.store.clone(), health.clone()));
    if let Some(provisioning) = bridge::provisioning::router(bridge.clone()) {
        router = router.merge(provisioning);
    }
    let listen = format!("{}:{}", config.appservice.hostname, config.appservice.port);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (appservice.hostname/port)"))?;
    let local_addr = listener.local_addr()?;
    tracing::info!(%local_addr, "appservice server listening");

    let mut tasks = Vec::new();
    let mut server_shutdown = shutdown_rx.clone();
    tasks.push(tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = server_shutdown.wait_for(|stop| *stop).await;
        });
        if let Err(e) = serve.await {
            tracing::error!("appservice server failed: {e}");
        }
    }));
    if config.encryption.allow {
        // Before anything sends: events into encrypted rooms need the bot's device.
        bridge::encryption::start(&bridge)
            .await
            .context("cannot start end-to-bridge encryption")?;
    }
    tokio::spawn(bridge::status::run(bridge.clone()));
    tokio::spawn(bridge::bridge_state::run(bridge.clone()));
    tasks.push(tokio::spawn(bridge::dispatch::run(
        bridge.clone(),
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(readiness::prepare_homeserver(
        bridge.clone(),
        health,
        shutdown_rx.clone(),
    )));
    {
        let bridge = bridge.clone();
        tokio::spawn(async move {
            bridge::account::restore_all(&bridge).await;
            bridge.bridge_states.logins_restored();
        });
    }
    let mut metrics_addr = None;
    if config.metrics.enabled {
        let addr: SocketAddr = config
            .metrics
            .listen
            .parse()
            .context("metrics.listen is not an address")?;
        let metrics_listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (metrics.listen)"))?;
        metrics_addr = Some(metrics_listener.local_addr()?);
        let metrics_router = metrics_server::router(bridge.clone());
        let mut stop = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            let serve =
                axum::serve(metrics_listener, metrics_router).with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                });
            if let Err(e) = serve.await {
                tracing::error!("metrics server failed: {e}");
            }
        }));
    }
    Ok(RunningBridge {
        bridge,
        local_addr,
        metrics_addr,
        shutdown,
        tasks,
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Runs the bridge until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let running = start(config).await?;
    shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}
