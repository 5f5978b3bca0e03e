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

    /// The server the trouble is about (its traffic share is the one to watch): the last of
    /// the fleet, or the first to join.
    pub fn watched(self, fleet: Fleet) -> usize {
        let n = fleet.servers();
        match self {
            Scenario::Heterogeneous | Scenario::Slowdown | Scenario::Sinkhole => n - 1,
            Scenario::Autoscale | Scenario::RedBlack | Scenario::Herd => n,
        }
    }

    /// The trouble, in a few words (for reports).
    pub fn trouble(self, fleet: Fleet) -> String {
        let n = fleet.servers();
        let last = n - 1;
        let (joiners, slow) = (fleet.joiners(), fleet.slowed());
        match (self, fleet) {
            (Scenario::Heterogeneous, Fleet::Small) => {
                "server 5 has half the capacity of the others".into()
            }
            (Scenario::Heterogeneous, Fleet::Large) => format!(
                "servers {}-{} run at 0.6 speed and {}-{last} at 0.4",
                n - 12,
                n - 7,
                n - 6
            ),
            (Scenario::Slowdown, _) => format!(
                "{} four times slower from 2 s to 5 s",
                servers(n - slow, last)
            ),
            (Scenario::Autoscale, _) => format!(
                "{} join at 2 s, four times slower until 4 s (load relative to all {})",
                servers(n, n + joiners - 1),
                n + joiners
            ),
            (Scenario::RedBlack, _) => format!(
                "servers {n}-{} join at 2 s, four times slower until 3 s; servers 0-{last} leave \
                 at 4 s",
                2 * n - 1
            ),
            (Scenario::Sinkhole, _) => {
                format!("server {last} answers every request with a 503 in 1 ms from 2 s to 5 s")
            }
            (Scenario::Herd, _) => format!(
                "{} balancers; server {n} joins the {n} at 2 s, empty",
                HERD_BALANCERS
            ),
        }
    }

    /// The run: `policy` at `load` (of the fleet's capacity), measured from 1 s to 7 s, the
    /// trouble starting at 2 s.
    pub fn config(
        self,
        fleet: Fleet,
        policy: impl Into<Algorithm>,
        load: f64,
        seed: u64,
    ) -> Config {
        let service = ServiceTime::LogNormal {
            mean: Duration::from_millis(10),
            sigma: 0.2,
        };
        let n = fleet.servers();
        let mut config = Config::identical(n, service, load, policy);
        config.servers = vec![server(8); n];
        config.balancers = fleet.balancers();
        config.network_delay = Duration::from_micros(100);
        config.timeout = Some(Duration::from_millis(250));
        config.warmup = Duration::from_secs(1);
        config.duration = Duration::from_secs(6);
        config.seed = seed;
        let s = Duration::from_secs;
        match self {
            Scenario::Heterogeneous => match fleet {
                Fleet::Small => config.servers[5] = server(4),
                Fleet::Large => {
                    for (i, spec) in config.servers.iter_mut().enumerate().skip(n - 12) {
                        spec.speed = if i < n - 6 { 0.6 } else { 0.4 };
                    }
                }
            },
            Scenario::Slowdown => {
                let slow = |i| episode(i, s(2), s(5), ServerState::Speed(0.25));
                config.episodes = (n - fleet.slowed()..n).map(slow).collect();
            }
            Scenario::Autoscale => {
                let all = n + fleet.joiners();
                config.servers = vec![server(8); all];
                config.episodes = joining(n..all, s(2), s(4));
            }
            Scenario::RedBlack => {
                config.servers = vec![server(8); 2 * n];
                config.load = load / 2.0;
                config.episodes = joining(n..2 * n, s(2), s(3));
                let leave = |old| episode(old, s(4), s(3600), ServerState::Absent);
                config.episodes.extend((0..n).map(leave));
            }
            Scenario::Sinkhole => {
                let sick = ServerState::Sick {
                    answer_after: Duration::from_millis(1),
                };
                config.episodes = vec![episode(n - 1, s(2), s(5), sick)];
            }
            Scenario::Herd => {
                config.servers = vec![server(8); n + 1];
                config.load = load * n as f64 / (n + 1) as f64;
                config.balancers = HERD_BALANCERS;
                config.episodes = vec![episode(n, Duration::ZERO, s(2), ServerState::Absent)];
            }
        }
        config
    }
}

/// Balancers in the herd scenario.
const HERD_BALANCERS: usize = 100;

/// The fleet the scenarios play on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fleet {
    /// Six servers and four balancers: the trouble is a large share of the fleet, so it
    /// strains the others (a sinkhole leaves five servers at 6/5 of the load); fast to run.
    Small,
    /// `EDGE_BALANCING.md`'s fleet: sixty servers, twenty balancers; heterogeneous hardware
    /// is 10 % at 0.6 speed and 10 % at 0.4, a slowdown hits 10 %, autoscale adds 20 %.
    Large,
}

impl Fleet {
    pub const ALL: [Fleet; 2] = [Fleet::Small, Fleet::Large];

    pub fn name(self) -> &'static str {
        match self {
            Fleet::Small => "small",
            Fleet::Large => "large",
        }
    }

    pub fn parse(name: &str) -> Option<Fleet> {
        Fleet::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Servers before any join.
    pub fn servers(self) -> usize {
        match self {
            Fleet::Small => 6,
            Fleet::Large => 60,
        }
    }

    /// Independent balancers (the herd has its own hundred).
    pub fn balancers(self) -> usize {
        match self {
            Fleet::Small => 4,
            Fleet::Large => 20,
        }
    }

    /// Servers that join in the autoscale scenario.
    fn joiners(self) -> usize {
        match self {
            Fleet::Small => 2,
            Fleet::Large => 12,
        }
    }

    /// Servers that slow down in the slowdown scenario.
    fn slowed(self) -> usize {
        (self.servers() / 10).max(1)
    }
}

/// "server 5" or "servers 54-59".
fn servers(first: usize, last: usize) -> String {
    if first == last {
        format!("server {first}")
    } else {
        format!("servers {first}-{last}")
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

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_balance::Policy;

    #[test]
    fn the_large_fleet_is_the_designs() {
        let config = |s: Scenario| s.config(Fleet::Large, Policy::Random, 0.85, 1);
        let c = config(Scenario::Heterogeneous);
        assert_eq!((c.servers.len(), c.balancers), (60, 20));
        let speeds = |lo: f64| c.servers.iter().filter(|s| s.speed == lo).count();
        assert_eq!((speeds(0.6), speeds(0.4), speeds(1.0)), (6, 6, 48));
        assert_eq!(Scenario::Heterogeneous.watched(Fleet::Large), 59);
        assert_eq!(config(Scenario::Slowdown).episodes.len(), 6);
        let autoscale = config(Scenario::Autoscale);
        assert_eq!(autoscale.servers.len(), 72, "20 % join");
        let red_black = config(Scenario::RedBlack);
        assert_eq!(red_black.servers.len(), 120);
        assert_eq!(config(Scenario::Herd).balancers, 100);
        assert_eq!(
            Scenario::Sinkhole.trouble(Fleet::Large),
            "server 59 answers every request with a 503 in 1 ms from 2 s to 5 s"
        );
    }
}
