//! Smooth weighted round robin: a schedule computed once per endpoint set, walked lock-free.

use crate::{Balancer, EndpointSet, Pick, first_untried};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Round robin that honours weights and spreads each endpoint's turns evenly (nginx's smooth
/// weighted algorithm, run once at build time into a schedule; picking is one atomic increment).
#[derive(Debug)]
pub struct RoundRobin {
    schedule: Box<[usize]>,
    next: AtomicUsize,
}

impl RoundRobin {
    pub fn new(set: &EndpointSet) -> Self {
        Self {
            schedule: smooth_schedule(set).into(),
            next: AtomicUsize::new(0),
        }
    }
}

impl Balancer for RoundRobin {
    /// A first attempt takes the next turn; a retry takes the endpoint after the last one
    /// tried without taking a turn, so failing endpoints do not skew the rotation.
    fn pick(&self, set: &EndpointSet, tried: &[usize]) -> Option<Pick> {
        if self.schedule.is_empty() {
            return None;
        }
        if let Some(last) = tried.last() {
            return Some(set.pick(first_untried(set.len(), last + 1, tried)?));
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.schedule.len();
        Some(set.pick(self.schedule[turn]))
    }
}

/// One full cycle of smooth weighted round robin, weights reduced by their common divisor.
fn smooth_schedule(set: &EndpointSet) -> Vec<usize> {
    let weights: Vec<i64> = (0..set.len()).map(|i| i64::from(set.weight(i))).collect();
    let divisor = weights.iter().copied().fold(0, gcd).max(1);
    let weights: Vec<i64> = weights.iter().map(|w| w / divisor).collect();
    let total: i64 = weights.iter().sum();
    let mut current = vec![0i64; weights.len()];
    (0..total)
        .map(|_| {
            for (c, w) in current.iter_mut().zip(&weights) {
                *c += w;
            }
            let best = (0..current.len()).max_by_key(|&i| (current[i], std::cmp::Reverse(i)));
            let best = best.unwrap_or(0);
            current[best] -= total;
            best
        })
        .collect()
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picks(weights: &[u32], n: usize) -> Vec<usize> {
        let set = EndpointSet::new(weights);
        let rr = RoundRobin::new(&set);
        (0..n)
            .map(|_| rr.pick(&set, &[]).unwrap().index())
            .collect()
    }

    #[test]
    fn equal_weights_take_turns() {
        assert_eq!(picks(&[1, 1, 1], 6), vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn weights_are_exact_and_smooth() {
        // nginx's documented sequence for weights 5, 1, 1: a a b a c a a.
        assert_eq!(picks(&[5, 1, 1], 7), vec![0, 0, 1, 0, 2, 0, 0]);
        let counts = picks(&[3, 2], 500).iter().fold([0; 2], |mut c, &i| {
            c[i] += 1;
            c
        });
        assert_eq!(counts, [300, 200]);
    }

    #[test]
    fn retries_do_not_take_turns() {
        let set = EndpointSet::new(&[1, 1, 1]);
        let rr = RoundRobin::new(&set);
        let first = rr.pick(&set, &[]).unwrap().index();
        assert_eq!(rr.pick(&set, &[first]).unwrap().index(), 1);
        assert_eq!(rr.pick(&set, &[]).unwrap().index(), 1, "the rotation goes on where it was");
    }

    #[test]
    fn skips_tried_endpoints() {
        let set = EndpointSet::new(&[1, 1, 1]);
        let rr = RoundRobin::new(&set);
        for _ in 0..6 {
            let p = rr.pick(&set, &[1]).unwrap();
            assert_ne!(p.index(), 1);
        }
        assert!(rr.pick(&set, &[0, 1, 2]).is_none());
    }
}
