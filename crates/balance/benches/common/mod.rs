//! What the balancer benchmarks share: a set of `n` endpoints that have each answered once,
//! and the outcome every benchmarked pick records.

use std::sync::Arc;
use switchyard_balance::{EndpointSet, EndpointSpec, Outcome, OutcomeKind, StatParams, Timebase};

/// `n` endpoints on the coarse clock (as the proxy has them), each picked and answered once.
pub fn set(n: usize) -> EndpointSet {
    let specs: Vec<EndpointSpec> = (0..n)
        .map(|i| EndpointSpec::new(format!("10.0.{}.{}:80", i / 250, i % 250)))
        .collect();
    let set = EndpointSet::new(
        &specs,
        Timebase::new(Arc::new(switchyard_core::CoarseClock)),
        StatParams::default(),
    );
    for i in 0..n {
        set.pick(i).record(&set, success());
    }
    set
}

/// A success that reports utilization 0.3.
pub fn success() -> Outcome {
    Outcome {
        kind: OutcomeKind::Success,
        utilization: Some(0.3),
    }
}
