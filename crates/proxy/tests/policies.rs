//! Gateway policies end to end: real gateway, real backend, real sockets. A request a policy
//! stops is answered by the gateway with a problem document and never reaches the backend.

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use serde_json::{Value, json};
use std::net::SocketAddr;
use switchyard_testkit::{Backend, BackendConfig, Client, Reply, TestGateway};

const SECRET: &str = "a-test-secret-that-is-long-enough-for-hs256";

fn config(backend: SocketAddr, limit: u32) -> String {
    format!(
        r#"listeners: [{{name: public, address: '127.0.0.1:0', policies: [web]}}]
access_log: {{to: off}}
policies:
  - name: keys
    api_key:
      keys: [{{id: alice, hash: '{key}', metadata: {{plan: gold}}}}]
      forward_id: x-api-key-id
  - name: users
    jwt:
      algorithms: [HS256]
      keys: [{{secret: '{SECRET}'}}]
      issuers: [https://issuer.test]
      forward_claims: {{sub: x-user}}
  - name: readers
    authorize: {{scopes: {{any_of: [movies:read]}}}}
  - name: limit
    rate_limit: {{requests: {limit}, per: 1m, key: [api_key]}}
  - name: web
    cors: {{allow_origins: ['https://app.example.com'], allow_headers: [x-api-key]}}
  - name: small
    body_limit: 16
  - name: caller-query
    request_query: {{set: {{caller: '{{identity.id}}', movie: '{{param.id}}'}}, remove: [debug]}}
routes:
  - name: query
    match: {{path: {{template: '/query/{{id}}'}}}}
    policies: [keys, caller-query]
    proxy: {{cluster: backend}}
  - name: keyed
    match: {{path: {{prefix: /keyed}}}}
    policies: [keys, limit]
    proxy: {{cluster: backend}}
  - name: tokens
    match: {{path: {{prefix: /tokens}}}}
    policies: [users, readers]
    proxy: {{cluster: backend}}
  - name: upload
    match: {{path: {{prefix: /upload}}}}
    policies: [small]
    proxy: {{cluster: backend}}
  - name: open
    match: {{path: {{prefix: /open}}}}
    policies: []
    proxy: {{cluster: backend}}
  - name: default
    proxy: {{cluster: backend}}
clusters:
  - name: backend
    endpoints: [{{address: "{backend}"}}]
"#,
        key = switchyard_policy::key_hash("gold-key"),
    )
}

async fn send(
    client: &Client,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut request = client.request(method, "", path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    client.send(request).await.unwrap()
}

fn problem(reply: &Reply) -> Value {
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    reply.json()
}

fn token(scope: &str) -> String {
    let claims = json!({"sub": "alice", "iss": "https://issuer.test", "scope": scope, "exp": 4_000_000_000u64});
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

async fn start(limit: u32) -> (Backend, TestGateway) {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let gateway = TestGateway::start(&config(backend.address(), limit)).await;
    (backend, gateway)
}

#[tokio::test]
async fn query_transforms_reach_the_service_and_replace_what_the_client_sent() {
    let (_backend, gw) = start(100).await;
    let client = gw.client();
    let path = "/query/7?caller=mallory&page=2&debug=1";
    let ok = send(&client, Method::GET, path, &[("x-api-key", "gold-key")], "").await;
    assert_eq!(ok.status, 200);
    let seen = ok.json();
    assert_eq!(seen["path"], "/query/7");
    assert_eq!(seen["query"], "page=2&caller=alice&movie=7");
}

#[tokio::test]
async fn an_api_key_route_refuses_without_a_key_and_forwards_the_identity() {
    let (backend, gw) = start(100).await;
    let client = gw.client();
    let refused = send(&client, Method::GET, "/keyed", &[], "").await;
    assert_eq!(refused.status, 401);
    assert_eq!(problem(&refused)["reason"], "key_missing");
    assert_eq!(problem(&refused)["policy"], "keys");
    assert_eq!(
        backend.requests(),
        0,
        "a refused request never reaches the service"
    );
    let wrong = send(&client, Method::GET, "/keyed", &[("x-api-key", "nope")], "").await;
    assert_eq!(
        (wrong.status, problem(&wrong)["reason"].clone()),
        (401, json!("unknown_key"))
    );
    let ok = send(
        &client,
        Method::GET,
        "/keyed",
        &[("x-api-key", "gold-key")],
        "",
    )
    .await;
    assert_eq!(ok.status, 200);
    let seen = ok.json();
    assert_eq!(seen["headers"]["x-api-key-id"], "alice");
    assert!(
        seen["headers"].get("x-api-key").is_none(),
        "the key itself stays at the gateway"
    );
    assert_eq!(ok.header("ratelimit-policy"), Some("\"limit\";q=100;w=60"));
    assert_eq!(ok.header("ratelimit"), Some("\"limit\";r=99;t=1"));
}

#[tokio::test]
async fn a_rate_limited_key_gets_429_and_a_reload_keeps_its_count() {
    let (backend, gw) = start(2).await;
    let client = gw.client();
    let key = [("x-api-key", "gold-key")];
    for _ in 0..2 {
        assert_eq!(
            send(&client, Method::GET, "/keyed", &key, "").await.status,
            200
        );
    }
    let limited = send(&client, Method::GET, "/keyed", &key, "").await;
    assert_eq!(limited.status, 429);
    assert_eq!(problem(&limited)["reason"], "rate_limited");
    assert_eq!(limited.header("retry-after"), Some("30"));
    assert_eq!(backend.requests(), 2);
    // The same policies reloaded: the count carries over.
    let same = switchyard_config::parse(&config(backend.address(), 2), "reload.yaml").unwrap();
    gw.reload_handle().reload(&same).unwrap();
    assert_eq!(
        send(&client, Method::GET, "/keyed", &key, "").await.status,
        429
    );
    // A changed limit is a new limiter.
    let raised = switchyard_config::parse(&config(backend.address(), 3), "reload.yaml").unwrap();
    gw.reload_handle().reload(&raised).unwrap();
    assert_eq!(
        send(&client, Method::GET, "/keyed", &key, "").await.status,
        200
    );
}

#[tokio::test]
async fn a_jwt_route_checks_the_token_then_the_scope() {
    let (backend, gw) = start(100).await;
    let client = gw.client();
    let none = send(&client, Method::GET, "/tokens", &[], "").await;
    assert_eq!(
        (none.status, problem(&none)["reason"].clone()),
        (401, json!("token_missing"))
    );
    assert!(
        none.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let writer = format!("Bearer {}", token("movies:write"));
    let forbidden = send(
        &client,
        Method::GET,
        "/tokens",
        &[("authorization", &writer)],
        "",
    )
    .await;
    assert_eq!(
        (forbidden.status, problem(&forbidden)["reason"].clone()),
        (403, json!("claim_required"))
    );
    assert_eq!(backend.requests(), 0);
    let reader = format!("Bearer {}", token("profile movies:read"));
    let ok = send(
        &client,
        Method::GET,
        "/tokens",
        &[("authorization", &reader)],
        "",
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["headers"]["x-user"], "alice");
}

#[tokio::test]
async fn the_listeners_cors_policy_answers_preflights_for_routes_without_their_own() {
    let (backend, gw) = start(100).await;
    let client = gw.client();
    let preflight = [
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "GET"),
        ("access-control-request-headers", "x-api-key"),
    ];
    let answer = send(&client, Method::OPTIONS, "/anything", &preflight, "").await;
    assert_eq!(answer.status, 204);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        answer.header("access-control-allow-headers"),
        Some("x-api-key")
    );
    assert_eq!(
        backend.requests(),
        0,
        "the gateway answers preflights itself"
    );
    let actual = send(
        &client,
        Method::GET,
        "/anything",
        &[("origin", "https://app.example.com")],
        "",
    )
    .await;
    assert_eq!(actual.status, 200);
    assert_eq!(
        actual.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    // A route with `policies: []` opts out of the listener's.
    let open = send(
        &client,
        Method::GET,
        "/open",
        &[("origin", "https://app.example.com")],
        "",
    )
    .await;
    assert_eq!(open.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn a_body_over_the_route_limit_gets_413() {
    let (backend, gw) = start(100).await;
    let client = gw.client();
    let big = send(
        &client,
        Method::POST,
        "/upload",
        &[],
        "this body is longer than sixteen bytes",
    )
    .await;
    assert_eq!(
        (big.status, problem(&big)["reason"].clone()),
        (413, json!("body_too_large"))
    );
    assert_eq!(backend.requests(), 0);
    assert_eq!(
        send(&client, Method::POST, "/upload", &[], "short")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_connection_header_cannot_strip_the_identity_the_gateway_adds() {
    let (_backend, gw) = start(100).await;
    let client = gw.client();
    let headers = [("x-api-key", "gold-key"), ("connection", "x-api-key-id")];
    let ok = send(&client, Method::GET, "/keyed", &headers, "").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["headers"]["x-api-key-id"], "alice");
}

#[tokio::test]
async fn an_openapi_route_validates_parameters_and_the_body_before_the_service_sees_them() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policy/tests/fixtures/openapi/studio.yaml"
    );
    let yaml = format!(
        r#"listeners: [{{name: public, address: '127.0.0.1:0'}}]
access_log: {{to: off}}
policies:
  - name: studio
    openapi: {{spec: '{spec}', max_body_bytes: 256}}
routes:
  - name: api
    policies: [studio]
    proxy: {{cluster: backend}}
clusters:
  - name: backend
    endpoints: [{{address: "{}"}}]
"#,
        backend.address()
    );
    let gw = TestGateway::start(&yaml).await;
    let client = gw.client();
    let json = [
        ("content-type", "application/json"),
        ("x-idempotency-key", "0b8f3c5e-7f1a-4c1e-9a0e-2d4c6b8a1f3e"),
    ];
    let bad = send(
        &client,
        Method::POST,
        "/movies",
        &json,
        r#"{"name": "", "year": 1700}"#,
    )
    .await;
    assert_eq!(bad.status, 400);
    let doc = problem(&bad);
    assert_eq!(doc["reason"], "request_invalid");
    let pointers: Vec<&str> = doc["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, ["/body/name", "/body/year"]);
    let query = send(&client, Method::GET, "/movies?limit=500", &[], "").await;
    assert_eq!(
        (
            query.status,
            problem(&query)["errors"][0]["pointer"].clone()
        ),
        (400, json!("/query/limit"))
    );
    let unknown = send(&client, Method::GET, "/spaceships", &[], "").await;
    assert_eq!(unknown.status, 404);
    let big = format!(r#"{{"name": "{}", "year": 1999}}"#, "x".repeat(300));
    assert_eq!(
        send(&client, Method::POST, "/movies", &json, &big)
            .await
            .status,
        413
    );
    assert_eq!(backend.requests(), 0, "nothing invalid reached the service");
    let good = r#"{"name": "Night Freight", "year": 1999}"#;
    let ok = send(&client, Method::POST, "/movies", &json, good).await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.json()["body_bytes"],
        good.len(),
        "the body read for validation goes on whole"
    );
}
