//! Scenario sanity, busy fleet: six servers with concurrency limits (503 beyond), one with half
//! the capacity, at 80 % load. Scoring by projected utilization (capacity-aware `edge`) keeps
//! load-related errors well below plain `edge` and gives the weak server its capacity share.

use std::time::Duration;
use switchyard_balance::{EdgeParams, Policy};
use switchyard_sim::{Config, Report, ServerSpec, ServiceTime, run};

fn busy(capacity_aware: bool) -> Report {
    let service = ServiceTime::LogNormal {
        mean: Duration::from_millis(10),
        sigma: 0.2,
    };
    let params = EdgeParams {
        capacity_aware,
        ..EdgeParams::default()
    };
    let mut config = Config::identical(6, service, 0.8, Policy::Edge(params));
    let server = |limit| ServerSpec {
        workers: limit,
        speed: 1.0,
        limit: Some(limit),
    };
    config.servers = vec![
        server(8),
        server(8),
        server(8),
        server(8),
        server(8),
        server(4),
    ];
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
