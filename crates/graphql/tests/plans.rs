//! Planner snapshot tests: every fixture query's plan, printed, against `queries/<name>.plan.txt`.
//!
//! Run with `UPDATE_PLANS=1` to rewrite the snapshots after a deliberate planner change, then
//! review the diff.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use apollo_compiler::ExecutableDocument;
use switchyard_graphql::{Planner, Supergraph};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn graphs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("supergraph.graphql").exists())
        .collect();
    dirs.sort();
    dirs
}

fn queries(graph: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(graph.join("queries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .collect();
    files.sort();
    files
}

fn plan_text(sg: &Supergraph, query: &Path, labels: &BTreeSet<String>) -> String {
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
fn plans_match_snapshots() {
    let update = std::env::var_os("UPDATE_PLANS").is_some();
    let mut mismatches = Vec::new();
    for graph in graphs() {
        let sdl = fs::read_to_string(graph.join("supergraph.graphql")).unwrap();
        let sg = Supergraph::parse(&sdl, "supergraph.graphql")
            .unwrap_or_else(|e| panic!("{}: {e}", graph.display()));
        let all_labels: BTreeSet<String> = sg.override_labels().map(str::to_owned).collect();
        for query in queries(&graph) {
            let mut cases = vec![("plan.txt", BTreeSet::new())];
            if query.with_extension("apollo-plan.labels-on.txt").exists() {
                cases.push(("plan.labels-on.txt", all_labels.clone()));
            }
            for (extension, labels) in cases {
                let actual = plan_text(&sg, &query, &labels);
                let snapshot = query.with_extension(extension);
                if update {
                    fs::write(&snapshot, &actual).unwrap();
                    continue;
                }
                let expected = fs::read_to_string(&snapshot).unwrap_or_default();
                if expected != actual {
                    mismatches.push(format!("{}:\n{actual}", snapshot.display()));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "plans differ from snapshots (UPDATE_PLANS=1 to accept):\n{}",
        mismatches.join("\n")
    );
}

/// `@override(label: "percent(50)")`: the label switched on moves the field to the overriding
/// subgraph; off, it stays with the original.
#[test]
fn progressive_override_labels_choose_the_subgraph() {
    let dir = fixtures().join("products");
    let sdl = fs::read_to_string(dir.join("supergraph.graphql")).unwrap();
    let sg = Supergraph::parse(&sdl, "supergraph.graphql").unwrap();
    let query = "{ me { reviewCount } }";
    let doc = ExecutableDocument::parse_and_validate(&sg.api, query, "q.graphql").unwrap();
    let operation = doc.operations.iter().next().unwrap();
    let off = Planner::plan(&sg, &doc, operation, &BTreeSet::new())
        .unwrap()
        .to_string();
    let on_labels: BTreeSet<String> = BTreeSet::from(["percent(50)".to_owned()]);
    let on = Planner::plan(&sg, &doc, operation, &on_labels)
        .unwrap()
        .to_string();
    assert!(!off.contains("service: \"reviews\""), "{off}");
    assert!(on.contains("service: \"reviews\""), "{on}");
}
