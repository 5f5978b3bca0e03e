//! Maps a cluster's balancing config onto the balance crate's types (once per config).

use std::time::Duration;
use switchyard_balance::{EdgeParams, OutlierParams, Policy, StatParams, WarmUp};
use switchyard_config::{BalancerKind, Balancing};

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn warm_up(window: Option<Duration>) -> Option<WarmUp> {
    window.map(|w| WarmUp {
        window_ns: ns(w),
        ..WarmUp::default()
    })
}

/// The algorithm and its parameters.
pub fn policy(b: &Balancing) -> Policy {
    match b.kind {
        BalancerKind::RoundRobin => Policy::RoundRobin {
            warm_up: warm_up(b.warm_up),
        },
        BalancerKind::Random => Policy::Random,
        BalancerKind::LeastRequest => Policy::LeastRequest {
            bias: b.least_request_bias,
            warm_up: warm_up(b.warm_up),
        },
        BalancerKind::PeakEwma => Policy::PeakEwma {
            default_rtt_ns: 30_000_000,
        },
        BalancerKind::RingHash => Policy::RingHash {
            points_per_weight: 256,
        },
        BalancerKind::Maglev => Policy::Maglev { table_size: 65_537 },
        BalancerKind::Edge => Policy::Edge(EdgeParams {
            max_probation: b.edge.max_probation,
            warm_up: warm_up(b.warm_up),
            k_util: b.edge.k_util,
            k_err: b.edge.k_err,
            error_threshold: b.edge.error_threshold,
            utilization_threshold: b.edge.utilization_threshold,
            capacity_aware: b.edge.capacity_aware,
            scan_up_to: b.edge.scan_up_to as usize,
            k_latency: b.edge.k_latency,
            k_latency_warming: b.edge.k_latency_warming,
            busy_fleet_at: b.edge.busy_fleet_at,
            ..EdgeParams::default()
        }),
    }
}

/// How stats decay and when outlier detection ejects.
pub fn stat_params(b: &Balancing) -> StatParams {
    let o = &b.outlier;
    StatParams {
        panic_threshold: b.panic_threshold,
        outlier: OutlierParams {
            consecutive_5xx: o.consecutive_5xx,
            consecutive_gateway: o.consecutive_gateway_failure,
            base_ejection_ns: ns(o.base_ejection_time),
            max_ejection_ns: ns(o.max_ejection_time),
            max_ejection_percent: o.max_ejection_percent,
            success_rate_stdev_factor: o.success_rate_stdev_factor,
            ..OutlierParams::default()
        },
        ..StatParams::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `switchyard-config` spells `edge`'s defaults out (it does not depend on the balance
    /// crate); a cluster that sets nothing must get exactly the balance crate's defaults.
    #[test]
    fn an_edge_cluster_that_sets_nothing_gets_the_balancers_defaults() {
        let yaml = "listeners: [{name: public, address: '127.0.0.1:0'}]\n\
                    routes: [{name: all, proxy: {cluster: c}}]\n\
                    clusters: [{name: c, endpoints: [{address: '127.0.0.1:1'}]}]\n";
        let config = switchyard_config::parse(yaml, "defaults.yaml").unwrap();
        let balancing = &config.clusters[0].balancing;
        assert_eq!(policy(balancing), Policy::Edge(EdgeParams::default()));
        assert_eq!(stat_params(balancing), StatParams::default());
    }
}
