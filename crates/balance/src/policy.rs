//! The algorithms by name, with their parameters: what a cluster's config selects.

use crate::Balancer;
use crate::edge::{Edge, EdgeParams};
use crate::endpoint::EndpointSet;
use crate::hashing::{Maglev, RingHash};
use crate::least_request::LeastRequest;
use crate::peak_ewma::PeakEwmaBalancer;
use crate::random::Random;
use crate::round_robin::RoundRobin;
use crate::time::ns;
use std::time::Duration;

/// Slow start: a new endpoint's share ramps up over `window` (see `select::ramp`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarmUp {
    pub window_ns: u64,
    /// Share at the start, 0..1 (0.25).
    pub min_weight: f64,
    /// 1 is linear; higher ramps faster early.
    pub aggression: f64,
}

impl Default for WarmUp {
    fn default() -> Self {
        Self {
            window_ns: ns(Duration::from_secs(90)),
            min_weight: 0.25,
            aggression: 1.0,
        }
    }
}

/// A balancing algorithm and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    /// Smooth weighted round robin; optional slow start.
    RoundRobin { warm_up: Option<WarmUp> },
    /// Weighted random.
    Random,
    /// Choice of two on in-flight requests; with unequal weights, Envoy's
    /// `weight / (active + 1)^bias`; optional slow start.
    LeastRequest { bias: f64, warm_up: Option<WarmUp> },
    /// Choice of two on `latency_estimate * (in_flight + 1)`.
    PeakEwma { default_rtt_ns: u64 },
    /// Consistent hashing on a ring with `points_per_weight` points per unit of weight.
    RingHash { points_per_weight: usize },
    /// Maglev consistent hashing with a lookup table of `table_size` (a prime).
    Maglev { table_size: usize },
    /// Netflix-style edge balancing (the default).
    Edge(EdgeParams),
}

impl Default for Policy {
    fn default() -> Self {
        Policy::Edge(EdgeParams::default())
    }
}

impl Policy {
    /// Every algorithm with its default parameters (slow start off), by the name the config
    /// uses: what benchmarks and the simulator compare.
    pub fn catalog() -> Vec<(&'static str, Policy)> {
        vec![
            ("edge", Policy::Edge(EdgeParams::default())),
            (
                "least_request",
                Policy::LeastRequest {
                    bias: 1.0,
                    warm_up: None,
                },
            ),
            (
                "peak_ewma",
                Policy::PeakEwma {
                    default_rtt_ns: 30_000_000,
                },
            ),
            ("round_robin", Policy::RoundRobin { warm_up: None }),
            ("random", Policy::Random),
            (
                "ring_hash",
                Policy::RingHash {
                    points_per_weight: 256,
                },
            ),
            ("maglev", Policy::Maglev { table_size: 65_537 }),
        ]
    }

    /// Builds the balancer for one membership of a cluster (schedules, rings and tables are
    /// computed here, once). A non-zero `seed` makes its random draws deterministic (tests,
    /// simulation); 0 uses fast thread-local randomness (serving).
    pub fn build(&self, set: &EndpointSet, seed: u64) -> Box<dyn Balancer> {
        match self {
            Policy::RoundRobin { warm_up } => Box::new(RoundRobin::new(set, *warm_up, seed)),
            Policy::Random => Box::new(Random::new(set, seed)),
            Policy::LeastRequest { bias, warm_up } => {
                Box::new(LeastRequest::new(set, *bias, *warm_up, seed))
            }
            Policy::PeakEwma { default_rtt_ns } => {
                Box::new(PeakEwmaBalancer::new(*default_rtt_ns, seed))
            }
            Policy::RingHash { points_per_weight } => {
                Box::new(RingHash::new(set, *points_per_weight, seed))
            }
            Policy::Maglev { table_size } => Box::new(Maglev::new(set, *table_size, seed)),
            Policy::Edge(params) => Box::new(Edge::new(params.clone(), seed)),
        }
    }
}
