//! Percentiles and the figures' formatting.

use std::time::Duration;

/// Latencies of one measured run.
pub struct Latencies {
    pub sorted: Vec<Duration>,
    /// Messages that never arrived.
    pub missing: usize,
}

impl Latencies {
    pub fn new(mut samples: Vec<Duration>, missing: usize) -> Self {
        samples.sort();
        Latencies {
            sorted: samples,
            missing,
        }
    }

    pub fn pct(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.sorted.len() as f64 - 1.0) * p).round() as usize;
        self.sorted[i.min(self.sorted.len() - 1)]
    }

    pub fn p50(&self) -> Duration {
        self.pct(0.50)
    }

    pub fn p99(&self) -> Duration {
        self.pct(0.99)
    }

    /// `p50 12.3 ms, p99 45.6 ms (n=100)`.
    pub fn show(&self) -> String {
        let missing = if self.missing > 0 {
            format!(", {} NEVER ARRIVED", self.missing)
        } else {
            String::new()
        };
        format!(
            "p50 {}, p99 {} (n={}{missing})",
            ms(self.p50()),
            ms(self.p99()),
            self.sorted.len()
        )
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `a - b` in milliseconds, signed.
pub fn diff_ms(a: Duration, b: Duration) -> String {
    format!("{:+.1} ms", (a.as_secs_f64() - b.as_secs_f64()) * 1000.0)
}
