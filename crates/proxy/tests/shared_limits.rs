//! Rate limits shared through a real Redis: two gateway instances hold one limit together, and
//! an outage behaves as configured (allow or deny) until Redis returns.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchyard_testkit::{Backend, BackendConfig, RedisServer, TestGateway};

fn config(backend: SocketAddr, redis: &str, burst: u32, on_failure: &str) -> String {
    format!(
        r#"listeners: [{{name: public, address: '127.0.0.1:0'}}]
access_log: {{to: 'off'}}
admin: {{address: '127.0.0.1:0'}}
policies:
  - name: shared
    rate_limit:
      requests: {burst}
      per: 1h
      key: [route]
      redis: {{url: '{redis}', timeout: 200ms, on_failure: {on_failure}}}
routes:
  - name: api
    policies: [shared]
    proxy: {{cluster: backend}}
clusters:
  - name: backend
    endpoints: [{{address: "{backend}"}}]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_sharing_one_redis_hold_the_combined_limit() {
    let redis = RedisServer::start();
    let backend = Backend::start(BackendConfig::named("b")).await;
    let a = TestGateway::start(&config(backend.address(), &redis.url(), 100, "deny")).await;
    let b = TestGateway::start(&config(backend.address(), &redis.url(), 100, "deny")).await;
    // 300 requests from 6 concurrent clients, half to each gateway.
    let clients: Vec<_> = (0..6)
        .map(|i| if i % 2 == 0 { a.client() } else { b.client() })
        .collect();
    let tasks = clients.into_iter().map(|client| {
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..50 {
                statuses.push(client.get("/movies").await.status);
            }
            statuses
        })
    });
    let mut allowed = 0;
    for task in tasks {
        for status in task.await.unwrap() {
            assert!(status == 200 || status == 429, "status {status}");
            allowed += usize::from(status == 200);
        }
    }
    assert_eq!(allowed, 100, "the burst, exactly, over both gateways");
    assert_eq!(backend.requests(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_allows_or_denies_as_configured_and_limits_return_with_redis() {
    let mut redis = RedisServer::start();
    let backend = Backend::start(BackendConfig::named("b")).await;
    let open = TestGateway::start(&config(backend.address(), &redis.url(), 5, "allow")).await;
    let closed = TestGateway::start(&config(backend.address(), &redis.url(), 5, "deny")).await;
    assert_eq!(open.get("/").await.status, 200);
    assert_eq!(closed.get("/").await.status, 200);

    redis.stop();
    for _ in 0..10 {
        let served = open.get("/").await;
        assert_eq!(served.status, 200, "fail-open: served without a limit");
        assert_eq!(served.header("ratelimit"), None);
        let denied = closed.get("/").await;
        assert_eq!(denied.status, 503, "fail-closed: refused");
        assert_eq!(denied.json()["reason"], "rate_limit_unavailable");
    }
    // Each failed decision is counted with what the policy did instead.
    let failures = "switchyard_rate_limit_store_failures_total";
    let allowed = format!(r#"{failures}{{policy="shared",outcome="allowed"}}"#);
    let refused = format!(r#"{failures}{{policy="shared",outcome="refused"}}"#);
    assert_eq!(open.metric(&allowed).await, Some(10.0));
    assert_eq!(closed.metric(&refused).await, Some(10.0));

    redis.resume();
    // Each gateway reconnects on its own. A decision made by Redis carries the `RateLimit`
    // header, an allowed-on-failure answer does not. Redis is empty again: a whole burst.
    for gateway in [&closed, &open] {
        let deadline = Instant::now() + Duration::from_secs(10);
        while gateway.get("/").await.header("ratelimit").is_none() {
            assert!(
                Instant::now() < deadline,
                "the gateway did not reconnect to Redis"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(open.get("/").await.status);
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429],
        "limited again, shared by both gateways"
    );
}
