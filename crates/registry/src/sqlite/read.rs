//! SQLite reads, shared by the store's read methods and its write transactions.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::model::{from_millis, to_number, to_stored};
use crate::plan::Head;
use crate::{ChangeKind, StoreError, SubgraphChange, SubgraphRecord, VariantRef};
use crate::{VersionRecord, VersionSummary};

type Result<T> = std::result::Result<T, StoreError>;

/// The variant's row id, or [`StoreError::UnknownVariant`].
pub(super) fn variant_id(conn: &Connection, variant: &VariantRef) -> Result<i64> {
    conn.query_row(
        "SELECT id FROM variants WHERE graph = ?1 AND name = ?2",
        params![variant.graph, variant.variant],
        |row| row.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::UnknownVariant(variant.to_string()))
}

/// The variant's current version number (0 before the first).
pub(super) fn current_number(conn: &Connection, variant_id: i64) -> Result<u64> {
    let stored: i64 = conn.query_row(
        "SELECT current_version FROM variants WHERE id = ?1",
        [variant_id],
        |row| row.get(0),
    )?;
    to_number(stored)
}

/// The current version's number and subgraphs.
pub(super) fn head(conn: &Connection, variant_id: i64) -> Result<Head> {
    let number = current_number(conn, variant_id)?;
    match version(conn, variant_id, number)? {
        Some(record) => Ok(Head {
            number,
            subgraphs: record.subgraphs,
        }),
        None => Ok(Head::default()),
    }
}

const SUMMARY: &str = "SELECT id, number, author, message, created_at FROM versions";

/// A whole version, if it exists.
pub(super) fn version(
    conn: &Connection,
    variant_id: i64,
    number: u64,
) -> Result<Option<VersionRecord>> {
    let sql = format!("{SUMMARY} WHERE variant_id = ?1 AND number = ?2");
    let row = conn
        .query_row(&sql, params![variant_id, to_stored(number)?], summary_row)
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let summary = summary(conn, row)?;
    let supergraph = conn.query_row(
        "SELECT supergraph FROM versions WHERE id = ?1",
        [summary.id],
        |row| row.get(0),
    )?;
    let subgraphs = subgraphs(conn, summary.id)?;
    Ok(Some(VersionRecord {
        summary,
        supergraph,
        subgraphs,
    }))
}

/// The newest `limit` versions, newest first.
pub(super) fn history(
    conn: &Connection,
    variant_id: i64,
    limit: usize,
) -> Result<Vec<VersionSummary>> {
    let sql = format!("{SUMMARY} WHERE variant_id = ?1 ORDER BY number DESC LIMIT ?2");
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut statement = conn.prepare(&sql)?;
    let rows = statement
        .query_map(params![variant_id, limit], summary_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(|row| summary(conn, row)).collect()
}

type SummaryRow = (i64, i64, String, String, i64);

fn summary_row(row: &Row<'_>) -> rusqlite::Result<SummaryRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn summary(conn: &Connection, row: SummaryRow) -> Result<VersionSummary> {
    let (id, number, author, message, created_at) = row;
    Ok(VersionSummary {
        id,
        number: to_number(number)?,
        author,
        message,
        created_at: from_millis(created_at),
        changes: changes(conn, id)?,
    })
}

fn subgraphs(conn: &Connection, version_id: i64) -> Result<Vec<SubgraphRecord>> {
    let mut statement = conn.prepare_cached(
        "SELECT v.name, v.url, s.sdl FROM version_subgraphs v JOIN sdls s ON s.id = v.sdl_id \
         WHERE v.version_id = ?1 ORDER BY v.name",
    )?;
    let rows = statement.query_map([version_id], |row| {
        Ok(SubgraphRecord {
            name: row.get(0)?,
            url: row.get(1)?,
            sdl: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn changes(conn: &Connection, version_id: i64) -> Result<Vec<SubgraphChange>> {
    let mut statement = conn.prepare_cached(
        "SELECT subgraph, kind, sdl_diff FROM version_changes WHERE version_id = ?1 \
         ORDER BY subgraph",
    )?;
    let rows = statement
        .query_map([version_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(subgraph, kind, sdl_diff)| {
            Ok(SubgraphChange {
                subgraph,
                kind: ChangeKind::parse(&kind)?,
                sdl_diff,
            })
        })
        .collect()
}

/// Every graph name, sorted.
pub(super) fn graphs(conn: &Connection) -> Result<Vec<String>> {
    let mut statement = conn.prepare("SELECT DISTINCT graph FROM variants ORDER BY graph")?;
    let rows = statement.query_map([], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The variants of `graph`, sorted.
pub(super) fn variants(conn: &Connection, graph: &str) -> Result<Vec<String>> {
    let mut statement = conn.prepare("SELECT name FROM variants WHERE graph = ?1 ORDER BY name")?;
    let rows = statement.query_map([graph], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
