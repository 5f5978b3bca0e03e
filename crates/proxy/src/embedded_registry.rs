//! The schema registry served from the gateway process (`registry:` in the config): its store,
//! its HTTP API on a listener of its own, and the change signal that wakes the GraphQL routes
//! following it, so a publish is served without waiting for a poll.

use crate::gateway::GatewayError;
use std::net::SocketAddr;
use std::sync::Arc;
use switchyard_config::{EmbeddedRegistry, RegistryStore};
use switchyard_registry::{PostgresStore, ServerConfig, SqliteStore, Store, Watched};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running embedded registry.
pub struct Embedded {
    pub store: Arc<dyn Store>,
    /// The bound address of its HTTP API.
    pub address: SocketAddr,
    /// Marked changed after every version created through the API.
    pub changes: watch::Receiver<u64>,
    /// The settings it was started with (changes take effect at the next start).
    pub config: EmbeddedRegistry,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Opens the store (creating a SQLite file on first start), binds the API and serves it until
/// `stop` turns true.
pub async fn start(
    config: &EmbeddedRegistry,
    mut stop: watch::Receiver<bool>,
) -> Result<(Embedded, JoinHandle<()>), GatewayError> {
    let watched = Watched::new(open(&config.store).await?);
    let changes = watched.subscribe();
    let store: Arc<dyn Store> = Arc::new(watched);
    let listener = crate::gateway::bind(config.address)
        .await
        .map_err(|source| GatewayError::Bind {
            listener: "registry".to_owned(),
            address: config.address,
            source,
        })?;
    let address = listener.local_addr().unwrap_or(config.address);
    let server = ServerConfig {
        token: config.token.as_ref().map(|t| t.0.clone()),
        introspect_hosts: config.introspect_hosts.clone(),
        ..ServerConfig::default()
    };
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let task = tokio::spawn(switchyard_registry::serve(
        listener,
        Arc::clone(&store),
        server,
        stopped,
    ));
    tracing::info!(%address, "embedded schema registry listening");
    let embedded = Embedded {
        store,
        address,
        changes,
        config: config.clone(),
    };
    Ok((embedded, task))
}

async fn open(spec: &RegistryStore) -> Result<Arc<dyn Store>, GatewayError> {
    let now = switchyard_registry::system_now();
    match spec {
        RegistryStore::Sqlite(path) => SqliteStore::open(path.clone(), now)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>)
            .map_err(|e| {
                let at = path.display();
                GatewayError::Registry(format!("cannot open the registry store {at}: {e}"))
            }),
        RegistryStore::Postgres(url) => PostgresStore::connect(&url.0, now)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>)
            .map_err(|e| {
                GatewayError::Registry(format!("cannot connect to the registry's PostgreSQL: {e}"))
            }),
    }
}
