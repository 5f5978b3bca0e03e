//! At most one log line a second for a repeated event (a Redis outage, responses that break
//! the API's document), so a storm of them cannot flood the log; counters count every one.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub(crate) struct LogThrottle {
    /// When a line was last allowed (seconds since the Unix epoch).
    logged_at: AtomicU64,
}

impl LogThrottle {
    /// True at most once per wall-clock second.
    pub(crate) fn allow(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.logged_at.swap(now, Ordering::Relaxed) != now
    }
}
