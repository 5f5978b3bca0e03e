//! Composes a generated graph of 100 subgraphs and 5,000 types and prints how long it took.
//!
//! `cargo run --release -p switchyard-compose --example large`
//!
//! The graph is deterministic: 1,750 entities (owned by one subgraph, extended by up to two
//! others through their key, with a shareable field), 1,750 shareable value types and 1,000
//! enums defined in two subgraphs each, 500 input types, and root fields in every subgraph.

use std::fmt::Write;
use std::time::Instant;

use switchyard_compose::{Subgraph, compose};

const SUBGRAPHS: usize = 100;
const ENTITIES: usize = 1750;
const VALUES: usize = 1750;
const ENUMS: usize = 1000;
const INPUTS: usize = 500;

fn main() {
    let subgraphs = generate();
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

fn generate() -> Vec<Subgraph> {
    let mut sdl: Vec<String> = (0..SUBGRAPHS)
        .map(|_| {
            "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.7\", import: [\"@key\", \"@shareable\"])\n"
                .to_owned()
        })
        .collect();
    for i in 0..ENTITIES {
        let owner = i % SUBGRAPHS;
        let _ = writeln!(
            sdl[owner],
            "type E{i} @key(fields: \"id\") {{ id: ID! name: String! @shareable score: Int v: V{i} tags: [Enum{}!] }}",
            i % ENUMS
        );
        let mut extenders = vec![(i * 7 + 1) % SUBGRAPHS, (i * 13 + 5) % SUBGRAPHS];
        extenders.dedup();
        for e in extenders.into_iter().filter(|e| *e != owner) {
            let _ = writeln!(
                sdl[e],
                "type E{i} @key(fields: \"id\") {{ id: ID! name: String! @shareable extra{e}: Int related{e}: [E{i}!] }}"
            );
        }
    }
    for j in 0..VALUES {
        for g in [j % SUBGRAPHS, (j + 50) % SUBGRAPHS] {
            let _ = writeln!(
                sdl[g],
                "type V{j} @shareable {{ a: Int b: String c: [Int!]! }}"
            );
        }
    }
    for k in 0..ENUMS {
        for g in [k % SUBGRAPHS, (k + 50) % SUBGRAPHS] {
            let _ = writeln!(sdl[g], "enum Enum{k} {{ A B C }}");
        }
    }
    let mut roots = vec![String::new(); SUBGRAPHS];
    for m in 0..INPUTS {
        let g = m % SUBGRAPHS;
        let _ = writeln!(
            sdl[g],
            "input In{m} {{ id: ID text: String kind: Enum{} }}",
            m % ENUMS
        );
        let _ = write!(roots[g], " q{m}(filter: In{m}, first: Int = 10): [E{m}!]!");
    }
    sdl.into_iter()
        .zip(roots)
        .enumerate()
        .map(|(g, (mut text, root))| {
            let _ = writeln!(text, "type Query {{{root} }}");
            Subgraph {
                name: format!("subgraph{g:03}"),
                url: format!("http://subgraph{g:03}.invalid/graphql"),
                sdl: text,
            }
        })
        .collect()
}
