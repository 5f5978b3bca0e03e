//! Times `check` on a generated graph of 100 subgraphs and 5,000 types (the generator of
//! `switchyard-compose`'s `large` example): one subgraph changed (a field removed, a field
//! added, an argument default changed), without and with 500 operations.
//!
//! `cargo run --release -p switchyard-registry --example check_large`

use std::time::Instant;

use switchyard_compose::synthetic::{INPUTS, synthetic_graph};
use switchyard_registry::{CheckInput, check};

fn main() {
    let current = synthetic_graph();
    let mut proposed = current[7].clone();
    proposed.sdl = proposed
        .sdl
        .replacen(" score: Int ", " rank: Int ", 1)
        .replacen("first: Int = 10", "first: Int = 20", 1);
    let operations: Vec<String> = (0..INPUTS)
        .map(|m| format!("query Q{m}($f: In{m}) {{ q{m}(filter: $f) {{ id name score }} }}"))
        .collect();
    for ops in [None, Some(operations.as_slice())] {
        let start = Instant::now();
        let report = check(CheckInput {
            current: &current,
            proposed: proposed.clone(),
            operations: ops,
        });
        let took = start.elapsed();
        assert!(report.composes, "{:?}", report.composition_errors);
        println!(
            "check with {} operations: {:.1} ms, {} changes, breaking: {}",
            ops.map_or(0, <[String]>::len),
            took.as_secs_f64() * 1000.0,
            report.changes.len(),
            report.breaking
        );
        for c in &report.changes {
            println!(
                "  {} {} {} used by {}",
                c.severity.as_str(),
                c.kind.as_str(),
                c.coordinate,
                c.used_by.as_ref().map_or(0, Vec::len)
            );
        }
    }
}
