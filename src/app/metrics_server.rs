//! `GET /metrics` on `metrics.listen`: the gauges that are read rather than counted (the
//! inbox, the accounts) are refreshed at each scrape, then everything is rendered.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::bridge::Bridge;

/// The metrics routes.
pub fn router(bridge: Arc<Bridge>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(bridge)
}

async fn scrape(State(bridge): State<Arc<Bridge>>) -> impl IntoResponse {
    refresh(&bridge).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        bridge.metrics.render(),
    )
}

/// Reads the inbox's depth and age and counts the accounts.
async fn refresh(bridge: &Bridge) {
    let m = &bridge.metrics;
    match tokio::time::timeout(Duration::from_secs(5), bridge.store.inbox_stats()).await {
        Ok(Ok(stats)) => {
            m.inbox_rows.set(stats.rows);
            let age_ms = stats
                .oldest_ms
                .map(|oldest| (crate::store::now_ms() - oldest).max(0))
                .unwrap_or(0);
            m.inbox_oldest_age.set(age_ms as f64 / 1000.0);
        }
        Ok(Err(e)) => tracing::debug!("metrics: cannot read the inbox: {e}"),
        Err(_) => tracing::debug!("metrics: the inbox query timed out"),
    }
    let users: Vec<_> = bridge.accounts.iter().map(|u| u.value().clone()).collect();
    let connected = users
        .iter()
        .filter(|u| u.status().realtime == crate::bridge::user::Connection::Connected)
        .count();
    m.logged_in.set(users.len() as i64);
    m.connected.set(connected as i64);
}
