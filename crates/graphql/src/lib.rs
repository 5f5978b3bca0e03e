//! Switchyard's federated GraphQL gateway: supergraph loading, query planning, plan execution and response merging.
//!
//! [`Supergraph`] indexes a supergraph SDL (join spec v0.1 to v0.5) and derives the API schema
//! clients see; [`Planner`] splits an operation into per-subgraph fetches ([`Plan`]); [`Gateway`]
//! validates, plans (with a cache), runs the plan through a [`SubgraphClient`] and shapes one
//! response.

mod api_schema;
mod apq;
mod collect;
mod error;
pub mod execute;
mod gateway;
mod json;
mod limits;
pub mod plan;
mod planner;
mod request;
pub mod sel;
mod shape;
mod supergraph;

pub use api_schema::derive as api_schema;
pub use apq::{ManifestError, PersistedQueries, sha256_hex};
pub use error::{LoadError, PlanError};
pub use execute::{
    Answer, Decoded, ExecOptions, FetchError, FetchFuture, SubgraphClient, SubgraphRequest,
};
pub use gateway::{Gateway, PlanKey, Prepared, Response, request_error};
pub use limits::{Limits, Measure, measure};
pub use plan::{Plan, PlanNode};
pub use planner::Planner;
pub use request::{BadRequest, Request};
pub use supergraph::{GraphId, Subgraph, Supergraph};
