//! Smooth weighted round robin: a schedule computed once per endpoint set, walked lock-free.

use crate::Balancer;
use crate::endpoint::{EndpointSet, Pick};
use crate::policy::WarmUp;
use crate::select::{Draw, PickContext, View, ramp};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Round robin that honours weights and spreads each endpoint's turns evenly (nginx's smooth
/// weighted algorithm, run once at build time into a schedule; picking is one atomic increment).
#[derive(Debug)]
pub struct RoundRobin {
    schedule: Box<[usize]>,
    next: AtomicUsize,
    warm_up: Option<WarmUp>,
    draw: Draw,
}

impl RoundRobin {
    pub fn new(set: &EndpointSet, warm_up: Option<WarmUp>, seed: u64) -> Self {
        Self {
            schedule: smooth_schedule(set).into(),
            next: AtomicUsize::new(0),
            warm_up,
            draw: Draw::new(seed),
        }
    }

    /// A warming endpoint keeps its turn only with probability `ramp(age)`.
    fn admits(&self, view: &View<'_>, i: usize) -> bool {
        let Some(w) = self.warm_up else { return true };
        let age = view.set.stats(i).age_ns(view.now_ns);
        let share = ramp(age, w.window_ns, w.min_weight, w.aggression);
        share >= 1.0 || self.draw.unit() < share
    }
}

impl Balancer for RoundRobin {
    /// A first attempt takes the next turn; a retry takes the endpoint after the last one
    /// tried without taking a turn, so failing endpoints do not skew the rotation.
    fn pick(&self, set: &EndpointSet, ctx: &PickContext<'_>) -> Option<Pick> {
        let view = View::new(set, ctx);
        if let Some(last) = ctx.tried.last() {
            let at = (0..set.len())
                .find(|&i| set.get(i).id == *last)
                .unwrap_or(0);
            return Some(set.pick(view.first_usable_from(at + 1)?));
        }
        let len = self.schedule.len();
        let mut fallback = None;
        for _ in 0..len {
            let turn = self.next.fetch_add(1, Ordering::Relaxed) % len;
            let i = self.schedule[turn];
            if view.usable(i) {
                if self.admits(&view, i) {
                    return Some(set.pick(i));
                }
                fallback.get_or_insert(i);
            }
        }
        Some(set.pick(fallback?))
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
        let set = EndpointSet::with_weights(weights);
        let rr = RoundRobin::new(&set, None, 1);
        (0..n)
            .map(|_| rr.pick(&set, &PickContext::default()).unwrap().index())
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
        let set = EndpointSet::with_weights(&[1, 1, 1]);
        let rr = RoundRobin::new(&set, None, 1);
        let first = rr.pick(&set, &PickContext::default()).unwrap();
        let tried = [set.get(first.index()).id];
        let retry = rr
            .pick(
                &set,
                &PickContext {
                    tried: &tried,
                    hash: None,
                },
            )
            .unwrap();
        assert_eq!(retry.index(), 1);
        assert_eq!(
            rr.pick(&set, &PickContext::default()).unwrap().index(),
            1,
            "rotation goes on"
        );
    }

    #[test]
    fn skips_tried_endpoints() {
        let set = EndpointSet::with_weights(&[1, 1, 1]);
        let rr = RoundRobin::new(&set, None, 1);
        let tried = [set.get(1).id];
        for _ in 0..6 {
            let p = rr
                .pick(
                    &set,
                    &PickContext {
                        tried: &tried,
                        hash: None,
                    },
                )
                .unwrap();
            assert_ne!(p.index(), 1);
        }
        let all: Vec<u64> = set.iter().map(|e| e.id).collect();
        assert!(
            rr.pick(
                &set,
                &PickContext {
                    tried: &all,
                    hash: None
                }
            )
            .is_none()
        );
    }
}
