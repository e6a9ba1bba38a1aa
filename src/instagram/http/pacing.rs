//! How fast one account talks to Instagram: a token bucket. A short burst (the login and
//! bootstrap sequence, a few interactive sends) goes at once; sustained traffic (backfill,
//! catch-up) is held to one request per `min_request_gap`, so the account never looks like a
//! bot hammering the API. Nothing is held while a request runs or while a back-off waits:
//! pacing only decides when a request may start.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct Pacer {
    gap: Duration,
    burst: f64,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Pacer {
    /// A full bucket of `burst` requests (at least 1), refilled by one per `gap`.
    pub fn new(gap: Duration, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            gap,
            burst,
            bucket: Mutex::new(Bucket {
                tokens: burst,
                at: Instant::now(),
            }),
        }
    }

    /// Waits until a request may start, and takes its token.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                if self.gap.is_zero() {
                    return;
                }
                let earned =
                    now.saturating_duration_since(b.at).as_secs_f64() / self.gap.as_secs_f64();
                b.tokens = (b.tokens + earned).min(self.burst);
                b.at = now;
                if b.tokens >= 1.0 {
                    b.tokens -= 1.0;
                    return;
                }
                self.gap.mul_f64(1.0 - b.tokens)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_then_the_steady_gap() {
        let pacer = Pacer::new(Duration::from_secs(1), 3);
        let start = Instant::now();
        for _ in 0..3 {
            pacer.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        pacer.acquire().await;
        pacer.acquire().await;
        let took = start.elapsed();
        assert!(
            took >= Duration::from_secs(2) && took < Duration::from_millis(2100),
            "{took:?}"
        );
        // Idle time refills the bucket, up to the burst.
        tokio::time::sleep(Duration::from_secs(60)).await;
        let again = Instant::now();
        for _ in 0..3 {
            pacer.acquire().await;
        }
        assert_eq!(again.elapsed(), Duration::ZERO);
        pacer.acquire().await;
        assert!(again.elapsed() >= Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn no_gap_means_no_waiting() {
        let pacer = Pacer::new(Duration::ZERO, 1);
        let start = Instant::now();
        for _ in 0..100 {
            pacer.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
