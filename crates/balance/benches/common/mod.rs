//! What the balancer benchmarks share: a set of `n` endpoints that have each answered once,
//! the outcome every benchmarked pick records, and the algorithms by name.

use std::sync::Arc;
use switchyard_balance::{
    EndpointSet, EndpointSpec, Outcome, OutcomeKind, Policy, StatParams, Timebase,
};

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

/// The catalog's algorithm called `name`, with its defaults.
pub fn policy(name: &str) -> Policy {
    Policy::catalog()
        .into_iter()
        .find(|(p, _)| *p == name)
        .map(|(_, policy)| policy)
        .unwrap_or_else(|| panic!("no algorithm called {name}"))
}
