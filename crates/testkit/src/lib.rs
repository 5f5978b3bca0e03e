//! Real test backends and an in-process gateway harness, for Switchyard's tests and demo.
//!
//! Every server here listens on a real loopback socket (port 0) and stops when dropped.
//! [`Backend`] answers with JSON describing the request and takes its behaviour from the query
//! (`?delay_ms=`, `?status=`, `?bytes=`, `?drop=1`) or from its [`BackendConfig`];
//! [`TestGateway`] starts the gateway from a YAML string; [`raw`] speaks bytes for
//! malformed-request tests.
//!
//! ```no_run
//! # async fn t() {
//! use switchyard_testkit::{Backend, BackendConfig, TestGateway};
//! let backend = Backend::start(BackendConfig::named("a")).await;
//! let yaml = format!("listeners: [{{name: public, address: '127.0.0.1:0'}}]\n\
//!     routes: [{{name: all, proxy: {{cluster: c}}}}]\n\
//!     clusters: [{{name: c, endpoints: [{{address: '{}'}}]}}]\n", backend.address());
//! let gateway = TestGateway::start(&yaml).await;
//! let response = gateway.get("/hello").await;
//! assert_eq!(response.status, 200);
//! # }
//! ```

mod backend;
mod client;
mod harness;
mod postgres;
pub mod raw;
mod redis;
mod subgraph;

pub use backend::{Backend, BackendConfig};
pub use client::{Client, Reply};
pub use harness::TestGateway;
pub use postgres::PostgresServer;
pub use redis::RedisServer;
pub use subgraph::{ComputedField, Subgraph, SubgraphOptions};
