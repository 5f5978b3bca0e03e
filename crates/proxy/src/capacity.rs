//! Waiting for room: when the endpoint picked already holds as many requests as the capacity
//! learned from its utilization reports, the request waits (up to the cluster's
//! `capacity_wait`) for one of the cluster's requests to finish and is picked again, instead of
//! being sent to a server that would shed it. Each finished request wakes one waiter.

use std::sync::Arc;
use switchyard_balance::Pick;
use tokio::sync::Notify;

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
