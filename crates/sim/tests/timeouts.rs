//! Request timeouts: a balancer that stops waiting counts an error and records a `Timeout`
//! outcome, which outlier detection and `edge`'s client health learn from.

use std::time::Duration;
use switchyard_balance::{EdgeParams, Policy};
use switchyard_sim::{Config, Episode, Report, ServerState, ServiceTime, run};

const MS: Duration = Duration::from_millis(1);

/// Four single-worker servers, one twenty times slower from the start, a 50 ms timeout.
fn stalled(policy: Policy, timeout: Option<Duration>) -> Report {
    let service = ServiceTime::Exponential { mean: MS * 10 };
    let mut config = Config::identical(4, service, 0.5, policy);
    config.balancers = 2;
    config.timeout = timeout;
    config.warmup = MS * 500;
    config.duration = Duration::from_secs(3);
    config.episodes = vec![Episode {
        server: 3,
        from: Duration::ZERO,
        until: Duration::from_secs(10),
        state: ServerState::Speed(0.05),
    }];
    run(&config)
}

#[test]
fn a_request_unanswered_by_its_deadline_is_a_timeout_not_a_success() {
    let with = stalled(Policy::RoundRobin { warm_up: None }, Some(MS * 50));
    assert!(with.timeouts > 20, "{with:?}");
    assert_eq!(
        with.successes + with.timeouts + with.overloaded,
        with.requests
    );
    let expected = with.timeouts as f64 / with.requests as f64;
    assert!((with.error_rate - expected).abs() < 1e-12);
    // Nothing slower than the deadline (plus a bucket's rounding) counts as a success.
    assert!(with.latency.max <= 0.0502, "{}", with.latency.max);
    let without = stalled(Policy::RoundRobin { warm_up: None }, None);
    assert_eq!(without.timeouts, 0);
    assert!(without.latency.max > 0.2, "{}", without.latency.max);
}

/// A timeout is a gateway failure: after a few in a row, outlier detection ejects the stalled
/// server, even under round robin; without a deadline nothing fails and it keeps its quarter.
#[test]
fn the_balancers_learn_from_timeouts() {
    let round_robin = || Policy::RoundRobin { warm_up: None };
    let waiting = stalled(round_robin(), None);
    assert!(waiting.share[3] > 0.24, "{}", waiting.share[3]);
    for policy in [round_robin(), Policy::Edge(EdgeParams::default())] {
        let r = stalled(policy.clone(), Some(MS * 50));
        assert!(r.share[3] < 0.03, "{policy:?}: {}", r.share[3]);
    }
}
