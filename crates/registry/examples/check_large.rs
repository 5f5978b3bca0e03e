//! Times `check` on a generated graph of 100 subgraphs and 5,000 types (the generator of
//! `switchyard-compose`'s `large` example): one subgraph changed (a field removed, a field
//! added, an argument default changed), without and with 500 operations.
//!
//! `cargo run --release -p switchyard-registry --example check_large`

use std::fmt::Write;
use std::time::Instant;

use switchyard_compose::Subgraph;
use switchyard_registry::{CheckInput, check};

const SUBGRAPHS: usize = 100;
const ENTITIES: usize = 1750;
const VALUES: usize = 1750;
const ENUMS: usize = 1000;
const INPUTS: usize = 500;

fn main() {
    let current = generate();
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
