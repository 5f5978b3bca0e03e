//! Prints the query plan of an operation: `cargo run -p switchyard-graphql --example plan -- SUPERGRAPH QUERY`.

use std::collections::BTreeSet;

use apollo_compiler::ExecutableDocument;
use switchyard_graphql::{Planner, Supergraph};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [supergraph, query] = args.as_slice() else {
        eprintln!("usage: plan SUPERGRAPH QUERY");
        std::process::exit(2);
    };
    let sdl = std::fs::read_to_string(supergraph).expect("read supergraph");
    let sg = Supergraph::parse(&sdl, supergraph).expect("load supergraph");
    let text = std::fs::read_to_string(query).expect("read query");
    let doc = ExecutableDocument::parse_and_validate(&sg.api, text, query.as_str())
        .unwrap_or_else(|e| panic!("{}", e.errors));
    let operation = doc.operations.iter().next().expect("an operation");
    match Planner::plan(&sg, &doc, operation, &BTreeSet::new()) {
        Ok(plan) => print!("{plan}"),
        Err(e) => eprintln!("error: {e}"),
    }
}
