//! Operation limits measured on real operations of the movie graph.

use apollo_compiler::ExecutableDocument;
use switchyard_graphql::{Limits, Supergraph, measure};

fn supergraph() -> Supergraph {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/movies/supergraph.graphql"
    );
    Supergraph::parse(&std::fs::read_to_string(path).unwrap(), path).unwrap()
}

fn measured(query: &str) -> switchyard_graphql::Measure {
    let sg = supergraph();
    let doc = ExecutableDocument::parse_and_validate(&sg.api, query, "q.graphql").unwrap();
    let operation = doc.operations.iter().next().unwrap();
    measure(&doc, operation)
}

#[test]
fn depth_counts_nested_fields_through_fragments() {
    let m = measured("{ movies { ...F } } fragment F on Movie { cast { movies { title } } }");
    assert_eq!(m.depth, 4);
}

#[test]
fn aliases_and_root_fields_are_counted() {
    let m = measured("{ a: movies { t: title } b: movie(id: 1) { title } }");
    assert_eq!(m.aliases, 3);
    assert_eq!(m.root_fields, 2);
}

#[test]
fn cost_multiplies_under_lists() {
    // movies (1) + 10 x (title 1 + cast (1 + 10 x name 1)) = 1 + 10 x 12 = 121
    let m = measured("{ movies { title cast { name } } }");
    assert_eq!(m.cost, 121);
}

#[test]
fn check_names_the_first_limit_exceeded() {
    let sg = supergraph();
    let doc = ExecutableDocument::parse_and_validate(&sg.api, "{ movies { cast { name } } }", "q")
        .unwrap();
    let op = doc.operations.iter().next().unwrap();
    let tight = Limits {
        max_depth: Some(2),
        ..Limits::default()
    };
    assert!(tight.check(&doc, op).unwrap_err().contains("depth 3"));
    assert!(Limits::default().check(&doc, op).is_ok());
}

#[test]
fn cost_is_limited_only_when_set() {
    let sg = supergraph();
    let query = "{ movies { title cast { name } } }";
    let doc = ExecutableDocument::parse_and_validate(&sg.api, query, "q").unwrap();
    let op = doc.operations.iter().next().unwrap();
    assert!(
        Limits::default().check(&doc, op).is_ok(),
        "no cost limit by default"
    );
    let capped = Limits {
        max_cost: Some(100),
        ..Limits::default()
    };
    assert!(capped.check(&doc, op).unwrap_err().contains("cost 121"));
}
