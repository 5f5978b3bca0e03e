//! Hot reload under load, rejected reloads, and drain on shutdown.

use http::Method;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use switchyard_testkit::{Backend, BackendConfig, TestGateway};

fn config(backend: &Backend, marker: &str, extra_route: &str) -> String {
    format!(
        r#"listeners: [{{name: public, address: '127.0.0.1:0'}}]
access_log: {{to: "off"}}
routes:
  - name: main
    match: {{ path: {{ prefix: /main }} }}
    proxy: {{ cluster: c, response_headers: {{ set: {{ x-generation: "{marker}" }} }} }}
{extra_route}clusters:
  - name: c
    endpoints: [{{address: "{}"}}]
"#,
        backend.address()
    )
}

const SLOW_ROUTE: &str =
    "  - name: slow\n    match: { path: { prefix: /slow } }\n    proxy: { cluster: c }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_reloads_under_load_lose_no_request() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let gw = TestGateway::start(&config(&backend, "0", "")).await;
    let handle = gw.reload_handle();
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (client, stop, ok, failed) = (gw.client(), stop.clone(), ok.clone(), failed.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let request = client
                    .request(Method::GET, "", "/main")
                    .body(Default::default())
                    .unwrap();
                match client.send(request).await {
                    Ok(reply) if reply.status == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for generation in 1..=50 {
        let text = config(
            &backend,
            &generation.to_string(),
            if generation % 2 == 0 { SLOW_ROUTE } else { "" },
        );
        let parsed = switchyard_config::parse(&text, "reload.yaml").unwrap();
        assert_eq!(handle.reload(&parsed).unwrap(), generation);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    assert!(
        ok.load(Ordering::Relaxed) > 100,
        "load kept flowing: {}",
        ok.load(Ordering::Relaxed)
    );
    assert_eq!(gw.get("/main").await.header("x-generation"), Some("50"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_config_file_is_rejected_and_the_old_one_keeps_serving() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let gw = TestGateway::start(&config(&backend, "good", "")).await;
    let path = std::env::temp_dir().join(format!("switchyard-broken-{}.yaml", std::process::id()));
    std::fs::write(
        &path,
        config(&backend, "bad", "").replace("cluster: c", "cluster: missing"),
    )
    .unwrap();
    let error = gw
        .reload_handle()
        .reload_file(&path)
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown cluster `missing`"), "{error}");
    std::fs::write(&path, "listeners: [").unwrap();
    assert!(gw.reload_handle().reload_file(&path).is_err());
    let _ = std::fs::remove_file(&path);
    assert_eq!(gw.reload_handle().generation(), 0);
    assert_eq!(gw.get("/main").await.header("x-generation"), Some("good"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_finish_on_the_runtime_they_started_with() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let gw = TestGateway::start(&config(&backend, "old", SLOW_ROUTE)).await;
    let client = gw.client();
    let slow = tokio::spawn(async move { client.get("/slow?delay_ms=400").await });
    while backend.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let without_slow = switchyard_config::parse(&config(&backend, "new", ""), "new.yaml").unwrap();
    gw.reload_handle().reload(&without_slow).unwrap();
    assert_eq!(
        gw.get("/slow").await.status,
        404,
        "the new config no longer has the route"
    );
    assert_eq!(
        slow.await.unwrap().status,
        200,
        "the request in flight was not disturbed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_in_flight_requests_and_stops_accepting() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let gw = TestGateway::start(&config(&backend, "x", "")).await;
    let address = gw.address();
    let client = gw.client();
    let in_flight = tokio::spawn(async move { client.get("/main?delay_ms=300").await });
    while backend.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let drained = tokio::spawn(gw.shutdown(Duration::from_secs(5)));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "no longer accepting"
    );
    assert_eq!(in_flight.await.unwrap().status, 200);
    assert!(drained.await.unwrap(), "drained before the deadline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_gives_up_at_the_drain_deadline() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let gw = TestGateway::start(&config(&backend, "x", "")).await;
    let client = gw.client();
    let _stuck = tokio::spawn(async move { client.get("/main?delay_ms=10000").await });
    while backend.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = std::time::Instant::now();
    assert!(!gw.shutdown(Duration::from_millis(200)).await);
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// The watcher reads the file when it is set up, not when its task first runs: a change made
/// in between (a busy runtime, a test writing as soon as the gateway listens) still reloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_before_the_watcher_first_runs_still_reloads() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config(&backend, "0", "")).unwrap();
    let gw = TestGateway::start(&config(&backend, "0", "")).await;
    let handle = gw.reload_handle();
    let watch = switchyard_proxy::watch_config_file(
        path.clone(),
        handle.clone(),
        Duration::from_millis(20),
    );
    std::fs::write(&path, config(&backend, "1", "")).unwrap();
    let task = tokio::spawn(watch);
    for _ in 0..200 {
        if handle.generation() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    assert_eq!(handle.generation(), 1, "the change was seen");
}
