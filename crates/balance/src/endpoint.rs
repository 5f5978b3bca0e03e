//! Per-endpoint state shared by all requests, and the in-flight guard of one pick.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What the balancer tracks for one endpoint.
#[derive(Debug, Default)]
pub struct EndpointStats {
    in_flight: AtomicUsize,
}

impl EndpointStats {
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// The endpoints of one cluster, by index, with their weights.
#[derive(Debug, Clone)]
pub struct EndpointSet {
    weights: Arc<[u32]>,
    stats: Arc<[Arc<EndpointStats>]>,
}

impl EndpointSet {
    /// One endpoint per weight (a weight of 0 counts as 1).
    pub fn new(weights: &[u32]) -> Self {
        let stats = weights.iter().map(|_| Arc::default()).collect();
        Self {
            weights: weights.iter().map(|w| (*w).max(1)).collect(),
            stats,
        }
    }

    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    pub fn weight(&self, index: usize) -> u32 {
        self.weights[index]
    }

    pub fn stats(&self, index: usize) -> &EndpointStats {
        &self.stats[index]
    }

    /// Marks `index` as chosen; it counts as in flight until the returned guard drops.
    pub fn pick(&self, index: usize) -> Pick {
        let stats = Arc::clone(&self.stats[index]);
        stats.in_flight.fetch_add(1, Ordering::Relaxed);
        Pick { index, stats }
    }
}

/// One chosen endpoint; dropping it ends the request's in-flight count.
#[derive(Debug)]
pub struct Pick {
    index: usize,
    stats: Arc<EndpointStats>,
}

impl Pick {
    pub fn index(&self) -> usize {
        self.index
    }
}

impl Drop for Pick {
    fn drop(&mut self) {
        self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_counts_in_flight_until_dropped() {
        let set = EndpointSet::new(&[1, 1]);
        let a = set.pick(1);
        let b = set.pick(1);
        assert_eq!(set.stats(1).in_flight(), 2);
        drop(a);
        assert_eq!(set.stats(1).in_flight(), 1);
        drop(b);
        assert_eq!(set.stats(1).in_flight(), 0);
        assert_eq!(set.stats(0).in_flight(), 0);
    }
}
