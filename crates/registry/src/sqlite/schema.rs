//! SQLite schema migrations: a versioned list of SQL steps, applied at open in one
//! `BEGIN IMMEDIATE` transaction (so two processes opening one file apply them once).

use rusqlite::{Connection, TransactionBehavior, params};

use crate::StoreError;

/// Migration `i + 1` is `MIGRATIONS[i]`; append only, never edit a released step.
const MIGRATIONS: &[&str] = &[V1];

const V1: &str = "
CREATE TABLE variants (
    id INTEGER PRIMARY KEY,
    graph TEXT NOT NULL,
    name TEXT NOT NULL,
    current_version INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (graph, name)
);
CREATE TABLE versions (
    id INTEGER PRIMARY KEY,
    variant_id INTEGER NOT NULL REFERENCES variants (id),
    number INTEGER NOT NULL,
    author TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    supergraph TEXT NOT NULL,
    UNIQUE (variant_id, number)
);
CREATE TABLE sdls (
    id INTEGER PRIMARY KEY,
    hash INTEGER NOT NULL,
    sdl TEXT NOT NULL
);
CREATE INDEX sdls_hash ON sdls (hash);
CREATE TABLE version_subgraphs (
    version_id INTEGER NOT NULL REFERENCES versions (id),
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    sdl_id INTEGER NOT NULL REFERENCES sdls (id),
    PRIMARY KEY (version_id, name)
);
CREATE TABLE version_changes (
    version_id INTEGER NOT NULL REFERENCES versions (id),
    subgraph TEXT NOT NULL,
    kind TEXT NOT NULL,
    sdl_diff TEXT,
    PRIMARY KEY (version_id, subgraph)
);
";

/// Brings the schema up to date; refuses a schema newer than this build.
pub(super) fn migrate(conn: &mut Connection, now_millis: i64) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            applied_at INTEGER NOT NULL
        )",
    )?;
    let found: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )?;
    let applied = crate::migrations::applied(found, MIGRATIONS.len())?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.execute_batch(sql)?;
        let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, now_millis],
        )?;
    }
    tx.commit()?;
    Ok(())
}
