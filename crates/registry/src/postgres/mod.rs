//! The PostgreSQL store, for several registry instances sharing one database.
//!
//! A store keeps a small fixed set of connections (`CONNECTIONS`), each behind an async
//! mutex, opened on first use and reopened when the server closed them; calls take them in
//! turn. No TLS: the database is expected on loopback or a private network.

mod read;
mod schema;
mod write;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};
use tokio_postgres::{Client, Config, NoTls};

use crate::model::to_millis;
use crate::plan::Mutation;
use crate::{Compose, Delete, Now, Publish, Published, Store, StoreError, StoreFuture};
use crate::{VariantRef, VersionRecord, VersionSummary};

/// Connections per store.
const CONNECTIONS: usize = 4;

/// Unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A registry store in a PostgreSQL database.
pub struct PostgresStore {
    config: Config,
    clients: Vec<Mutex<Option<Client>>>,
    next: AtomicUsize,
    now: Now,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgresql://user@host:port/db`, or `host=... user=...`) and
    /// migrates the schema. Connecting gives up after 10 s unless the URL says otherwise.
    pub async fn connect(url: &str, now: Now) -> Result<Self, StoreError> {
        let mut config: Config = url.parse()?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let mut first = open(&config).await?;
        schema::migrate(&mut first, to_millis(now())).await?;
        let mut clients: Vec<_> = (1..CONNECTIONS).map(|_| Mutex::new(None)).collect();
        clients.insert(0, Mutex::new(Some(first)));
        Ok(Self {
            config,
            clients,
            next: AtomicUsize::new(0),
            now,
        })
    }

    /// The next connection in turn, (re)opened if needed.
    async fn client(&self) -> Result<MappedMutexGuard<'_, Client>, StoreError> {
        let slot = &self.clients[self.next.fetch_add(1, Ordering::Relaxed) % CONNECTIONS];
        let mut guard = slot.lock().await;
        let client = match guard.take() {
            Some(client) if !client.is_closed() => client,
            _ => open(&self.config).await?,
        };
        Ok(MutexGuard::map(guard, |slot| slot.insert(client)))
    }

    async fn mutate(
        &self,
        variant: &VariantRef,
        mutation: Mutation,
    ) -> Result<Published, StoreError> {
        let mut client = self.client().await?;
        write::mutate(&mut client, &self.now, variant, mutation).await
    }

    async fn ensure(&self, variant: &VariantRef) -> Result<bool, StoreError> {
        let client = self.client().await?;
        write::ensure_variant(&client, variant, &self.now).await
    }

    async fn current_record(
        &self,
        variant: &VariantRef,
    ) -> Result<Option<VersionRecord>, StoreError> {
        let client = self.client().await?;
        let id = read::variant_id(&*client, variant).await?;
        let number = read::current_number(&*client, id).await?;
        read::version(&*client, id, number).await
    }

    async fn version_record(
        &self,
        variant: &VariantRef,
        number: u64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        let client = self.client().await?;
        let id = read::variant_id(&*client, variant).await?;
        read::version(&*client, id, number).await
    }

    async fn summaries(
        &self,
        variant: &VariantRef,
        limit: usize,
    ) -> Result<Vec<VersionSummary>, StoreError> {
        let client = self.client().await?;
        let id = read::variant_id(&*client, variant).await?;
        read::history(&*client, id, limit).await
    }

    async fn number(&self, variant: &VariantRef) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let id = read::variant_id(&*client, variant).await?;
        read::current_number(&*client, id).await
    }

    async fn graphs(&self) -> Result<Vec<String>, StoreError> {
        read::graphs(&*self.client().await?).await
    }

    async fn variants(&self, graph: &str) -> Result<Vec<String>, StoreError> {
        read::variants(&*self.client().await?, graph).await
    }
}

/// Opens one connection; its I/O task runs on the runtime until the client is dropped.
async fn open(config: &Config) -> Result<Client, StoreError> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

impl Store for PostgresStore {
    fn ensure_variant<'a>(&'a self, variant: &'a VariantRef) -> StoreFuture<'a, bool> {
        Box::pin(self.ensure(variant))
    }

    fn publish<'a>(
        &'a self,
        variant: &'a VariantRef,
        change: Publish,
        compose: Compose,
    ) -> StoreFuture<'a, Published> {
        Box::pin(self.mutate(variant, Mutation::Publish(change, compose)))
    }

    fn delete_subgraph<'a>(
        &'a self,
        variant: &'a VariantRef,
        change: Delete,
        compose: Compose,
    ) -> StoreFuture<'a, Published> {
        Box::pin(self.mutate(variant, Mutation::Delete(change, compose)))
    }

    fn rollback<'a>(
        &'a self,
        variant: &'a VariantRef,
        to: u64,
        author: &'a str,
    ) -> StoreFuture<'a, Published> {
        let author = author.to_owned();
        Box::pin(self.mutate(variant, Mutation::Rollback { to, author }))
    }

    fn current<'a>(&'a self, variant: &'a VariantRef) -> StoreFuture<'a, Option<VersionRecord>> {
        Box::pin(self.current_record(variant))
    }

    fn version<'a>(
        &'a self,
        variant: &'a VariantRef,
        number: u64,
    ) -> StoreFuture<'a, Option<VersionRecord>> {
        Box::pin(self.version_record(variant, number))
    }

    fn history<'a>(
        &'a self,
        variant: &'a VariantRef,
        limit: usize,
    ) -> StoreFuture<'a, Vec<VersionSummary>> {
        Box::pin(self.summaries(variant, limit))
    }

    fn current_version_number<'a>(&'a self, variant: &'a VariantRef) -> StoreFuture<'a, u64> {
        Box::pin(self.number(variant))
    }

    fn list_graphs(&self) -> StoreFuture<'_, Vec<String>> {
        Box::pin(self.graphs())
    }

    fn list_variants<'a>(&'a self, graph: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(self.variants(graph))
    }
}
