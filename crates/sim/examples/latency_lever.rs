//! Relative latency in `edge`'s score (`k_latency`): each scenario at load 0.85, errors, p99
//! and the troubled server's share, measured while the trouble lasts, averaged over seeds.
//! `cargo run -p switchyard-sim --release --example latency_lever -- [seeds]`

use std::time::Duration;
use switchyard_balance::{EdgeParams, Policy};
use switchyard_sim::{Fleet, Scenario, run};

fn k_latency(k: f64) -> EdgeParams {
    EdgeParams {
        k_latency: k,
        ..EdgeParams::default()
    }
}

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let default = EdgeParams::default().k_latency;
    let variants: Vec<(String, EdgeParams)> = [1.0, 2.0, 3.0, 4.0]
        .into_iter()
        .map(|k| {
            let mark = if k == default { " (default)" } else { "" };
            (format!("edge k_latency={k}{mark}"), k_latency(k))
        })
        .collect();
    println!("| scenario | variant | errors % | p99 | troubled share % |");
    println!("|---|---|---:|---:|---:|");
    for scenario in Scenario::ALL {
        for (name, params) in &variants {
            let (mut errors, mut p99, mut share) = (0.0, 0.0, 0.0);
            for seed in 1..=seeds {
                let mut config =
                    scenario.config(Fleet::Small, Policy::Edge(params.clone()), 0.85, seed);
                config.warmup = Duration::from_secs(2);
                config.duration = Duration::from_secs(3);
                let r = run(&config);
                errors += r.error_rate * 100.0 / seeds as f64;
                p99 += r.latency.p99 / seeds as f64;
                share += r.share[scenario.watched(Fleet::Small)] * 100.0 / seeds as f64;
            }
            println!(
                "| {} | {name} | {errors:.2} | {p99:.4} | {share:.1} |",
                scenario.name()
            );
        }
    }
}
