//! A cluster at run time: its endpoints, balancer, pooled upstream client, admission limits and
//! retry budget. Built once per config; kept across reloads while its config is unchanged.

use crate::body::RequestBody;
use crate::retry_budget::RetryBudget;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use switchyard_balance::{Balancer, EndpointSet, EndpointSpec, Timebase};
use switchyard_config::{Cluster as ClusterConfig, UpstreamProtocol};
use switchyard_core::SystemClock;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub type UpstreamClient = Client<HttpConnector, RequestBody>;

/// One upstream service, ready to take requests.
#[derive(Debug)]
pub struct Cluster {
    pub config: ClusterConfig,
    pub endpoints: EndpointSet,
    pub balancer: Box<dyn Balancer>,
    pub client: UpstreamClient,
    pub retry_budget: RetryBudget,
    /// `http://host:port` per endpoint, built once.
    pub authorities: Vec<http::uri::Authority>,
    slots: Arc<Semaphore>,
    pending: AtomicUsize,
}

/// Why a request could not be admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded;

impl Cluster {
    pub fn new(config: ClusterConfig) -> Self {
        let specs: Vec<EndpointSpec> = config
            .endpoints
            .iter()
            .map(|e| EndpointSpec {
                address: e.address.clone(),
                weight: e.weight,
                zone: e.zone.clone(),
            })
            .collect();
        let time = Timebase::new(Arc::new(SystemClock));
        let endpoints =
            EndpointSet::new(&specs, time, crate::policy::stat_params(&config.balancing));
        let balancer =
            crate::policy::policy(&config.balancing).build(&endpoints, fastrand::u64(..));
        let authorities = config
            .endpoints
            .iter()
            .map(|e| {
                e.address
                    .parse()
                    .unwrap_or_else(|_| http::uri::Authority::from_static("invalid"))
            })
            .collect();
        Self {
            client: client(&config),
            retry_budget: RetryBudget::new(&config.retries, Arc::new(SystemClock)),
            slots: Arc::new(Semaphore::new(config.max_connections)),
            pending: AtomicUsize::new(0),
            endpoints,
            balancer,
            authorities,
            config,
        }
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
