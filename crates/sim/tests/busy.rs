//! Scenario sanity on a fleet of six servers with concurrency limits (503 beyond), at 80 % load:
//! one with half the capacity (scoring by projected utilization keeps load errors well below
//! plain `edge` and gives it its capacity share), or one three times slower (relative latency
//! in the score steers requests off it).

use std::time::Duration;
use switchyard_balance::{EdgeParams, Policy};
use switchyard_sim::{Config, Report, ServerSpec, ServiceTime, run};

fn busy(capacity_aware: bool) -> Report {
    fleet(
        EdgeParams {
            capacity_aware,
            ..EdgeParams::default()
        },
        ServerSpec {
            workers: 4,
            speed: 1.0,
            limit: Some(4),
        },
    )
}

/// Six servers (five of eight slots and `odd`) at 80 % load.
fn fleet(params: EdgeParams, odd: ServerSpec) -> Report {
    let service = ServiceTime::LogNormal {
        mean: Duration::from_millis(10),
        sigma: 0.2,
    };
    let mut config = Config::identical(6, service, 0.8, Policy::Edge(params));
    let server = |limit| ServerSpec {
        workers: limit,
        speed: 1.0,
        limit: Some(limit),
    };
    config.servers = vec![server(8), server(8), server(8), server(8), server(8), odd];
    config.network_delay = Duration::from_micros(100);
    config.warmup = Duration::from_secs(1);
    config.duration = Duration::from_secs(4);
    config.seed = 7;
    run(&config)
}

#[test]
fn capacity_aware_edge_sheds_less_and_matches_the_weak_servers_capacity() {
    let aware = busy(true);
    let plain = busy(false);
    assert!(
        aware.error_rate < plain.error_rate / 2.0,
        "capacity-aware {:.4} vs plain {:.4}",
        aware.error_rate,
        plain.error_rate
    );
    let weak_capacity_share = 4.0 / 44.0;
    assert!(
        (aware.share[5] - weak_capacity_share).abs() < 0.015,
        "weak server share {:.4}",
        aware.share[5]
    );
}

/// A server three times slower than its peers: with relative latency in the score it gets a
/// smaller share, and the fleet sheds less.
#[test]
fn relative_latency_steers_requests_off_a_slow_server() {
    let slow = ServerSpec {
        workers: 8,
        speed: 1.0 / 3.0,
        limit: Some(8),
    };
    let with = fleet(
        EdgeParams {
            k_latency: 2.0,
            ..EdgeParams::default()
        },
        slow.clone(),
    );
    let without = fleet(
        EdgeParams {
            k_latency: 0.0,
            ..EdgeParams::default()
        },
        slow,
    );
    assert!(
        with.share[5] < without.share[5] * 0.8,
        "slow server share {:.4} with latency, {:.4} without",
        with.share[5],
        without.share[5]
    );
    assert!(with.error_rate <= without.error_rate);
}
