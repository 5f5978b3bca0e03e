//! Raw (as written) config of how a cluster balances, checks health and finds endpoints.

use crate::located::Located;
use schemars::JsonSchema;
use serde::Deserialize;

/// Which request attribute `ring_hash` and `maglev` hash for affinity: exactly one of these.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHashOn {
    pub header: Option<Located<String>>,
    pub cookie: Option<Located<String>>,
    /// Hash the client's IP address.
    #[serde(default)]
    pub client_ip: bool,
}

/// `edge`'s parameters; docs/balancing.md explains each and why its default.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEdge {
    /// Requests in flight allowed to an endpoint that has not answered yet (default 1).
    pub max_probation: Option<Located<u32>>,
    /// Skip endpoints whose error score (0..1) is above this (default 0.5).
    pub error_threshold: Option<Located<f64>>,
    /// Skip endpoints whose fresh reported utilization is above this (default 0.95).
    pub utilization_threshold: Option<Located<f64>>,
    /// Weight of reported utilization in the score (default 2).
    pub k_util: Option<Located<f64>>,
    /// Weight of the error score in the score (default 10).
    pub k_err: Option<Located<f64>>,
    /// Where endpoints report utilization, score by projected utilization (in flight + 1 over
    /// the capacity the reports imply) instead of in flight x (1 + k_util x utilization)
    /// (default true).
    pub capacity_aware: Option<Located<bool>>,
    /// Weight of relative latency in the score, an exponent: an endpoint twice as slow as the
    /// fastest one compared scores `2 ^ k_latency` times higher (default 2; 0 turns it off).
    pub k_latency: Option<Located<f64>>,
    /// The same exponent for an endpoint still warming up, once every warm endpoint compared
    /// reports at least `busy_fleet_at` utilization (default 1, never above `k_latency`: the
    /// fleet needs its joiners; while a warm endpoint has room, `k_latency` keeps a cold
    /// joiner out).
    pub k_latency_warming: Option<Located<f64>>,
    /// Reported utilization from which the warm endpoints count as busy (default 0.8).
    pub busy_fleet_at: Option<Located<f64>>,
    /// Clusters of at most this many endpoints are scanned in full instead of choice of two
    /// (default 128; 0 never).
    pub scan_up_to: Option<Located<u32>>,
}

/// Passive outlier detection.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOutlier {
    /// Consecutive 5xx other than 503/429, or gateway failures, that eject (default 5; 0 off).
    pub consecutive_5xx: Option<Located<u32>>,
    /// Consecutive connect failures, resets or timeouts that eject (default 5; 0 off).
    pub consecutive_gateway_failure: Option<Located<u32>>,
    /// First ejection's length; the n-th lasts n times as long (default 30s).
    pub base_ejection_time: Option<Located<String>>,
    /// Cap on an ejection's length (default 300s).
    pub max_ejection_time: Option<Located<String>>,
    /// Most of the cluster ever ejected at once, in percent (default 10; at least one endpoint).
    pub max_ejection_percent: Option<Located<f64>>,
    /// How often success-rate ejection runs (default 10s).
    pub interval: Option<Located<String>>,
    /// Success-rate ejection: standard deviations below the mean (default 1.9).
    pub success_rate_stdev_factor: Option<Located<f64>>,
}

/// Active health checks: exactly one of `http` (a path) or `tcp: true`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    /// Path for an HTTP GET check, e.g. `/healthz`.
    pub http: Option<Located<String>>,
    /// Statuses that count as healthy (default 200-299).
    #[serde(default)]
    pub expected_statuses: Vec<Located<u16>>,
    /// A TCP connect check.
    #[serde(default)]
    pub tcp: bool,
    /// Default 5s.
    pub interval: Option<Located<String>>,
    /// Default 1s.
    pub timeout: Option<Located<String>>,
    /// Passes in a row that make an unhealthy endpoint healthy (default 2).
    pub healthy_threshold: Option<Located<u32>>,
    /// Failures in a row that make a healthy endpoint unhealthy (default 3).
    pub unhealthy_threshold: Option<Located<u32>>,
    /// Random spread of each interval, as a fraction (default 0.1).
    pub jitter: Option<Located<f64>>,
}

/// Where endpoints come from besides the static list: exactly one of `dns` or `file`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDiscovery {
    pub dns: Option<RawDns>,
    /// A YAML file holding a list of endpoints (`- {address, weight, zone}`), re-read on change.
    pub file: Option<Located<String>>,
}

/// DNS discovery: A/AAAA records of `name` on `port`, or SRV records when `srv: true`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    pub name: Located<String>,
    /// Port for A/AAAA answers (SRV answers carry their own).
    pub port: Option<Located<u16>>,
    #[serde(default)]
    pub srv: bool,
    /// Re-resolve at least this often, whatever the TTL (default 30s).
    pub max_interval: Option<Located<String>>,
    /// DNS server to ask, `ip:port` (default: the system's resolver configuration).
    pub server: Option<Located<String>>,
}
