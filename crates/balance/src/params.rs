//! Tunables shared by a cluster's stats and health logic, with the defaults we chose
//! (docs/balancing.md says why).

use crate::time::ns;
use std::time::Duration;

/// How stats decay and when outlier detection ejects.
#[derive(Debug, Clone, PartialEq)]
pub struct StatParams {
    /// Half-life of the error score and of stale utilization (10 s).
    pub decay_half_life_ns: u64,
    /// Weight of each new outcome in the error score EWMA (0.3: two failures in a row pass
    /// `edge`'s filter threshold of 0.5; docs/balancing.md has the sweep).
    pub error_alpha: f64,
    /// Time constant of the peak-EWMA latency estimate (10 s).
    pub ewma_tau_ns: u64,
    /// Reported utilization older than this is ignored (5 s).
    pub utilization_stale_ns: u64,
    pub outlier: OutlierParams,
    /// Below this share of available endpoints, balance over all of them (0.5).
    pub panic_threshold: f64,
}

/// Passive outlier detection (Envoy's model, with load shedding kept apart from breakage).
#[derive(Debug, Clone, PartialEq)]
pub struct OutlierParams {
    /// Consecutive 5xx (not 503/429) or gateway failures that eject (5; 0 disables).
    pub consecutive_5xx: u32,
    /// Consecutive connect failures, resets or timeouts that eject (5; 0 disables).
    pub consecutive_gateway: u32,
    /// First ejection lasts this long; the n-th lasts n times as long (30 s).
    pub base_ejection_ns: u64,
    /// Longest ejection (300 s).
    pub max_ejection_ns: u64,
    /// Never eject more than this share of the cluster (0.1; at least one endpoint may be).
    pub max_ejection_percent: f64,
    /// Success-rate ejection: standard deviations below the mean (1.9).
    pub success_rate_stdev_factor: f64,
    /// Count load shedding (503/429) as failures too (false). Off, an overloaded endpoint is
    /// never ejected; on, it is, as Ribbon's failure blacklisting did (the simulator's
    /// baseline): a busy fleet can then lose endpoints exactly when it needs them.
    pub overload_is_failure: bool,
    /// Success-rate ejection needs this many endpoints with enough requests (5) ...
    pub success_rate_min_hosts: usize,
    /// ... each with at least this many requests in the interval (100).
    pub success_rate_min_requests: u64,
}

impl Default for StatParams {
    fn default() -> Self {
        Self {
            decay_half_life_ns: ns(Duration::from_secs(10)),
            error_alpha: 0.3,
            ewma_tau_ns: ns(Duration::from_secs(10)),
            utilization_stale_ns: ns(Duration::from_secs(5)),
            outlier: OutlierParams::default(),
            panic_threshold: 0.5,
        }
    }
}

impl Default for OutlierParams {
    fn default() -> Self {
        Self {
            consecutive_5xx: 5,
            consecutive_gateway: 5,
            base_ejection_ns: ns(Duration::from_secs(30)),
            max_ejection_ns: ns(Duration::from_secs(300)),
            max_ejection_percent: 0.1,
            success_rate_stdev_factor: 1.9,
            overload_is_failure: false,
            success_rate_min_hosts: 5,
            success_rate_min_requests: 100,
        }
    }
}
