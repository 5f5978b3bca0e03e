//! Composes a generated graph of 100 subgraphs and 5,000 types and prints how long it took.
//!
//! `cargo run --release -p switchyard-compose --example large`
//!
//! The graph is `switchyard_compose::synthetic::synthetic_graph()`.

use std::time::Instant;

use switchyard_compose::{compose, synthetic};

fn main() {
    let subgraphs = synthetic::synthetic_graph();
    let lines: usize = subgraphs.iter().map(|s| s.sdl.lines().count()).sum();
    let start = Instant::now();
    let composed = compose(&subgraphs).unwrap_or_else(|e| panic!("{e}"));
    let took = start.elapsed();
    let types = composed.supergraph_sdl.matches("\n  @join__type(").count();
    println!(
        "composed {} subgraphs ({lines} SDL lines) into a supergraph of {} bytes ({types} @join__type) in {:.1} ms",
        subgraphs.len(),
        composed.supergraph_sdl.len(),
        took.as_secs_f64() * 1000.0
    );
    let start = Instant::now();
    let loaded = switchyard_graphql::Supergraph::parse(&composed.supergraph_sdl, "large.graphql")
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "the gateway loaded it in {:.1} ms: {} subgraphs, {} types in the API schema",
        start.elapsed().as_secs_f64() * 1000.0,
        loaded.subgraphs.len(),
        loaded
            .api
            .types
            .values()
            .filter(|t| !t.is_built_in())
            .count()
    );
}
