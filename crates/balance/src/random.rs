//! Weighted random choice, lock-free, seedable for deterministic tests.

use crate::{Balancer, EndpointSet, Pick, first_untried};
use std::sync::atomic::{AtomicU64, Ordering};

/// Picks an endpoint with probability proportional to its weight.
#[derive(Debug)]
pub struct Random {
    /// Running sums of the weights, for a binary search per pick.
    cumulative: Box<[u64]>,
    state: AtomicU64,
}

impl Random {
    pub fn new(set: &EndpointSet, seed: u64) -> Self {
        let cumulative = (0..set.len())
            .scan(0u64, |sum, i| {
                *sum += u64::from(set.weight(i));
                Some(*sum)
            })
            .collect();
        Self {
            cumulative,
            state: AtomicU64::new(seed),
        }
    }

    /// splitmix64 over an atomic counter: one `fetch_add` per draw, no lock.
    fn next_u64(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Balancer for Random {
    fn pick(&self, set: &EndpointSet, tried: &[usize]) -> Option<Pick> {
        let total = *self.cumulative.last()?;
        let ticket = self.next_u64() % total;
        let drawn = self.cumulative.partition_point(|&sum| sum <= ticket);
        Some(set.pick(first_untried(set.len(), drawn, tried)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_weights() {
        let set = EndpointSet::new(&[1, 3]);
        let random = Random::new(&set, 42);
        let heavy = (0..40_000)
            .filter(|_| random.pick(&set, &[]).unwrap().index() == 1)
            .count();
        let share = heavy as f64 / 40_000.0;
        assert!((share - 0.75).abs() < 0.02, "share {share}");
    }

    #[test]
    fn never_picks_tried() {
        let set = EndpointSet::new(&[1, 1, 1]);
        let random = Random::new(&set, 1);
        assert!((0..100).all(|_| random.pick(&set, &[0, 2]).unwrap().index() == 1));
    }
}
