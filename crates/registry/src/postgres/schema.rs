//! PostgreSQL schema migrations: a versioned list of SQL steps, applied at connect in one
//! transaction under an advisory lock, so registry instances starting together apply them once.

use tokio_postgres::Client;

use crate::StoreError;

/// Migration `i + 1` is `MIGRATIONS[i]`; append only, never edit a released step.
const MIGRATIONS: &[&str] = &[V1];

/// The advisory lock key of migrations (any constant unlikely to clash: "swyd-mig").
const MIGRATION_LOCK: i64 = 0x0073_7779_646d_6967;

const V1: &str = "
CREATE TABLE variants (
    id BIGSERIAL PRIMARY KEY,
    graph TEXT NOT NULL,
    name TEXT NOT NULL,
    current_version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (graph, name)
);
CREATE TABLE versions (
    id BIGSERIAL PRIMARY KEY,
    variant_id BIGINT NOT NULL REFERENCES variants (id),
    number BIGINT NOT NULL,
    author TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    supergraph TEXT NOT NULL,
    UNIQUE (variant_id, number)
);
CREATE TABLE sdls (
    id BIGSERIAL PRIMARY KEY,
    hash BIGINT NOT NULL,
    sdl TEXT NOT NULL
);
CREATE INDEX sdls_hash ON sdls (hash);
CREATE TABLE version_subgraphs (
    version_id BIGINT NOT NULL REFERENCES versions (id),
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    sdl_id BIGINT NOT NULL REFERENCES sdls (id),
    PRIMARY KEY (version_id, name)
);
CREATE TABLE version_changes (
    version_id BIGINT NOT NULL REFERENCES versions (id),
    subgraph TEXT NOT NULL,
    kind TEXT NOT NULL,
    sdl_diff TEXT,
    PRIMARY KEY (version_id, subgraph)
);
";

/// Brings the schema up to date; refuses a schema newer than this build.
pub(super) async fn migrate(client: &mut Client, now_millis: i64) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            applied_at BIGINT NOT NULL
        )",
    )
    .await?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    let applied = crate::migrations::applied(found, MIGRATIONS.len())?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.batch_execute(sql).await?;
        let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[&version, &now_millis],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
