//! `switchyard sim`: runs the balancing lab's scenarios (crates/sim) with each algorithm and
//! prints one Markdown table: load-related errors, latency, and the troubled server's share.

use anyhow::{Context as _, bail};
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;
use switchyard_balance::{EdgeParams, Policy, StatParams};
use switchyard_sim::{Report, Scenario};

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Scenario: heterogeneous, slowdown, sinkhole, autoscale, or all.
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Offered load as a share of the fleet's capacity (repeatable).
    #[arg(long, default_values_t = [0.7, 0.85])]
    load: Vec<f64>,
    /// Seed of the run (same seed, same output).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The algorithms compared (hashing ones aside: the simulator's requests carry no key), then
/// Netflix's old baseline (round robin with failure blacklisting), then `edge` with each of its
/// factors removed in turn (the ablations); each with the stats its balancers run with.
fn algorithms() -> Vec<(&'static str, Policy, StatParams)> {
    let mut all: Vec<(&'static str, Policy, StatParams)> = Policy::catalog()
        .into_iter()
        .filter(|(name, _)| !matches!(*name, "ring_hash" | "maglev"))
        .map(|(name, policy)| (name, policy, StatParams::default()))
        .collect();
    let (policy, stats) = switchyard_sim::blacklisting_round_robin();
    all.push(("round_robin + blacklist", policy, stats));
    let edge = EdgeParams::default;
    let ablations = [
        (
            "edge - utilization",
            EdgeParams {
                use_utilization: false,
                ..edge()
            },
        ),
        (
            "edge - client health",
            EdgeParams {
                use_client_health: false,
                ..edge()
            },
        ),
        (
            "edge - probation",
            EdgeParams {
                use_probation: false,
                ..edge()
            },
        ),
        (
            "edge - warm-up",
            EdgeParams {
                warm_up: None,
                ..edge()
            },
        ),
        (
            "edge - relative latency",
            EdgeParams {
                k_latency: 0.0,
                ..edge()
            },
        ),
    ];
    all.extend(ablations.map(|(name, p)| (name, Policy::Edge(p), StatParams::default())));
    all
}

pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let scenarios = match args.scenario.as_str() {
        "all" => Scenario::ALL.to_vec(),
        name => vec![Scenario::parse(name).with_context(|| {
            let known: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
            format!("unknown scenario `{name}` ({}, all)", known.join(", "))
        })?],
    };
    if let Some(bad) = args.load.iter().find(|l| !(**l > 0.0 && **l < 2.0)) {
        bail!("--load {bad}: expected a share of capacity above 0 and below 2");
    }
    let runs: Vec<(Scenario, f64, &str, Policy, StatParams)> = scenarios
        .iter()
        .flat_map(|s| args.load.iter().map(move |l| (*s, *l)))
        .flat_map(|(s, l)| {
            algorithms()
                .into_iter()
                .map(move |(n, p, stats)| (s, l, n, p, stats))
        })
        .collect();
    println!(
        "| scenario | load | algorithm | errors % | p50 ms | p99 ms | p99.9 ms | troubled server's share % |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|");
    let started = Instant::now();
    let mut simulated = 0u64;
    for (k, (scenario, load, name, policy, stats)) in runs.iter().enumerate() {
        eprint!(
            "\r[{}/{}] {} at {load}: {name}        ",
            k + 1,
            runs.len(),
            scenario.name()
        );
        let _ = std::io::stderr().flush();
        let mut config = scenario.config(policy.clone(), *load, args.seed);
        config.stat_params = stats.clone();
        let report = switchyard_sim::run(&config);
        simulated += report.simulated_requests;
        println!("{}", row(*scenario, *load, name, &report));
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "\r{} runs, {simulated} simulated requests in {seconds:.1} s ({:.0} requests/s)",
        runs.len(),
        simulated as f64 / seconds.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

fn row(scenario: Scenario, load: f64, name: &str, r: &Report) -> String {
    let ms = |s: f64| s * 1000.0;
    format!(
        "| {} | {load} | {name} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} |",
        scenario.name(),
        r.error_rate * 100.0,
        ms(r.latency.p50),
        ms(r.latency.p99),
        ms(r.latency.p999),
        r.share.get(scenario.watched()).copied().unwrap_or(0.0) * 100.0,
    )
}
