//! Prometheus metrics, served on `metrics.listen` when enabled.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry, TextEncoder};

/// The bridge's counters.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub transactions: IntCounter,
    pub events: IntCounterVec,
    pub event_failures: IntCounter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("matrix_instagram".into()), None).unwrap_or_default();
        let transactions = IntCounter::new(
            "appservice_transactions_total",
            "Appservice transactions received",
        )
        .unwrap_or_else(|_| unreachable!("valid metric"));
        let events = IntCounterVec::new(
            Opts::new("events_applied_total", "Inbox events applied, by source"),
            &["source"],
        )
        .unwrap_or_else(|_| unreachable!("valid metric"));
        let event_failures = IntCounter::new(
            "event_failures_total",
            "Inbox events given up after retries",
        )
        .unwrap_or_else(|_| unreachable!("valid metric"));
        for c in [&transactions, &event_failures] {
            let _ = registry.register(Box::new(c.clone()));
        }
        let _ = registry.register(Box::new(events.clone()));
        Self {
            registry,
            transactions,
            events,
            event_failures,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }
}
