//! PostgreSQL reads, shared by the store's read methods and its write transactions.

use tokio_postgres::{GenericClient, Row};

use crate::model::{from_millis, to_number, to_stored};
use crate::plan::Head;
use crate::{ChangeKind, StoreError, SubgraphChange, SubgraphRecord, VariantRef};
use crate::{VersionRecord, VersionSummary};

type Result<T> = std::result::Result<T, StoreError>;

/// The variant's row id, or [`StoreError::UnknownVariant`].
pub(super) async fn variant_id(db: &impl GenericClient, variant: &VariantRef) -> Result<i64> {
    let row = db
        .query_opt(
            "SELECT id FROM variants WHERE graph = $1 AND name = $2",
            &[&variant.graph, &variant.variant],
        )
        .await?;
    let row = row.ok_or_else(|| StoreError::UnknownVariant(variant.to_string()))?;
    Ok(row.try_get(0)?)
}

/// The variant's current version number (0 before the first).
pub(super) async fn current_number(db: &impl GenericClient, variant_id: i64) -> Result<u64> {
    let row = db
        .query_one(
            "SELECT current_version FROM variants WHERE id = $1",
            &[&variant_id],
        )
        .await?;
    to_number(row.try_get(0)?)
}

/// The current version's number and subgraphs.
pub(super) async fn head(db: &impl GenericClient, variant_id: i64) -> Result<Head> {
    let number = current_number(db, variant_id).await?;
    match version(db, variant_id, number).await? {
        Some(record) => Ok(Head {
            number,
            subgraphs: record.subgraphs,
        }),
        None => Ok(Head::default()),
    }
}

const SUMMARY: &str = "SELECT id, number, author, message, created_at, supergraph FROM versions";

/// A whole version, if it exists.
pub(super) async fn version(
    db: &impl GenericClient,
    variant_id: i64,
    number: u64,
) -> Result<Option<VersionRecord>> {
    let sql = format!("{SUMMARY} WHERE variant_id = $1 AND number = $2");
    let Some(row) = db
        .query_opt(&sql, &[&variant_id, &to_stored(number)?])
        .await?
    else {
        return Ok(None);
    };
    let summary = summary(db, &row).await?;
    let subgraphs = subgraphs(db, summary.id).await?;
    Ok(Some(VersionRecord {
        summary,
        supergraph: row.try_get(5)?,
        subgraphs,
    }))
}

/// The newest `limit` versions, newest first.
pub(super) async fn history(
    db: &impl GenericClient,
    variant_id: i64,
    limit: usize,
) -> Result<Vec<VersionSummary>> {
    let sql = format!("{SUMMARY} WHERE variant_id = $1 ORDER BY number DESC LIMIT $2");
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = db.query(&sql, &[&variant_id, &limit]).await?;
    let mut summaries = Vec::with_capacity(rows.len());
    for row in &rows {
        summaries.push(summary(db, row).await?);
    }
    Ok(summaries)
}

async fn summary(db: &impl GenericClient, row: &Row) -> Result<VersionSummary> {
    let id = row.try_get(0)?;
    Ok(VersionSummary {
        id,
        number: to_number(row.try_get(1)?)?,
        author: row.try_get(2)?,
        message: row.try_get(3)?,
        created_at: from_millis(row.try_get(4)?),
        changes: changes(db, id).await?,
    })
}

async fn subgraphs(db: &impl GenericClient, version_id: i64) -> Result<Vec<SubgraphRecord>> {
    let rows = db
        .query(
            "SELECT v.name, v.url, s.sdl FROM version_subgraphs v \
             JOIN sdls s ON s.id = v.sdl_id WHERE v.version_id = $1 ORDER BY v.name",
            &[&version_id],
        )
        .await?;
    let record = |row: &Row| -> Result<SubgraphRecord> {
        Ok(SubgraphRecord {
            name: row.try_get(0)?,
            url: row.try_get(1)?,
            sdl: row.try_get(2)?,
        })
    };
    rows.iter().map(record).collect()
}

async fn changes(db: &impl GenericClient, version_id: i64) -> Result<Vec<SubgraphChange>> {
    let rows = db
        .query(
            "SELECT subgraph, kind, sdl_diff FROM version_changes WHERE version_id = $1 \
             ORDER BY subgraph",
            &[&version_id],
        )
        .await?;
    let change = |row: &Row| -> Result<SubgraphChange> {
        Ok(SubgraphChange {
            subgraph: row.try_get(0)?,
            kind: ChangeKind::parse(row.try_get(1)?)?,
            sdl_diff: row.try_get(2)?,
        })
    };
    rows.iter().map(change).collect()
}

/// Every graph name, sorted.
pub(super) async fn graphs(db: &impl GenericClient) -> Result<Vec<String>> {
    let rows = db
        .query("SELECT DISTINCT graph FROM variants ORDER BY graph", &[])
        .await?;
    rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
}

/// The variants of `graph`, sorted.
pub(super) async fn variants(db: &impl GenericClient, graph: &str) -> Result<Vec<String>> {
    let rows = db
        .query(
            "SELECT name FROM variants WHERE graph = $1 ORDER BY name",
            &[&graph],
        )
        .await?;
    rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
}
