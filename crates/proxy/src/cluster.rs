//! A cluster at run time: its current membership (endpoints + balancer), pooled upstream
//! client, admission limits, retry budget, and the background tasks that keep its health
//! current. Built once per config; kept across reloads while its config is unchanged.

use crate::body::RequestBody;
use crate::membership::Membership;
use crate::retry_budget::RetryBudget;
use arc_swap::ArcSwap;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use prometheus_client::metrics::counter::Counter;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use switchyard_balance::{EndpointReport, EndpointSet, EndpointSpec, Policy, Timebase};
use switchyard_config::{Cluster as ClusterConfig, UpstreamProtocol};
use switchyard_core::CoarseClock;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

pub type UpstreamClient = Client<HttpConnector, RequestBody>;

/// State changes worth counting (also logged as they happen): the cluster's series of the
/// process-wide counters (`ClusterMetrics::events`), so a reload that rebuilds the cluster
/// keeps counting where its predecessor stopped.
#[derive(Debug, Default)]
pub struct ClusterEvents {
    pub ejections: Counter,
    pub health_changes: Counter,
    pub membership_changes: Counter,
}

/// One upstream service, ready to take requests.
#[derive(Debug)]
pub struct Cluster {
    pub config: ClusterConfig,
    /// The gateway's own zone when this cluster was built.
    pub zone: Option<String>,
    pub policy: Policy,
    membership: ArcSwap<Membership>,
    pub client: UpstreamClient,
    pub retry_budget: RetryBudget,
    pub events: ClusterEvents,
    slots: Arc<Semaphore>,
    pending: AtomicUsize,
    /// Woken as requests finish, when the cluster waits for room (`capacity_wait`).
    freed: Option<Arc<Notify>>,
    tasks: Mutex<Vec<AbortHandle>>,
    /// Owns the discovery task of a DNS or file cluster (dropped with the cluster).
    discovery: Mutex<Option<switchyard_discovery::Discovered>>,
}

/// What the balancer knows of one endpoint right now.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointState {
    pub address: String,
    pub zone: Option<String>,
    pub weight: u32,
    pub stats: EndpointReport,
}

/// The signal requests waiting for room listen on (`capacity.rs`), when the cluster waits:
/// the predecessor's, so that requests waiting across a reload are still woken.
fn freed_signal(config: &ClusterConfig, previous: Option<&Cluster>) -> Option<Arc<Notify>> {
    if config.balancing.capacity_wait.is_zero() {
        return None;
    }
    let inherited = previous.and_then(|old| old.freed.clone());
    Some(inherited.unwrap_or_else(|| Arc::new(Notify::new())))
}

/// Why a request could not be admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded;

impl Cluster {
    /// Builds the cluster and starts its health tasks (when inside a tokio runtime). Endpoints
    /// that `previous` (the same cluster under the last config) already had keep their stats,
    /// warm-up clock and health, so changing a cluster's config does not reset what it learned.
    pub fn new(
        config: ClusterConfig,
        zone: Option<String>,
        previous: Option<&Cluster>,
        events: ClusterEvents,
    ) -> Arc<Self> {
        let dynamic = config.balancing.discovery != switchyard_config::Discovery::Static;
        let specs = match previous {
            // A discovered cluster starts from what its predecessor had discovered.
            Some(old) if dynamic => old.membership().specs(),
            _ => static_specs(&config),
        };
        let params = crate::balancing::stat_params(&config.balancing);
        let set = match previous {
            Some(old) if *old.membership().set.params() == params => {
                old.membership().set.update(&specs)
            }
            _ => EndpointSet::new(&specs, Timebase::new(Arc::new(CoarseClock)), params),
        };
        let policy = crate::balancing::policy(&config.balancing);
        let membership = Membership::build(set, &policy, local_zone(&config, zone.as_deref()));
        let cluster = Arc::new(Self {
            client: client(&config),
            retry_budget: RetryBudget::new(&config.retries, Arc::new(CoarseClock)),
            slots: Arc::new(Semaphore::new(config.max_connections)),
            pending: AtomicUsize::new(0),
            freed: freed_signal(&config, previous),
            membership: ArcSwap::from_pointee(membership),
            events,
            tasks: Mutex::new(Vec::new()),
            discovery: Mutex::new(None),
            zone,
            policy,
            config,
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            crate::health::start_tasks(&cluster);
            crate::discover::start(&cluster, specs);
        }
        cluster
    }

    /// The current endpoints and balancer; hold it for one request.
    pub fn membership(&self) -> Arc<Membership> {
        self.membership.load_full()
    }

    /// Replaces the endpoint list: endpoints that stay keep their stats and in-flight
    /// requests; new ones start on probation and warm-up; gone ones get no new requests.
    pub fn set_endpoints(&self, specs: &[EndpointSpec]) {
        let current = self.membership();
        let set = current.set.update(specs);
        let zone = local_zone(&self.config, self.zone.as_deref());
        self.membership
            .store(Arc::new(Membership::build(set, &self.policy, zone)));
        self.events.membership_changes.inc();
        tracing::info!(cluster = %self.config.name, endpoints = specs.len(), "endpoints changed");
    }

    /// A snapshot of every endpoint's state, for tests, logs and the admin API.
    pub fn endpoint_states(&self) -> Vec<EndpointState> {
        let membership = self.membership();
        let set = &membership.set;
        (0..set.len())
            .map(|i| {
                let e = set.get(i);
                EndpointState {
                    address: e.address.clone(),
                    zone: e.zone.clone(),
                    weight: e.weight,
                    stats: set.report(i),
                }
            })
            .collect()
    }

    /// Whether too few endpoints are available, so the balancer spreads over all of them.
    pub fn in_panic(&self) -> bool {
        let set = &self.membership().set;
        set.in_panic(set.now_ns())
    }

    pub(crate) fn keep_discovery(&self, discovered: switchyard_discovery::Discovered) {
        if let Ok(mut slot) = self.discovery.lock() {
            *slot = Some(discovered);
        }
    }

    pub(crate) fn add_task(&self, task: AbortHandle) {
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(task);
        }
    }

    /// The signal requests wait on for room under endpoints' capacity, if the cluster waits.
    pub fn freed(&self) -> Option<&Arc<Notify>> {
        self.freed.as_ref()
    }

    /// Waits for a slot under `max_connections`; refuses at once if `max_pending` are waiting.
    pub async fn admit(&self) -> Result<OwnedSemaphorePermit, Overloaded> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        if self.pending.fetch_add(1, Ordering::AcqRel) >= self.config.max_pending {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            return Err(Overloaded);
        }
        let permit = Arc::clone(&self.slots).acquire_owned().await;
        self.pending.fetch_sub(1, Ordering::AcqRel);
        permit.map_err(|_| Overloaded)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Ok(tasks) = self.tasks.lock() {
            tasks.iter().for_each(AbortHandle::abort);
        }
    }
}

/// The zone to prefer, if this cluster prefers the local one.
fn local_zone<'a>(config: &ClusterConfig, zone: Option<&'a str>) -> Option<&'a str> {
    zone.filter(|_| config.balancing.prefer_local_zone)
}

fn static_specs(config: &ClusterConfig) -> Vec<EndpointSpec> {
    let spec = |e: &switchyard_config::Endpoint| EndpointSpec {
        address: e.address.clone(),
        weight: e.weight,
        zone: e.zone.clone(),
    };
    config.endpoints.iter().map(spec).collect()
}

fn client(config: &ClusterConfig) -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(config.connect_timeout));
    connector.set_nodelay(true);
    connector.enforce_http(true);
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .pool_idle_timeout(config.idle_timeout)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_max_idle_per_host(config.max_connections);
    if config.protocol == UpstreamProtocol::Http2 {
        builder.http2_only(true);
    }
    builder.build(connector)
}
