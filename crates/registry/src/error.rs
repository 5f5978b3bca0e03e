//! The one error type of every store operation.

/// What a composition closure returns when the subgraphs do not compose.
pub type ComposeError = Box<dyn std::error::Error + Send + Sync>;

/// A store operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unknown variant {0}")]
    UnknownVariant(String),
    #[error("variant {variant} has no subgraph {subgraph:?}")]
    UnknownSubgraph { variant: String, subgraph: String },
    #[error("no version {0} in this variant")]
    UnknownVersion(u64),
    #[error("invalid name {0:?}: use 1 to 64 characters from A-Z a-z 0-9 _ - (graph@variant)")]
    InvalidName(String),
    /// The caller's composition rejected the new subgraph set; nothing was stored.
    #[error("composition failed: {0}")]
    Composition(ComposeError),
    #[error(
        "the store's schema is at version {found}, newer than this build knows ({known}): \
         upgrade Switchyard before opening it"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    #[error("cannot open the store: {0}")]
    Io(#[from] std::io::Error),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgresql: {}", postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("a storage task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// tokio-postgres prints only "db error" for server errors; take the server's message.
fn postgres_message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => error.to_string(),
    }
}
