//! Waiting for room: when the endpoint picked already holds as many requests as the capacity
//! learned from its utilization reports, the request waits (up to the cluster's
//! `capacity_wait`) for one of the cluster's requests to finish and is picked again, instead of
//! being sent to a server that would shed it. Each finished request wakes one waiter.

use crate::cluster::Cluster;
use crate::membership::Membership;
use std::sync::Arc;
use switchyard_balance::{Pick, PickContext};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Picks an endpoint of `membership`; `None` when none is eligible. One over its learned
/// capacity is not sent to at once: the request waits (up to the cluster's `capacity_wait`,
/// within `deadline`) for a request of the cluster to finish and is picked again; after the
/// wait it goes to the best endpoint anyway.
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
        let Some(signal) = freed.filter(|_| set.over_capacity(pick.index())) else {
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
        drop(pick);
        if tokio::time::timeout_at(until, room).await.is_err() {
            return balancer.pick(set, ctx).map(|p| Held::new(p, freed));
        }
    }
}

/// A pick that, once released, wakes one request waiting for room in its cluster.
///
/// Fields drop in order: the pick first (its endpoint's in-flight count goes down), then the
/// wake-up, so the woken request sees the room.
#[derive(Debug)]
pub struct Held {
    pub pick: Pick,
    _release: Release,
}

impl Held {
    /// `freed` is the cluster's signal, `None` when the cluster does not wait for room.
    pub fn new(pick: Pick, freed: Option<&Arc<Notify>>) -> Self {
        Self {
            pick,
            _release: Release(freed.cloned()),
        }
    }
}

#[derive(Debug)]
struct Release(Option<Arc<Notify>>);

impl Drop for Release {
    fn drop(&mut self) {
        if let Some(freed) = &self.0 {
            freed.notify_one();
        }
    }
}
