//! A GraphQL route that takes its supergraph from a registry variant, over real sockets: a
//! registry on SQLite in-process, testkit subgraphs, a gateway polling every 50 ms. A published
//! change is picked up under load with zero failed requests; a registry that is down changes
//! nothing; a version whose supergraph does not load is rejected once and the last good one
//! keeps serving.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::Full;
use movie_graph::{clusters, fixture, movies_without_year, ok, query, subgraphs};
use serde_json::json;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchyard_registry::http::client::{self, Limits};
use switchyard_registry::{ServerConfig, SqliteStore, Store, serve, system_now};
use switchyard_testkit::{Subgraph, TestGateway};

mod movie_graph;
use tokio::net::TcpListener;

struct Registry {
    base: String,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

async fn registry() -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("registry.db"), system_now())
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = serve(listener, store, ServerConfig::default(), async {
            let _ = stopped.await;
        })
        .await;
    });
    Registry {
        base,
        _dir: dir,
        stop: Some(stop),
        task,
    }
}

impl Registry {
    async fn publish(&self, name: &str, url: &str, sdl: &str) {
        let mut headers = HeaderMap::new();
        headers.insert("x-registry-author", HeaderValue::from_static("test"));
        let body = json!({"url": url, "sdl": sdl, "message": format!("publish {name}")});
        let url = format!("{}/graphs/movies/variants/prod/subgraphs/{name}", self.base);
        let reply = client::send(
            Method::PUT,
            &url,
            headers,
            Bytes::from(body.to_string()),
            Limits::default(),
        )
        .await
        .unwrap();
        assert!(reply.status.is_success(), "{}", reply.text());
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

fn config(registry: &str, subgraphs: &[Subgraph]) -> String {
    format!(
        "listeners: [{{name: public, address: '127.0.0.1:0'}}]\n\
         access_log: {{to: 'off'}}\n\
         admin: {{address: '127.0.0.1:0'}}\n\
         routes:\n  - name: graph\n    match: {{path: {{exact: /graphql}}}}\n    \
         graphql: {{registry: {{url: '{registry}', graph: movies, variant: prod, poll: 50ms}}}}\n\
         clusters:\n{}\n",
        clusters(subgraphs)
    )
}

const TITLES: &str = "{ movies { title } }";
const YEARS: &str = "{ movies { title year } }";

/// Sends `TITLES` continuously until stopped; counts failures.
fn load(
    gateway: &Arc<TestGateway>,
) -> (
    Arc<AtomicUsize>,
    Arc<AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    let sent = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let task = {
        let (gateway, sent, failed) = (gateway.clone(), sent.clone(), failed.clone());
        tokio::spawn(async move {
            loop {
                let reply = query(&gateway, TITLES).await;
                sent.fetch_add(1, Ordering::Relaxed);
                if !ok(&reply) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    (sent, failed, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_change_is_served_under_load_and_a_stopped_registry_changes_nothing() {
    let subgraphs = subgraphs().await;
    let registry = registry().await;
    registry
        .publish("movies", &subgraphs[0].url(), &movies_without_year())
        .await;
    for s in &subgraphs[1..] {
        registry
            .publish(
                s.name(),
                &s.url(),
                &fixture(&format!("{}.graphql", s.name())),
            )
            .await;
    }
    let gateway = Arc::new(TestGateway::start(&config(&registry.base, &subgraphs)).await);
    assert!(ok(&query(&gateway, TITLES).await));
    let before = query(&gateway, YEARS).await;
    assert!(!ok(&before), "year is not in version 3: {before:?}");
    assert_eq!(
        gateway
            .metric("switchyard_supergraph_version{route=\"graph\"}")
            .await,
        Some(3.0)
    );

    let (sent, failed, task) = load(&gateway);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let published = Instant::now();
    registry
        .publish("movies", &subgraphs[0].url(), &fixture("movies.graphql"))
        .await;
    let deadline = published + Duration::from_secs(10);
    loop {
        let reply = query(&gateway, YEARS).await;
        if ok(&reply) {
            assert_eq!(reply.1["data"]["movies"][0]["year"], 1987);
            break;
        }
        assert!(Instant::now() < deadline, "year never served: {reply:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = published.elapsed();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        gateway
            .metric("switchyard_supergraph_updates_total{route=\"graph\",outcome=\"applied\"}")
            .await,
        Some(1.0)
    );
    assert_eq!(
        gateway
            .metric("switchyard_supergraph_version{route=\"graph\"}")
            .await,
        Some(4.0)
    );

    // The registry goes away: traffic is unaffected, the new field keeps working.
    registry.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(ok(&query(&gateway, YEARS).await));
    let fetch_failed = gateway
        .metric("switchyard_supergraph_updates_total{route=\"graph\",outcome=\"fetch_failed\"}")
        .await
        .unwrap_or(0.0);
    assert!(fetch_failed >= 2.0, "{fetch_failed}");

    task.abort();
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent > 50, "load sent only {sent}");
    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed out of {sent}");
    eprintln!("publish to serving at 50ms poll: {elapsed:?}; {sent} requests, 0 failed");
}

/// A registry stand-in that serves whatever `(version, sdl)` it is given, honouring
/// `If-None-Match`; counts the 200 answers per version.
#[derive(Default)]
struct Fake {
    current: Mutex<(u64, String)>,
    full_answers: Mutex<Vec<u64>>,
    requests: AtomicUsize,
}

async fn fake_registry(fake: Arc<Fake>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let fake = fake.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let fake = fake.clone();
                        async move {
                            fake.requests.fetch_add(1, Ordering::Relaxed);
                            let (version, sdl) = fake.current.lock().unwrap().clone();
                            let etag = format!("\"{version}\"");
                            let mut response = if req
                                .headers()
                                .get("if-none-match")
                                .and_then(|v| v.to_str().ok())
                                == Some(etag.as_str())
                            {
                                http::Response::builder()
                                    .status(StatusCode::NOT_MODIFIED)
                                    .body(Full::new(Bytes::new()))
                            } else {
                                fake.full_answers.lock().unwrap().push(version);
                                http::Response::builder()
                                    .status(StatusCode::OK)
                                    .body(Full::new(Bytes::from(sdl)))
                            }
                            .unwrap();
                            response
                                .headers_mut()
                                .insert("etag", HeaderValue::from_str(&etag).unwrap());
                            Ok::<_, Infallible>(response)
                        }
                    });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supergraph_that_does_not_load_is_rejected_once_and_the_last_good_one_serves() {
    let subgraphs = subgraphs().await;
    let fake = Arc::new(Fake::default());
    let supergraph = fixture("supergraph.graphql");
    *fake.current.lock().unwrap() = (1, supergraph);
    let base = fake_registry(fake.clone()).await;
    let gateway = Arc::new(TestGateway::start(&config(&base, &subgraphs)).await);
    assert!(ok(&query(&gateway, YEARS).await));

    let (sent, failed, task) = load(&gateway);
    *fake.current.lock().unwrap() = (2, "type Query { this is not a supergraph".to_owned());
    let deadline = Instant::now() + Duration::from_secs(10);
    let rejected = "switchyard_supergraph_updates_total{route=\"graph\",outcome=\"rejected\"}";
    while gateway.metric(rejected).await.is_none() {
        assert!(Instant::now() < deadline, "version 2 never rejected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Several more polls: version 2 is not fetched (nor rejected) again.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(gateway.metric(rejected).await, Some(1.0));
    let twos = fake
        .full_answers
        .lock()
        .unwrap()
        .iter()
        .filter(|v| **v == 2)
        .count();
    assert_eq!(twos, 1);
    assert_eq!(
        gateway
            .metric("switchyard_supergraph_version{route=\"graph\"}")
            .await,
        Some(1.0)
    );
    assert!(ok(&query(&gateway, YEARS).await));
    task.abort();
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "out of {}",
        sent.load(Ordering::Relaxed)
    );
}

#[tokio::test]
async fn start_fails_naming_the_route_and_registry_when_there_is_no_supergraph() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let yaml = config(&base, &[]).replace("clusters:\n\n", "");
    let config = switchyard_config::parse(&yaml, "test.yaml").unwrap();
    let error = switchyard_proxy::Gateway::start(&config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("test.yaml:7:31: routes[0].graphql.registry: route `graph`: cannot fetch"),
        "{error}"
    );
    assert!(
        error.contains(&format!("{base}/graphs/movies/variants/prod/supergraph")),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_adds_a_registry_route_with_a_first_fetch_and_removing_it_stops_the_poller() {
    let subgraphs = subgraphs().await;
    let fake = Arc::new(Fake::default());
    *fake.current.lock().unwrap() = (7, fixture("supergraph.graphql"));
    let base = fake_registry(fake.clone()).await;
    let with_route = config(&base, &subgraphs);
    let without = with_route.replace(
        "graphql: {registry: {url: '",
        "respond: {status: 204}\n    # '",
    );
    let gateway = TestGateway::start(&without).await;
    assert_eq!(fake.requests.load(Ordering::Relaxed), 0);
    let handle = gateway.reload_handle();
    let parsed = switchyard_config::parse(&with_route, "test.yaml").unwrap();
    assert!(
        handle.reload(&parsed).is_err(),
        "not fetched yet: a sync reload cannot add it"
    );
    handle.reload_fetching(&parsed).await.unwrap();
    assert!(ok(&query(&gateway, YEARS).await));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(fake.requests.load(Ordering::Relaxed) >= 3, "polling");

    let parsed = switchyard_config::parse(&without, "test.yaml").unwrap();
    handle.reload_fetching(&parsed).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = fake.requests.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.requests.load(Ordering::Relaxed),
        after,
        "the poller stopped"
    );
    assert!(gateway.shutdown(Duration::from_secs(1)).await);
}

/// A port nothing listens on.
async fn dead_registry() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_restarts_from_its_supergraph_cache_while_the_registry_is_down() {
    let subgraphs = subgraphs().await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache/movies.graphql");
    let with_cache = |base: &str| {
        config(base, &subgraphs).replace(
            "poll: 50ms}",
            &format!("poll: 50ms, cache: '{}'}}", cache.display()),
        )
    };
    let fake = Arc::new(Fake::default());
    *fake.current.lock().unwrap() = (5, fixture("supergraph.graphql"));
    let base = fake_registry(fake.clone()).await;
    let gateway = TestGateway::start(&with_cache(&base)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cache.exists() {
        assert!(Instant::now() < deadline, "the cache was never written");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(
        text.starts_with("# switchyard supergraph cache: movies@prod version 5\n"),
        "{}",
        &text[..80.min(text.len())]
    );
    assert!(gateway.shutdown(Duration::from_secs(1)).await);

    // The registry is gone: the gateway starts from the cache and serves version 5.
    let down = dead_registry().await;
    let restarted = TestGateway::start(&with_cache(&down)).await;
    assert!(ok(&query(&restarted, YEARS).await));
    assert_eq!(
        restarted
            .metric("switchyard_supergraph_version{route=\"graph\"}")
            .await,
        Some(5.0)
    );
    assert!(restarted.shutdown(Duration::from_secs(1)).await);

    // A cache of another variant is not used: the start fails as without one.
    let other =
        std::fs::read_to_string(&cache)
            .unwrap()
            .replacen("movies@prod", "movies@staging", 1);
    std::fs::write(&cache, other).unwrap();
    let parsed = switchyard_config::parse(&with_cache(&down), "test.yaml").unwrap();
    let error = switchyard_proxy::Gateway::start(&parsed)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("cannot fetch the supergraph"), "{error}");
}
