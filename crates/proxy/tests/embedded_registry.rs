//! The schema registry embedded in the gateway process (`registry:` at the top of the config),
//! over real sockets: the route answers 503 until a first publish, subgraphs publish to the
//! gateway's own registry API (one by introspection), a version lacking a subgraph the route
//! maps still serves, a publish is served at once (woken, not polled: the route's poll is an
//! hour) under load with zero failures, writes need the token, and a restart on the same
//! SQLite file serves the stored version at once.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use movie_graph::{clusters, fixture, movies_without_year, ok, query, subgraphs};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use switchyard_registry::http::client::{self, Limits, Reply};
use switchyard_testkit::{Subgraph, TestGateway};

mod movie_graph;

const TOKEN: &str = "embedded-registry-test-token";

/// A gateway embedding a registry on `store` (a SQLite file), with a route following
/// `movies@prod` that polls only hourly.
fn config(store: &Path, subgraphs: &[Subgraph]) -> String {
    format!(
        "listeners: [{{name: public, address: '127.0.0.1:0'}}]\n\
         access_log: {{to: 'off'}}\n\
         admin: {{address: '127.0.0.1:0'}}\n\
         registry: {{address: '127.0.0.1:0', store: 'sqlite:{}', token: {TOKEN}}}\n\
         routes:\n  - name: graph\n    match: {{path: {{exact: /graphql}}}}\n    \
         graphql: {{registry: {{graph: movies, variant: prod, poll: 1h}}, \
         subgraphs: {{productions: productions, talent: talent}}}}\n\
         clusters:\n{}\n",
        store.display(),
        clusters(subgraphs)
    )
}

/// PUTs a subgraph to the gateway's registry: its SDL, or `None` to let the registry read it
/// from the subgraph's `_service { sdl }`.
async fn publish(
    registry: SocketAddr,
    token: Option<&str>,
    s: &Subgraph,
    sdl: Option<&str>,
) -> Reply {
    let mut headers = HeaderMap::new();
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        headers.insert("authorization", value);
    }
    let body = match sdl {
        Some(sdl) => json!({"url": s.url(), "sdl": sdl}),
        None => json!({"url": s.url(), "introspect": true}),
    };
    let url = format!(
        "http://{registry}/graphs/movies/variants/prod/subgraphs/{}",
        s.name()
    );
    client::send(
        Method::PUT,
        &url,
        headers,
        Bytes::from(body.to_string()),
        Limits::default(),
    )
    .await
    .unwrap()
}

const COALESCED: &str = "{ movie(id: \"2\") { title production { name } cast { name } } }";
const YEARS: &str = "{ movies { title year } }";

/// Waits (bounded) until `query` succeeds.
async fn until_served(gateway: &TestGateway, q: &str) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = query(gateway, q).await;
        if ok(&reply) {
            return reply;
        }
        assert!(Instant::now() < deadline, "never served: {reply:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_serves_what_is_published_to_its_own_registry() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data/registry.db");
    let subgraphs = subgraphs().await;
    let gateway = Arc::new(TestGateway::start(&config(&store, &subgraphs)).await);
    let registry = gateway.gateway().registry_address().unwrap();
    assert!(store.exists(), "the SQLite file is created on first start");

    // Nothing published yet: a clear 503, not a start failure.
    let (status, body) = query(&gateway, COALESCED).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "no_supergraph", "{body}");

    // Writes need the token.
    let refused = publish(
        registry,
        None,
        &subgraphs[0],
        Some(&fixture("movies.graphql")),
    )
    .await;
    assert_eq!(refused.status, 401, "{}", refused.text());

    let first = publish(
        registry,
        Some(TOKEN),
        &subgraphs[0],
        Some(&movies_without_year()),
    )
    .await;
    assert!(first.status.is_success(), "{}", first.text());
    // Version 1 has only `movies`; the route's mapping of subgraphs still to come does not
    // stop it from serving.
    until_served(&gateway, "{ movies { title } }").await;
    for s in &subgraphs[1..] {
        let reply = publish(registry, Some(TOKEN), s, None).await;
        assert!(reply.status.is_success(), "{}", reply.text());
    }
    let reply = until_served(&gateway, COALESCED).await;
    let movie = &reply.1["data"]["movie"];
    assert!(movie["production"]["name"].is_string(), "{movie}");
    assert!(movie["cast"][0]["name"].is_string(), "{movie}");
    assert!(
        !ok(&query(&gateway, YEARS).await),
        "year is not published yet"
    );

    // A change under load is served at once (the poll is an hour: the publish wakes the route).
    let sent = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let load = {
        let (gateway, sent, failed) = (gateway.clone(), sent.clone(), failed.clone());
        tokio::spawn(async move {
            loop {
                let reply = query(&gateway, COALESCED).await;
                sent.fetch_add(1, Ordering::Relaxed);
                if !ok(&reply) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let published = Instant::now();
    let change = publish(
        registry,
        Some(TOKEN),
        &subgraphs[0],
        Some(&fixture("movies.graphql")),
    )
    .await;
    assert!(change.status.is_success(), "{}", change.text());
    let reply = until_served(&gateway, YEARS).await;
    let elapsed = published.elapsed();
    assert_eq!(reply.1["data"]["movies"][0]["year"], 1987);
    tokio::time::sleep(Duration::from_millis(100)).await;
    load.abort();
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent > 20, "load sent only {sent}");
    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed out of {sent}");
    assert_eq!(
        gateway
            .metric("switchyard_supergraph_version{route=\"graph\"}")
            .await,
        Some(4.0)
    );
    eprintln!("publish to serving, embedded: {elapsed:?}; {sent} requests, 0 failed");

    // A restart on the same file serves the stored version from the first request.
    let gateway = Arc::into_inner(gateway).unwrap();
    assert!(gateway.shutdown(Duration::from_secs(1)).await);
    let again = TestGateway::start(&config(&store, &subgraphs)).await;
    assert!(ok(&query(&again, YEARS).await));
    assert!(again.shutdown(Duration::from_secs(1)).await);
}

#[tokio::test]
async fn a_route_without_url_fails_a_reload_into_a_gateway_started_without_a_registry() {
    let dir = tempfile::tempdir().unwrap();
    let with_registry = config(&dir.path().join("r.db"), &[])
        .replace("clusters:\n\n", "")
        .replace(
            ", subgraphs: {productions: productions, talent: talent}",
            "",
        );
    let without = "listeners: [{name: public, address: '127.0.0.1:0'}]\n\
                   access_log: {to: 'off'}\n\
                   routes: [{name: ok, respond: {status: 204}}]\n";
    let gateway = TestGateway::start(without).await;
    let parsed = switchyard_config::parse(&with_registry, "test.yaml").unwrap();
    let error = gateway
        .reload_handle()
        .reload_fetching(&parsed)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("route `graph`"), "{error}");
    assert!(error.contains("without an embedded registry"), "{error}");
    assert_eq!(
        gateway.get("/").await.status,
        204,
        "the running config stays"
    );
}
