//! Errors of loading a supergraph and of planning an operation.

/// A supergraph that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "not a supergraph: no join spec linked on the schema (expected @link or @core to specs.apollo.dev/join)"
    )]
    NotASupergraph,
    #[error("invalid supergraph: {0}")]
    Invalid(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// An operation the planner cannot split across the subgraphs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlanError {
    #[error("no subgraph can resolve field {0}")]
    Unresolvable(String),
    #[error("cannot reach {ty}.{field} in subgraph {graph}: no key of {ty} there can be fetched")]
    NoKey {
        ty: String,
        field: String,
        graph: String,
    },
    #[error("plan too deep at {0}: key or @requires cycle")]
    TooDeep(String),
}
