//! Queueing theory the simulator must reproduce, and the check that it does: identical
//! single-worker servers, Poisson arrivals, exponential service, one balancer.

use crate::config::{Config, ServiceTime};
use std::fmt::Write as _;
use std::time::Duration;
use switchyard_balance::Policy;

/// M/M/1 mean time in system, in mean service times: `1 / (1 - load)`. Random assignment
/// splits a Poisson stream into independent Poisson streams, so this is exact for any fleet.
pub fn random(load: f64) -> f64 {
    1.0 / (1.0 - load)
}

/// Mitzenmacher's supermarket model (join the shortest of `d` queues sampled at random), in
/// the limit of a large fleet: `sum over i >= 1 of load^((d^i - d) / (d - 1))`.
pub fn supermarket(load: f64, d: u32) -> f64 {
    let d = f64::from(d.max(2));
    (1..64)
        .map(|i| load.powf((d.powi(i) - d) / (d - 1.0)))
        .take_while(|term| *term > 1e-18)
        .sum()
}

/// Round robin from one Poisson stream over `servers` identical servers: each sees Erlang-N
/// inter-arrival times, an E_N/M/1 queue, exactly. `None` is the large-fleet limit, D/M/1.
/// Mean time in system is `1 / (1 - s)`, `s` the root in (0, 1) of `s = A(1 - s)`, `A` the
/// Laplace transform of the inter-arrival time (service rate 1).
pub fn round_robin(load: f64, servers: Option<usize>) -> f64 {
    let transform = |x: f64| match servers {
        Some(n) => {
            let n = n as f64;
            (-n * (x / (n * load)).ln_1p()).exp()
        }
        None => (-x / load).exp(),
    };
    // From 0 the iteration rises monotonically to the smallest root.
    let mut s = 0.0;
    for _ in 0..100_000 {
        let next = transform(1.0 - s);
        if (next - s).abs() < 1e-15 {
            break;
        }
        s = next;
    }
    1.0 / (1.0 - s)
}

/// How big a validation run is.
#[derive(Debug, Clone, PartialEq)]
pub struct Size {
    pub servers: usize,
    /// Measurement window, in mean service times.
    pub duration: u32,
    /// Simulated first and not measured, in mean service times.
    pub warmup: u32,
    pub seed: u64,
}

impl Size {
    /// Runs in seconds in a debug build (used by the tests).
    pub fn quick() -> Self {
        Self {
            servers: 100,
            duration: 1_500,
            warmup: 300,
            seed: 1,
        }
    }

    /// The full check: a large fleet, long enough for a standard error of about 0.5 % at
    /// load 0.9 (a minute in a release build).
    pub fn full() -> Self {
        Self {
            servers: 1_000,
            duration: 10_000,
            warmup: 1_000,
            seed: 1,
        }
    }
}

/// One policy at one load: simulated against expected mean time in system (mean service
/// times).
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub policy: &'static str,
    pub load: f64,
    pub simulated: f64,
    /// The expected value for this fleet size where theory has it (random, round robin), else
    /// the large-fleet limit.
    pub theory: f64,
    /// The large-fleet limit.
    pub limit: f64,
    /// Whether `theory` is exact for this fleet size.
    pub exact: bool,
    /// Measured requests.
    pub requests: u64,
    /// Requests simulated in all (warm-up and drain included).
    pub simulated_requests: u64,
}

impl Check {
    /// `simulated / theory - 1`.
    pub fn relative_error(&self) -> f64 {
        self.simulated / self.theory - 1.0
    }
}

/// The policies the balance crate has that theory covers. Choice of three is not among them:
/// `least_request` always samples two.
fn policies() -> [(&'static str, Policy); 3] {
    [
        ("random", Policy::Random),
        ("round_robin", Policy::RoundRobin { warm_up: None }),
        (
            "choice_of_2",
            Policy::LeastRequest {
                bias: 1.0,
                warm_up: None,
            },
        ),
    ]
}

/// Runs each policy at loads 0.7 and 0.9 and compares with theory.
pub fn validate_theory(size: &Size) -> Vec<Check> {
    let service = Duration::from_millis(10);
    let mut checks = Vec::new();
    for load in [0.7, 0.9] {
        for (name, policy) in policies() {
            let exp = ServiceTime::Exponential { mean: service };
            let mut config = Config::identical(size.servers, exp, load, policy);
            config.warmup = service * size.warmup;
            config.duration = service * size.duration;
            config.seed = size.seed;
            let report = crate::run(&config);
            let (theory, limit, exact) = match name {
                "random" => (random(load), random(load), true),
                "round_robin" => {
                    let exact = round_robin(load, Some(size.servers));
                    (exact, round_robin(load, None), true)
                }
                _ => (supermarket(load, 2), supermarket(load, 2), false),
            };
            checks.push(Check {
                policy: name,
                load,
                simulated: report.latency.mean / service.as_secs_f64(),
                theory,
                limit,
                exact,
                requests: report.requests,
                simulated_requests: report.simulated_requests,
            });
        }
    }
    checks
}

/// The checks as a Markdown table.
pub fn table(checks: &[Check]) -> String {
    let mut out = String::from(
        "| policy | load | simulated | theory | error | large-N limit | requests |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for c in checks {
        let mark = if c.exact { "" } else { " (limit)" };
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} | {:.3}{mark} | {:+.2} % | {:.3} | {} |",
            c.policy,
            c.load,
            c.simulated,
            c.theory,
            100.0 * c.relative_error(),
            c.limit,
            c.requests
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_match_the_published_figures() {
        let close = |a: f64, b: f64| (a - b).abs() < 0.006;
        assert!(close(random(0.9), 10.0) && close(random(0.7), 3.333));
        assert!(close(supermarket(0.9, 2), 2.61) && close(supermarket(0.7, 2), 1.61));
        assert!(close(supermarket(0.9, 3), 2.03) && close(supermarket(0.7, 3), 1.36));
        assert!(close(round_robin(0.9, None), 5.18));
        let n100 = round_robin(0.9, Some(100));
        assert!(n100 > round_robin(0.9, None) && n100 < 5.3, "{n100}");
        assert!(close(round_robin(0.9, Some(1)), 10.0), "E_1/M/1 is M/M/1");
    }
}
