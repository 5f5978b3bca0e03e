//! The GraphQL route's behaviour beyond answering queries: GraphQL over HTTP details, limits,
//! persisted queries, error masking, subgraph failures, deadlines, balancing and reloads.

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use switchyard_testkit::{Reply, Subgraph, SubgraphOptions, TestGateway};

const DEMO: &str = "{ movie(id: \"2\") { title production { name } cast { name } } }";

fn movies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../graphql/tests/fixtures/movies")
}

async fn subgraph(name: &str, options: SubgraphOptions) -> Subgraph {
    let dir = movies_dir();
    let sdl = std::fs::read_to_string(dir.join(format!("{name}.graphql"))).unwrap();
    let data = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
    Subgraph::start_with(name, &sdl, serde_json::from_str(&data).unwrap(), options).await
}

/// The movie graph with `talent` served by the given instances, and extra route settings.
async fn gateway(talent: &[&Subgraph], others: &[&Subgraph], route_extra: &str) -> TestGateway {
    let endpoints = |subgraphs: &[&Subgraph]| {
        subgraphs
            .iter()
            .map(|s| format!("{{address: '{}'}}", s.address()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut clusters = vec![format!(
        "  - {{name: talent, balancer: round_robin, endpoints: [{}]}}",
        endpoints(talent)
    )];
    for s in others {
        clusters.push(format!(
            "  - {{name: {}, endpoints: [{}]}}",
            s.name(),
            endpoints(&[s])
        ));
    }
    let yaml = format!(
        "listeners: [{{name: public, address: '127.0.0.1:0'}}]\n\
         access_log: {{to: 'off'}}\n\
         routes:\n  - name: graph\n    match: {{path: {{exact: /graphql}}}}\n    graphql: {{supergraph: '{}'{route_extra}}}\n\
         clusters:\n{}\n",
        movies_dir().join("supergraph.graphql").display(),
        clusters.join("\n")
    );
    TestGateway::start(&yaml).await
}

async fn post(gateway: &TestGateway, body: Value, accept: Option<&str>) -> Reply {
    let client = gateway.client();
    let mut request = client
        .request(Method::POST, "", "/graphql")
        .header("content-type", "application/json");
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    client.send(request).await.unwrap()
}

struct Movies {
    movies: Subgraph,
    productions: Subgraph,
    talent: Subgraph,
}

async fn movies() -> Movies {
    Movies {
        movies: subgraph("movies", SubgraphOptions::default()).await,
        productions: subgraph("productions", SubgraphOptions::default()).await,
        talent: subgraph("talent", SubgraphOptions::default()).await,
    }
}

async fn standard(m: &Movies, extra: &str) -> TestGateway {
    gateway(&[&m.talent], &[&m.movies, &m.productions], extra).await
}

#[tokio::test]
async fn get_serves_queries_and_refuses_mutations_and_other_methods() {
    let m = movies().await;
    let gw = standard(&m, "").await;
    let reply = gw
        .get("/graphql?query=%7B%20movies%20%7B%20title%20%7D%20%7D")
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["data"]["movies"][0]["title"], "Night Freight");
    assert_eq!(
        reply.header("content-type"),
        Some("application/graphql-response+json")
    );
    let client = gw.client();
    let put = client
        .request(Method::PUT, "", "/graphql")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let reply = client.send(put).await.unwrap();
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, POST"));
}

#[tokio::test]
async fn request_errors_are_400_for_graphql_response_json_and_200_for_plain_json() {
    let m = movies().await;
    let gw = standard(&m, "").await;
    let bad = json!({"query": "{ movies { nope } }"});
    let reply = post(&gw, bad.clone(), None).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert!(reply.json().get("data").is_none());
    let reply = post(&gw, bad, Some("application/json")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let reply = post(&gw, json!({"query": "{ movie(id: $id) { title } }"}), None).await;
    assert_eq!(reply.status, 400);
    let not_json = post(&gw, json!("just a string"), None).await;
    assert_eq!(not_json.status, 400);
    assert_eq!(
        not_json.json()["errors"][0]["extensions"]["code"],
        "BAD_REQUEST"
    );
}

#[tokio::test]
async fn variables_are_coerced_and_checked() {
    let m = movies().await;
    let gw = standard(&m, "").await;
    let query = "query($id: ID!) { movie(id: $id) { title } }";
    let ok = post(&gw, json!({"query": query, "variables": {"id": "1"}}), None).await;
    assert_eq!(ok.json()["data"]["movie"]["title"], "Night Freight");
    let missing = post(&gw, json!({"query": query}), None).await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.json()["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn limits_reject_operations_before_any_subgraph_is_asked() {
    let m = movies().await;
    let gw = standard(&m, ", limits: {max_depth: 3, max_aliases: 1}").await;
    let deep = "{ movies { cast { movies { cast { name } } } } }";
    let reply = post(&gw, json!({"query": deep}), None).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    let error = &reply.json()["errors"][0];
    assert_eq!(error["extensions"]["code"], "OPERATION_LIMIT_EXCEEDED");
    assert!(error["message"].as_str().unwrap().contains("depth 5"));
    let aliases = "{ a: movies { id } b: movies { id } }";
    let reply = post(&gw, json!({"query": aliases}), None).await;
    assert_eq!(reply.status, 400);
    assert_eq!(m.movies.request_count(), 0);
    let fine = post(&gw, json!({"query": "{ movies { cast { name } } }"}), None).await;
    assert_eq!(fine.status, 200);
}

#[tokio::test]
async fn automatic_persisted_queries_register_then_answer_by_hash() {
    let m = movies().await;
    let gw = standard(&m, "").await;
    let query = "{ movies { title } }";
    let hash = switchyard_graphql::sha256_hex(query);
    let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let unknown = post(&gw, json!({"extensions": ext}), None).await;
    assert_eq!(
        unknown.json()["errors"][0]["message"],
        "PersistedQueryNotFound"
    );
    let register = post(&gw, json!({"query": query, "extensions": ext}), None).await;
    assert_eq!(
        register.json()["data"]["movies"][0]["title"],
        "Night Freight"
    );
    let by_hash = post(&gw, json!({"extensions": ext}), None).await;
    assert_eq!(
        by_hash.json()["data"]["movies"][0]["title"],
        "Night Freight"
    );
    let wrong = json!({"persistedQuery": {"version": 1, "sha256Hash": "00"}});
    let mismatch = post(&gw, json!({"query": query, "extensions": wrong}), None).await;
    assert_eq!(mismatch.status, 400);
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let m = movies().await;
    let on = standard(&m, "").await;
    let query = json!({"query": "{ __schema { queryType { name } } }"});
    let reply = post(&on, query.clone(), None).await;
    assert_eq!(
        reply.json()["data"]["__schema"]["queryType"]["name"],
        "Query"
    );
    let off = standard(&m, ", introspection: false").await;
    let reply = post(&off, query, None).await;
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["code"],
        "INTROSPECTION_DISABLED"
    );
}

#[tokio::test]
async fn a_failed_subgraph_gives_partial_data_with_redacted_errors_at_client_paths() {
    let m = movies().await;
    let broken = SubgraphOptions {
        status: Some(500),
        ..SubgraphOptions::default()
    };
    let productions = subgraph("productions", broken).await;
    let gw = gateway(&[&m.talent], &[&m.movies, &productions], "").await;
    let reply = post(&gw, json!({"query": DEMO}), None).await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["data"]["movie"]["title"], "The Switchman");
    assert_eq!(body["data"]["movie"]["cast"][0]["name"], "Ada Brennan");
    assert!(body["data"]["movie"]["production"].is_null());
    let error = &body["errors"][0];
    assert_eq!(error["path"], json!(["movie"]));
    assert_eq!(error["extensions"]["service"], "productions");
    assert!(error["message"].as_str().unwrap().contains("productions"));
}

#[tokio::test]
async fn subgraph_error_messages_are_redacted_unless_exposed() {
    let m = movies().await;
    let query = json!({"query": "{ talent(id: \"t6\") { name born } }"});
    let masked = standard(&m, "").await;
    let body = post(&masked, query.clone(), None).await.json();
    let messages: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.iter().all(|m| *m == "Subgraph errors redacted"),
        "{body}"
    );
    let exposed = standard(&m, ", expose_subgraph_errors: true").await;
    let body = post(&exposed, query, None).await.json();
    assert_ne!(
        body["errors"][0]["message"], "Subgraph errors redacted",
        "{body}"
    );
}

#[tokio::test]
async fn the_operation_deadline_cuts_slow_subgraphs_off_and_keeps_the_rest() {
    let m = movies().await;
    let slow = SubgraphOptions {
        latency: Duration::from_millis(2000),
        ..SubgraphOptions::default()
    };
    let talent = subgraph("talent", slow).await;
    let gw = gateway(&[&talent], &[&m.movies, &m.productions], ", timeout: 200ms").await;
    // The slow subgraph's fetch fails at the deadline. `cast` is non-null, so the null
    // propagates to the nullable `movie`; a query not needing talent still answers in full.
    let reply = post(&gw, json!({"query": DEMO}), None).await;
    let body = reply.json();
    assert!(body["data"]["movie"].is_null(), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "GATEWAY_TIMEOUT");
    assert_eq!(body["errors"][0]["path"], json!(["movie"]));
    let without_talent = json!({"query": "{ movie(id: \"2\") { title production { name } } }"});
    let body = post(&gw, without_talent, None).await.json();
    assert_eq!(
        body["data"]["movie"]["production"]["name"],
        "Ironhorse Pictures"
    );
}

#[tokio::test]
async fn subgraph_calls_are_balanced_over_the_cluster() {
    let m = movies().await;
    let second = subgraph("talent", SubgraphOptions::default()).await;
    let gw = gateway(&[&m.talent, &second], &[&m.movies, &m.productions], "").await;
    for _ in 0..10 {
        let reply = post(&gw, json!({"query": DEMO}), None).await;
        assert_eq!(
            reply.json()["data"]["movie"]["cast"][0]["name"],
            "Ada Brennan"
        );
    }
    assert_eq!(m.talent.request_count(), 5);
    assert_eq!(second.request_count(), 5);
}

#[tokio::test]
async fn entity_representations_are_deduplicated() {
    let m = movies().await;
    let gw = standard(&m, "").await;
    // Every movie's cast lists talent whose movies repeat: each distinct movie is asked once.
    let query = "{ movies { cast { movies { title } } } }";
    let reply = post(&gw, json!({"query": query}), None).await;
    assert_eq!(reply.status, 200);
    let last = m.movies.requests().last().cloned().unwrap();
    let reps = last["variables"]["representations"]
        .as_array()
        .unwrap()
        .clone();
    let mut unique = reps.clone();
    unique.dedup();
    unique.sort_by_key(|r| r["id"].as_str().unwrap().to_owned());
    unique.dedup();
    assert_eq!(reps.len(), unique.len(), "{reps:?}");
}

#[tokio::test]
async fn a_broken_supergraph_is_refused_on_reload_and_the_last_good_one_keeps_serving() {
    let m = movies().await;
    let dir = std::env::temp_dir().join(format!("sy-graphql-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let supergraph = dir.join("supergraph.graphql");
    let good = std::fs::read_to_string(movies_dir().join("supergraph.graphql")).unwrap();
    std::fs::write(&supergraph, &good).unwrap();
    let config = dir.join("switchyard.yaml");
    let clusters = [&m.movies, &m.productions, &m.talent]
        .iter()
        .map(|s| {
            format!(
                "  - {{name: {}, endpoints: [{{address: '{}'}}]}}",
                s.name(),
                s.address()
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let yaml = format!(
        "listeners: [{{name: public, address: '127.0.0.1:0'}}]\naccess_log: {{to: 'off'}}\n\
         routes:\n  - name: graph\n    graphql: {{supergraph: supergraph.graphql}}\nclusters:\n{clusters}\n"
    );
    std::fs::write(&config, &yaml).unwrap();
    let gw =
        TestGateway::start(&yaml.replace("supergraph.graphql", &supergraph.display().to_string()))
            .await;
    let handle = gw.reload_handle();
    let query = json!({"query": "{ movies { title } }"});
    // Broken: the reload is refused, naming the config file, line and field.
    std::fs::write(&supergraph, "type Query { broken }").unwrap();
    let error = handle.reload_file(&config).unwrap_err().to_string();
    assert!(error.contains("switchyard.yaml:5:"), "{error}");
    assert!(error.contains("routes[0].graphql.supergraph"), "{error}");
    let body = post(&gw, query.clone(), None).await.json();
    assert_eq!(body["data"]["movies"][0]["title"], "Night Freight");
    // Changed and valid: `Movie.year` made @inaccessible disappears from the API schema.
    let changed = good.replacen("year: Int", "year: Int @inaccessible", 1);
    assert_ne!(changed, good, "the fixture has a Movie.year field");
    let changed = changed.replacen(
        "@link(url: \"https://specs.apollo.dev/join/v0.4\", for: EXECUTION)",
        "@link(url: \"https://specs.apollo.dev/join/v0.4\", for: EXECUTION)\n  @link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)",
        1,
    );
    let changed = format!(
        "{changed}\ndirective @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION\n"
    );
    std::fs::write(&supergraph, changed).unwrap();
    handle.reload_file(&config).unwrap();
    let year = json!({"query": "{ movies { year } }"});
    let body = post(&gw, year, None).await.json();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{body}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn headers_are_propagated_per_rule_and_every_set_cookie_comes_back() {
    let cookie = |value: &str| SubgraphOptions {
        response_headers: vec![("set-cookie".into(), value.into())],
        ..SubgraphOptions::default()
    };
    let movies = subgraph("movies", cookie("a=1")).await;
    let productions = subgraph("productions", SubgraphOptions::default()).await;
    let talent = subgraph("talent", cookie("b=2")).await;
    let rules = ", headers: {propagate: [authorization], set: {x-gateway: sy}, response: [set-cookie]}, \
                 subgraph_headers: {talent: {set: {x-talent: '1'}}}";
    let gw = gateway(&[&talent], &[&movies, &productions], rules).await;
    let client = gw.client();
    let request = client
        .request(Method::POST, "", "/graphql")
        .header("content-type", "application/json")
        .header("authorization", "Bearer token")
        .header("x-private", "not for subgraphs")
        .body(Full::new(Bytes::from(json!({"query": DEMO}).to_string())))
        .unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.status, 200);
    let mut cookies: Vec<&str> = response
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    cookies.sort_unstable();
    assert_eq!(cookies, ["a=1", "b=2"]);
    let sent = &talent.request_headers()[0];
    assert_eq!(sent["authorization"], "Bearer token");
    assert_eq!(sent["x-gateway"], "sy");
    assert_eq!(sent["x-talent"], "1");
    assert!(sent.get("x-private").is_none());
    let to_movies = &movies.request_headers()[0];
    assert!(to_movies.get("x-talent").is_none());
    assert_eq!(to_movies["authorization"], "Bearer token");
}

#[tokio::test]
async fn allow_list_mode_runs_only_the_manifest_operations() {
    let m = movies().await;
    let allowed = "{ movies { title } }";
    let id = switchyard_graphql::sha256_hex(allowed);
    let manifest = json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": id, "body": allowed, "name": "Titles", "type": "query"}]
    });
    let file = std::env::temp_dir().join(format!("sy-manifest-{}.json", std::process::id()));
    std::fs::write(&file, manifest.to_string()).unwrap();
    let extra = format!(
        ", persisted_queries: {{manifest: '{}', only: true}}",
        file.display()
    );
    let gw = standard(&m, &extra).await;
    let by_id = json!({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": id}}});
    let body = post(&gw, by_id, None).await.json();
    assert_eq!(
        body["data"]["movies"][0]["title"], "Night Freight",
        "{body}"
    );
    let by_text = post(&gw, json!({"query": allowed}), None).await.json();
    assert_eq!(by_text["data"]["movies"][0]["title"], "Night Freight");
    let other = post(&gw, json!({"query": "{ movies { id } }"}), None).await;
    assert_eq!(other.status, 400);
    assert_eq!(
        other.json()["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_IN_LIST"
    );
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn a_fetch_under_a_false_condition_is_never_sent() {
    let m = movies().await;
    let gw = standard(&m, "").await;
    let query = "query($skip: Boolean!, $cast: Boolean!) { movie(id: \"2\") { title \
                 production @skip(if: $skip) { name } cast @include(if: $cast) { name } } }";
    let vars = json!({"skip": true, "cast": false});
    let body = post(&gw, json!({"query": query, "variables": vars}), None)
        .await
        .json();
    assert_eq!(body, json!({"data": {"movie": {"title": "The Switchman"}}}));
    assert_eq!(m.productions.request_count(), 0);
    assert_eq!(m.talent.request_count(), 0);
    let vars = json!({"skip": false, "cast": true});
    let body = post(&gw, json!({"query": query, "variables": vars}), None)
        .await
        .json();
    assert_eq!(
        body["data"]["movie"]["production"]["name"],
        "Ironhorse Pictures"
    );
    assert_eq!(m.productions.request_count(), 1);
    assert_eq!(m.talent.request_count(), 1);
}

#[tokio::test]
async fn the_operation_name_selects_one_of_several_operations() {
    let m = movies().await;
    let gw = standard(&m, "").await;
    let doc = "query Titles { movies { title } } query Count { __typename movies { id } }";
    let body = post(&gw, json!({"query": doc, "operationName": "Count"}), None)
        .await
        .json();
    assert_eq!(body["data"]["__typename"], "Query");
    assert_eq!(body["data"]["movies"][0], json!({"id": "1"}));
    let unnamed = post(&gw, json!({"query": doc}), None).await;
    assert_eq!(unnamed.status, 400);
    let unknown = post(&gw, json!({"query": doc, "operationName": "Nope"}), None).await;
    assert_eq!(unknown.status, 400);
}

/// A "subgraph" that answers every request with 200 and `body`.
async fn garbage_server(body: &'static str) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    if socket.write_all(head.as_bytes()).await.is_err()
                        || socket.write_all(body.as_bytes()).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (address, task)
}

#[tokio::test]
async fn malformed_subgraph_answers_become_errors_not_panics() {
    let m = movies().await;
    for body in [
        "not json at all",
        "[1, 2, 3]",
        "{\"neither\": true}",
        "{\"data\": 7}",
    ] {
        let (address, task) = garbage_server(body).await;
        let yaml = format!(
            "listeners: [{{name: public, address: '127.0.0.1:0'}}]\naccess_log: {{to: 'off'}}\n\
             routes:\n  - name: graph\n    graphql: {{supergraph: '{}'}}\n\
             clusters:\n  - {{name: movies, endpoints: [{{address: '{}'}}]}}\n  \
             - {{name: productions, endpoints: [{{address: '{address}'}}]}}\n  \
             - {{name: talent, endpoints: [{{address: '{}'}}]}}\n",
            movies_dir().join("supergraph.graphql").display(),
            m.movies.address(),
            m.talent.address(),
        );
        let gw = TestGateway::start(&yaml).await;
        let reply = post(&gw, json!({"query": DEMO}), None).await;
        assert_eq!(reply.status, 200, "{body}");
        let answer = reply.json();
        assert_eq!(
            answer["data"]["movie"]["title"], "The Switchman",
            "{body}: {answer}"
        );
        assert!(
            answer["data"]["movie"]["production"].is_null(),
            "{body}: {answer}"
        );
        assert_eq!(
            answer["errors"][0]["path"],
            json!(["movie"]),
            "{body}: {answer}"
        );
        assert_eq!(answer["errors"][0]["extensions"]["service"], "productions");
        task.abort();
    }
}

/// Subgraph calls made by 8 concurrent DEMO requests (the subgraphs answer in 300 ms, so the
/// requests overlap), and by one request alone.
async fn calls_for_concurrent_requests(route_extra: &str) -> (usize, usize) {
    let slow = SubgraphOptions {
        latency: Duration::from_millis(300),
        ..SubgraphOptions::default()
    };
    let (movies, productions, talent) = (
        subgraph("movies", slow.clone()).await,
        subgraph("productions", slow.clone()).await,
        subgraph("talent", slow).await,
    );
    let gw = gateway(&[&talent], &[&movies, &productions], route_extra).await;
    let calls = || movies.request_count() + productions.request_count() + talent.request_count();
    let reply = post(&gw, json!({"query": DEMO}), None).await;
    let expected = reply.json();
    let alone = calls();
    let replies =
        futures_util::future::join_all((0..8).map(|_| post(&gw, json!({"query": DEMO}), None)))
            .await;
    for reply in replies {
        assert_eq!(reply.json(), expected);
    }
    (calls() - alone, alone)
}

#[tokio::test]
async fn concurrent_identical_subgraph_calls_are_made_once() {
    let (concurrent, alone) = calls_for_concurrent_requests("").await;
    assert_eq!(alone, 3);
    // Ideally 3; a request that arrives after a shared call ended makes its own.
    assert!(concurrent <= 2 * alone, "{concurrent} calls for 8 requests");
    let (concurrent, alone) = calls_for_concurrent_requests(", dedupe: false").await;
    assert_eq!(concurrent, 8 * alone);
}

#[tokio::test]
async fn gateway_policies_guard_the_graphql_route_like_any_other() {
    let m = movies().await;
    let yaml = format!(
        "listeners: [{{name: public, address: '127.0.0.1:0', policies: [once]}}]\n\
         access_log: {{to: 'off'}}\n\
         policies: [{{name: once, rate_limit: {{requests: 1, per: 1m}}}}]\n\
         routes:\n  - name: graph\n    match: {{path: {{exact: /graphql}}}}\n    graphql: {{supergraph: '{}'}}\n\
         clusters:\n  - {{name: talent, endpoints: [{{address: '{}'}}]}}\n  - {{name: movies, endpoints: [{{address: '{}'}}]}}\n  - {{name: productions, endpoints: [{{address: '{}'}}]}}\n",
        movies_dir().join("supergraph.graphql").display(),
        m.talent.address(),
        m.movies.address(),
        m.productions.address(),
    );
    let gw = TestGateway::start(&yaml).await;
    let query = json!({"query": "{ movies { title } }"});
    let first = post(&gw, query.clone(), None).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("ratelimit"), Some("\"once\";r=0;t=60"));
    let second = post(&gw, query, None).await;
    assert_eq!(second.status, 429);
    assert_eq!(second.json()["reason"], "rate_limited");
}

#[tokio::test]
async fn a_mapping_naming_no_subgraph_of_a_supergraph_file_is_refused() {
    let yaml = format!(
        "listeners: [{{name: public, address: '127.0.0.1:0'}}]\n\
         access_log: {{to: 'off'}}\n\
         routes:\n  - name: graph\n    graphql: {{supergraph: '{}', subgraphs: {{talnet: talent}}}}\n\
         clusters:\n{}\n",
        movies_dir().join("supergraph.graphql").display(),
        ["movies", "productions", "talent"]
            .map(|n| format!("  - {{name: {n}, endpoints: [{{address: '127.0.0.1:9'}}]}}"))
            .join("\n"),
    );
    let config = switchyard_config::parse(&yaml, "test.yaml").unwrap();
    let error = switchyard_proxy::Gateway::start(&config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("subgraphs: `talnet` is not a subgraph of this supergraph"),
        "{error}"
    );
}
