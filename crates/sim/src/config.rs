//! What to simulate: the servers, their service times, the offered load, the balancers.

use crate::baseline::LabPolicy;
use std::time::Duration;
use switchyard_balance::{Balancer, EndpointSet, Policy, StatParams};
use switchyard_core::Rng;

/// One server: how many requests it serves at once, how fast, and how many it accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    /// Requests served concurrently (at least 1); the rest wait in a FIFO queue.
    pub workers: u32,
    /// Service times are divided by this (0.5: twice as slow as a speed-1 server); above 0.
    pub speed: f64,
    /// In service plus queued beyond which the server answers 503 at once; `None`: unbounded.
    pub limit: Option<u32>,
}

impl ServerSpec {
    /// `workers` workers, speed 1, unbounded queue.
    pub fn new(workers: u32) -> Self {
        Self {
            workers,
            speed: 1.0,
            limit: None,
        }
    }

    /// Requests per second this server completes when always busy.
    pub fn capacity(&self, service: &ServiceTime) -> f64 {
        f64::from(self.workers.max(1)) * self.speed / service.mean().as_secs_f64()
    }
}

/// The work one request takes on a speed-1 server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServiceTime {
    /// Exponential with this mean.
    Exponential { mean: Duration },
    /// Log-normal with this mean; `sigma` is the standard deviation of its logarithm.
    LogNormal { mean: Duration, sigma: f64 },
}

impl ServiceTime {
    pub fn mean(&self) -> Duration {
        match *self {
            ServiceTime::Exponential { mean } | ServiceTime::LogNormal { mean, .. } => mean,
        }
    }

    /// One draw, in seconds.
    pub fn sample(&self, rng: &mut Rng) -> f64 {
        match *self {
            ServiceTime::Exponential { mean } => exponential(rng, mean.as_secs_f64()),
            ServiceTime::LogNormal { mean, sigma } => {
                let mu = mean.as_secs_f64().ln() - sigma * sigma / 2.0;
                (mu + sigma * standard_normal(rng)).exp()
            }
        }
    }
}

/// Exponential with mean `mean` (inversion; `1 - u` is in (0, 1]).
pub(crate) fn exponential(rng: &mut Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.unit()).ln()
}

/// Standard normal (Box-Muller; one of the pair is dropped, which keeps the stream simple).
fn standard_normal(rng: &mut Rng) -> f64 {
    let u = 1.0 - rng.unit();
    let v = rng.unit();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// A change in one server's behaviour for part of the run (times from the start of the run).
/// Where episodes of one server overlap, the one listed last wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub server: usize,
    pub from: Duration,
    pub until: Duration,
    pub state: ServerState,
}

/// How a server behaves during an [`Episode`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServerState {
    /// Service times are divided by this instead of the server's speed (0.25: four times
    /// slower, e.g. a cold JIT or a GC stall); requests already in service keep their pace.
    Speed(f64),
    /// Answers every new request with a 503 after this long, without queueing it: a sick
    /// server that fails fast (a sinkhole for balancers that count only queues).
    Sick { answer_after: Duration },
    /// Not in the fleet (not started yet, or taken out): the balancers' membership lacks it;
    /// requests it already has finish.
    Absent,
}

/// How each balancer chooses: a policy `switchyard-balance` ships, or one of the lab's
/// comparison baselines.
#[derive(Debug, Clone, PartialEq)]
pub enum Algorithm {
    Policy(Policy),
    Lab(LabPolicy),
}

impl Algorithm {
    /// The balancer for one membership; `seed` is non-zero (deterministic draws).
    pub(crate) fn build(&self, set: &EndpointSet, seed: u64) -> Box<dyn Balancer> {
        match self {
            Algorithm::Policy(policy) => policy.build(set, seed),
            Algorithm::Lab(lab) => lab.build(seed),
        }
    }
}

impl From<Policy> for Algorithm {
    fn from(policy: Policy) -> Self {
        Algorithm::Policy(policy)
    }
}

impl From<LabPolicy> for Algorithm {
    fn from(lab: LabPolicy) -> Self {
        Algorithm::Lab(lab)
    }
}

/// One simulation run. The same `Config` always gives the same [`Report`](crate::Report).
#[derive(Debug, Clone)]
pub struct Config {
    pub servers: Vec<ServerSpec>,
    pub service: ServiceTime,
    /// Offered load as a share of the fleet's capacity (sum of workers x speed / mean).
    pub load: f64,
    /// Independent balancers, each with its own view of the servers; arrivals are assigned
    /// to them uniformly at random.
    pub balancers: usize,
    pub policy: Algorithm,
    /// The balancers' stats tunables (decay, staleness, outlier detection).
    pub stat_params: StatParams,
    /// One-way network delay, balancer to server and back.
    pub network_delay: Duration,
    /// Servers report in-service / workers on every response.
    pub report_utilization: bool,
    /// Changes in the servers' behaviour over time (slowness, sickness, joining late).
    pub episodes: Vec<Episode>,
    /// Requests arriving before this are simulated but not measured.
    pub warmup: Duration,
    /// Requests arriving in `[warmup, warmup + duration)` are measured (each to completion).
    pub duration: Duration,
    /// A balancer gives up on a request not answered this long after its pick (an error, and
    /// a `Timeout` outcome for the endpoint); the server still does the work. `None`: waits.
    pub timeout: Option<Duration>,
    /// Width of the report's timeline bins (errors and traffic shares over time).
    pub bin: Duration,
    pub seed: u64,
}

impl Config {
    /// `n` identical single-worker servers with unbounded queues, one balancer, no network
    /// delay: the textbook setting.
    pub fn identical(
        n: usize,
        service: ServiceTime,
        load: f64,
        policy: impl Into<Algorithm>,
    ) -> Self {
        let mean = service.mean();
        Self {
            servers: vec![ServerSpec::new(1); n],
            service,
            load,
            balancers: 1,
            policy: policy.into(),
            stat_params: StatParams::default(),
            network_delay: Duration::ZERO,
            report_utilization: true,
            episodes: Vec::new(),
            warmup: mean * 100,
            duration: mean * 1000,
            timeout: None,
            bin: Duration::from_millis(100),
            seed: 1,
        }
    }

    /// The state of server `i` at `at`: the last listed episode that covers it, if any.
    pub fn state_at(&self, i: usize, at: Duration) -> Option<ServerState> {
        (self.episodes.iter().rev())
            .find(|e| e.server == i && e.from <= at && at < e.until)
            .map(|e| e.state)
    }

    /// Requests per second offered to the fleet.
    pub fn arrival_rate(&self) -> f64 {
        let capacity: f64 = self.servers.iter().map(|s| s.capacity(&self.service)).sum();
        self.load * capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_times_have_the_configured_mean() {
        let mean = Duration::from_millis(20);
        let mut rng = Rng::seeded(3);
        for service in [
            ServiceTime::Exponential { mean },
            ServiceTime::LogNormal { mean, sigma: 0.5 },
        ] {
            let n = 200_000;
            let avg = (0..n).map(|_| service.sample(&mut rng)).sum::<f64>() / f64::from(n);
            assert!((avg / 0.02 - 1.0).abs() < 0.01, "{service:?}: {avg}");
        }
    }
}
