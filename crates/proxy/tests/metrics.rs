//! The admin listener and its metrics, end to end: counts by route and status class, policy
//! answers by policy and reason, reloads by outcome, and the admin token.

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use std::net::SocketAddr;
use switchyard_testkit::{Backend, BackendConfig, TestGateway};

const TOKEN: &str = "an-admin-token-of-some-length";

fn config(backend: SocketAddr, admin: &str, limit: u32) -> String {
    format!(
        r#"listeners: [{{name: public, address: '127.0.0.1:0'}}]
access_log: {{to: off}}
admin: {admin}
policies:
  - name: keys
    api_key:
      keys: [{{id: alice, hash: '{key}'}}]
  - name: limit
    rate_limit: {{requests: {limit}, per: 1m, key: [api_key]}}
routes:
  - name: keyed
    match: {{path: {{prefix: /keyed}}}}
    policies: [keys, limit]
    proxy: {{cluster: backend}}
  - name: movies
    match: {{path: {{prefix: /movies}}}}
    proxy: {{cluster: backend}}
clusters:
  - name: backend
    endpoints: [{{address: "{backend}"}}]
"#,
        key = switchyard_policy::key_hash("alice-key"),
    )
}

/// The value of the sample whose line starts with `series` (name and labels as written).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn requests_and_policy_answers_are_counted_by_route() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let yaml = config(backend.address(), "{address: '127.0.0.1:0'}", 2);
    let gateway = TestGateway::start(&yaml).await;
    let client = gateway.client();
    for _ in 0..3 {
        assert_eq!(gateway.get("/movies/1").await.status, 200);
    }
    assert_eq!(gateway.get("/nowhere").await.status, 404);
    assert_eq!(gateway.get("/keyed").await.status, 401);
    for expected in [200, 200, 429] {
        let request = client
            .request(Method::GET, "", "/keyed")
            .header("x-api-key", "alice-key");
        let reply = client
            .send(request.body(Full::new(Bytes::new())).unwrap())
            .await
            .unwrap();
        assert_eq!(reply.status, expected);
    }

    let reply = gateway.admin_get("/metrics", None).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = reply.text();
    let count = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}\n{text}"));
    assert_eq!(
        count(r#"switchyard_requests_total{route="movies",code="2xx"}"#),
        3.0
    );
    assert_eq!(
        count(r#"switchyard_requests_total{route="",code="4xx"}"#),
        1.0
    );
    assert_eq!(
        count(r#"switchyard_requests_total{route="keyed",code="4xx"}"#),
        2.0
    );
    assert_eq!(
        count(r#"switchyard_requests_total{route="keyed",code="2xx"}"#),
        2.0
    );
    assert_eq!(
        count(r#"switchyard_request_duration_seconds_count{route="movies"}"#),
        3.0
    );
    assert_eq!(
        count(
            r#"switchyard_policy_answers_total{route="keyed",policy="keys",reason="key_missing",code="401"}"#
        ),
        1.0
    );
    assert_eq!(
        count(
            r#"switchyard_policy_answers_total{route="keyed",policy="limit",reason="rate_limited",code="429"}"#
        ),
        1.0
    );
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
}

#[tokio::test]
async fn metrics_live_on_the_admin_listener_only() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let yaml = config(backend.address(), "{address: '127.0.0.1:0'}", 5);
    let gateway = TestGateway::start(&yaml).await;
    // The public listener has no /metrics: it is just an unrouted path there.
    let public = gateway.get("/metrics").await;
    assert_eq!(public.status, 404);
    assert!(!public.text().contains("switchyard_requests_total"));
    assert_eq!(gateway.admin_get("/ready", None).await.status, 200);
    assert_eq!(gateway.admin_get("/other", None).await.status, 404);
}

#[tokio::test]
async fn an_admin_token_is_required_when_configured() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let admin = format!("{{address: '127.0.0.1:0', token: '{TOKEN}'}}");
    let gateway = TestGateway::start(&config(backend.address(), &admin, 5)).await;
    let missing = gateway.admin_get("/metrics", None).await;
    assert_eq!(missing.status, 401);
    assert!(
        missing
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    assert!(!missing.text().contains("switchyard_"));
    let clusters = gateway.admin_get("/clusters", None).await;
    assert_eq!(
        clusters.status, 401,
        "endpoint addresses stay behind the token"
    );
    assert!(!clusters.text().contains("127.0.0.1"));
    let with_token = gateway.admin_get("/clusters", Some(TOKEN)).await;
    assert_eq!(with_token.json()["clusters"][0]["name"], "backend");
    let wrong = gateway
        .admin_get("/metrics", Some("an-admin-token-of-some-lengtX"))
        .await;
    assert_eq!(wrong.status, 401);
    let short = gateway.admin_get("/metrics", Some("an-admin-token")).await;
    assert_eq!(short.status, 401);
    let right = gateway.admin_get("/metrics", Some(TOKEN)).await;
    assert_eq!(right.status, 200);
    assert!(right.text().contains("switchyard_requests_total"));
}

#[tokio::test]
async fn reloads_are_counted_and_counts_survive_them() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let yaml = config(backend.address(), "{address: '127.0.0.1:0'}", 5);
    let gateway = TestGateway::start(&yaml).await;
    assert_eq!(gateway.get("/movies/1").await.status, 200);
    let handle = gateway.reload_handle();
    let changed = config(backend.address(), "{address: '127.0.0.1:0'}", 7);
    handle
        .reload(&switchyard_config::parse(&changed, "test.yaml").unwrap())
        .unwrap();
    let dir = std::env::temp_dir().join(format!("switchyard-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, "listeners: nope\n").unwrap();
    assert!(handle.reload_file(&broken).is_err());
    assert_eq!(gateway.get("/movies/2").await.status, 200);

    let text = gateway.admin_get("/metrics", None).await.text();
    let count = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}\n{text}"));
    assert_eq!(
        count(r#"switchyard_config_reloads_total{outcome="applied"}"#),
        1.0
    );
    assert_eq!(
        count(r#"switchyard_config_reloads_total{outcome="rejected"}"#),
        1.0
    );
    assert_eq!(
        count(r#"switchyard_requests_total{route="movies",code="2xx"}"#),
        2.0
    );
    std::fs::remove_dir_all(&dir).ok();
}
