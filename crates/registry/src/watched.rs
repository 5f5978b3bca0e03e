//! A store that tells subscribers when a change created a version: the gateway that embeds the
//! registry applies a publish at once instead of waiting for its next poll.

use std::sync::Arc;

use tokio::sync::watch;

use crate::{Compose, Delete, Publish, Published, Store, StoreError, StoreFuture};
use crate::{VariantRef, VersionRecord, VersionSummary};

/// Wraps a store; every change that creates a version bumps a counter subscribers watch.
///
/// The counter says "something changed", not what: a subscriber asks the store for the
/// versions it follows (one indexed row each), so a missed wake-up costs nothing but latency.
pub struct Watched {
    inner: Arc<dyn Store>,
    changes: watch::Sender<u64>,
}

impl std::fmt::Debug for Watched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watched").finish_non_exhaustive()
    }
}

impl Watched {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            changes: watch::Sender::new(0),
        }
    }

    /// A receiver marked changed after each version created through this store.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn created(&self, outcome: &Result<Published, StoreError>) {
        if matches!(outcome, Ok(p) if p.created) {
            self.changes.send_modify(|n| *n += 1);
        }
    }
}

impl Store for Watched {
    fn ensure_variant<'a>(&'a self, variant: &'a VariantRef) -> StoreFuture<'a, bool> {
        self.inner.ensure_variant(variant)
    }

    fn publish<'a>(
        &'a self,
        variant: &'a VariantRef,
        change: Publish,
        compose: Compose,
    ) -> StoreFuture<'a, Published> {
        Box::pin(async move {
            let outcome = self.inner.publish(variant, change, compose).await;
            self.created(&outcome);
            outcome
        })
    }

    fn delete_subgraph<'a>(
        &'a self,
        variant: &'a VariantRef,
        change: Delete,
        compose: Compose,
    ) -> StoreFuture<'a, Published> {
        Box::pin(async move {
            let outcome = self.inner.delete_subgraph(variant, change, compose).await;
            self.created(&outcome);
            outcome
        })
    }

    fn rollback<'a>(
        &'a self,
        variant: &'a VariantRef,
        to: u64,
        author: &'a str,
    ) -> StoreFuture<'a, Published> {
        Box::pin(async move {
            let outcome = self.inner.rollback(variant, to, author).await;
            self.created(&outcome);
            outcome
        })
    }

    fn current<'a>(&'a self, variant: &'a VariantRef) -> StoreFuture<'a, Option<VersionRecord>> {
        self.inner.current(variant)
    }

    fn version<'a>(
        &'a self,
        variant: &'a VariantRef,
        number: u64,
    ) -> StoreFuture<'a, Option<VersionRecord>> {
        self.inner.version(variant, number)
    }

    fn history<'a>(
        &'a self,
        variant: &'a VariantRef,
        limit: usize,
    ) -> StoreFuture<'a, Vec<VersionSummary>> {
        self.inner.history(variant, limit)
    }

    fn current_version_number<'a>(&'a self, variant: &'a VariantRef) -> StoreFuture<'a, u64> {
        self.inner.current_version_number(variant)
    }

    fn list_graphs(&self) -> StoreFuture<'_, Vec<String>> {
        self.inner.list_graphs()
    }

    fn list_variants<'a>(&'a self, graph: &'a str) -> StoreFuture<'a, Vec<String>> {
        self.inner.list_variants(graph)
    }
}
