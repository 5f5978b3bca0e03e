//! Ready-made fleets in trouble, after `EDGE_BALANCING.md`: servers of eight workers with a
//! queue of sixteen (503 beyond 24 requests), 10 ms log-normal service, four independent
//! balancers that give up after 250 ms, and one kind of trouble in the middle of the measured
//! window.

use crate::config::{Algorithm, Config, Episode, ServerSpec, ServerState, ServiceTime};
use std::time::Duration;

/// A situation to balance through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// One server has half the capacity of the others (four workers, twelve slots).
    Heterogeneous,
    /// One server turns four times slower for a while (a GC storm, a noisy neighbour).
    Slowdown,
    /// Two more servers join mid-run (eight in all; the load is relative to all eight), four
    /// times slower for their first two seconds (cold caches, JIT).
    Autoscale,
    /// Red-black deploy: a new group of six joins, cold (four times slower) for its first
    /// second; the old group leaves two seconds after the new one joined (the load is
    /// relative to one group).
    RedBlack,
    /// One server answers every request with a 503 in 1 ms for a while, then heals.
    Sinkhole,
    /// A hundred balancers, each with a thin view, and one new empty server joining the six
    /// (the load is relative to the six).
    Herd,
}

impl Scenario {
    pub const ALL: [Scenario; 6] = [
        Scenario::Heterogeneous,
        Scenario::Slowdown,
        Scenario::Autoscale,
        Scenario::RedBlack,
        Scenario::Sinkhole,
        Scenario::Herd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Heterogeneous => "heterogeneous",
            Scenario::Slowdown => "slowdown",
            Scenario::Autoscale => "autoscale",
            Scenario::RedBlack => "red-black",
            Scenario::Sinkhole => "sinkhole",
            Scenario::Herd => "herd",
        }
    }

    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The server the trouble is about (its traffic share is the one to watch).
    pub fn watched(self) -> usize {
        match self {
            Scenario::Heterogeneous | Scenario::Slowdown | Scenario::Sinkhole => 5,
            Scenario::Autoscale | Scenario::RedBlack | Scenario::Herd => 6,
        }
    }

    /// The trouble, in a few words (for reports).
    pub fn trouble(self) -> &'static str {
        match self {
            Scenario::Heterogeneous => "server 5 has half the capacity of the others",
            Scenario::Slowdown => "server 5 is four times slower from 2 s to 5 s",
            Scenario::Autoscale => {
                "servers 6 and 7 join at 2 s, four times slower until 4 s (load relative to all eight)"
            }
            Scenario::RedBlack => {
                "servers 6-11 join at 2 s, four times slower until 3 s; servers 0-5 leave at 4 s"
            }
            Scenario::Sinkhole => {
                "server 5 answers every request with a 503 in 1 ms from 2 s to 5 s"
            }
            Scenario::Herd => "100 balancers; server 6 joins the six at 2 s, empty",
        }
    }

    /// The run: `policy` at `load` (of the fleet's capacity), measured from 1 s to 7 s, the
    /// trouble starting at 2 s.
    pub fn config(self, policy: impl Into<Algorithm>, load: f64, seed: u64) -> Config {
        let service = ServiceTime::LogNormal {
            mean: Duration::from_millis(10),
            sigma: 0.2,
        };
        let mut config = Config::identical(6, service, load, policy);
        config.servers = vec![server(8); 6];
        config.balancers = 4;
        config.network_delay = Duration::from_micros(100);
        config.timeout = Some(Duration::from_millis(250));
        config.warmup = Duration::from_secs(1);
        config.duration = Duration::from_secs(6);
        config.seed = seed;
        let s = Duration::from_secs;
        match self {
            Scenario::Heterogeneous => config.servers[5] = server(4),
            Scenario::Slowdown => {
                config.episodes = vec![episode(5, s(2), s(5), ServerState::Speed(0.25))];
            }
            Scenario::Autoscale => {
                config.servers = vec![server(8); 8];
                config.episodes = joining(6..8, s(2), s(4));
            }
            Scenario::RedBlack => {
                config.servers = vec![server(8); 12];
                config.load = load / 2.0;
                config.episodes = joining(6..12, s(2), s(3));
                let leave = |old| episode(old, s(4), s(3600), ServerState::Absent);
                config.episodes.extend((0..6).map(leave));
            }
            Scenario::Sinkhole => {
                let sick = ServerState::Sick {
                    answer_after: Duration::from_millis(1),
                };
                config.episodes = vec![episode(5, s(2), s(5), sick)];
            }
            Scenario::Herd => {
                config.servers = vec![server(8); 7];
                config.load = load * 6.0 / 7.0;
                config.balancers = 100;
                config.episodes = vec![episode(6, Duration::ZERO, s(2), ServerState::Absent)];
            }
        }
        config
    }
}

/// A server of `workers` workers that admits twice as many more into its queue.
fn server(workers: u32) -> ServerSpec {
    ServerSpec {
        workers,
        speed: 1.0,
        limit: Some(workers * 3),
    }
}

fn episode(server: usize, from: Duration, until: Duration, state: ServerState) -> Episode {
    Episode {
        server,
        from,
        until,
        state,
    }
}

/// `servers` absent until `at`, then four times slower until `warm_at`.
fn joining(servers: std::ops::Range<usize>, at: Duration, warm_at: Duration) -> Vec<Episode> {
    servers
        .flat_map(|s| {
            [
                episode(s, Duration::ZERO, at, ServerState::Absent),
                episode(s, at, warm_at, ServerState::Speed(0.25)),
            ]
        })
        .collect()
}
