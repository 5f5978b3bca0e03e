//! PostgreSQL writes: each change to a variant in one transaction holding the variant's
//! transaction-level advisory lock.
//!
//! The lock is taken on `hashtext('graph@variant')` before the current version is read, so a
//! second writer (another connection, another registry instance) waits until the first commits,
//! and then (READ COMMITTED takes a snapshot per statement) reads the version it wrote. Row
//! locks (`SELECT ... FOR UPDATE`) would not do: before the first version there is no version
//! row to lock. A hash collision only makes two variants wait for each other.

use tokio_postgres::{Client, Transaction};

use super::read;
use crate::hash::sdl_hash;
use crate::model::{to_millis, to_stored};
use crate::plan::{Mutation, NewVersion, Outcome, plan};
use crate::{Now, Published, StoreError, VariantRef};

type Result<T> = std::result::Result<T, StoreError>;

/// Creates the variant unless it exists; true when created.
pub(super) async fn ensure_variant(
    client: &Client,
    variant: &VariantRef,
    now: &Now,
) -> Result<bool> {
    variant.check()?;
    let inserted = client
        .execute(
            "INSERT INTO variants (graph, name, current_version, created_at) \
             VALUES ($1, $2, 0, $3) ON CONFLICT (graph, name) DO NOTHING",
            &[&variant.graph, &variant.variant, &to_millis(now())],
        )
        .await?;
    Ok(inserted == 1)
}

/// Applies one change under the variant's lock; the composition runs on a blocking thread.
pub(super) async fn mutate(
    client: &mut Client,
    now: &Now,
    variant: &VariantRef,
    mutation: Mutation,
) -> Result<Published> {
    let name = variant.to_string();
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&name])
        .await?;
    let variant_id = read::variant_id(&tx, variant).await?;
    let head = read::head(&tx, variant_id).await?;
    let target = match mutation.rollback_target() {
        Some(to) => read::version(&tx, variant_id, to).await?,
        None => None,
    };
    let planned = tokio::task::spawn_blocking(move || plan(&name, head, mutation, target));
    match planned.await?? {
        Outcome::Unchanged(number) => Ok(Published {
            number,
            created: false,
        }),
        Outcome::Create(version) => {
            insert(&tx, variant_id, &version, to_millis(now())).await?;
            tx.commit().await?;
            Ok(Published {
                number: version.number,
                created: true,
            })
        }
    }
}

async fn insert(
    tx: &Transaction<'_>,
    variant_id: i64,
    version: &NewVersion,
    at: i64,
) -> Result<()> {
    let number = to_stored(version.number)?;
    let row = tx
        .query_one(
            "INSERT INTO versions (variant_id, number, author, message, created_at, supergraph) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &variant_id,
                &number,
                &version.author,
                &version.message,
                &at,
                &version.supergraph,
            ],
        )
        .await?;
    let version_id: i64 = row.try_get(0)?;
    insert_subgraphs(tx, version_id, version).await?;
    insert_changes(tx, version_id, version).await?;
    tx.execute(
        "UPDATE variants SET current_version = $1 WHERE id = $2",
        &[&number, &variant_id],
    )
    .await?;
    Ok(())
}

/// All subgraphs in one statement (arrays unnested server-side), after finding their SDLs.
async fn insert_subgraphs(
    tx: &Transaction<'_>,
    version_id: i64,
    version: &NewVersion,
) -> Result<()> {
    let names: Vec<&str> = version.subgraphs.iter().map(|s| s.name.as_str()).collect();
    let urls: Vec<&str> = version.subgraphs.iter().map(|s| s.url.as_str()).collect();
    let mut sdl_ids = Vec::with_capacity(version.subgraphs.len());
    for subgraph in &version.subgraphs {
        sdl_ids.push(sdl_id(tx, &subgraph.sdl).await?);
    }
    tx.execute(
        "INSERT INTO version_subgraphs (version_id, name, url, sdl_id) \
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::bigint[])",
        &[&version_id, &names, &urls, &sdl_ids],
    )
    .await?;
    Ok(())
}

/// The id of `sdl` in the `sdls` table, inserting it if it is not there (one round trip): an
/// SDL that many versions (or variants) share is stored once. Two variants publishing the same
/// new SDL at once may store it twice, which costs space, not correctness.
async fn sdl_id(tx: &Transaction<'_>, sdl: &str) -> Result<i64> {
    let row = tx
        .query_one(
            "WITH found AS (SELECT id FROM sdls WHERE hash = $1 AND sdl = $2 LIMIT 1), \
             inserted AS (INSERT INTO sdls (hash, sdl) SELECT $1, $2 \
                 WHERE NOT EXISTS (SELECT 1 FROM found) RETURNING id) \
             SELECT id FROM found UNION ALL SELECT id FROM inserted",
            &[&sdl_hash(sdl), &sdl],
        )
        .await?;
    Ok(row.try_get(0)?)
}

async fn insert_changes(tx: &Transaction<'_>, version_id: i64, version: &NewVersion) -> Result<()> {
    let names: Vec<&str> = version
        .changes
        .iter()
        .map(|c| c.subgraph.as_str())
        .collect();
    let kinds: Vec<&str> = version.changes.iter().map(|c| c.kind.as_str()).collect();
    let diffs: Vec<Option<&str>> = version
        .changes
        .iter()
        .map(|c| c.sdl_diff.as_deref())
        .collect();
    tx.execute(
        "INSERT INTO version_changes (version_id, subgraph, kind, sdl_diff) \
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[])",
        &[&version_id, &names, &kinds, &diffs],
    )
    .await?;
    Ok(())
}
