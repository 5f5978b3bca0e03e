//! Switchyard's data plane: listeners, the router, the request pipeline, upstream pools,
//! hot reload and graceful drain.
//!
//! A [`Gateway`] binds the config's listeners and serves HTTP/1.1 and h2c on each. The config
//! is compiled once into a [`Runtime`] (route table, clusters with their balancers and pooled
//! clients) published through an `ArcSwap`; each request holds the runtime it started with, so
//! a reload never disturbs requests in flight. Every request passes the same phases (check,
//! route, act, forward, respond, log): see `docs/architecture.md`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = switchyard_config::load("switchyard.yaml".as_ref())?;
//! let gateway = switchyard_proxy::Gateway::start(&config).await?;
//! println!("listening on {:?}", gateway.addresses());
//! gateway.shutdown(config.drain_timeout).await;
//! # Ok(()) }
//! ```

mod access_log;
mod admin;
mod affinity;
mod balancing;
mod body;
mod capacity;
mod cluster;
mod cluster_report;
mod discover;
mod embedded_registry;
mod fault;
mod forward;
mod framing;
mod gateway;
mod graphql;
mod graphql_route;
mod headers;
mod health;
mod inflight;
mod membership;
mod metrics;
mod pipeline;
mod policies;
mod registry_source;
mod response_tap;
mod retry_budget;
mod router;
mod runtime;
mod server;
mod state;
mod subgraph;
mod supergraph_cache;
mod watch;

pub use cluster::EndpointState;
pub use fault::Fault;
pub use gateway::{Gateway, GatewayError, ReloadHandle};
pub use metrics::Metrics;
pub use router::{RouteQuery, RouteTable};
pub use runtime::Runtime;
pub use watch::watch_config_file;
