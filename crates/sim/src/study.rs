//! The lab's study: every scenario at every load with every algorithm (the shipped policies,
//! the lab baselines and `edge`'s ablations), over several seeds, summarized per cell.

use crate::baseline::{LabPolicy, blacklisting_round_robin};
use crate::config::{Algorithm, Config, ServerState};
use crate::report::Report;
use crate::scenario::{Fleet, Scenario};
use crate::timeline::Timeline;
use std::time::Duration;
use switchyard_balance::{EdgeParams, Policy, StatParams};

/// One algorithm as the study runs it: a name, how it picks, and its balancers' stats.
#[derive(Debug, Clone)]
pub struct Contender {
    pub name: &'static str,
    pub algorithm: Algorithm,
    pub stats: StatParams,
    /// An ablation of `edge` (one factor removed), not an algorithm of its own.
    pub ablation: bool,
}

impl Contender {
    fn new(name: &'static str, algorithm: impl Into<Algorithm>) -> Self {
        Self {
            name,
            algorithm: algorithm.into(),
            stats: StatParams::default(),
            ablation: false,
        }
    }

    /// `scenario` on `fleet` at `load` with this algorithm.
    pub fn config(&self, fleet: Fleet, scenario: Scenario, load: f64, seed: u64) -> Config {
        let mut config = scenario.config(fleet, self.algorithm.clone(), load, seed);
        config.stat_params = self.stats.clone();
        config
    }
}

/// The algorithms compared: the shipped ones (hashing aside: the simulated requests carry no
/// key), Netflix's old baseline, the lab baselines, then `edge` with each factor removed.
pub fn contenders() -> Vec<Contender> {
    let mut all: Vec<Contender> = (Policy::catalog().into_iter())
        .filter(|(name, _)| !matches!(*name, "ring_hash" | "maglev"))
        .map(|(name, policy)| Contender::new(name, policy))
        .collect();
    let (policy, stats) = blacklisting_round_robin();
    all.push(Contender {
        stats,
        ..Contender::new("round_robin + blacklist", policy)
    });
    all.push(Contender::new(
        "least in-flight (full scan)",
        LabPolicy::LeastInFlight,
    ));
    all.push(Contender::new(
        "utilization-weighted",
        LabPolicy::UtilizationWeighted,
    ));
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
    all.extend(ablations.map(|(name, params)| Contender {
        ablation: true,
        ..Contender::new(name, Policy::Edge(params))
    }));
    // Stats that never fade with time: an error score falls only with new successes, and a
    // server's last reported utilization never goes stale.
    let frozen = StatParams {
        decay_half_life_ns: u64::MAX,
        utilization_stale_ns: u64::MAX,
        ..StatParams::default()
    };
    all.push(Contender {
        stats: frozen,
        ablation: true,
        ..Contender::new("edge - decay", Policy::Edge(edge()))
    });
    all
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub fleet: Fleet,
    pub scenarios: Vec<Scenario>,
    pub loads: Vec<f64>,
    pub seeds: Vec<u64>,
}

/// One scenario at one load with one algorithm, over the plan's seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub scenario: Scenario,
    pub load: f64,
    pub contender: &'static str,
    pub ablation: bool,
    /// Load-related error rate over all seeds' measured requests.
    pub error_rate: f64,
    /// Latency percentiles (seconds), the mean over seeds.
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    /// Latency at each of [`TAIL_QUANTILES`](crate::TAIL_QUANTILES), the mean over seeds.
    pub tail: Vec<f64>,
    /// The server the scenario is about.
    pub watched: usize,
    /// The watched server's share of the measured requests, the mean over seeds.
    pub watched_share: f64,
    /// Its share of the fleet's capacity over the measured window.
    pub watched_capacity: f64,
    /// The fewest errors any balancer could have ([`capacity_floor`]).
    pub floor: f64,
    /// The scenario's events in the measured window (seconds from the start of the run).
    pub events_s: Vec<f64>,
    /// How the error rate settled after the trouble began (the first event) and after it
    /// ended (the last event, if there is a second).
    pub settle_start: Settle,
    pub settle_end: Settle,
    /// p99 of the successful requests that arrived in the [`WINDOW_S`] after the trouble
    /// began (the first event) and after it ended (the last, if there is a second), the seeds
    /// pooled; `None` without such an event or success.
    pub p99_after_start: Option<f64>,
    pub p99_after_end: Option<f64>,
    /// The seeds' timelines added up.
    pub timeline: Timeline,
    pub simulated_requests: u64,
}

/// How long the error rate took to settle after an event, over the seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Settle {
    /// The scenario has no such event (a fleet that is uneven from the start).
    NoEvent,
    /// Some seed's error rate was not back before the next event (or the end).
    Never,
    /// Seconds, the mean over seeds.
    After(f64),
}

impl std::fmt::Display for Settle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Settle::NoEvent => f.write_str("-"),
            Settle::Never => f.write_str("never"),
            Settle::After(s) => write!(f, "{s:.1}"),
        }
    }
}

/// Runs the plan; `progress(done, total, what)` is called before each run.
pub fn run(plan: &Plan, mut progress: impl FnMut(usize, usize, &str)) -> Vec<Cell> {
    let contenders = contenders();
    let total = plan.scenarios.len() * plan.loads.len() * contenders.len();
    let mut cells = Vec::with_capacity(total);
    for &scenario in &plan.scenarios {
        for &load in &plan.loads {
            for contender in &contenders {
                let what = format!("{} at {load}: {}", scenario.name(), contender.name);
                progress(cells.len(), total, &what);
                cells.push(cell(plan.fleet, scenario, load, contender, &plan.seeds));
            }
        }
    }
    cells
}

fn cell(fleet: Fleet, scenario: Scenario, load: f64, contender: &Contender, seeds: &[u64]) -> Cell {
    let configs: Vec<Config> = (seeds.iter())
        .map(|&seed| contender.config(fleet, scenario, load, seed))
        .collect();
    let reports: Vec<Report> = crate::run_all(&configs);
    let n = reports.len().max(1) as f64;
    let mean = |f: &dyn Fn(&Report) -> f64| reports.iter().map(f).sum::<f64>() / n;
    let watched = scenario.watched(fleet);
    let events_s: Vec<f64> = reports
        .first()
        .map_or_else(Vec::new, |r| r.recovery.iter().map(|x| x.at_s).collect());
    let settle = |event: Option<usize>| {
        let Some(k) = event else {
            return Settle::NoEvent;
        };
        let all: Option<Vec<f64>> = reports.iter().map(|r| r.recovery[k].after_s).collect();
        all.map_or(Settle::Never, |v| Settle::After(v.iter().sum::<f64>() / n))
    };
    let last = events_s.len().checked_sub(1).filter(|&k| k > 0);
    let timeline = sum_timelines(&reports);
    Cell {
        scenario,
        load,
        contender: contender.name,
        ablation: contender.ablation,
        error_rate: Report::pooled_error_rate(&reports),
        p50: mean(&|r| r.latency.p50),
        p99: mean(&|r| r.latency.p99),
        p999: mean(&|r| r.latency.p999),
        tail: (0..crate::TAIL_QUANTILES.len())
            .map(|q| mean(&|r| r.latency.tail[q]))
            .collect(),
        watched,
        watched_share: mean(&|r| r.share.get(watched).copied().unwrap_or(0.0)),
        watched_capacity: configs.first().map_or(0.0, |c| capacity_share(c, watched)),
        floor: configs.first().map_or(0.0, capacity_floor),
        settle_start: settle((!events_s.is_empty()).then_some(0)),
        settle_end: settle(last),
        p99_after_start: events_s.first().and_then(|&at| p99_after(&timeline, at)),
        p99_after_end: last.and_then(|k| p99_after(&timeline, events_s[k])),
        events_s,
        timeline,
        simulated_requests: reports.iter().map(|r| r.simulated_requests).sum(),
    }
}

/// `server`'s share of the fleet's capacity, averaged over the measured window (a server
/// absent or sick has none; a slow one has its episode's speed).
pub fn capacity_share(config: &Config, server: usize) -> f64 {
    let steps = measured_steps(config);
    let mut sum = 0.0;
    for &at in &steps {
        let total: f64 = (0..config.servers.len())
            .map(|i| slots(config, i, at))
            .sum();
        if total > 0.0 {
            sum += slots(config, server, at) / total;
        }
    }
    sum / steps.len() as f64
}

/// The fewest load-related errors any balancer could have, as a share of the measured
/// requests: a fluid bound. From the start of the run, one pooled queue (as long as all the
/// present servers' queues together) takes the offered rate and drains at what the servers
/// present and healthy complete; what overflows it in the measured window is lost. Random
/// arrivals lose more, and no balancer pools its servers' queues, so this is a lower bound.
pub fn capacity_floor(config: &Config) -> f64 {
    let steps = 6000;
    let end = config.warmup + config.duration;
    let step = end / steps;
    let step_s = step.as_secs_f64();
    let offered = config.arrival_rate();
    let mean_s = config.service.mean().as_secs_f64();
    let (mut queued, mut lost) = (0.0_f64, 0.0);
    for k in 0..steps {
        let at = step * k + step / 2;
        let present = (0..config.servers.len()).filter(|&i| slots(config, i, at) > 0.0);
        let room: f64 = present
            .map(|i| &config.servers[i])
            .map(|s| f64::from(s.limit.unwrap_or(u32::MAX / 2).saturating_sub(s.workers)))
            .sum();
        let completes: f64 = (0..config.servers.len())
            .map(|i| slots(config, i, at) / mean_s)
            .sum();
        queued += (offered - completes) * step_s;
        let overflow = (queued - room).max(0.0);
        queued = queued.clamp(0.0, room);
        if at >= config.warmup {
            lost += overflow;
        }
    }
    lost / (offered * config.duration.as_secs_f64()).max(f64::MIN_POSITIVE)
}

/// Midpoints of 600 steps over the measured window.
fn measured_steps(config: &Config) -> Vec<Duration> {
    let steps = 600;
    let step = config.duration / steps;
    (0..steps)
        .map(|k| config.warmup + step * k + step / 2)
        .collect()
}

/// Server `i`'s workers times its speed at `at` (none while absent or sick).
fn slots(config: &Config, i: usize, at: Duration) -> f64 {
    let spec = &config.servers[i];
    let speed = match config.state_at(i, at) {
        None => spec.speed,
        Some(ServerState::Speed(speed)) => speed,
        Some(ServerState::Sick { .. } | ServerState::Absent) => 0.0,
    };
    f64::from(spec.workers) * speed
}

/// The window after an event whose p99 a [`Cell`] reports, in seconds.
pub const WINDOW_S: f64 = 1.0;

/// p99 of the successful requests that arrived in the [`WINDOW_S`] after `at_s`.
fn p99_after(timeline: &Timeline, at_s: f64) -> Option<f64> {
    timeline.latency_quantile(timeline.bins_between(at_s, at_s + WINDOW_S), 0.99)
}

fn sum_timelines(reports: &[Report]) -> Timeline {
    let mut reports = reports.iter();
    let Some(first) = reports.next() else {
        return Timeline::new(0, 0.1, 0);
    };
    let mut sum = first.timeline.clone();
    reports.for_each(|r| sum.add(&r.timeline));
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_share_follows_the_episodes() {
        let config = Scenario::Slowdown.config(Fleet::Small, Policy::Random, 0.5, 1);
        // Measured 1 s to 7 s; from 2 s to 5 s server 5 has a quarter of its speed.
        let expected = (3.0 / 6.0 + 3.0 * (2.0 / 42.0)) / 6.0;
        assert!((capacity_share(&config, 5) - expected).abs() < 1e-3);
        let config = Scenario::Heterogeneous.config(Fleet::Small, Policy::Random, 0.5, 1);
        assert!((capacity_share(&config, 5) - 4.0 / 44.0).abs() < 1e-9);
    }

    #[test]
    fn the_floor_counts_only_what_the_fleet_cannot_serve() {
        let floor = |s: Scenario, fleet: Fleet, load: f64| {
            capacity_floor(&s.config(fleet, Policy::Random, load, 1))
        };
        // Spare capacity throughout: nothing has to be lost.
        assert_eq!(floor(Scenario::Heterogeneous, Fleet::Small, 0.85), 0.0);
        assert_eq!(floor(Scenario::Sinkhole, Fleet::Large, 0.85), 0.0);
        // A sinkhole in six servers at 0.85 leaves five at 1.02 for 3 s of the 6 s measured:
        // 2 % of half the requests, less the 80 queue slots (0.33 % of the requests).
        let sinkhole = floor(Scenario::Sinkhole, Fleet::Small, 0.85);
        let expected = 0.5 * (1.02 - 1.0) / 1.02 - 80.0 / (4080.0 * 6.0);
        assert!(
            (sinkhole - expected).abs() < 5e-4,
            "{sinkhole} vs {expected}"
        );
        // Twice the capacity loses half.
        let over = floor(Scenario::Heterogeneous, Fleet::Small, 2.0);
        assert!((over - 0.5).abs() < 0.01, "{over}");
    }

    #[test]
    fn settling_is_reported_only_for_events_the_scenario_has() {
        let edge = &contenders()[0];
        let settled = |s: Scenario| {
            let c = cell(Fleet::Small, s, 0.5, edge, &[1]);
            (c.events_s.len(), c.settle_start, c.settle_end)
        };
        // Uneven from the start: no event to settle after.
        assert_eq!(
            settled(Scenario::Heterogeneous),
            (0, Settle::NoEvent, Settle::NoEvent)
        );
        // One event (the newcomer joins): nothing ends.
        let (events, start, end) = settled(Scenario::Herd);
        assert_eq!((events, end), (1, Settle::NoEvent));
        assert!(matches!(start, Settle::After(_)), "{start:?}");
        // The slowdown begins at 2 s and ends at 5 s.
        let (events, start, end) = settled(Scenario::Slowdown);
        assert_eq!(events, 2);
        assert!(start != Settle::NoEvent && end != Settle::NoEvent);
    }

    #[test]
    fn every_contender_has_a_distinct_name() {
        let all = contenders();
        let mut names: Vec<&str> = all.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert!(all.iter().filter(|c| c.ablation).count() >= 5);
    }
}
