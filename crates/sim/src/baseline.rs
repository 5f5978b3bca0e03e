//! The lab's comparison baselines that `switchyard-balance` does not ship as policies:
//! Netflix's old round robin with failure blacklisting (built from the real round robin and
//! outlier detection), and two simple strategies the design measures `edge` against, written
//! on the real endpoint stats: full-scan least in-flight (join the shortest queue over every
//! server, as nginx's `least_conn` does) and random weighted by reported spare capacity.

use std::sync::Mutex;
use std::time::Duration;
use switchyard_balance::{Balancer, EndpointSet, Pick, PickContext, Policy, StatParams};
use switchyard_core::Rng;

/// The policy and stats of round robin with failure blacklisting in the style of Ribbon (a
/// server that fails 3 times in a row is skipped for 10 s, then 20 s, up to 30 s).
pub fn blacklisting_round_robin() -> (Policy, StatParams) {
    let mut stats = StatParams::default();
    let outlier = &mut stats.outlier;
    outlier.overload_is_failure = true;
    outlier.consecutive_5xx = 3;
    outlier.consecutive_gateway = 3;
    outlier.base_ejection_ns = 10_000_000_000;
    outlier.max_ejection_ns = u64::try_from(Duration::from_secs(30).as_nanos()).unwrap_or(u64::MAX);
    // Ribbon fell back to every server only when all were blacklisted; half is our panic line.
    outlier.max_ejection_percent = 0.5;
    (Policy::RoundRobin { warm_up: None }, stats)
}

/// How a lab balancer is built for one membership (the engine rebuilds it on every change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabPolicy {
    /// Every server scanned; the fewest of this balancer's requests in flight wins (ties go
    /// to a random one of them). Herds when many balancers see the same empty server.
    LeastInFlight,
    /// Random, weighted by the spare capacity each server last reported (1 - utilization,
    /// at least 0.05; a server that has not reported counts as idle).
    UtilizationWeighted,
}

impl LabPolicy {
    pub fn build(self, seed: u64) -> Box<dyn Balancer> {
        Box::new(LabBalancer {
            policy: self,
            rng: Mutex::new(Rng::seeded(seed)),
        })
    }
}

#[derive(Debug)]
struct LabBalancer {
    policy: LabPolicy,
    rng: Mutex<Rng>,
}

impl Balancer for LabBalancer {
    /// Over the endpoints this request has not tried that are available (all of them in
    /// panic mode), as the shipped policies do.
    fn pick(&self, set: &EndpointSet, ctx: &PickContext<'_>) -> Option<Pick> {
        let now = set.now_ns();
        let panic = set.in_panic(now);
        let usable: Vec<usize> = (0..set.len())
            .filter(|&i| !ctx.tried.contains(&set.get(i).id))
            .filter(|&i| panic || set.is_available(i, now))
            .collect();
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let chosen = match self.policy {
            LabPolicy::LeastInFlight => fewest_in_flight(set, &usable, &mut rng),
            LabPolicy::UtilizationWeighted => by_spare_capacity(set, &usable, &mut rng),
        }?;
        Some(set.pick(chosen))
    }
}

fn fewest_in_flight(set: &EndpointSet, usable: &[usize], rng: &mut Rng) -> Option<usize> {
    let least = usable.iter().map(|&i| set.stats(i).in_flight()).min()?;
    let tied: Vec<usize> = (usable.iter().copied())
        .filter(|&i| set.stats(i).in_flight() == least)
        .collect();
    Some(tied[rng.below(tied.len())])
}

fn by_spare_capacity(set: &EndpointSet, usable: &[usize], rng: &mut Rng) -> Option<usize> {
    let (now, params) = (set.now_ns(), set.params());
    let spare = |i: usize| {
        let reported =
            set.stats(i)
                .utilization(now, params.decay_half_life_ns, params.utilization_stale_ns);
        (1.0 - reported.unwrap_or(0.0)).max(0.05)
    };
    let total: f64 = usable.iter().map(|&i| spare(i)).sum();
    let mut ticket = rng.unit() * total;
    for &i in usable {
        ticket -= spare(i);
        if ticket < 0.0 {
            return Some(i);
        }
    }
    usable.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_balance::{Outcome, OutcomeKind};

    #[test]
    fn least_in_flight_scans_every_server() {
        let set = EndpointSet::with_weights(&[1; 5]);
        let held: Vec<Pick> = [0, 1, 2, 4].iter().map(|&i| set.pick(i)).collect();
        let balancer = LabPolicy::LeastInFlight.build(7);
        for _ in 0..50 {
            let pick = balancer.pick(&set, &PickContext::default()).unwrap();
            assert_eq!(pick.index(), 3, "the only idle server");
        }
        drop(held);
    }

    #[test]
    fn a_retry_goes_to_an_endpoint_not_tried() {
        let set = EndpointSet::with_weights(&[1; 3]);
        let tried = [set.get(0).id, set.get(2).id];
        let ctx = PickContext {
            tried: &tried,
            hash: None,
        };
        for lab in [LabPolicy::LeastInFlight, LabPolicy::UtilizationWeighted] {
            let balancer = lab.build(5);
            for _ in 0..50 {
                assert_eq!(balancer.pick(&set, &ctx).unwrap().index(), 1, "{lab:?}");
            }
        }
    }

    #[test]
    fn utilization_weighting_follows_spare_capacity() {
        let set = EndpointSet::with_weights(&[1, 1]);
        let busy = Outcome {
            kind: OutcomeKind::Success,
            utilization: Some(0.75),
        };
        set.pick(0).record(&set, busy);
        let balancer = LabPolicy::UtilizationWeighted.build(3);
        let n = 20_000;
        let to_busy = (0..n)
            .filter(|_| {
                balancer
                    .pick(&set, &PickContext::default())
                    .unwrap()
                    .index()
                    == 0
            })
            .count();
        // Spare 0.25 against 1.0: a fifth of the picks.
        let share = to_busy as f64 / f64::from(n);
        assert!((share - 0.2).abs() < 0.015, "{share}");
    }
}
