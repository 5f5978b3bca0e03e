//! The balancer end to end with real backends on loopback: slow instances, a sinkhole, a late
//! joiner that warms up, a killed instance that is ejected without failing any client request.

use std::time::{Duration, Instant};
use switchyard_testkit::{Backend, BackendConfig, Client, TestGateway};

fn config(balancer: &str, extra: &str, backends: &[&Backend]) -> String {
    let endpoints: Vec<String> = backends
        .iter()
        .map(|b| format!("{{address: \"{}\"}}", b.address()))
        .collect();
    format!(
        "listeners: [{{name: public, address: '127.0.0.1:0'}}]\naccess_log: {{to: \"off\"}}\n\
         routes: [{{name: all, proxy: {{cluster: c}}}}]\n\
         clusters:\n  - name: c\n    balancer: {balancer}\n    endpoints: [{}]\n{extra}",
        endpoints.join(", ")
    )
}

/// Sends `total` GETs from `concurrency` clients at once; returns how many failed.
async fn drive(client: &Client, total: usize, concurrency: usize) -> usize {
    client.get_many("/", total, concurrency).await
}

fn share(backend: &Backend, all: &[&Backend]) -> f64 {
    backend.hits() as f64 / all.iter().map(|b| b.hits()).sum::<u64>().max(1) as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slower_instance_gets_less_traffic_under_edge_than_round_robin() {
    let mut shares = Vec::new();
    for balancer in ["round_robin", "edge"] {
        let fast_a =
            Backend::start(BackendConfig::named("a").latency(Duration::from_millis(2))).await;
        let fast_b =
            Backend::start(BackendConfig::named("b").latency(Duration::from_millis(2))).await;
        let slow =
            Backend::start(BackendConfig::named("slow").latency(Duration::from_millis(6))).await;
        let all = [&fast_a, &fast_b, &slow];
        let gw = TestGateway::start(&config(balancer, "    warm_up: \"off\"\n", &all)).await;
        assert_eq!(drive(&gw.client(), 600, 12).await, 0);
        shares.push(share(&slow, &all));
    }
    let (round_robin, edge) = (shares[0], shares[1]);
    assert!(
        (round_robin - 1.0 / 3.0).abs() < 0.02,
        "round robin is fair: {round_robin}"
    );
    assert!(
        edge < 0.25,
        "edge sends the 3x slower instance clearly less: {edge}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sinkhole_is_starved_by_edge_and_fed_by_least_request() {
    let mut shares = Vec::new();
    for balancer in ["least_request", "edge"] {
        let a = Backend::start(BackendConfig::named("a").latency(Duration::from_millis(3))).await;
        let b = Backend::start(BackendConfig::named("b").latency(Duration::from_millis(3))).await;
        let sink = Backend::start(BackendConfig::named("sink").status(503)).await;
        let all = [&a, &b, &sink];
        let extra = "    warm_up: \"off\"\n    retries: {attempts: 0}\n";
        let gw = TestGateway::start(&config(balancer, extra, &all)).await;
        drive(&gw.client(), 600, 12).await;
        shares.push(share(&sink, &all));
    }
    let (least_request, edge) = (shares[0], shares[1]);
    assert!(
        least_request > 1.0 / 3.0,
        "least_request feeds the fast-failing sinkhole: {least_request}"
    );
    assert!(edge < 0.1, "edge starves it: {edge}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_instance_ramps_up_over_its_warm_up_window() {
    let a = Backend::start(BackendConfig::named("a").latency(Duration::from_millis(1))).await;
    let b = Backend::start(BackendConfig::named("b").latency(Duration::from_millis(1))).await;
    let late = Backend::start(BackendConfig::named("late").latency(Duration::from_millis(1))).await;
    let extra = "    warm_up: 3s\n";
    let gw = TestGateway::start(&config("edge", extra, &[&a, &b])).await;
    drive(&gw.client(), 200, 4).await;
    let grown =
        switchyard_config::parse(&config("edge", extra, &[&a, &b, &late]), "grown.yaml").unwrap();
    gw.reload_handle().reload(&grown).unwrap();
    let joined = Instant::now();
    let before = [a.hits(), b.hits()];
    drive(&gw.client(), 300, 4).await;
    assert!(
        joined.elapsed() < Duration::from_millis(1500),
        "measured early in the window"
    );
    let early_total = a.hits() + b.hits() - before[0] - before[1] + late.hits();
    let early = late.hits() as f64 / early_total as f64;
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(joined.elapsed())).await;
    let at_ramp_end = [a.hits(), b.hits(), late.hits()];
    drive(&gw.client(), 600, 4).await;
    let late_total = a.hits() + b.hits() + late.hits() - at_ramp_end.iter().sum::<u64>();
    let warmed = (late.hits() - at_ramp_end[2]) as f64 / late_total as f64;
    assert!(
        early < 0.2,
        "early in its warm-up the newcomer gets little: {early}"
    );
    assert!(
        warmed > 0.2 && warmed > early,
        "once warm it takes its share: {warmed} (early: {early})"
    );
    let states = gw.reload_handle().endpoint_states("c").unwrap();
    assert!(
        states
            .iter()
            .filter(|s| s.address != late.address().to_string())
            .all(|s| s.stats.requests > 200),
        "the reload kept the old endpoints' stats: {states:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_is_ejected_and_no_client_request_fails() {
    let a = Backend::start(BackendConfig::named("a")).await;
    let b = Backend::start(BackendConfig::named("b")).await;
    let doomed = Backend::start(BackendConfig::named("doomed")).await;
    let doomed_address = doomed.address().to_string();
    let extra = "    warm_up: \"off\"\n    retries: {attempts: 2}\n";
    let gw = TestGateway::start(&config("round_robin", extra, &[&a, &b, &doomed])).await;
    assert_eq!(drive(&gw.client(), 90, 3).await, 0);
    drop(doomed);
    assert_eq!(
        drive(&gw.client(), 300, 3).await,
        0,
        "retries hid the dead instance from clients"
    );
    let states = gw.reload_handle().endpoint_states("c").unwrap();
    let dead = states.iter().find(|s| s.address == doomed_address).unwrap();
    assert!(
        !dead.stats.available(),
        "ejected after consecutive connect failures: {dead:?}"
    );
    assert!(dead.stats.ejections >= 1);
    let requests_before = dead.stats.requests;
    assert_eq!(drive(&gw.client(), 60, 3).await, 0);
    let after = gw.reload_handle().endpoint_states("c").unwrap();
    let dead_after = after.iter().find(|s| s.address == doomed_address).unwrap();
    assert_eq!(
        dead_after.stats.requests, requests_before,
        "no attempt goes to an ejected endpoint"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_health_checks_take_a_failing_endpoint_out_and_back() {
    let a = Backend::start(BackendConfig::named("a")).await;
    let b = Backend::start(BackendConfig::named("b")).await;
    let extra = "    warm_up: \"off\"\n    health_check: {http: /health, interval: 50ms, timeout: 200ms, healthy_threshold: 1, unhealthy_threshold: 2, jitter: 0.0}\n";
    let gw = TestGateway::start(&config("round_robin", extra, &[&a, &b])).await;
    let available = |gw: &TestGateway| -> Vec<bool> {
        gw.reload_handle()
            .endpoint_states("c")
            .unwrap()
            .iter()
            .map(|s| s.stats.available())
            .collect()
    };
    b.set_status(500);
    let deadline = Instant::now() + Duration::from_secs(5);
    while available(&gw) != [true, false] {
        assert!(Instant::now() < deadline, "b never went unhealthy");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hits = b.hits();
    for _ in 0..10 {
        assert_eq!(gw.get("/").await.header("x-backend"), Some("a"));
    }
    assert!(b.hits() - hits < 5, "only health checks reach b");
    b.set_status(0);
    while available(&gw) != [true, true] {
        assert!(Instant::now() < deadline, "b never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashing_keeps_a_key_on_one_endpoint() {
    let backends = [
        Backend::start(BackendConfig::named("a")).await,
        Backend::start(BackendConfig::named("b")).await,
        Backend::start(BackendConfig::named("c")).await,
    ];
    let refs: Vec<&Backend> = backends.iter().collect();
    for balancer in ["ring_hash", "maglev"] {
        let gw =
            TestGateway::start(&config(balancer, "    hash_on: {header: x-user}\n", &refs)).await;
        let client = gw.client();
        let mut owners = std::collections::HashSet::new();
        for user in 0..20 {
            let mut seen = std::collections::HashSet::new();
            for _ in 0..5 {
                let request = client
                    .request(http::Method::GET, "", "/")
                    .header("x-user", format!("u{user}"))
                    .body(Default::default())
                    .unwrap();
                seen.insert(
                    client
                        .send(request)
                        .await
                        .unwrap()
                        .header("x-backend")
                        .unwrap()
                        .to_owned(),
                );
            }
            assert_eq!(
                seen.len(),
                1,
                "{balancer}: user {user} stuck to one endpoint"
            );
            owners.extend(seen);
        }
        assert_eq!(
            owners.len(),
            3,
            "{balancer}: keys spread over every endpoint"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_discovery_adds_and_removes_endpoints_without_a_reload() {
    let a = Backend::start(BackendConfig::named("a")).await;
    let b = Backend::start(BackendConfig::named("b")).await;
    let file =
        std::env::temp_dir().join(format!("switchyard-endpoints-{}.yaml", std::process::id()));
    let write = |backends: &[&Backend]| {
        let lines: Vec<String> = backends
            .iter()
            .map(|b| format!("- {{address: \"{}\"}}\n", b.address()))
            .collect();
        let tmp = file.with_extension("tmp");
        std::fs::write(&tmp, lines.concat()).unwrap();
        std::fs::rename(&tmp, &file).unwrap();
    };
    write(&[&a]);
    let yaml = format!(
        "listeners: [{{name: public, address: '127.0.0.1:0'}}]\naccess_log: {{to: \"off\"}}\n\
         routes: [{{name: all, proxy: {{cluster: c}}}}]\n\
         clusters:\n  - name: c\n    balancer: round_robin\n    discovery: {{file: \"{}\"}}\n",
        file.display()
    );
    let gw = TestGateway::start(&yaml).await;
    assert_eq!(gw.get("/").await.header("x-backend"), Some("a"));
    write(&[&a, &b]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.hits() == 0 {
        assert!(Instant::now() < deadline, "b was never discovered");
        assert_eq!(gw.get("/").await.status, 200);
    }
    write(&[&b]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let states = gw.reload_handle().endpoint_states("c").unwrap();
        if states.len() == 1 {
            assert_eq!(states[0].address, b.address().to_string());
            assert!(
                states[0].stats.requests > 0,
                "b kept its stats across the change"
            );
            break;
        }
        assert!(Instant::now() < deadline, "a was never removed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let a_hits = a.hits();
    for _ in 0..5 {
        assert_eq!(gw.get("/").await.header("x-backend"), Some("b"));
    }
    assert_eq!(a.hits(), a_hits);
    let _ = std::fs::remove_file(&file);
}

/// Sends `n` GETs at once; returns their statuses.
async fn burst(client: &Client, n: usize) -> Vec<u16> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get("/").await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

/// A backend that takes 2 requests at once and sheds the rest with 503: once the gateway has
/// learned that capacity from the backend's utilization reports, a burst of 6 waits for room
/// instead of being shed, unless `capacity_wait` is off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_wait_for_room_under_the_learned_capacity_instead_of_being_shed() {
    let mut shed = Vec::new();
    for wait in ["1s", "\"off\""] {
        let backend = Backend::start(
            BackendConfig::named("small")
                .latency(Duration::from_millis(40))
                .concurrency_limit(2)
                .report_utilization(),
        )
        .await;
        let extra = format!("    capacity_wait: {wait}\n    retries: {{attempts: 0}}\n");
        let gw = TestGateway::start(&config("edge", &extra, &[&backend])).await;
        // Pairs at the limit, the second sent 10 ms after the first, teach the gateway a
        // capacity of 2: the first answer comes while both are in service, at utilization 1.
        for _ in 0..5 {
            let client = gw.client();
            let first = tokio::spawn(async move { client.get("/").await.status });
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert_eq!(gw.get("/").await.status, 200);
            assert_eq!(first.await.unwrap(), 200);
        }
        let statuses = burst(&gw.client(), 6).await;
        shed.push(statuses.iter().filter(|s| **s == 503).count());
    }
    assert_eq!(shed[0], 0, "waiting for room: none shed");
    assert!(
        shed[1] >= 3,
        "without waiting the backend sheds: {}",
        shed[1]
    );
}
