//! Composes the gateway's fixture graphs (crates/graphql/tests/fixtures) and checks that the
//! result loads in the gateway, plans every fixture query exactly as the supergraph Apollo's
//! composition produced, and matches that supergraph's text (join v0.4 -> v0.5 aside).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use apollo_compiler::ExecutableDocument;
use switchyard_compose::{Subgraph, compose};
use switchyard_graphql::{Planner, Supergraph};

/// Fixture graphs whose plans are compared: also fed1 (Federation 1 subgraphs; Apollo's
/// supergraph for it is join v0.3, so its text is not compared).
const PLANNED: [&str; 7] = [
    "abstract",
    "federation",
    "fed1",
    "keys",
    "movies",
    "products",
    "requires",
];

/// Fixture graphs of Federation 2 subgraphs, whose supergraphs Apollo composed with join v0.4.
const GRAPHS: [&str; 6] = [
    "abstract",
    "federation",
    "keys",
    "movies",
    "products",
    "requires",
];

fn dir(graph: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../graphql/tests/fixtures")
        .join(graph)
}

fn subgraphs(graph: &str) -> Vec<Subgraph> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir(graph))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("supergraph")
        })
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            Subgraph {
                url: format!("http://{name}.invalid/graphql"),
                sdl: fs::read_to_string(p).unwrap(),
                name,
            }
        })
        .collect()
}

fn composed(graph: &str) -> String {
    match compose(&subgraphs(graph)) {
        Ok(c) => c.supergraph_sdl,
        Err(e) => panic!("{graph}: {e}"),
    }
}

fn plan(sg: &Supergraph, query: &Path, labels: &BTreeSet<String>) -> String {
    let text = fs::read_to_string(query).unwrap();
    let doc = ExecutableDocument::parse_and_validate(&sg.api, text, query)
        .unwrap_or_else(|e| panic!("{}: {}", query.display(), e.errors));
    let operation = doc.operations.iter().next().unwrap();
    match Planner::plan(sg, &doc, operation, labels) {
        Ok(plan) => plan.to_string(),
        Err(e) => format!("error: {e}\n"),
    }
}

#[test]
fn composed_supergraphs_plan_like_apollos() {
    let mut checked = 0;
    for graph in PLANNED {
        let ours = Supergraph::parse(&composed(graph), "composed.graphql")
            .unwrap_or_else(|e| panic!("{graph}: composed supergraph does not load: {e}"));
        let reference = fs::read_to_string(dir(graph).join("supergraph.graphql")).unwrap();
        let apollo = Supergraph::parse(&reference, "supergraph.graphql").unwrap();
        let labels: BTreeSet<String> = apollo.override_labels().map(str::to_owned).collect();
        let ours_labels: BTreeSet<String> = ours.override_labels().map(str::to_owned).collect();
        assert_eq!(labels, ours_labels, "{graph}: override labels");
        let mut queries: Vec<PathBuf> = fs::read_dir(dir(graph).join("queries"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
            .collect();
        queries.sort();
        for query in queries {
            for labels in [BTreeSet::new(), labels.clone()] {
                assert_eq!(
                    plan(&ours, &query, &labels),
                    plan(&apollo, &query, &labels),
                    "{}: plan differs (labels {labels:?})",
                    query.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 60, "only {checked} plans compared");
}

/// Apollo's join v0.4 supergraph in the v0.5 form we print.
fn as_join_v0_5(sdl: &str) -> String {
    sdl.replace("join/v0.4", "join/v0.5")
        .replace(
            "overrideLabel: String) repeatable",
            "overrideLabel: String, contextArguments: [join__ContextArgument!]) repeatable",
        )
        .replace(
            "\nscalar join__DirectiveArguments\n",
            "\ninput join__ContextArgument {\n  name: String!\n  type: String!\n  context: String!\n  selection: join__FieldValue!\n}\n\nscalar join__DirectiveArguments\n",
        )
        .replace("\nscalar join__FieldSet\n", "\nscalar join__FieldSet\n\nscalar join__FieldValue\n")
}

#[test]
fn composed_supergraphs_match_apollos_text() {
    for graph in GRAPHS {
        let reference = fs::read_to_string(dir(graph).join("supergraph.graphql")).unwrap();
        let ours = composed(graph);
        if ours != as_join_v0_5(&reference) {
            let path = std::env::temp_dir().join(format!("compose-{graph}.graphql"));
            fs::write(&path, &ours).unwrap();
            panic!(
                "{graph}: composed text differs from Apollo's; ours is in {}",
                path.display()
            );
        }
    }
}

/// Every fixture graph with one line of one subgraph removed, or repeated: composition never
/// panics, never fails its own output validation, and whatever composes loads in the gateway.
#[test]
fn damaged_subgraphs_fail_cleanly_or_compose_to_a_loadable_supergraph() {
    let mut composed_count = 0;
    let mut failed_count = 0;
    for graph in PLANNED {
        let subgraphs = subgraphs(graph);
        for (s, subgraph) in subgraphs.iter().enumerate() {
            let lines: Vec<&str> = subgraph.sdl.lines().collect();
            for (at, repeat) in (0..lines.len()).flat_map(|i| [(i, false), (i, true)]) {
                let mut damaged = subgraphs.clone();
                let mut text: Vec<&str> = Vec::new();
                for (i, line) in lines.iter().enumerate() {
                    if i != at || repeat {
                        text.push(line);
                    }
                    if i == at && repeat {
                        text.push(line);
                    }
                }
                damaged[s].sdl = text.join("\n");
                let case = format!(
                    "{graph}/{} line {} {}",
                    subgraph.name,
                    at + 1,
                    if repeat { "repeated" } else { "removed" }
                );
                match compose(&damaged) {
                    Ok(c) => {
                        if let Err(e) = Supergraph::parse(&c.supergraph_sdl, "damaged.graphql") {
                            panic!("{case}: composed but does not load: {e}");
                        }
                        composed_count += 1;
                    }
                    Err(e) => {
                        assert!(e.errors.iter().all(|e| e.code != "INTERNAL"), "{case}: {e}");
                        failed_count += 1;
                    }
                }
            }
        }
    }
    assert!(
        composed_count > 50 && failed_count > 50,
        "{composed_count} composed, {failed_count} failed"
    );
}
