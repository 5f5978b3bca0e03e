//! A tight pick + record loop for profiling (`perf record`): `cargo run -p switchyard-balance
//! --release --example pick_loop -- [edge|least_request] [endpoints] [iterations]`.

use std::sync::Arc;
use switchyard_balance::{
    EdgeParams, EndpointSet, EndpointSpec, Outcome, OutcomeKind, PickContext, Policy, StatParams,
    Timebase,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let policy = match args.next().as_deref() {
        Some("least_request") => Policy::LeastRequest {
            bias: 1.0,
            warm_up: None,
        },
        _ => Policy::Edge(EdgeParams::default()),
    };
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let iterations: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000_000);
    let specs: Vec<EndpointSpec> = (0..n)
        .map(|i| EndpointSpec::new(format!("10.0.{}.{}:80", i / 250, i % 250)))
        .collect();
    let time = Timebase::new(Arc::new(switchyard_core::CoarseClock));
    let set = EndpointSet::new(&specs, time, StatParams::default());
    let balancer = policy.build(&set, 0);
    let outcome = Outcome {
        kind: OutcomeKind::Success,
        utilization: Some(0.3),
    };
    let started = std::time::Instant::now();
    let mut sum = 0usize;
    for _ in 0..iterations {
        let mut pick = balancer.pick(&set, &PickContext::default()).unwrap();
        pick.record(&set, outcome);
        sum = sum.wrapping_add(pick.index());
    }
    let per = started.elapsed().as_nanos() as f64 / iterations as f64;
    println!("{per:.1} ns per pick + record ({sum})");
}
