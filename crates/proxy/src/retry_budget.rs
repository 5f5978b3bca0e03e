//! A retry budget (as in Finagle and Envoy): retries may add at most a fraction of the
//! requests seen over the last ten seconds, plus a small floor per second, so retries cannot
//! multiply load on a struggling cluster.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use switchyard_config::RetryPolicy;
use switchyard_core::Clock;

const WINDOW_SECS: u64 = 10;

/// Counts requests and retries in one-second buckets over a ten-second window.
pub struct RetryBudget {
    ratio: f64,
    floor: u64,
    clock: Arc<dyn Clock>,
    origin: std::time::Instant,
    requests: Buckets,
    retries: Buckets,
}

impl std::fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryBudget")
            .field("ratio", &self.ratio)
            .field("floor", &self.floor)
            .finish()
    }
}

impl RetryBudget {
    pub fn new(policy: &RetryPolicy, clock: Arc<dyn Clock>) -> Self {
        Self {
            ratio: policy.budget,
            floor: u64::from(policy.min_per_second) * WINDOW_SECS,
            origin: clock.now(),
            clock,
            requests: Buckets::default(),
            retries: Buckets::default(),
        }
    }

    fn second(&self) -> u64 {
        self.clock.now().duration_since(self.origin).as_secs()
    }

    /// Records one client request.
    pub fn record_request(&self) {
        self.requests.add(self.second());
    }

    /// Takes one retry from the budget if there is room; `false` means do not retry.
    pub fn try_retry(&self) -> bool {
        let now = self.second();
        let allowed = self.floor as f64 + self.ratio * self.requests.sum(now) as f64;
        if (self.retries.sum(now) as f64) < allowed {
            self.retries.add(now);
            true
        } else {
            false
        }
    }
}

/// Ten buckets, each packing (second << 32 | count) into one atomic.
#[derive(Default)]
struct Buckets([AtomicU64; WINDOW_SECS as usize]);

impl Buckets {
    fn add(&self, second: u64) {
        let slot = &self.0[(second % WINDOW_SECS) as usize];
        let mut current = slot.load(Ordering::Relaxed);
        loop {
            let next = if current >> 32 == second {
                current + 1
            } else {
                (second << 32) | 1
            };
            match slot.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(seen) => current = seen,
            }
        }
    }

    fn sum(&self, now: u64) -> u64 {
        self.0
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed))
            .filter(|v| now.saturating_sub(v >> 32) < WINDOW_SECS && (v >> 32) <= now)
            .map(|v| v & 0xFFFF_FFFF)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use switchyard_config::RetryOn;
    use switchyard_core::ManualClock;

    fn budget(ratio: f64, min_per_second: u32, clock: &ManualClock) -> RetryBudget {
        let policy = RetryPolicy {
            attempts: 1,
            on: RetryOn::ALL,
            budget: ratio,
            min_per_second,
        };
        RetryBudget::new(&policy, Arc::new(clock.clone()))
    }

    #[test]
    fn retries_are_a_fraction_of_requests() {
        let clock = ManualClock::new();
        let b = budget(0.2, 0, &clock);
        (0..100).for_each(|_| b.record_request());
        let granted = (0..100).filter(|_| b.try_retry()).count();
        assert_eq!(granted, 20);
    }

    #[test]
    fn floor_allows_retries_without_traffic_and_window_expires() {
        let clock = ManualClock::new();
        let b = budget(0.0, 1, &clock);
        assert_eq!((0..50).filter(|_| b.try_retry()).count(), 10);
        clock.advance(Duration::from_secs(11));
        assert!(b.try_retry(), "old retries leave the window");
    }
}
