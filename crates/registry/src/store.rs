//! The storage trait both backends implement.
//!
//! Methods return boxed futures instead of `async fn` so that `dyn Store` works: the HTTP API
//! and the gateway hold one `Arc<dyn Store>` chosen by configuration. One allocation per call
//! is nothing next to a database round trip, and no macro crate is needed.

use std::future::Future;
use std::pin::Pin;

use crate::{ComposeError, Delete, Publish, Published, StoreError, SubgraphRecord, VariantRef};
use crate::{VersionRecord, VersionSummary};

/// A store operation in flight.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Composes a variant's subgraphs (sorted by name) into its supergraph SDL. The store calls it
/// inside the section that serializes changes to the variant, on a blocking thread.
pub type Compose = Box<dyn FnOnce(&[SubgraphRecord]) -> Result<String, ComposeError> + Send>;

/// Where the registry keeps graphs, variants and their versions.
///
/// Every change to a variant (publish, delete, rollback) is serialized per variant across all
/// store instances sharing the database, and creates exactly one version numbered one past the
/// current one, or nothing: a publish of the same URL and SDL as the current version returns
/// that version with `created: false`, and a failed composition stores nothing.
pub trait Store: Send + Sync {
    /// Creates the variant (and its graph) unless it exists; true when it was created.
    fn ensure_variant<'a>(&'a self, variant: &'a VariantRef) -> StoreFuture<'a, bool>;

    /// Sets one subgraph's URL and SDL, composing the new set with `compose`.
    fn publish<'a>(
        &'a self,
        variant: &'a VariantRef,
        change: Publish,
        compose: Compose,
    ) -> StoreFuture<'a, Published>;

    /// Removes one subgraph, composing what is left with `compose`.
    fn delete_subgraph<'a>(
        &'a self,
        variant: &'a VariantRef,
        change: Delete,
        compose: Compose,
    ) -> StoreFuture<'a, Published>;

    /// Creates a new version with the subgraphs and supergraph of version `to`.
    fn rollback<'a>(
        &'a self,
        variant: &'a VariantRef,
        to: u64,
        author: &'a str,
    ) -> StoreFuture<'a, Published>;

    /// The variant's current version; `None` before its first publish.
    fn current<'a>(&'a self, variant: &'a VariantRef) -> StoreFuture<'a, Option<VersionRecord>>;

    /// Version `number` of the variant, if it exists.
    fn version<'a>(
        &'a self,
        variant: &'a VariantRef,
        number: u64,
    ) -> StoreFuture<'a, Option<VersionRecord>>;

    /// The newest `limit` versions, newest first.
    fn history<'a>(
        &'a self,
        variant: &'a VariantRef,
        limit: usize,
    ) -> StoreFuture<'a, Vec<VersionSummary>>;

    /// The current version's number (0 before the first publish): one indexed row, for polling.
    fn current_version_number<'a>(&'a self, variant: &'a VariantRef) -> StoreFuture<'a, u64>;

    /// Every graph name, sorted.
    fn list_graphs(&self) -> StoreFuture<'_, Vec<String>>;

    /// The variants of `graph`, sorted (empty for an unknown graph).
    fn list_variants<'a>(&'a self, graph: &'a str) -> StoreFuture<'a, Vec<String>>;
}
