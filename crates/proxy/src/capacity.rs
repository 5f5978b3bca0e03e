//! Waiting for room: when the endpoint picked already holds as many requests as the capacity
//! learned from its utilization reports, the request waits (up to the cluster's
//! `capacity_wait`) for one of the cluster's requests to finish and is picked again, instead of
//! being sent to a server that would shed it. Each answer wakes one waiter.

use crate::cluster::Cluster;
use crate::membership::Membership;
use std::sync::Arc;
use switchyard_balance::{EndpointSet, Outcome, Pick, PickContext};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Picks an endpoint of `membership`; `None` when none is eligible. A pick beyond its
/// endpoint's learned capacity is not sent at once: the request waits (up to the cluster's
/// `capacity_wait`, within `deadline`) for an answer from the cluster and is picked again;
/// after the wait it goes to the best endpoint anyway.
pub async fn pick(
    cluster: &Cluster,
    membership: &Membership,
    ctx: &PickContext<'_>,
    deadline: Instant,
) -> Option<Held> {
    let set = &membership.set;
    let balancer = &membership.balancer;
    let freed = cluster.freed();
    let mut until: Option<Instant> = None;
    loop {
        let pick = balancer.pick(set, ctx)?;
        let Some(signal) = freed.filter(|_| pick.over_capacity(set)) else {
            return Some(Held::new(pick, freed));
        };
        let wait = cluster.config.balancing.capacity_wait;
        let until = *until.get_or_insert_with(|| (Instant::now() + wait).min(deadline));
        let room = signal.notified();
        tokio::pin!(room);
        room.as_mut().enable();
        if Instant::now() >= until {
            return Some(Held::new(pick, freed));
        }
        step_aside(set, pick, signal);
        if tokio::time::timeout_at(until, room).await.is_err() {
            return balancer.pick(set, ctx).map(|p| Held::new(p, freed));
        }
    }
}

/// Gives up `pick`'s place in line. An answer may have come while it held that place, and a
/// request woken by the answer then found the place taken: the wake-up is passed on.
fn step_aside(set: &EndpointSet, pick: Pick, signal: &Notify) {
    let index = pick.index();
    drop(pick);
    if set.has_room(index) {
        signal.notify_one();
    }
}

/// A pick that wakes one request waiting for room in its cluster when its endpoint stops
/// awaiting its answer: when the outcome is recorded, or when it drops unrecorded.
#[derive(Debug)]
pub struct Held {
    pick: Pick,
    release: Release,
}

impl Held {
    /// `freed` is the cluster's signal, `None` when the cluster does not wait for room.
    pub fn new(pick: Pick, freed: Option<&Arc<Notify>>) -> Self {
        Self {
            pick,
            release: Release(freed.cloned()),
        }
    }

    pub fn pick(&self) -> &Pick {
        &self.pick
    }

    /// Records the outcome (see [`Pick::record`]) and, the first time, wakes a waiter: the
    /// endpoint has one answer fewer to await.
    pub fn record(&mut self, set: &EndpointSet, outcome: Outcome) -> bool {
        let first = !self.pick.is_recorded();
        let ejected = self.pick.record(set, outcome);
        if first && let Some(freed) = self.release.0.take() {
            freed.notify_one();
        }
        ejected
    }
}

/// Wakes a waiter when dropped unless the outcome already did. Declared after the pick in
/// [`Held`], so it drops after it: the woken request sees the room.
#[derive(Debug)]
struct Release(Option<Arc<Notify>>);

impl Drop for Release {
    fn drop(&mut self) {
        if let Some(freed) = &self.0 {
            freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use switchyard_balance::OutcomeKind;

    fn cluster(capacity_wait: &str) -> Arc<Cluster> {
        let yaml = format!(
            "listeners: [{{name: public, address: '127.0.0.1:8080'}}]\n\
             clusters:\n  - {{name: c, endpoints: [{{address: '127.0.0.1:9'}}], \
             capacity_wait: {capacity_wait}}}\n"
        );
        let config = switchyard_config::parse(&yaml, "cfg.yaml").unwrap();
        Cluster::new(config.clusters[0].clone(), None, None, Default::default())
    }

    /// A cluster of one endpoint that has learned a capacity of two requests.
    fn taught(capacity_wait: &str) -> (Arc<Cluster>, Arc<Membership>) {
        let cluster = cluster(capacity_wait);
        let membership = cluster.membership();
        teach_capacity_of_two(&membership.set);
        (cluster, membership)
    }

    /// Teaches endpoint 0 of `set` a capacity of two requests.
    fn teach_capacity_of_two(set: &EndpointSet) {
        let mut picks = [set.pick(0), set.pick(0)];
        picks[0].record(
            set,
            Outcome {
                kind: OutcomeKind::Success,
                utilization: Some(1.0),
            },
        );
        assert_eq!(set.capacity(0), Some(2.0));
    }

    fn success() -> Outcome {
        Outcome::of(OutcomeKind::Success)
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_is_woken_by_an_answer_whose_body_still_streams() {
        let (cluster, membership) = taught("10s");
        let ctx = PickContext::default();
        let far = Instant::now() + Duration::from_secs(60);
        let mut first = pick(&cluster, &membership, &ctx, far).await.unwrap();
        let second = pick(&cluster, &membership, &ctx, far).await.unwrap();
        assert!(!second.pick().over_capacity(&membership.set));
        let waiter = {
            let (cluster, membership) = (Arc::clone(&cluster), Arc::clone(&membership));
            tokio::spawn(async move {
                let started = Instant::now();
                let held = pick(&cluster, &membership, &PickContext::default(), far).await;
                (
                    started.elapsed(),
                    held.unwrap().pick().over_capacity(&membership.set),
                )
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "no room yet");
        first.record(&membership.set, success());
        let (waited, over) = waiter.await.unwrap();
        assert_eq!(
            waited,
            Duration::ZERO,
            "woken by the answer, not the 10s wait"
        );
        assert!(!over);
        drop((first, second));
    }

    #[tokio::test(start_paused = true)]
    async fn without_room_the_request_goes_after_capacity_wait() {
        let (cluster, membership) = taught("200ms");
        let ctx = PickContext::default();
        let far = Instant::now() + Duration::from_secs(60);
        let _first = pick(&cluster, &membership, &ctx, far).await.unwrap();
        let _second = pick(&cluster, &membership, &ctx, far).await.unwrap();
        let started = Instant::now();
        let third = pick(&cluster, &membership, &ctx, far).await.unwrap();
        assert_eq!(started.elapsed(), Duration::from_millis(200));
        assert!(third.pick().over_capacity(&membership.set));
    }

    #[tokio::test]
    async fn stepping_aside_passes_a_wake_up_on_only_when_it_leaves_room() {
        let set = EndpointSet::with_weights(&[1]);
        teach_capacity_of_two(&set);
        let signal = Notify::new();
        let woken = || tokio::time::timeout(Duration::ZERO, signal.notified());
        let mut answered = set.pick(0);
        let _other = set.pick(0);
        let in_line = set.pick(0);
        assert!(in_line.over_capacity(&set));
        step_aside(&set, in_line, &signal);
        assert!(
            woken().await.is_err(),
            "the first still awaits its answer: no room"
        );
        let in_line = set.pick(0);
        // The answer's wake-up goes to a request that finds `in_line` holding the place.
        answered.record(&set, success());
        step_aside(&set, in_line, &signal);
        assert!(
            woken().await.is_ok(),
            "the place it held is free: passed on"
        );
    }

    #[test]
    fn a_reloaded_cluster_keeps_its_waiters_signal() {
        let old = cluster("50ms");
        let new = Cluster::new(old.config.clone(), None, Some(&old), Default::default());
        assert!(Arc::ptr_eq(old.freed().unwrap(), new.freed().unwrap()));
        let off = Cluster::new(
            cluster("'off'").config.clone(),
            None,
            Some(&old),
            Default::default(),
        );
        assert!(off.freed().is_none());
    }
}
