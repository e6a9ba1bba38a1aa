//! Prometheus metrics, served on `metrics.listen` when enabled. A leaf: label values are plain
//! words chosen by the callers (directions, kinds, causes, endpoints), never user ids or
//! secrets. The README lists every metric.

mod process;

use prometheus::{
    Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

pub use process::ProcessMetrics;

/// Latency buckets of bridged messages, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
/// Duration buckets of homeserver requests, in seconds.
const REQUEST_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The bridge's metrics (names get the `matrix_instagram_` prefix), and the process metrics
/// (standard `process_` names).
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// Appservice transactions received.
    pub transactions: IntCounter,
    /// Inbox rows applied, by `source` (matrix, instagram).
    pub events: IntCounterVec,
    /// Inbox rows given up (dead-lettered).
    pub event_failures: IntCounter,
    /// Messages handled by the conversation workers: `direction` (to_matrix, to_instagram),
    /// `kind`, `outcome` (sent, failed, dead_lettered, skipped).
    pub messages: IntCounterVec,
    /// From the bridge receiving a message to it being sent on, by `direction`.
    pub message_latency: HistogramVec,
    /// Rows waiting in the inbox, and the age of the oldest (refreshed at each scrape).
    pub inbox_rows: IntGauge,
    pub inbox_oldest_age: Gauge,
    /// Instagram accounts logged in, and those with a live realtime connection.
    pub logged_in: IntGauge,
    pub connected: IntGauge,
    /// Ends of realtime connections (each followed by a reconnect), by `cause`.
    pub realtime_reconnects: IntCounterVec,
    /// Failed Instagram HTTP requests, by `kind`.
    pub instagram_errors: IntCounterVec,
    /// Homeserver requests, by `endpoint` and `outcome` (ok, error).
    pub homeserver_requests: HistogramVec,
    /// Bridge state updates POSTed to `homeserver.status_endpoint`, by `outcome` (sent,
    /// failed, deduplicated).
    pub bridge_state_posts: IntCounterVec,
    pub process: ProcessMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn counter(name: &str, help: &str) -> IntCounter {
    IntCounter::new(name, help).unwrap_or_else(|_| unreachable!("valid metric {name}"))
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|_| unreachable!("valid metric {name}"))
}

fn gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).unwrap_or_else(|_| unreachable!("valid metric {name}"))
}

fn histogram_vec(name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .unwrap_or_else(|_| unreachable!("valid metric {name}"))
}

impl Metrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("matrix_instagram".into()), None).unwrap_or_default();
        let m = Self {
            transactions: counter(
                "appservice_transactions_total",
                "Appservice transactions received",
            ),
            events: counter_vec(
                "events_applied_total",
                "Inbox events applied, by source",
                &["source"],
            ),
            event_failures: counter("event_failures_total", "Inbox events given up"),
            messages: counter_vec(
                "messages_total",
                "Messages handled by the conversation workers, by direction, kind and outcome",
                &["direction", "kind", "outcome"],
            ),
            message_latency: histogram_vec(
                "message_latency_seconds",
                "Time from the bridge receiving a message to sending it on, by direction",
                &["direction"],
                LATENCY_BUCKETS,
            ),
            inbox_rows: gauge("inbox_rows", "Rows waiting in the durable inbox"),
            inbox_oldest_age: Gauge::new(
                "inbox_oldest_age_seconds",
                "Age of the oldest row in the inbox (0 when empty)",
            )
            .unwrap_or_else(|_| unreachable!("valid metric")),
            logged_in: gauge("logged_in_accounts", "Instagram accounts logged in"),
            connected: gauge(
                "connected_accounts",
                "Instagram accounts with a live realtime connection",
            ),
            realtime_reconnects: counter_vec(
                "realtime_reconnects_total",
                "Realtime connections that ended and are reconnected, by cause",
                &["cause"],
            ),
            instagram_errors: counter_vec(
                "instagram_http_errors_total",
                "Failed Instagram HTTP requests, by kind",
                &["kind"],
            ),
            homeserver_requests: histogram_vec(
                "homeserver_request_duration_seconds",
                "Homeserver requests, by endpoint and outcome",
                &["endpoint", "outcome"],
                REQUEST_BUCKETS,
            ),
            bridge_state_posts: counter_vec(
                "bridge_state_posts_total",
                "Bridge state updates for homeserver.status_endpoint, by outcome",
                &["outcome"],
            ),
            process: ProcessMetrics::new(),
            registry,
        };
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(m.transactions.clone()),
            Box::new(m.events.clone()),
            Box::new(m.event_failures.clone()),
            Box::new(m.messages.clone()),
            Box::new(m.message_latency.clone()),
            Box::new(m.inbox_rows.clone()),
            Box::new(m.inbox_oldest_age.clone()),
            Box::new(m.logged_in.clone()),
            Box::new(m.connected.clone()),
            Box::new(m.realtime_reconnects.clone()),
            Box::new(m.instagram_errors.clone()),
            Box::new(m.homeserver_requests.clone()),
            Box::new(m.bridge_state_posts.clone()),
        ];
        for c in collectors {
            let _ = m.registry.register(c);
        }
        m
    }

    /// The text exposition format: the bridge's metrics, then the process's (read now).
    pub fn render(&self) -> String {
        self.process.refresh();
        let mut families = self.registry.gather();
        families.extend(self.process.gather());
        TextEncoder::new()
            .encode_to_string(&families)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_exposed_with_its_prefix() {
        let m = Metrics::new();
        m.messages
            .with_label_values(&["to_matrix", "text", "sent"])
            .inc();
        m.message_latency
            .with_label_values(&["to_instagram"])
            .observe(0.2);
        m.realtime_reconnects.with_label_values(&["network"]).inc();
        m.instagram_errors
            .with_label_values(&["rate_limited"])
            .inc();
        m.homeserver_requests
            .with_label_values(&["room::create_room", "ok"])
            .observe(0.01);
        m.bridge_state_posts.with_label_values(&["sent"]).inc();
        m.events.with_label_values(&["matrix"]).inc();
        m.connected.set(1);
        let text = m.render();
        for line in [
            "matrix_instagram_messages_total{direction=\"to_matrix\",kind=\"text\",outcome=\"sent\"} 1",
            "matrix_instagram_message_latency_seconds_count{direction=\"to_instagram\"} 1",
            "matrix_instagram_realtime_reconnects_total{cause=\"network\"} 1",
            "matrix_instagram_instagram_http_errors_total{kind=\"rate_limited\"} 1",
            "matrix_instagram_homeserver_request_duration_seconds_count{endpoint=\"room::create_room\",outcome=\"ok\"} 1",
            "matrix_instagram_bridge_state_posts_total{outcome=\"sent\"} 1",
            "matrix_instagram_connected_accounts 1",
            "matrix_instagram_logged_in_accounts 0",
            "matrix_instagram_inbox_rows 0",
            "matrix_instagram_inbox_oldest_age_seconds 0",
            "matrix_instagram_appservice_transactions_total 0",
            "matrix_instagram_event_failures_total 0",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        #[cfg(target_os = "linux")]
        for name in [
            "process_resident_memory_bytes",
            "process_cpu_seconds_total",
            "process_open_fds",
            "process_start_time_seconds",
        ] {
            assert!(text.contains(&format!("\n{name} ")), "{name} in\n{text}");
        }
    }
}
