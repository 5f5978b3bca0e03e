//! Relative latency in `edge`'s score (`k_latency`, and `k_latency_warming` for endpoints still
//! warming up): each scenario at load 0.85, errors, p99 and the troubled server's share, measured
//! while the trouble lasts, averaged over seeds.
//! `cargo run -p switchyard-sim --release --example latency_lever -- [seeds] [small|large]
//! [scenarios]`

use std::time::Duration;
use switchyard_balance::{EdgeParams, Policy};
use switchyard_sim::{Fleet, Scenario, run};

fn powers(warm: f64, warming: f64, full_at: f64) -> EdgeParams {
    EdgeParams {
        k_latency: warm,
        k_latency_warming: warming,
        busy_fleet_at: full_at,
        ..EdgeParams::default()
    }
}

fn variants() -> Vec<(String, EdgeParams)> {
    let default = EdgeParams::default();
    let settings = [
        (1.0, 1.0, 0.8),
        (2.0, 2.0, 0.8),
        (2.0, 1.0, 0.0),
        (2.0, 1.0, 0.6),
        (2.0, 1.0, 0.7),
        (2.0, 1.0, 0.8),
        (2.0, 1.0, 0.9),
        (2.0, 0.0, 0.8),
        (3.0, 1.0, 0.8),
    ];
    settings
        .into_iter()
        .map(|(warm, warming, full_at)| {
            let mark = if (warm, warming, full_at)
                == (
                    default.k_latency,
                    default.k_latency_warming,
                    default.busy_fleet_at,
                ) {
                " (default)"
            } else {
                ""
            };
            (
                format!("edge k_latency={warm} warming={warming} busy_fleet_at={full_at}{mark}"),
                powers(warm, warming, full_at),
            )
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seeds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let fleet = args.next().map_or(Fleet::Small, |f| {
        Fleet::parse(&f).expect("fleet: small or large")
    });
    let named: Vec<Scenario> = args
        .map(|s| Scenario::parse(&s).expect("scenario: one of the lab's scenario names"))
        .collect();
    let scenarios = if named.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        named
    };
    println!("| scenario | variant | errors % | p99 | troubled share % |");
    println!("|---|---|---:|---:|---:|");
    for scenario in scenarios {
        for (name, params) in &variants() {
            let (mut errors, mut p99, mut share) = (0.0, 0.0, 0.0);
            for seed in 1..=seeds {
                let mut config = scenario.config(fleet, Policy::Edge(params.clone()), 0.85, seed);
                config.warmup = Duration::from_secs(2);
                config.duration = Duration::from_secs(3);
                let r = run(&config);
                errors += r.error_rate * 100.0 / seeds as f64;
                p99 += r.latency.p99 / seeds as f64;
                share += r.share[scenario.watched(fleet)] * 100.0 / seeds as f64;
            }
            println!(
                "| {} | {name} | {errors:.2} | {p99:.4} | {share:.1} |",
                scenario.name()
            );
        }
    }
}
