//! The SQLite store: one file, created on first open, in WAL mode.
//!
//! Each store holds two connections, each behind a mutex: one for changes and one for reads
//! (WAL lets readers go on while a writer composes and commits, so the gateway's poll never
//! waits for a publish). Every call runs on a blocking thread (rusqlite is synchronous).
//! Several stores (or processes) may open the same file: changes are serialized by SQLite's
//! write lock (`write.rs`). A call whose future is dropped still runs to its end.

mod read;
mod schema;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

use crate::model::to_millis;
use crate::plan::Mutation;
use crate::{Compose, Delete, Now, Publish, Published, Store, StoreError, StoreFuture};
use crate::{VariantRef, VersionRecord, VersionSummary};

/// How long a writer waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A registry store in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
    now: Now,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating the file and its directory if missing) and migrates the store.
    pub async fn open(path: impl Into<PathBuf>, now: Now) -> Result<Self, StoreError> {
        let path = path.into();
        let at = to_millis(now());
        let (writer, reader) = tokio::task::spawn_blocking(move || {
            let mut writer = open_file(&path)?;
            schema::migrate(&mut writer, at)?;
            Ok::<_, StoreError>((writer, open_file(&path)?))
        })
        .await??;
        Ok(Self {
            writer: Arc::new(Mutex::new(writer)),
            reader: Arc::new(Mutex::new(reader)),
            now,
        })
    }

    /// Runs `f` with the writer connection on a blocking thread.
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Now) -> Result<T, StoreError> + Send + 'static,
    {
        Self::run(&self.writer, &self.now, f).await
    }

    /// Runs `f` with the reader connection on a blocking thread.
    async fn query<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        Self::run(&self.reader, &self.now, |conn, _| f(conn)).await
    }

    async fn run<T, F>(conn: &Arc<Mutex<Connection>>, now: &Now, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Now) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(conn);
        let now = Arc::clone(now);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn, &now)
        })
        .await?
    }

    async fn mutate(
        &self,
        variant: &VariantRef,
        mutation: Mutation,
    ) -> Result<Published, StoreError> {
        let variant = variant.clone();
        self.call(move |conn, now| write::mutate(conn, now, &variant, mutation))
            .await
    }

    /// Runs a read of one variant.
    async fn read<T, F>(&self, variant: &VariantRef, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, i64) -> Result<T, StoreError> + Send + 'static,
    {
        let variant = variant.clone();
        self.query(move |conn| f(conn, read::variant_id(conn, &variant)?))
            .await
    }
}

fn open_file(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL is a property of the file: the first open sets it, later ones find it set.
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

impl Store for SqliteStore {
    fn ensure_variant<'a>(&'a self, variant: &'a VariantRef) -> StoreFuture<'a, bool> {
        let variant = variant.clone();
        Box::pin(self.call(move |conn, now| write::ensure_variant(conn, &variant, now)))
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
        Box::pin(self.read(variant, |conn, id| {
            let number = read::current_number(conn, id)?;
            read::version(conn, id, number)
        }))
    }

    fn version<'a>(
        &'a self,
        variant: &'a VariantRef,
        number: u64,
    ) -> StoreFuture<'a, Option<VersionRecord>> {
        Box::pin(self.read(variant, move |conn, id| read::version(conn, id, number)))
    }

    fn history<'a>(
        &'a self,
        variant: &'a VariantRef,
        limit: usize,
    ) -> StoreFuture<'a, Vec<VersionSummary>> {
        Box::pin(self.read(variant, move |conn, id| read::history(conn, id, limit)))
    }

    fn current_version_number<'a>(&'a self, variant: &'a VariantRef) -> StoreFuture<'a, u64> {
        Box::pin(self.read(variant, read::current_number))
    }

    fn list_graphs(&self) -> StoreFuture<'_, Vec<String>> {
        Box::pin(self.query(read::graphs))
    }

    fn list_variants<'a>(&'a self, graph: &'a str) -> StoreFuture<'a, Vec<String>> {
        let graph = graph.to_owned();
        Box::pin(self.query(move |conn| read::variants(conn, &graph)))
    }
}
