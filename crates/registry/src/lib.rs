//! The schema registry's storage: graphs with variants (`movies@prod`), each variant's
//! subgraphs and composed supergraph, and every change as a numbered version.
//!
//! One [`Store`] trait, two implementations: [`SqliteStore`] (a file, created on first open;
//! the default) and [`PostgresStore`] (several registry instances sharing one database). Both
//! run the same shared test suite. Composition is the caller's: it passes a [`Compose`] closure
//! that the store runs while changes to the variant are serialized, so concurrent publishes see
//! each other and none is lost (docs/registry.md).
//!
//! ```no_run
//! # async fn t() -> Result<(), switchyard_registry::StoreError> {
//! use switchyard_registry::{Publish, SqliteStore, Store, VariantRef, system_now};
//! let store = SqliteStore::open("registry.db", system_now()).await?;
//! let prod = VariantRef::parse("movies@prod")?;
//! store.ensure_variant(&prod).await?;
//! let change = Publish {
//!     subgraph: "movie".into(),
//!     url: "http://movie:4001/graphql".into(),
//!     sdl: "type Query { movie: String }".into(),
//!     author: "ci".into(),
//!     message: "first".into(),
//! };
//! let compose = Box::new(|subgraphs: &[_]| Ok(format!("# {} subgraphs", subgraphs.len())));
//! let published = store.publish(&prod, change, compose).await?;
//! assert_eq!(published.number, 1);
//! # Ok(()) }
//! ```

mod check;
mod diff;
mod error;
mod hash;
pub mod http;
mod migrations;
mod model;
mod plan;
mod postgres;
mod sqlite;
mod store;
mod watched;

pub use crate::http::{ServerConfig, StartError, check_bind, serve};
pub use check::{
    CheckInput, CheckReport, SchemaChange, SchemaChangeKind, Severity, SkippedOperation, check,
};
pub use error::{ComposeError, StoreError};
pub use model::{
    ChangeKind, Delete, Now, Publish, Published, SubgraphChange, SubgraphRecord, VariantRef,
    VersionRecord, VersionSummary, check_name, system_now,
};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use store::{Compose, Store, StoreFuture};
pub use watched::Watched;
