//! Sans-IO load balancing: which endpoint of a cluster takes the next request.
//!
//! The crate knows nothing of sockets, HTTP or routes. A cluster's endpoints are an
//! [`EndpointSet`]; a [`Balancer`] picks an index among them, skipping endpoints already tried
//! for this request (so a retry goes elsewhere); the returned [`Pick`] counts the request as in
//! flight until it is dropped, whatever way the request ends.
//!
//! ```
//! use switchyard_balance::{Balancer, EndpointSet, RoundRobin};
//! let set = EndpointSet::new(&[1, 1, 2]);
//! let rr = RoundRobin::new(&set);
//! let picks: Vec<usize> = (0..4).map(|_| rr.pick(&set, &[]).unwrap().index()).collect();
//! assert_eq!(picks.iter().filter(|&&i| i == 2).count(), 2);
//! ```

mod endpoint;
mod random;
mod round_robin;

pub use endpoint::{EndpointSet, EndpointStats, Pick};
pub use random::Random;
pub use round_robin::RoundRobin;

/// Chooses an endpoint for each request.
pub trait Balancer: Send + Sync + std::fmt::Debug {
    /// Picks an endpoint not in `tried`, or `None` when every endpoint was tried.
    fn pick(&self, set: &EndpointSet, tried: &[usize]) -> Option<Pick>;
}

/// The first index at or after `start` (wrapping) that is not in `tried`.
pub(crate) fn first_untried(len: usize, start: usize, tried: &[usize]) -> Option<usize> {
    (0..len)
        .map(|offset| (start + offset) % len)
        .find(|i| !tried.contains(i))
}
