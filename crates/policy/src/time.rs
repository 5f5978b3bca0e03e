//! Time for policies: a monotonic clock for rate limits and caches, and Unix time (derived
//! from the same clock) for token expiry, so one injected manual clock drives both in tests.

use std::sync::Arc;
use switchyard_core::{Clock, SystemClock};

/// A clock plus the Unix time at one of its readings.
#[derive(Clone)]
pub struct Timebase {
    clock: Arc<dyn Clock>,
    origin_nanos: u64,
    origin_unix_nanos: u64,
}

impl std::fmt::Debug for Timebase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timebase")
            .field("origin_unix_nanos", &self.origin_unix_nanos)
            .finish()
    }
}

impl Timebase {
    /// The system clock and the system's Unix time.
    pub fn system() -> Self {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Self::new(Arc::new(SystemClock), unix / 1_000_000_000)
    }

    /// `clock`, whose current reading is Unix time `unix_secs`.
    pub fn new(clock: Arc<dyn Clock>, unix_secs: u64) -> Self {
        Self {
            origin_nanos: clock.now_nanos(),
            clock,
            origin_unix_nanos: unix_secs.saturating_mul(1_000_000_000),
        }
    }

    /// Monotonic nanoseconds (only differences mean anything).
    pub fn nanos(&self) -> u64 {
        self.clock.now_nanos()
    }

    /// Seconds since the Unix epoch.
    pub fn unix_secs(&self) -> u64 {
        let elapsed = self.clock.now_nanos().saturating_sub(self.origin_nanos);
        (self.origin_unix_nanos + elapsed) / 1_000_000_000
    }
}
