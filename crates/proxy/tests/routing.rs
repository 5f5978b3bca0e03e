//! Routing matrix and precedence, rewrites and header edits, through real sockets.

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use switchyard_testkit::{Backend, BackendConfig, Reply, TestGateway};

/// Six backends, each the only endpoint of the cluster of the same name.
struct Fleet {
    backends: Vec<Backend>,
}

impl Fleet {
    async fn start(names: &[&str]) -> Self {
        let mut backends = Vec::new();
        for name in names {
            backends.push(Backend::start(BackendConfig::named(name)).await);
        }
        Self { backends }
    }

    fn clusters(&self) -> String {
        let mut yaml = String::from("clusters:\n");
        for b in &self.backends {
            yaml.push_str(&format!(
                "  - name: {}\n    endpoints: [{{address: \"{}\"}}]\n",
                b.name(),
                b.address()
            ));
        }
        yaml
    }
}

const LISTENER: &str =
    "listeners: [{name: public, address: '127.0.0.1:0'}]\naccess_log: {to: \"off\"}\n";

async fn gateway(fleet: &Fleet, routes: &str) -> TestGateway {
    TestGateway::start(&format!("{LISTENER}routes:\n{routes}{}", fleet.clusters())).await
}

async fn send(
    gw: &TestGateway,
    method: Method,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let client = gw.client();
    let mut request = client.request(method, host, path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    client
        .send(request.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap()
}

/// Which backend answered, or the gateway's reason code.
async fn who(
    gw: &TestGateway,
    method: Method,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> String {
    let reply = send(gw, method, host, path, headers).await;
    match reply.header("x-backend") {
        Some(name) => name.to_owned(),
        None => reply.json()["code"].as_str().unwrap_or("?").to_owned(),
    }
}

const PRECEDENCE: &str = r#"
  - name: catch-all
    proxy: { cluster: any }
  - name: prefix-api
    match: { path: { prefix: /api } }
    proxy: { cluster: prefix }
  - name: regex-api
    match: { path: { regex: "/api/v[0-9]+/.*" } }
    proxy: { cluster: regex }
  - name: template-movie
    match: { path: { template: "/api/v1/movies/{id}" } }
    proxy: { cluster: template }
  - name: exact-health
    match: { path: { exact: /api/v1/movies/health } }
    proxy: { cluster: exact }
  - name: wildcard-host
    match: { hosts: ["*.example.com"], path: { prefix: / } }
    proxy: { cluster: wildcard }
  - name: deeper-wildcard
    match: { hosts: ["*.eu.example.com"] }
    proxy: { cluster: deeper }
  - name: exact-host
    match: { hosts: [api.example.com] }
    proxy: { cluster: host }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn most_specific_host_then_path_wins() {
    let fleet = Fleet::start(&[
        "any", "prefix", "regex", "template", "exact", "wildcard", "deeper", "host",
    ])
    .await;
    let gw = gateway(&fleet, PRECEDENCE).await;
    let cases = [
        ("other.test", "/x", "any"),
        ("other.test", "/api", "prefix"),
        ("other.test", "/api/x", "prefix"),
        ("other.test", "/apix", "any"),
        ("other.test", "/api/v2/anything", "regex"),
        ("other.test", "/api/v1/movies/7", "template"),
        ("other.test", "/api/v1/movies/health", "exact"),
        ("other.test", "/api/v1/movies/7/cast", "regex"),
        ("www.example.com", "/api/v1/movies/health", "wildcard"),
        ("a.eu.example.com", "/", "deeper"),
        ("example.com", "/", "any"),
        ("api.example.com", "/api/v1/movies/7", "host"),
        ("API.Example.COM.", "/", "host"),
        ("api.example.com:8080", "/", "host"),
    ];
    for (host, path, expected) in cases {
        assert_eq!(
            who(&gw, Method::GET, host, path, &[]).await,
            expected,
            "{host}{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_headers_and_query_narrow_a_route() {
    let fleet = Fleet::start(&["base", "post", "canary", "beta", "not-mobile"]).await;
    let routes = r#"
  - name: base
    match: { path: { prefix: /m } }
    proxy: { cluster: base }
  - name: post
    match: { path: { prefix: /m }, methods: [POST] }
    proxy: { cluster: post }
  - name: canary
    match: { path: { prefix: /m }, headers: [{ name: X-Canary, exact: "yes" }] }
    proxy: { cluster: canary }
  - name: beta
    match: { path: { prefix: /m }, query: [{ name: beta, regex: "[0-9]+" }] }
    proxy: { cluster: beta }
  - name: not-mobile
    match: { path: { prefix: /d }, headers: [{ name: user-agent, regex: ".*Mobile.*", invert: true }] }
    proxy: { cluster: not-mobile }
"#;
    let gw = gateway(&fleet, routes).await;
    assert_eq!(who(&gw, Method::GET, "h", "/m", &[]).await, "base");
    assert_eq!(who(&gw, Method::POST, "h", "/m", &[]).await, "post");
    assert_eq!(
        who(&gw, Method::GET, "h", "/m", &[("x-canary", "yes")]).await,
        "canary"
    );
    assert_eq!(
        who(&gw, Method::GET, "h", "/m", &[("x-canary", "no")]).await,
        "base"
    );
    assert_eq!(who(&gw, Method::GET, "h", "/m?beta=42", &[]).await, "beta");
    assert_eq!(who(&gw, Method::GET, "h", "/m?beta=x", &[]).await, "base");
    assert_eq!(
        who(&gw, Method::GET, "h", "/m?a=1&beta=%34%32", &[]).await,
        "beta"
    );
    assert_eq!(
        who(&gw, Method::GET, "h", "/d", &[("user-agent", "curl")]).await,
        "not-mobile"
    );
    assert_eq!(
        who(&gw, Method::GET, "h", "/d", &[("user-agent", "x Mobile y")]).await,
        "route_not_found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_specificity_goes_to_the_earlier_route() {
    let fleet = Fleet::start(&["first", "second"]).await;
    let routes = r#"
  - name: first
    match: { path: { prefix: /same } }
    proxy: { cluster: first }
  - name: second
    match: { path: { prefix: /same } }
    proxy: { cluster: second }
"#;
    let gw = gateway(&fleet, routes).await;
    assert_eq!(who(&gw, Method::GET, "h", "/same/x", &[]).await, "first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_are_rewritten_before_forwarding() {
    let fleet = Fleet::start(&["svc"]).await;
    let routes = r#"
  - name: strip
    match: { path: { prefix: /api/ } }
    proxy: { cluster: svc, strip_prefix: /api }
  - name: rewrite
    match: { path: { template: "/movies/{id}/cast/{*rest}" } }
    proxy: { cluster: svc, rewrite: "/v2/cast/{rest}/of/{id}" }
  - name: strip-all
    match: { path: { exact: /only } }
    proxy: { cluster: svc, strip_prefix: /only }
"#;
    let gw = gateway(&fleet, routes).await;
    let seen = |reply: Reply| {
        let json = reply.json();
        (
            json["path"].as_str().unwrap().to_owned(),
            json["query"].as_str().map(str::to_owned),
        )
    };
    assert_eq!(
        seen(gw.get("/api/talent/7?x=1").await),
        ("/talent/7".into(), Some("x=1".into()))
    );
    assert_eq!(
        seen(gw.get("/movies/42/cast/lead/actor").await),
        ("/v2/cast/lead/actor/of/42".into(), None)
    );
    assert_eq!(seen(gw.get("/only").await), ("/".into(), None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_are_edited_both_ways_and_host_rewritten() {
    let fleet = Fleet::start(&["svc"]).await;
    let routes = r#"
  - name: edit
    proxy:
      cluster: svc
      host_rewrite: internal.svc
      request_headers:
        add: { x-added: one }
        set: { x-set: fixed }
        remove: [x-secret]
      response_headers:
        set: { x-backend: hidden, cache-control: no-store }
        remove: [x-drop-me]
"#;
    let gw = gateway(&fleet, routes).await;
    let reply = send(
        &gw,
        Method::GET,
        "public.example",
        "/",
        &[("x-set", "client"), ("x-secret", "s"), ("x-added", "zero")],
    )
    .await;
    assert_eq!(reply.header("x-backend"), Some("hidden"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let json = reply.json();
    let headers = &json["headers"];
    assert_eq!(headers["host"], "internal.svc");
    assert_eq!(headers["x-set"], "fixed");
    assert!(headers.get("x-secret").is_none());
    // The backend echoes repeated headers as the last value; both must have been sent.
    assert_eq!(headers["x-added"], "one");
    assert_eq!(headers["x-forwarded-host"], "public.example");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respond_redirect_and_not_found() {
    let fleet = Fleet::start(&["svc"]).await;
    let routes = r#"
  - name: teapot
    match: { path: { exact: /tea } }
    respond: { status: 418, body: "short and stout", headers: { content-type: text/plain } }
  - name: moved
    match: { path: { template: "/old/{id}" } }
    redirect: { to: "https://new.example/items/{id}", status: 308 }
"#;
    let gw = gateway(&fleet, routes).await;
    let tea = gw.get("/tea").await;
    assert_eq!((tea.status, tea.text().as_str()), (418, "short and stout"));
    assert_eq!(tea.header("content-type"), Some("text/plain"));
    let moved = gw.get("/old/9").await;
    assert_eq!(moved.status, 308);
    assert_eq!(
        moved.header("location"),
        Some("https://new.example/items/9")
    );
    let missing = gw.get("/nothing").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(missing.json()["code"], "route_not_found");
    assert_eq!(fleet.backends[0].hits(), 0);
}
