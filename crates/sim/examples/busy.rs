//! The fleet benchmark's "busy" situation in the simulator, to tune `edge` where it lost to
//! least-connections: six servers with a concurrency limit (503 beyond it), one of them with half
//! the capacity, offered 80 % of the fleet's capacity by one balancer.
//! `[LOADS="0.7 0.8 0.9"] cargo run -p switchyard-sim --release --example busy -- [seconds] [seeds]
//! [situations]`.

use std::time::Duration;
use switchyard_balance::{EdgeParams, Policy};
use switchyard_sim::{Config, ServerSpec, ServiceTime, run};

/// The situations: `busy` (one weak server), `busy4` (the same behind four balancers), `slow`
/// (one server three times slower, same limit), `late` (one server joins late; the engine
/// starts it with the others, so this is `busy` with warm-up on), at each load.
fn fleet(situation: &str, policy: Policy, load: f64, seed: u64, seconds: u64) -> Config {
    let service = ServiceTime::LogNormal {
        mean: Duration::from_millis(10),
        sigma: 0.2,
    };
    let mut config = Config::identical(6, service, load, policy);
    let server = |limit| ServerSpec {
        workers: limit,
        speed: 1.0,
        limit: Some(limit),
    };
    config.servers = vec![
        server(8),
        server(8),
        server(8),
        server(8),
        server(8),
        server(4),
    ];
    if situation == "slow" {
        config.servers[5] = ServerSpec {
            workers: 8,
            speed: 1.0 / 3.0,
            limit: Some(8),
        };
    }
    if situation == "busy4" {
        config.balancers = 4;
    }
    config.network_delay = Duration::from_micros(100);
    config.warmup = Duration::from_secs(2);
    config.duration = Duration::from_secs(seconds);
    config.seed = seed;
    config
}

fn edge(change: impl Fn(&mut EdgeParams)) -> Policy {
    let mut p = EdgeParams::default();
    change(&mut p);
    Policy::Edge(p)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    let seeds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let situations: Vec<String> = args.collect();
    let situations = if situations.is_empty() {
        vec!["busy".to_owned(), "busy4".to_owned(), "slow".to_owned()]
    } else {
        situations
    };
    // LOADS="0.5 0.6" runs other loads (offered / the capacity of six full servers).
    let loads: Vec<f64> = std::env::var("LOADS")
        .unwrap_or_else(|_| "0.7 0.8 0.9".to_owned())
        .split_whitespace()
        .map(|l| l.parse().expect("LOADS: loads such as \"0.5 0.6\""))
        .collect();
    let policies: Vec<(&str, Policy)> = vec![
        ("edge (defaults)", Policy::default()),
        ("edge previous scoring", edge(|p| p.capacity_aware = false)),
        (
            "edge capacity-aware k_err=1",
            edge(|p| {
                p.capacity_aware = true;
                p.k_err = 1.0;
            }),
        ),
        ("edge k_latency=1", edge(|p| p.k_latency = 1.0)),
        ("edge k_latency=2", edge(|p| p.k_latency = 2.0)),
        ("edge k_latency=3", edge(|p| p.k_latency = 3.0)),
        ("edge k_latency=4", edge(|p| p.k_latency = 4.0)),
        ("edge no scan", edge(|p| p.scan_up_to = 0)),
        ("edge k_err=1", edge(|p| p.k_err = 1.0)),
        ("edge k_err=0", edge(|p| p.k_err = 0.0)),
        ("edge no utilization", edge(|p| p.use_utilization = false)),
        (
            "edge no client health",
            edge(|p| p.use_client_health = false),
        ),
        (
            "edge k_err=1, no filter",
            edge(|p| {
                p.k_err = 1.0;
                p.error_threshold = 1.1;
            }),
        ),
        (
            "least_request",
            Policy::LeastRequest {
                bias: 1.0,
                warm_up: None,
            },
        ),
        ("round_robin", Policy::RoundRobin { warm_up: None }),
    ];
    println!(
        "| situation | policy | load | errors % | p50 ms | p99 ms | troubled server share % |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for situation in &situations {
        for &load in &loads {
            for (name, policy) in &policies {
                let (mut errors, mut p50, mut p99, mut weak) = (0.0, 0.0, 0.0, 0.0);
                for seed in 1..=seeds {
                    let report = run(&fleet(situation, policy.clone(), load, seed, seconds));
                    errors += report.error_rate;
                    p50 += report.latency.p50;
                    p99 += report.latency.p99;
                    weak += report.share[5];
                }
                let n = seeds as f64;
                println!(
                    "| {situation} | {name} | {load} | {:.3} | {:.2} | {:.2} | {:.1} |",
                    100.0 * errors / n,
                    1000.0 * p50 / n,
                    1000.0 * p99 / n,
                    100.0 * weak / n
                );
            }
        }
    }
}
