//! The running gateway: binds listeners, serves, reloads atomically, drains on shutdown.

use crate::metrics::Metrics;
use crate::registry_source::{self, Fetched, SourceKey, Supergraphs};
use crate::runtime::Runtime;
use crate::server::serve;
use crate::state::Shared;
use arc_swap::ArcSwap;
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchyard_config::{Config, ConfigErrors};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why the gateway could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("cannot listen on {address} ({listener}): {source}")]
    Bind {
        listener: String,
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Build(#[from] crate::runtime::BuildError),
    #[error("invalid config:\n{0}")]
    Config(#[from] ConfigErrors),
    #[error("embedded registry: {0}")]
    Registry(String),
}

/// A cheap handle for reloading the running gateway from anywhere (signals, file watcher).
#[derive(Debug, Clone)]
pub struct ReloadHandle {
    shared: Arc<Shared>,
}

impl ReloadHandle {
    /// Builds a runtime for `config` and swaps it in; requests in flight keep the old one.
    ///
    /// A GraphQL route backed by a registry serves the supergraph already fetched for its
    /// variant; a variant not fetched yet fails the reload (see [`Self::reload_fetching`]).
    pub fn reload(&self, config: &Config) -> Result<u64, GatewayError> {
        let _serial = self
            .shared
            .reload_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.reload_locked(config)
    }

    /// [`Self::reload`], first fetching the supergraph of registry variants new to the gateway.
    pub async fn reload_fetching(&self, config: &Config) -> Result<u64, GatewayError> {
        let embedded = self.shared.embedded.as_ref();
        let fetched = registry_source::prefetch(config, &self.shared.supergraphs, embedded).await;
        if fetched.is_err() {
            self.shared.runtime.load().metrics.reloaded(false);
        }
        fetched?;
        self.reload(config)
    }

    /// [`Self::reload_file`], fetching the supergraph of registry variants new to the gateway.
    pub async fn reload_file_fetching(&self, path: &Path) -> Result<u64, GatewayError> {
        let config = switchyard_config::load(path).inspect_err(|_| {
            self.shared.runtime.load().metrics.reloaded(false);
        })?;
        self.reload_fetching(&config).await
    }

    fn reload_locked(&self, config: &Config) -> Result<u64, GatewayError> {
        let current = self.shared.runtime.load_full();
        let built = registry_source::resolve(config, &self.shared.supergraphs)
            .and_then(|resolved| Runtime::build(&resolved, Some(&current), &current.metrics));
        current.metrics.reloaded(built.is_ok());
        let runtime = built?;
        if runtime.listeners != current.listeners {
            tracing::warn!("listener changes take effect at the next restart");
        }
        if config.registry.as_ref() != self.shared.embedded.as_ref().map(|e| &e.config) {
            tracing::warn!("embedded registry changes take effect at the next restart");
        }
        self.shared.runtime.store(Arc::new(runtime));
        *self
            .shared
            .config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(config.clone());
        registry_source::sync_pollers(&self.shared, config);
        registry_source::record_versions(&self.shared, config, &current.metrics);
        registry_source::save_caches(&self.shared, config);
        Ok(self.shared.generation.fetch_add(1, Ordering::SeqCst) + 1)
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Applies a registry version to the routes served from `key` (serialized with reloads).
    pub(crate) fn apply_supergraph(&self, key: &SourceKey, fetched: Fetched) -> Result<(), String> {
        let _serial = self
            .shared
            .reload_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        registry_source::apply(&self.shared, key, fetched, |c| self.reload_locked(c))
    }

    /// Counts a poll outcome (and the version now served) for each route served from `key`.
    pub(crate) fn supergraph_outcome(
        &self,
        key: &SourceKey,
        outcome: &'static str,
        version: Option<u64>,
    ) {
        let config = self
            .shared
            .config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let metrics = Arc::clone(&self.shared.runtime.load().metrics);
        for route in registry_source::routes_of(&config, key) {
            metrics.supergraph_update(&route, outcome);
            if let Some(v) = version {
                metrics.supergraph_version(&route, v);
            }
        }
    }

    /// Loads, validates and applies the config file; on any error the running config stays.
    /// Files besides the config that the running config was built from (supergraphs), for
    /// the file watcher.
    pub fn source_files(&self) -> Vec<std::path::PathBuf> {
        self.shared.runtime.load().source_files()
    }

    pub fn reload_file(&self, path: &Path) -> Result<u64, GatewayError> {
        let config = switchyard_config::load(path).inspect_err(|_| {
            self.shared.runtime.load().metrics.reloaded(false);
        })?;
        self.reload(&config)
    }

    /// The named cluster's endpoints as the balancer sees them now.
    pub fn endpoint_states(&self, cluster: &str) -> Option<Vec<crate::cluster::EndpointState>> {
        let runtime = self.shared.runtime.load();
        Some(runtime.clusters.get(cluster)?.endpoint_states())
    }

    /// How many reloads have succeeded.
    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::SeqCst)
    }
}

/// A started gateway.
#[derive(Debug)]
pub struct Gateway {
    handle: ReloadHandle,
    addresses: Vec<(String, SocketAddr)>,
    admin_address: Option<SocketAddr>,
    registry_address: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    accept_loops: Vec<JoinHandle<()>>,
    graceful: Arc<Mutex<Option<GracefulShutdown>>>,
}

impl Gateway {
    /// Binds every listener and starts serving `config`.
    pub async fn start(config: &Config) -> Result<Self, GatewayError> {
        let (stop, _) = watch::channel(false);
        let mut accept_loops = Vec::new();
        let embedded = match &config.registry {
            Some(registry) => {
                let (embedded, task) =
                    crate::embedded_registry::start(registry, stop.subscribe()).await?;
                accept_loops.push(task);
                Some(embedded)
            }
            None => None,
        };
        let supergraphs = Supergraphs::default();
        registry_source::prefetch(config, &supergraphs, embedded.as_ref()).await?;
        let resolved = registry_source::resolve(config, &supergraphs)?;
        let metrics = Arc::new(Metrics::default());
        let runtime = Runtime::build(&resolved, None, &metrics)?;
        let shared = Arc::new(Shared {
            runtime: ArcSwap::from_pointee(runtime),
            generation: AtomicU64::new(0),
            config: Mutex::new(Arc::new(config.clone())),
            reload_lock: Mutex::new(()),
            supergraphs,
            embedded,
        });
        registry_source::sync_pollers(&shared, config);
        registry_source::record_versions(&shared, config, &metrics);
        registry_source::save_caches(&shared, config);
        let graceful = Arc::new(Mutex::new(Some(GracefulShutdown::new())));
        let mut addresses = Vec::new();
        for listener_config in &config.listeners {
            let listener =
                bind(listener_config.address)
                    .await
                    .map_err(|source| GatewayError::Bind {
                        listener: listener_config.name.clone(),
                        address: listener_config.address,
                        source,
                    })?;
            let address = listener.local_addr().unwrap_or(listener_config.address);
            addresses.push((listener_config.name.clone(), address));
            let task = serve(
                listener,
                listener_config.clone(),
                Arc::clone(&shared),
                stop.subscribe(),
                Arc::clone(&graceful),
            );
            accept_loops.push(tokio::spawn(task));
        }
        let admin_address = match &config.admin {
            Some(admin) => {
                let (address, task) = start_admin(admin, &shared, &stop).await?;
                accept_loops.push(task);
                Some(address)
            }
            None => None,
        };
        let registry_address = shared.embedded.as_ref().map(|e| e.address);
        Ok(Self {
            handle: ReloadHandle { shared },
            addresses,
            admin_address,
            registry_address,
            stop,
            accept_loops,
            graceful,
        })
    }

    pub fn reload_handle(&self) -> ReloadHandle {
        self.handle.clone()
    }

    /// The bound address of the named listener (useful with port 0).
    pub fn address(&self, listener: &str) -> Option<SocketAddr> {
        self.addresses
            .iter()
            .find(|(name, _)| name == listener)
            .map(|(_, a)| *a)
    }

    pub fn addresses(&self) -> &[(String, SocketAddr)] {
        &self.addresses
    }

    /// The admin listener's bound address, when the config has one.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin_address
    }

    /// The embedded registry's bound address, when the config has one.
    pub fn registry_address(&self) -> Option<SocketAddr> {
        self.registry_address
    }

    /// The current config's drain deadline.
    pub fn drain_timeout(&self) -> Duration {
        self.handle.shared.runtime.load().drain_timeout
    }

    /// Stops accepting, lets in-flight requests finish for up to `deadline`, then returns
    /// whether every connection closed in time.
    pub async fn shutdown(self, deadline: Duration) -> bool {
        let _ = self.stop.send(true);
        self.handle.shared.supergraphs.stop();
        for task in self.accept_loops {
            let _ = task.await;
        }
        let graceful = self.graceful.lock().ok().and_then(|mut g| g.take());
        let Some(graceful) = graceful else {
            return true;
        };
        tokio::time::timeout(deadline, graceful.shutdown())
            .await
            .is_ok()
    }
}

async fn start_admin(
    admin: &switchyard_config::Admin,
    shared: &Arc<Shared>,
    stop: &watch::Sender<bool>,
) -> Result<(SocketAddr, JoinHandle<()>), GatewayError> {
    let listener = bind(admin.address)
        .await
        .map_err(|source| GatewayError::Bind {
            listener: "admin".to_owned(),
            address: admin.address,
            source,
        })?;
    let address = listener.local_addr().unwrap_or(admin.address);
    let task = crate::admin::serve(
        listener,
        admin.token.clone(),
        Arc::clone(shared),
        stop.subscribe(),
    );
    Ok((address, tokio::spawn(task)))
}

pub(crate) async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(address)?;
    socket.listen(4096)
}
