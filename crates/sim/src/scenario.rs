//! Ready-made fleets in trouble, after `EDGE_BALANCING.md`: six servers of eight workers (503
//! beyond eight requests), 10 ms log-normal service, four independent balancers, and one kind of
//! trouble in the middle of the measured window.

use crate::config::{Config, Episode, ServerSpec, ServerState, ServiceTime};
use std::time::Duration;
use switchyard_balance::Policy;

/// A situation to balance through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// One server has half the capacity of the others (four workers, four slots).
    Heterogeneous,
    /// One server turns four times slower for a while (a GC storm, a noisy neighbour).
    Slowdown,
    /// One server answers every request with a 503 in 1 ms for a while, then heals.
    Sinkhole,
    /// Two more servers join mid-run (eight in all; the load is relative to all eight), four
    /// times slower for their first two seconds (cold caches, JIT).
    Autoscale,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Scenario::Heterogeneous,
        Scenario::Slowdown,
        Scenario::Sinkhole,
        Scenario::Autoscale,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Heterogeneous => "heterogeneous",
            Scenario::Slowdown => "slowdown",
            Scenario::Sinkhole => "sinkhole",
            Scenario::Autoscale => "autoscale",
        }
    }

    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The server the trouble is about (its traffic share is the one to watch).
    pub fn watched(self) -> usize {
        match self {
            Scenario::Autoscale => 6,
            _ => 5,
        }
    }

    /// The run: `policy` at `load` (of the whole fleet's capacity), measured from 1 s to 7 s,
    /// the trouble from 2 s to 5 s.
    pub fn config(self, policy: Policy, load: f64, seed: u64) -> Config {
        let service = ServiceTime::LogNormal {
            mean: Duration::from_millis(10),
            sigma: 0.2,
        };
        let server = |slots| ServerSpec {
            workers: slots,
            speed: 1.0,
            limit: Some(slots),
        };
        let mut config = Config::identical(6, service, load, policy);
        config.servers = vec![server(8); 6];
        config.balancers = 4;
        config.network_delay = Duration::from_micros(100);
        config.warmup = Duration::from_secs(1);
        config.duration = Duration::from_secs(6);
        config.seed = seed;
        let (from, until) = (Duration::from_secs(2), Duration::from_secs(5));
        let episode = |server, from, until, state| Episode {
            server,
            from,
            until,
            state,
        };
        match self {
            Scenario::Heterogeneous => config.servers[5] = server(4),
            Scenario::Slowdown => {
                config.episodes = vec![episode(5, from, until, ServerState::Speed(0.25))];
            }
            Scenario::Sinkhole => {
                let sick = ServerState::Sick {
                    answer_after: Duration::from_millis(1),
                };
                config.episodes = vec![episode(5, from, until, sick)];
            }
            Scenario::Autoscale => {
                config.servers = vec![server(8); 8];
                let cold_until = from + Duration::from_secs(2);
                config.episodes = [6, 7]
                    .into_iter()
                    .flat_map(|s| {
                        [
                            episode(s, Duration::ZERO, from, ServerState::Absent),
                            episode(s, from, cold_until, ServerState::Speed(0.25)),
                        ]
                    })
                    .collect();
            }
        }
        config
    }
}
