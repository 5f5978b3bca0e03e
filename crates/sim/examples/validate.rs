//! Checks the simulator against queueing theory and prints a Markdown table, then the speed
//! on a fleet-like run (`edge`, 20 balancers, 60 servers, log-normal, 503 limits, delay):
//! `cargo run -p switchyard-sim --release --example validate -- [quick|full] [seed]`.

use std::time::{Duration, Instant};
use switchyard_balance::{EdgeParams, Policy};
use switchyard_sim::{Config, ServerSpec, ServiceTime, Size, run, theory};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut size = match args.next().as_deref() {
        Some("quick") => Size::quick(),
        _ => Size::full(),
    };
    if let Some(seed) = args.next().and_then(|s| s.parse().ok()) {
        size.seed = seed;
    }
    let started = Instant::now();
    let checks = theory::validate_theory(&size);
    let elapsed = started.elapsed().as_secs_f64();
    print!("{}", theory::table(&checks));
    let simulated: u64 = checks.iter().map(|c| c.simulated_requests).sum();
    println!("\n{size:?}");
    println!("{}", speed(simulated, elapsed));

    let service = ServiceTime::LogNormal {
        mean: Duration::from_millis(20),
        sigma: 1.0,
    };
    let mut fleet = Config::identical(60, service, 0.85, Policy::Edge(EdgeParams::default()));
    fleet.servers = vec![
        ServerSpec {
            workers: 8,
            speed: 1.0,
            limit: Some(16),
        };
        60
    ];
    fleet.balancers = 20;
    fleet.network_delay = Duration::from_millis(1);
    fleet.warmup = Duration::from_secs(10);
    fleet.duration = Duration::from_secs(if size == Size::quick() { 20 } else { 200 });
    let started = Instant::now();
    let report = run(&fleet);
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "\nfleet (edge): error rate {:.5}, {:?}",
        report.error_rate, report.latency
    );
    println!("{}", speed(report.simulated_requests, elapsed));
}

fn speed(requests: u64, seconds: f64) -> String {
    let rate = requests as f64 / seconds;
    format!("{requests} requests simulated in {seconds:.1} s: {rate:.0} requests/s")
}
