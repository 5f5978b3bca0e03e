//! Report-only response validation end to end: the service's responses are checked against
//! the route's OpenAPI document as they stream to the client; a mismatch is counted (and
//! logged) but the client gets the response unchanged.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchyard_testkit::{Backend, BackendConfig, TestGateway};

const API: &str = r#"openapi: 3.1.0
info: { title: echo, version: "1" }
paths:
  /echo/{id}:
    get:
      responses:
        '200':
          description: the echo
          content:
            application/json:
              schema:
                type: object
                required: [backend, path]
                properties: { path: { type: string, pattern: '^/echo/' } }
  /strict/{id}:
    get:
      responses:
        '200':
          description: a movie
          content:
            application/json:
              schema: { type: object, required: [movie] }
"#;

fn config(backend: SocketAddr, spec: &std::path::Path) -> String {
    format!(
        r#"listeners: [{{name: public, address: '127.0.0.1:0'}}]
access_log: {{to: off}}
admin: {{address: '127.0.0.1:0'}}
policies:
  - name: echo-api
    openapi: {{spec: '{spec}', responses: report, max_body_bytes: 2048}}
routes:
  - name: api
    policies: [echo-api]
    proxy: {{cluster: backend}}
clusters:
  - name: backend
    endpoints: [{{address: "{backend}"}}]
"#,
        spec = spec.display()
    )
}

const MISMATCHES: &str = r#"switchyard_response_mismatches_total{policy="echo-api"}"#;

/// Waits for the count to reach `expected`: the verdict is given when the gateway finishes
/// the response body, which may be just after the client has read it.
async fn mismatches_reach(gateway: &TestGateway, expected: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = gateway.metric(MISMATCHES).await.unwrap_or(0.0);
        if now >= expected || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn mismatching_responses_are_counted_and_passed_on_unchanged() {
    let dir = std::env::temp_dir().join(format!("switchyard-responses-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("echo.yaml");
    std::fs::write(&spec, API).unwrap();
    let backend = Backend::start(BackendConfig::named("b")).await;
    let gateway = TestGateway::start(&config(backend.address(), &spec)).await;

    // Matching responses count nothing.
    for _ in 0..3 {
        let reply = gateway.get("/echo/1").await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["path"], "/echo/1");
    }
    assert_eq!(gateway.metric(MISMATCHES).await, Some(0.0));

    // A body missing a required property: counted, delivered as the service sent it.
    let strict = gateway.get("/strict/1").await;
    assert_eq!(strict.status, 200);
    assert_eq!(strict.json()["backend"], "b");
    assert_eq!(mismatches_reach(&gateway, 1.0).await, 1.0);

    // An undocumented status, and a media type the document does not list.
    assert_eq!(gateway.get("/echo/2?status=500").await.status, 500);
    let bytes = gateway.get("/echo/3?bytes=10").await;
    assert_eq!((bytes.status, bytes.body.len()), (200, 10));
    assert_eq!(mismatches_reach(&gateway, 3.0).await, 3.0);

    // A body over the limit is not read for checking, and not held back either; its head
    // is still checked.
    let large = gateway.get("/strict/2?bytes=100000").await;
    assert_eq!(large.body.len(), 100_000);
    assert_eq!(
        mismatches_reach(&gateway, 4.0).await,
        4.0,
        "media type checked"
    );
    let padded = gateway
        .get(&format!("/strict/3?pad={}", "x".repeat(3000)))
        .await;
    assert_eq!(padded.json()["backend"], "b");
    assert_eq!(gateway.get("/echo/4?status=404").await.status, 404);
    // The padded response's verdict came before the 404 was even sent.
    assert_eq!(
        mismatches_reach(&gateway, 5.0).await,
        5.0,
        "the JSON body over 2048 bytes was not checked"
    );
    std::fs::remove_dir_all(&dir).ok();
}
