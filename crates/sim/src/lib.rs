//! The balancing lab: a deterministic discrete-event simulator of a fleet of servers behind
//! independent balancers that run the real `switchyard-balance` code.
//!
//! Design. Virtual time is a `u64` of nanoseconds; events (a request arriving at a balancer,
//! reaching its server, finishing service, its response reaching the balancer) sit in a binary
//! heap ordered by time and then by a sequence number, so ties resolve in scheduling order and
//! never by accident. Before each event the engine advances a [`ManualClock`] that every
//! balancer reads through its `Timebase`, so decay, staleness, probation and warm-up see
//! virtual time. All randomness comes from the seed: one [`Rng`] stream draws each request's
//! arrival time, balancer and work in arrival order (so request k is the same under every
//! policy: common random numbers), and each balancer is built with a non-zero seed derived
//! from it. A [`Config`] thus fully determines its [`Report`], byte for byte. Each of the `balancers` has its
//! own [`EndpointSet`] over the same servers (it sees only its own requests in flight);
//! arrivals are Poisson and assigned to balancers uniformly. A request holds its balancer's
//! `Pick` from pick to response and `record`s the outcome (success, or `Overloaded` for the
//! 503 a server answers at once beyond its concurrency limit) with the server's utilization
//! (busy workers / workers) when the response arrives. Servers have workers, a FIFO queue,
//! a speed factor and exponential or log-normal service times. [`theory`] checks the engine
//! against queueing theory.
//!
//! ```
//! use std::time::Duration;
//! use switchyard_balance::Policy;
//! use switchyard_sim::{Config, ServiceTime};
//!
//! let service = ServiceTime::Exponential { mean: Duration::from_millis(10) };
//! let mut config = Config::identical(10, service, 0.5, Policy::default());
//! config.balancers = 3;
//! config.duration = Duration::from_secs(2);
//! let report = switchyard_sim::run(&config);
//! assert_eq!(report.error_rate, 0.0);
//! assert!(report.latency.mean > 0.01 && report.latency.mean < 0.03);
//! assert_eq!(report, switchyard_sim::run(&config), "deterministic");
//! ```
//!
//! [`ManualClock`]: switchyard_core::ManualClock
//! [`Rng`]: switchyard_core::Rng
//! [`EndpointSet`]: switchyard_balance::EndpointSet

mod baseline;
mod coarse;
mod config;
mod engine;
pub mod render;
mod report;
mod scenario;
mod server;
pub mod study;
mod svg;
pub mod sweep;
pub mod theory;
mod timeline;

pub use baseline::{LabPolicy, blacklisting_round_robin};
pub use coarse::Coarse;
pub use config::{Algorithm, Config, Episode, ServerSpec, ServerState, ServiceTime};
pub use report::{Latency, Report, TAIL_QUANTILES};
pub use scenario::{Fleet, Scenario};
pub use theory::{Check, Size, validate_theory};
pub use timeline::{Recovery, Timeline};

/// Simulates `config` to the end of its measurement window (each measured request followed
/// to its response) and reports what was measured.
pub fn run(config: &Config) -> Report {
    engine::Engine::new(config).run()
}

/// Runs every config, on as many threads as the machine has (each run is independent and
/// deterministic, so the reports are the same as one by one, in the same order).
pub fn run_all(configs: &[Config]) -> Vec<Report> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = configs.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (configs.chunks(chunk))
            .map(|part| scope.spawn(move || part.iter().map(run).collect::<Vec<_>>()))
            .collect();
        (handles.into_iter())
            .flat_map(|h| h.join().expect("a simulation run panicked"))
            .collect()
    })
}
