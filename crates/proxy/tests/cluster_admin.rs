//! The balancer's state on the admin listener, end to end: `/clusters` (JSON) and the
//! endpoint gauges and cluster counters of `/metrics`, for a cluster with a dead endpoint that
//! outlier detection takes out, across a reload that rebuilds the cluster.

use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use switchyard_testkit::{Backend, BackendConfig, Client, TestGateway};

fn config(live: &[&Backend], dead: SocketAddr, extra: &str) -> String {
    let mut endpoints: Vec<String> = live
        .iter()
        .map(|b| format!("{{address: \"{}\"}}", b.address()))
        .collect();
    endpoints.push(format!("{{address: \"{dead}\"}}"));
    format!(
        "listeners: [{{name: public, address: '127.0.0.1:0'}}]\naccess_log: {{to: \"off\"}}\n\
         admin: {{address: '127.0.0.1:0'}}\n\
         routes: [{{name: all, proxy: {{cluster: fleet}}}}]\n\
         clusters:\n  - name: fleet\n    balancer: round_robin\n    retries: {{attempts: 2}}\n\
         \x20   endpoints: [{}]\n{extra}",
        endpoints.join(", ")
    )
}

/// An address nothing listens on: connecting to it is refused.
fn refused_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Sends `total` GETs from `concurrency` clients at once; returns how many failed.
async fn drive(client: &Client, total: usize, concurrency: usize) -> usize {
    client.get_many("/", total, concurrency).await
}

fn endpoint<'a>(document: &'a Value, address: &str) -> &'a Value {
    document["clusters"][0]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == address)
        .unwrap_or_else(|| panic!("{address} in {document}"))
}

/// The value of the sample whose line starts with `series` (name and labels as written).
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} in\n{metrics}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_shows_each_endpoints_balancer_state() {
    let live = |name| {
        BackendConfig::named(name)
            .latency(Duration::from_millis(20))
            .concurrency_limit(16)
            .report_utilization()
    };
    let (a, b) = (
        Backend::start(live("a")).await,
        Backend::start(live("b")).await,
    );
    let dead = refused_address();
    let gw = TestGateway::start(&config(&[&a, &b], dead, "")).await;
    assert_eq!(
        drive(&gw.client(), 60, 6).await,
        0,
        "retries hid the dead one"
    );

    let reply = gw.admin_get("/clusters", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type").unwrap(), "application/json");
    let document: Value = serde_json::from_str(&reply.text()).unwrap();
    let cluster = &document["clusters"][0];
    assert_eq!(cluster["name"], "fleet");
    assert_eq!(cluster["balancer"], "round_robin");
    assert_eq!(cluster["ejections"], 1, "{document}");
    let gone = endpoint(&document, &dead.to_string());
    assert_eq!(gone["available"], false);
    assert_eq!(gone["ejected"], true);
    assert_eq!(gone["answered"], false);
    assert!(gone["error_score"].as_f64().unwrap() > 0.0, "{gone}");
    let served = endpoint(&document, &a.address().to_string());
    assert_eq!(served["available"], true);
    assert_eq!(served["requests"], a.requests());
    assert!(served["latency_ms"].as_f64().unwrap() >= 20.0, "{served}");
    let utilization = served["utilization"].as_f64().unwrap();
    assert!(utilization > 0.0 && utilization <= 1.0, "{served}");
    // Learned from the reports of a server of limit 16 (how close it comes is the balance
    // crate's concern: `capacity_is_learned_from_utilization_reports`).
    let capacity = served["capacity"].as_f64().unwrap();
    assert!(capacity >= 2.0, "{served}");
    assert_eq!(served["in_flight"], 0);

    let metrics = gw.admin_get("/metrics", None).await.text();
    let series = |name: &str, address: String| {
        sample(
            &metrics,
            &format!("switchyard_endpoint_{name}{{cluster=\"fleet\",endpoint=\"{address}\"}}"),
        )
    };
    assert_eq!(
        series("requests_total", a.address().to_string()),
        a.requests() as f64
    );
    assert_eq!(series("available", dead.to_string()), 0.0);
    assert_eq!(series("available", b.address().to_string()), 1.0);
    assert_eq!(series("capacity", a.address().to_string()), capacity);
    assert_eq!(
        sample(
            &metrics,
            r#"switchyard_upstream_ejections_total{cluster="fleet"}"#
        ),
        1.0
    );
    assert!(metrics.trim_end().ends_with("# EOF"), "{metrics}");

    // A reload that changes the cluster rebuilds it: its counts and endpoint stats go on.
    let changed = config(&[&a, &b], dead, "    connect_timeout: 2s\n");
    let changed = switchyard_config::parse(&changed, "changed.yaml").unwrap();
    gw.reload_handle().reload(&changed).unwrap();
    let after = gw.admin_get("/metrics", None).await.text();
    assert_eq!(
        sample(
            &after,
            r#"switchyard_upstream_ejections_total{cluster="fleet"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            &format!(
                "switchyard_endpoint_requests_total{{cluster=\"fleet\",endpoint=\"{}\"}}",
                a.address()
            )
        ),
        a.requests() as f64
    );
}
