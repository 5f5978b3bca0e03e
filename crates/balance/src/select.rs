//! What every algorithm shares: the request's context, which endpoints are usable now, a
//! lock-free seeded random source, and warm-up (slow start).

use crate::endpoint::EndpointSet;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the balancer may know of the request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PickContext<'a> {
    /// Ids of endpoints this request already tried (a retry goes elsewhere).
    pub tried: &'a [u64],
    /// Affinity key hash for `ring_hash` and `maglev`; others ignore it.
    pub hash: Option<u64>,
}

/// The set as seen by one pick: the time, and whether panic mode is on.
pub(crate) struct View<'a> {
    pub set: &'a EndpointSet,
    pub ctx: &'a PickContext<'a>,
    pub now_ns: u64,
    panic: bool,
}

impl<'a> View<'a> {
    pub fn new(set: &'a EndpointSet, ctx: &'a PickContext<'a>) -> Self {
        let now_ns = set.now_ns();
        Self {
            set,
            ctx,
            now_ns,
            panic: set.in_panic(now_ns),
        }
    }

    /// Not tried by this request, and available (or every endpoint counts, in panic mode).
    pub fn usable(&self, i: usize) -> bool {
        !self.ctx.tried.contains(&self.set.get(i).id)
            && (self.panic || self.set.is_available(i, self.now_ns))
    }

    /// The first usable index at or after `start`, wrapping.
    pub fn first_usable_from(&self, start: usize) -> Option<usize> {
        let n = self.set.len();
        (0..n).map(|k| (start + k) % n).find(|&i| self.usable(i))
    }
}

/// Random draws for the algorithms. Seeded (tests, simulation): splitmix64 over an atomic
/// counter, deterministic. Seed 0 (serving): a thread-local generator, so threads picking at
/// once do not contend on one cache line.
#[derive(Debug)]
pub(crate) struct Draw {
    state: AtomicU64,
    thread_local: bool,
}

impl Draw {
    pub fn new(seed: u64) -> Self {
        // The seed is mixed first, so seeds that differ by a multiple of the step do not give
        // shifted copies of one stream.
        Self {
            state: AtomicU64::new(mix(seed)),
            thread_local: seed == 0,
        }
    }

    pub fn next_u64(&self) -> u64 {
        if self.thread_local {
            return fastrand::u64(..);
        }
        let z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        mix(z.wrapping_add(0x9E37_79B9_7F4A_7C15))
    }

    pub fn below(&self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Two distinct usable endpoints drawn at random (or one, or none), in a few draws;
    /// falls back to a scan when random draws keep missing.
    pub fn two(&self, view: &View<'_>) -> (Option<usize>, Option<usize>) {
        let n = view.set.len();
        if n == 0 {
            return (None, None);
        }
        let mut first = None;
        for _ in 0..4 {
            let i = self.below(n);
            if view.usable(i) {
                first = Some(i);
                break;
            }
        }
        let first = first.or_else(|| view.first_usable_from(self.below(n)));
        let Some(a) = first else { return (None, None) };
        for _ in 0..4 {
            let j = self.below(n);
            if j != a && view.usable(j) {
                return (Some(a), Some(j));
            }
        }
        let b = (1..n).map(|k| (a + k) % n).find(|&j| view.usable(j));
        (Some(a), b)
    }
}

/// splitmix64's finalizer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Warm-up: a new endpoint's share ramps from `min_weight` to 1 over `window`.
/// `ramp(age) = max(min_weight, (max(age, 1 s) / window) ^ (1 / aggression))`.
pub(crate) fn ramp(age_ns: u64, window_ns: u64, min_weight: f64, aggression: f64) -> f64 {
    if window_ns == 0 || age_ns >= window_ns {
        return 1.0;
    }
    let age = age_ns.max(1_000_000_000) as f64;
    (age / window_ns as f64)
        .powf(1.0 / aggression.max(0.01))
        .max(min_weight)
        .min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_follows_the_formula() {
        let w = 90_000_000_000;
        assert_eq!(ramp(w, w, 0.1, 1.0), 1.0);
        assert!((ramp(45_000_000_000, w, 0.1, 1.0) - 0.5).abs() < 1e-9);
        assert_eq!(ramp(0, w, 0.1, 1.0), 0.1, "floor");
        assert!((ramp(45_000_000_000, w, 0.1, 2.0) - 0.5f64.sqrt()).abs() < 1e-9);
    }
}
