//! SQLite writes: each change to a variant in one `BEGIN IMMEDIATE` transaction.
//!
//! `BEGIN IMMEDIATE` takes the database's write lock before the current version is read, so
//! a second writer (another connection, another process) waits (busy_timeout) until the first
//! commits and then reads the version it wrote: no lost update, no duplicate number.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::read;
use crate::hash::sdl_hash;
use crate::model::{to_millis, to_stored};
use crate::plan::{Mutation, NewVersion, Outcome, plan};
use crate::{Now, Published, StoreError, VariantRef};

type Result<T> = std::result::Result<T, StoreError>;

/// Creates the variant unless it exists; true when created.
pub(super) fn ensure_variant(conn: &Connection, variant: &VariantRef, now: &Now) -> Result<bool> {
    variant.check()?;
    let inserted = conn.execute(
        "INSERT INTO variants (graph, name, current_version, created_at) VALUES (?1, ?2, 0, ?3) \
         ON CONFLICT (graph, name) DO NOTHING",
        params![variant.graph, variant.variant, to_millis(now())],
    )?;
    Ok(inserted == 1)
}

/// Applies one change under the write lock.
pub(super) fn mutate(
    conn: &mut Connection,
    now: &Now,
    variant: &VariantRef,
    mutation: Mutation,
) -> Result<Published> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let variant_id = read::variant_id(&tx, variant)?;
    let head = read::head(&tx, variant_id)?;
    let target = match mutation.rollback_target() {
        Some(to) => read::version(&tx, variant_id, to)?,
        None => None,
    };
    match plan(&variant.to_string(), head, mutation, target)? {
        Outcome::Unchanged(number) => Ok(Published {
            number,
            created: false,
        }),
        Outcome::Create(version) => {
            insert(&tx, variant_id, &version, to_millis(now()))?;
            tx.commit()?;
            Ok(Published {
                number: version.number,
                created: true,
            })
        }
    }
}

fn insert(tx: &Transaction<'_>, variant_id: i64, version: &NewVersion, at: i64) -> Result<()> {
    let number = to_stored(version.number)?;
    tx.execute(
        "INSERT INTO versions (variant_id, number, author, message, created_at, supergraph) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            variant_id,
            number,
            version.author,
            version.message,
            at,
            version.supergraph
        ],
    )?;
    let version_id = tx.last_insert_rowid();
    insert_details(tx, version_id, version)?;
    tx.execute(
        "UPDATE variants SET current_version = ?1 WHERE id = ?2",
        params![number, variant_id],
    )?;
    Ok(())
}

fn insert_details(tx: &Transaction<'_>, version_id: i64, version: &NewVersion) -> Result<()> {
    let mut subgraph = tx.prepare_cached(
        "INSERT INTO version_subgraphs (version_id, name, url, sdl_id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for s in &version.subgraphs {
        subgraph.execute(params![version_id, s.name, s.url, sdl_id(tx, &s.sdl)?])?;
    }
    let mut change = tx.prepare_cached(
        "INSERT INTO version_changes (version_id, subgraph, kind, sdl_diff) \
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for c in &version.changes {
        change.execute(params![version_id, c.subgraph, c.kind.as_str(), c.sdl_diff])?;
    }
    Ok(())
}

/// The id of `sdl` in the `sdls` table, inserting it if it is not there: an SDL that many
/// versions (or variants) share is stored once.
fn sdl_id(tx: &Transaction<'_>, sdl: &str) -> Result<i64> {
    let hash = sdl_hash(sdl);
    let found = tx
        .prepare_cached("SELECT id FROM sdls WHERE hash = ?1 AND sdl = ?2 LIMIT 1")?
        .query_row(params![hash, sdl], |row| row.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    tx.prepare_cached("INSERT INTO sdls (hash, sdl) VALUES (?1, ?2)")?
        .execute(params![hash, sdl])?;
    Ok(tx.last_insert_rowid())
}
