//! Weighted random choice, lock-free, seedable for deterministic tests.

use crate::Balancer;
use crate::endpoint::{EndpointSet, Pick};
use crate::select::{Draw, PickContext, View};

/// Picks an endpoint with probability proportional to its weight.
#[derive(Debug)]
pub struct Random {
    /// Running sums of the weights, for a binary search per pick.
    cumulative: Box<[u64]>,
    draw: Draw,
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
            draw: Draw::new(seed),
        }
    }
}

impl Balancer for Random {
    fn pick(&self, set: &EndpointSet, ctx: &PickContext<'_>) -> Option<Pick> {
        let view = View::new(set, ctx);
        let total = *self.cumulative.last()?;
        let ticket = self.draw.next_u64() % total;
        let drawn = self.cumulative.partition_point(|&sum| sum <= ticket);
        Some(set.pick(view.first_usable_from(drawn)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_weights() {
        let set = EndpointSet::with_weights(&[1, 3]);
        let random = Random::new(&set, 42);
        let ctx = PickContext::default();
        let heavy = (0..40_000)
            .filter(|_| random.pick(&set, &ctx).unwrap().index() == 1)
            .count();
        let share = heavy as f64 / 40_000.0;
        assert!((share - 0.75).abs() < 0.02, "share {share}");
    }

    #[test]
    fn never_picks_tried() {
        let set = EndpointSet::with_weights(&[1, 1, 1]);
        let random = Random::new(&set, 1);
        let tried = [set.get(0).id, set.get(2).id];
        let ctx = PickContext {
            tried: &tried,
            hash: None,
        };
        assert!((0..100).all(|_| random.pick(&set, &ctx).unwrap().index() == 1));
    }
}
