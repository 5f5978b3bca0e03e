//! Sans-IO load balancing: which endpoint of a cluster takes the next request.
//!
//! The crate knows nothing of sockets, HTTP or routes. A cluster's endpoints are an
//! [`EndpointSet`] whose stats live in atomics shared by all requests. A [`Balancer`] picks one
//! for a request ([`PickContext`] says which endpoints this request already tried, and its
//! affinity hash); the returned [`Pick`] counts it in flight until dropped, and
//! [`Pick::record`] feeds the outcome (status class, reported utilization) back into the stats
//! and outlier detection. Time comes from an injected clock, randomness from a seed, so the
//! proxy, tests and the simulator drive the very same code.
//!
//! ```
//! use switchyard_balance::{Balancer, EndpointSet, Outcome, OutcomeKind, PickContext, Policy};
//! let set = EndpointSet::with_weights(&[1, 1, 1]);
//! let balancer = Policy::default().build(&set, 7);
//! let mut pick = balancer.pick(&set, &PickContext::default()).unwrap();
//! pick.record(&set, Outcome::of(OutcomeKind::Success));
//! assert!(set.stats(pick.index()).answered());
//! ```

mod decay;
mod edge;
mod endpoint;
mod hashing;
mod least_request;
mod outlier;
mod params;
mod peak_ewma;
mod policy;
mod random;
mod report;
mod round_robin;
mod select;
mod time;
mod zone;

pub use edge::{Edge, EdgeParams};
pub use endpoint::{
    Endpoint, EndpointSet, EndpointSpec, EndpointStats, Outcome, OutcomeKind, Pick,
};
pub use hashing::{Maglev, RingHash};
pub use least_request::LeastRequest;
pub use outlier::{OutlierState, eject, interval_tick};
pub use params::{OutlierParams, StatParams};
pub use peak_ewma::PeakEwmaBalancer;
pub use policy::{Policy, WarmUp};
pub use random::Random;
pub use report::EndpointReport;
pub use round_robin::RoundRobin;
pub use select::PickContext;
pub use time::Timebase;
pub use zone::{ZoneAware, ZoneParams};

/// Chooses an endpoint for each request.
pub trait Balancer: Send + Sync + std::fmt::Debug {
    /// Picks an available endpoint this request has not tried, or `None` if there is none.
    fn pick(&self, set: &EndpointSet, ctx: &PickContext<'_>) -> Option<Pick>;
}
