//! A generated federated graph of 100 subgraphs and 5,001 API types, deterministic, for the
//! benchmarks of composition and checks (`examples/large.rs`, the registry's `check_large`).
//!
//! 1,750 entities (each owned by one subgraph and extended by up to two others through its key,
//! with a shareable field), 1,750 shareable value types and 1,000 enums defined in two
//! subgraphs each, 500 input types, and root fields in every subgraph.

use crate::Subgraph;
use std::fmt::Write;

const SUBGRAPHS: usize = 100;
const ENTITIES: usize = 1750;
const VALUES: usize = 1750;
const ENUMS: usize = 1000;
/// Root fields `q0` ... `q499`, each taking the input type `In<m>` and returning `[E<m>!]!`.
pub const INPUTS: usize = 500;

/// The graph's subgraphs, named `subgraph000` ... `subgraph099`.
pub fn synthetic_graph() -> Vec<Subgraph> {
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
