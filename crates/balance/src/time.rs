//! A shared timebase: nanoseconds since the cluster was created, from an injected clock.

use std::sync::Arc;
use std::time::{Duration, Instant};
use switchyard_core::Clock;

/// Converts the injected clock's instants to `u64` nanoseconds, so stats fit in atomics.
#[derive(Clone)]
pub struct Timebase {
    clock: Arc<dyn Clock>,
    origin: Instant,
}

impl std::fmt::Debug for Timebase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timebase").finish_non_exhaustive()
    }
}

impl Timebase {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let origin = clock.now();
        Self { clock, origin }
    }

    /// Nanoseconds since this timebase began; starts at 1 so 0 can mean "never".
    pub fn now_ns(&self) -> u64 {
        let elapsed = self.clock.now().saturating_duration_since(self.origin);
        u64::try_from(elapsed.as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }
}

pub fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
