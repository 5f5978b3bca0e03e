//! Netflix's old baseline, as the lab compares it: round robin with failure blacklisting in
//! the style of Ribbon (a server that fails 3 times in a row is skipped for 10 s, then 20 s,
//! up to 30 s). Built from the real balancer: round robin plus outlier detection that counts
//! load shedding (503) as failure.

use std::time::Duration;
use switchyard_balance::{Policy, StatParams};

/// The policy and stats of round robin with failure blacklisting.
pub fn blacklisting_round_robin() -> (Policy, StatParams) {
    let mut stats = StatParams::default();
    let outlier = &mut stats.outlier;
    outlier.overload_is_failure = true;
    outlier.consecutive_5xx = 3;
    outlier.consecutive_gateway = 3;
    outlier.base_ejection_ns = 10_000_000_000;
    outlier.max_ejection_ns = u64::try_from(Duration::from_secs(30).as_nanos()).unwrap_or(u64::MAX);
    // Ribbon fell back to every server only when all were blacklisted; half is our panic line.
    outlier.max_ejection_percent = 0.5;
    (Policy::RoundRobin { warm_up: None }, stats)
}
