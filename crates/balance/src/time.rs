//! A shared timebase: nanoseconds since the cluster was created, from an injected clock.

use std::sync::Arc;
use std::time::Duration;
use switchyard_core::Clock;

/// Converts the injected clock's instants to `u64` nanoseconds, so stats fit in atomics.
#[derive(Clone)]
pub struct Timebase {
    clock: Arc<dyn Clock>,
    /// The clock's `now_nanos()` when this timebase began.
    origin_nanos: u64,
}

impl std::fmt::Debug for Timebase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timebase").finish_non_exhaustive()
    }
}

impl Timebase {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let origin_nanos = clock.now_nanos();
        Self {
            clock,
            origin_nanos,
        }
    }

    /// Nanoseconds since this timebase began; starts at 1 so 0 can mean "never".
    pub fn now_ns(&self) -> u64 {
        self.clock
            .now_nanos()
            .saturating_sub(self.origin_nanos)
            .saturating_add(1)
    }
}

pub fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
