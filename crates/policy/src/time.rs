//! Time for policies: a monotonic clock for rate limits, caches and background schedules, and
//! Unix time for token expiry. Serving reads the system's wall clock for the latter (so a
//! clock stepped by NTP or a resumed VM is followed); tests derive it from one injected manual
//! clock.

use std::sync::Arc;
use std::time::Duration;
use switchyard_core::{Clock, SystemClock};

/// A monotonic clock and a source of Unix time.
#[derive(Clone)]
pub struct Timebase {
    clock: Arc<dyn Clock>,
    wall: Wall,
}

#[derive(Debug, Clone, Copy)]
enum Wall {
    /// `SystemTime::now()`.
    System,
    /// The clock's reading `origin_nanos` was Unix time `origin_unix_nanos`.
    Derived {
        origin_nanos: u64,
        origin_unix_nanos: u64,
    },
}

impl std::fmt::Debug for Timebase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timebase")
            .field("wall", &self.wall)
            .finish()
    }
}

impl Timebase {
    /// The system's monotonic clock and wall clock.
    pub fn system() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            wall: Wall::System,
        }
    }

    /// `clock`, whose current reading is Unix time `unix_secs`; Unix time moves with it.
    pub fn new(clock: Arc<dyn Clock>, unix_secs: u64) -> Self {
        Self {
            wall: Wall::Derived {
                origin_nanos: clock.now_nanos(),
                origin_unix_nanos: unix_secs.saturating_mul(1_000_000_000),
            },
            clock,
        }
    }

    /// Monotonic nanoseconds (only differences mean anything).
    pub fn nanos(&self) -> u64 {
        self.clock.now_nanos()
    }

    /// Waits until `d` has passed on this clock. Serving uses Tokio's timer. A clock given to
    /// [`Timebase::new`] (a manual one in tests) is read every 2 ms of real time instead, so a
    /// test moves background schedules (JWKS refreshes) by moving its clock.
    pub(crate) async fn sleep(&self, d: Duration) {
        match self.wall {
            Wall::System => tokio::time::sleep(d).await,
            Wall::Derived { .. } => {
                let d = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
                let until = self.nanos().saturating_add(d);
                while self.nanos() < until {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_secs(&self) -> u64 {
        match self.wall {
            Wall::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            Wall::Derived {
                origin_nanos,
                origin_unix_nanos,
            } => {
                let elapsed = self.clock.now_nanos().saturating_sub(origin_nanos);
                origin_unix_nanos.saturating_add(elapsed) / 1_000_000_000
            }
        }
    }
}
