//! Upstream behaviour: forwarding headers, protocols, each timeout, retries and their limits,
//! and the cluster's admission limits, against real backends on loopback.

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchyard_testkit::{Backend, BackendConfig, Client, TestGateway};

const LISTENER: &str =
    "listeners: [{name: public, address: '127.0.0.1:0'}]\naccess_log: {to: \"off\"}\n";

fn one_route(cluster: &str) -> String {
    format!(
        "{LISTENER}routes: [{{name: all, proxy: {{cluster: c}}}}]\nclusters:\n  - name: c\n{cluster}"
    )
}

fn endpoints(addresses: &[SocketAddr]) -> String {
    let list: Vec<String> = addresses
        .iter()
        .map(|a| format!("{{address: \"{a}\"}}"))
        .collect();
    format!("    endpoints: [{}]\n", list.join(", "))
}

/// A port with nothing listening on it.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

async fn post(client: &Client, path: &str) -> switchyard_testkit::Reply {
    let request = client
        .request(Method::POST, "", path)
        .body(Full::new(Bytes::from_static(b"data")))
        .unwrap();
    client.send(request).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_and_request_id() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let gw = TestGateway::start(&one_route(&endpoints(&[backend.address()]))).await;
    let client = gw.client();
    let request = client
        .request(Method::GET, "shop.example:8443", "/")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "secret")
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-request-id", "abc-123")
        .body(Full::default())
        .unwrap();
    let reply = client.send(request).await.unwrap();
    let headers = reply.json()["headers"].clone();
    assert_eq!(headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-forwarded-host"], "shop.example");
    assert_eq!(
        headers["forwarded"],
        "for=127.0.0.1;host=\"shop.example\";proto=http"
    );
    assert_eq!(headers["host"], "shop.example:8443");
    assert!(
        headers.get("x-hop").is_none(),
        "headers named by Connection are hop-by-hop"
    );
    assert_eq!(headers["x-request-id"], "abc-123");
    assert_eq!(reply.header("x-request-id"), Some("abc-123"));
    let generated = gw.get("/").await;
    let id = generated.header("x-request-id").unwrap();
    assert_eq!(id.len(), 32);
    assert_eq!(generated.json()["headers"]["x-request-id"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_clients_and_http2_upstreams() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let h1_upstream = one_route(&endpoints(&[backend.address()]));
    let gw = TestGateway::start(&h1_upstream).await;
    let reply = gw.h2c().get("/x").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["version"],
        "HTTP/1.1",
        "h2c client, HTTP/1.1 upstream"
    );
    assert_eq!(reply.json()["headers"]["host"], "127.0.0.1");

    let h2_upstream = one_route(&format!(
        "{}    protocol: http2\n",
        endpoints(&[backend.address()])
    ));
    let gw2 = TestGateway::start(&h2_upstream).await;
    let reply = gw2.get("/y").await;
    assert_eq!(
        reply.json()["version"],
        "HTTP/2.0",
        "HTTP/1.1 client, h2c upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeout_answers_504() {
    let backend = Backend::start(BackendConfig::named("slow")).await;
    let cluster = format!(
        "{}    request_timeout: 200ms\n    retries: {{attempts: 0}}\n",
        endpoints(&[backend.address()])
    );
    let gw = TestGateway::start(&one_route(&cluster)).await;
    let started = Instant::now();
    let reply = gw.get("/?delay_ms=5000").await;
    assert_eq!(reply.status, 504);
    assert_eq!(reply.json()["code"], "upstream_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "answered at the deadline, not when the backend did"
    );
    assert_eq!(gw.get("/?delay_ms=10").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_answers_502() {
    // A listener that never accepts, with its backlog filled: further SYNs go unanswered.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let blackhole = socket.listen(1).unwrap();
    let address = blackhole.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(address),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let cluster = format!(
        "{}    connect_timeout: 300ms\n    retries: {{attempts: 0}}\n",
        endpoints(&[address])
    );
    let gw = TestGateway::start(&one_route(&cluster)).await;
    let started = Instant::now();
    let reply = gw.get("/").await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.json()["code"], "upstream_connect_failure");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_pooled_connections_are_closed_after_idle_timeout() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let short = format!(
        "{}    idle_timeout: 100ms\n",
        endpoints(&[backend.address()])
    );
    let gw = TestGateway::start(&one_route(&short)).await;
    assert_eq!(gw.get("/").await.status, 200);
    assert_eq!(gw.get("/").await.status, 200);
    assert_eq!(backend.connections(), 1, "kept alive and reused");
    // Closed by the pool's timer, with no request coming to notice it.
    let waited = Instant::now();
    while backend.open_connections() > 0 && waited.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(backend.open_connections(), 0, "closed once idle too long");
    assert_eq!(gw.get("/").await.status, 200);
    assert_eq!(
        backend.connections(),
        2,
        "the idle connection was closed, a new one opened"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_reused_after_responses_without_a_body() {
    let empty = Backend::start(BackendConfig::named("empty").status(204)).await;
    let gw = TestGateway::start(&one_route(&endpoints(&[empty.address()]))).await;
    for _ in 0..5 {
        assert_eq!(gw.get("/").await.status, 204);
    }
    let client = gw.client();
    for _ in 0..5 {
        let head = client
            .request(Method::HEAD, "", "/")
            .body(Full::new(Bytes::new()))
            .unwrap();
        assert_eq!(client.send(head).await.unwrap().status, 204);
    }
    assert_eq!(empty.requests(), 10);
    assert_eq!(empty.connections(), 1, "one connection for every exchange");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_reuse_as_many_connections_as_they_run_at_once() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let gw = TestGateway::start(&one_route(&endpoints(&[backend.address()]))).await;
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let client = gw.client();
            tokio::spawn(async move {
                for _ in 0..25 {
                    assert_eq!(client.get("/").await.status, 200);
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    assert_eq!(backend.requests(), 200);
    assert!(
        backend.connections() <= 8,
        "{} upstream connections for 8 clients",
        backend.connections()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_endpoint_closed_while_idle_is_not_used_again() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let gw = TestGateway::start(&one_route(&endpoints(&[backend.address()]))).await;
    assert_eq!(gw.get("/").await.status, 200);
    // The endpoint goes away and comes back on the same port: the pooled connection is dead.
    let address = backend.address();
    drop(backend);
    let back = Backend::start_on(address, BackendConfig::named("back")).await;
    for _ in 0..3 {
        assert_eq!(gw.get("/").await.status, 200);
    }
    assert_eq!(back.requests(), 3);
    assert_eq!(back.connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_requests_retry_on_another_endpoint() {
    let sick = Backend::start(BackendConfig::named("sick").status(503)).await;
    let well = Backend::start(BackendConfig::named("well")).await;
    let gw = TestGateway::start(&one_route(&format!(
        "{}    balancer: round_robin
",
        endpoints(&[sick.address(), well.address()])
    )))
    .await;
    for _ in 0..10 {
        let reply = gw.get("/").await;
        assert_eq!(
            (reply.status, reply.header("x-backend")),
            (200, Some("well"))
        );
    }
    assert_eq!(
        sick.hits(),
        5,
        "round robin sends every other first attempt to the sick one"
    );
    let posted = post(&gw.client(), "/").await;
    let posted_again = post(&gw.client(), "/").await;
    let statuses = [posted.status, posted_again.status];
    assert!(
        statuses.contains(&503),
        "a POST is never retried: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_on_connect_failure_and_reset() {
    let crashing = Backend::start(BackendConfig::named("crashing").drop_all()).await;
    let well = Backend::start(BackendConfig::named("well")).await;
    let addresses = [closed_port(), crashing.address(), well.address()];
    let cluster = format!(
        "{}    balancer: round_robin\n    retries: {{attempts: 2}}\n",
        endpoints(&addresses)
    );
    let gw = TestGateway::start(&one_route(&cluster)).await;
    for _ in 0..9 {
        assert_eq!(gw.get("/").await.status, 200);
    }
    assert!(crashing.hits() >= 3, "the resetting endpoint was tried");
    let resets_only = format!(
        "{}    balancer: round_robin\n    retries: {{attempts: 2, on: [reset]}}\n",
        endpoints(&addresses)
    );
    let gw2 = TestGateway::start(&one_route(&resets_only)).await;
    let statuses: Vec<u16> = futures_util::future::join_all((0..3).map(|_| gw2.get("/")))
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert!(
        statuses.contains(&502),
        "connect failures are not retried when not listed: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_budget_caps_retries() {
    let sick = Backend::start(BackendConfig::named("sick").status(503)).await;
    let also_sick = Backend::start(BackendConfig::named("also-sick").status(503)).await;
    let cluster = format!(
        "{}    retries: {{attempts: 1, budget: 0.0, min_per_second: 1}}\n",
        endpoints(&[sick.address(), also_sick.address()])
    );
    let gw = TestGateway::start(&one_route(&cluster)).await;
    for _ in 0..40 {
        assert_eq!(gw.get("/").await.status, 503);
    }
    // 40 requests; the budget allows 1 retry per second over a 10 s window: 10 at most.
    let attempts = sick.hits() + also_sick.hits();
    assert!((40..=50).contains(&attempts), "attempts {attempts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_and_pending_shed_with_503() {
    let slow =
        Backend::start(BackendConfig::named("slow").latency(Duration::from_millis(500))).await;
    let cluster = format!(
        "{}    max_connections: 1\n    max_pending: 1\n",
        endpoints(&[slow.address()])
    );
    let gw = TestGateway::start(&one_route(&cluster)).await;
    let replies = futures_util::future::join_all((0..3).map(|_| gw.get("/"))).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        vec![200, 200, 503],
        "one in flight, one pending, one shed"
    );
    let shed = replies.iter().find(|r| r.status == 503).unwrap();
    assert_eq!(shed.json()["code"], "overloaded");
}
