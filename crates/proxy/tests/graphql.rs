//! Federated GraphQL end to end: real subgraph servers on loopback behind clusters, the gateway
//! planning and executing every fixture query, answers compared with the hand-checked results.

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use serde_json::{Map, Value, json};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use switchyard_testkit::{Subgraph, SubgraphOptions, TestGateway};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../graphql/tests/fixtures")
}

/// The `@requires` fields the fixtures compute (formulas in fixtures/README.md).
fn computed(
    _ty: &str,
    field: &str,
    object: &Map<String, Value>,
    _args: &Map<String, Value>,
) -> Option<Value> {
    let int = |v: Option<&Value>| v.and_then(Value::as_i64);
    match field {
        "shippingEstimate" => {
            let (price, weight) = (int(object.get("price"))?, int(object.get("weight"))?);
            Some(json!(if price > 1000 { 0 } else { weight / 2 }))
        }
        "shippingCost" => {
            let weight = int(object.get("weight"))?;
            let d = object.get("dimensions")?;
            let volume = int(d.get("width"))? * int(d.get("height"))? * int(d.get("depth"))?;
            Some(json!(500 + weight / 10 + volume / 1000))
        }
        "totalCost" => {
            let (price, cost) = (int(object.get("price"))?, int(object.get("shippingCost"))?);
            Some(json!(price + cost))
        }
        _ => None,
    }
}

/// A running federated graph: its subgraph servers and a gateway in front.
struct Graph {
    subgraphs: Vec<Subgraph>,
    gateway: TestGateway,
}

async fn start_graph(dir: &Path, supergraph: &str) -> Graph {
    let mut subgraphs = Vec::new();
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    for data_file in names {
        let name = data_file.file_stem().unwrap().to_str().unwrap().to_owned();
        let sdl = fs::read_to_string(data_file.with_extension("graphql")).unwrap();
        let data: Value = serde_json::from_str(&fs::read_to_string(&data_file).unwrap()).unwrap();
        let options = SubgraphOptions {
            computed: Some(Arc::new(computed)),
            ..SubgraphOptions::default()
        };
        subgraphs.push(Subgraph::start_with(&name, &sdl, data, options).await);
    }
    let clusters: Vec<String> = subgraphs
        .iter()
        .map(|s| {
            format!(
                "  - {{name: {}, endpoints: [{{address: '{}'}}]}}",
                s.name(),
                s.address()
            )
        })
        .collect();
    let yaml = format!(
        "listeners: [{{name: public, address: '127.0.0.1:0'}}]\n\
         access_log: {{to: 'off'}}\n\
         routes:\n  - name: graph\n    graphql: {{supergraph: '{}', expose_subgraph_errors: true}}\n\
         clusters:\n{}\n",
        dir.join(supergraph).display(),
        clusters.join("\n")
    );
    let gateway = TestGateway::start(&yaml).await;
    Graph { subgraphs, gateway }
}

async fn post(gateway: &TestGateway, body: &Value) -> (u16, Value) {
    let client = gateway.client();
    let request = client
        .request(Method::POST, "", "/graphql")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let reply = client.send(request).await.unwrap();
    (reply.status, reply.json())
}

/// Errors compared by message and path only (fixtures/README.md).
fn comparable(mut response: Value) -> Value {
    if let Some(Value::Array(errors)) = response.get_mut("errors") {
        for e in errors.iter_mut() {
            let keep = json!({"message": e["message"], "path": e.get("path").cloned().unwrap_or(Value::Null)});
            *e = keep;
        }
    }
    response
}

async fn check_graph(name: &str, supergraph: &str) {
    let dir = fixtures().join(name);
    let graph = start_graph(&dir, supergraph).await;
    let mut queries: Vec<PathBuf> = fs::read_dir(dir.join("queries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .collect();
    queries.sort();
    let mut failures = Vec::new();
    for query in &queries {
        let text = fs::read_to_string(query).unwrap();
        let variables: Value = fs::read_to_string(query.with_extension("variables.json"))
            .map(|v| serde_json::from_str(&v).unwrap())
            .unwrap_or(json!({}));
        let expected: Value = serde_json::from_str(
            &fs::read_to_string(query.with_extension("expected.json")).unwrap(),
        )
        .unwrap();
        let (status, actual) = post(
            &graph.gateway,
            &json!({"query": text, "variables": variables}),
        )
        .await;
        if status != 200 || comparable(actual.clone()) != comparable(expected.clone()) {
            failures.push(format!(
                "{}: status {status}\n  expected {}\n  actual   {}",
                query.display(),
                comparable(expected),
                actual
            ));
        }
    }
    if !failures.is_empty() && std::env::var_os("SHOW_SUBGRAPH_REQUESTS").is_some() {
        for s in &graph.subgraphs {
            eprintln!("{}: {:#?}", s.name(), s.requests());
        }
    }
    drop(graph.subgraphs);
    assert!(
        failures.is_empty(),
        "{} of {} queries differ:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn movies_graph_answers_every_fixture_query() {
    check_graph("movies", "supergraph.graphql").await;
}

#[tokio::test]
async fn products_graph_answers_every_fixture_query() {
    check_graph("products", "supergraph.graphql").await;
}

#[tokio::test]
async fn abstract_types_graph_answers_every_fixture_query() {
    check_graph("abstract", "supergraph.graphql").await;
}

#[tokio::test]
async fn keys_graph_answers_every_fixture_query() {
    check_graph("keys", "supergraph.graphql").await;
}

#[tokio::test]
async fn requires_graph_answers_every_fixture_query() {
    check_graph("requires", "supergraph.graphql").await;
}

#[tokio::test]
async fn federation_1_graph_answers_every_fixture_query() {
    check_graph("fed1", "supergraph.graphql").await;
}

#[tokio::test]
async fn join_v0_1_supergraph_answers_every_fixture_query() {
    check_graph("fed1", "supergraph-join-v0.1.graphql").await;
}

#[tokio::test]
async fn federation_benchmark_graph_answers_every_fixture_query() {
    check_graph("federation", "supergraph.graphql").await;
}

/// A plan step asks each subgraph once: sibling entity fetches to one subgraph are batched. The
/// plan's second inventory fetch (for the reviewed products) asks what the first one (for the top
/// products) already answered in this request, the same products: it makes no call.
#[tokio::test]
async fn a_plan_step_asks_each_subgraph_once_and_answered_entities_are_not_asked_again() {
    let dir = fixtures().join("federation");
    let graph = start_graph(&dir, "supergraph.graphql").await;
    let text = fs::read_to_string(dir.join("queries/federation.graphql")).unwrap();
    let (status, answer) = post(&graph.gateway, &json!({"query": text})).await;
    assert_eq!(status, 200);
    assert!(answer.get("errors").is_none(), "{answer}");
    let counts: Vec<(String, usize)> = graph
        .subgraphs
        .iter()
        .map(|s| (s.name().to_owned(), s.request_count()))
        .collect();
    let expected = [
        ("accounts", 2),
        ("inventory", 1),
        ("products", 2),
        ("reviews", 1),
    ];
    let expected: Vec<(String, usize)> =
        expected.iter().map(|(n, c)| (n.to_string(), *c)).collect();
    assert_eq!(counts, expected);
}
