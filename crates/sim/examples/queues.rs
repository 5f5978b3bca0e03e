//! Scenarios by the size of the queue in front of each server's workers: every scenario at load
//! 0.85, servers of eight workers that admit `8 + queue` requests (503 beyond), for `edge`,
//! least_request and Netflix's old baseline (round robin with blacklisting). Errors come from
//! the balancing rather than from blocking once there is a queue.
//! `cargo run -p switchyard-sim --release --example queues -- [seeds]`

use switchyard_balance::{EdgeParams, Policy, StatParams};
use switchyard_sim::{Fleet, Scenario, blacklisting_round_robin, run};

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let (blacklist, blacklist_stats) = blacklisting_round_robin();
    let algorithms: Vec<(&str, Policy, StatParams)> = vec![
        (
            "edge",
            Policy::Edge(EdgeParams::default()),
            StatParams::default(),
        ),
        (
            "least_request",
            Policy::LeastRequest {
                bias: 1.0,
                warm_up: None,
            },
            StatParams::default(),
        ),
        ("round_robin + blacklist", blacklist, blacklist_stats),
    ];
    println!("| scenario | queue | algorithm | errors % | p99 ms | troubled share % |");
    println!("|---|---:|---|---:|---:|---:|");
    for scenario in Scenario::ALL {
        for queue in [0u32, 8, 24] {
            for (name, policy, stats) in &algorithms {
                let (mut errors, mut p99, mut share) = (0.0, 0.0, 0.0);
                for seed in 1..=seeds {
                    let mut config = scenario.config(Fleet::Small, policy.clone(), 0.85, seed);
                    config.stat_params = stats.clone();
                    for server in &mut config.servers {
                        server.limit = Some(server.workers + queue * server.workers / 8);
                    }
                    let r = run(&config);
                    errors += r.error_rate * 100.0 / seeds as f64;
                    p99 += r.latency.p99 * 1000.0 / seeds as f64;
                    share += r.share[scenario.watched(Fleet::Small)] * 100.0 / seeds as f64;
                }
                println!(
                    "| {} | {queue} | {name} | {errors:.2} | {p99:.1} | {share:.1} |",
                    scenario.name()
                );
            }
        }
    }
}
