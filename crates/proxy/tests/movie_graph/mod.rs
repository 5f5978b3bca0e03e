//! Shared by the registry tests: the movies fixture graph's subgraphs (real testkit servers),
//! their clusters as config, and a GraphQL query against a test gateway.
#![allow(dead_code)] // each test file uses its own part

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use switchyard_testkit::{Subgraph, TestGateway};

pub fn movies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../graphql/tests/fixtures/movies")
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(movies_dir().join(name)).unwrap()
}

/// The movies subgraph's SDL without `Movie.year` (the "before" of a change).
pub fn movies_without_year() -> String {
    fixture("movies.graphql").replace("  year: Int\n", "")
}

/// The movies, productions and talent subgraphs, started on loopback.
pub async fn subgraphs() -> Vec<Subgraph> {
    let mut out = Vec::new();
    for name in ["movies", "productions", "talent"] {
        let data: Value = serde_json::from_str(&fixture(&format!("{name}.json"))).unwrap();
        out.push(Subgraph::start(name, &fixture(&format!("{name}.graphql")), data).await);
    }
    out
}

/// One cluster per subgraph, named after it, as YAML list items.
pub fn clusters(subgraphs: &[Subgraph]) -> String {
    subgraphs
        .iter()
        .map(|s| {
            format!(
                "  - {{name: {}, endpoints: [{{address: '{}'}}]}}",
                s.name(),
                s.address()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// POSTs `query` to `/graphql`: the status and the JSON answer (`Null` if not JSON).
pub async fn query(gateway: &TestGateway, query: &str) -> (u16, Value) {
    let client = gateway.client();
    let request = client
        .request(Method::POST, "", "/graphql")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(json!({"query": query}).to_string())))
        .unwrap();
    let reply = client.send(request).await.unwrap();
    let body = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    (reply.status, body)
}

/// A 200 with data and no errors.
pub fn ok(reply: &(u16, Value)) -> bool {
    reply.0 == 200 && reply.1.get("errors").is_none() && reply.1["data"].is_object()
}
