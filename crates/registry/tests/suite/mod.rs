//! The store test suite, run against every backend (`tests/sqlite.rs`, `tests/postgres.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use switchyard_registry::{
    ChangeKind, Compose, Delete, Now, Publish, Published, Store, StoreError, SubgraphRecord,
    VariantRef,
};

/// A wall clock that moves one second per reading.
pub fn clock() -> Now {
    let ticks = Arc::new(AtomicU64::new(0));
    Arc::new(move || {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + ticks.fetch_add(1, Ordering::SeqCst))
    })
}

/// A stand-in composition: lists each subgraph, so the supergraph shows what it was made of.
pub fn compose_ok() -> Compose {
    Box::new(|subgraphs: &[SubgraphRecord]| Ok(supergraph_of(subgraphs)))
}

fn compose_fail() -> Compose {
    Box::new(|_: &[SubgraphRecord]| Err("Movie.id: conflicting types ID! and Int!".into()))
}

fn supergraph_of(subgraphs: &[SubgraphRecord]) -> String {
    subgraphs
        .iter()
        .map(|s| format!("# {} at {}\n{}\n", s.name, s.url, s.sdl))
        .collect()
}

pub fn publish(subgraph: &str, sdl: &str) -> Publish {
    Publish {
        subgraph: subgraph.into(),
        url: format!("http://{subgraph}:4000/graphql"),
        sdl: sdl.into(),
        author: "alice".into(),
        message: format!("publish {subgraph}"),
    }
}

fn delete(subgraph: &str) -> Delete {
    Delete {
        subgraph: subgraph.into(),
        author: "bob".into(),
        message: format!("delete {subgraph}"),
    }
}

const MOVIE_V1: &str = "type Movie @key(fields: \"id\") {\n  id: ID!\n  title: String\n}\n";
const MOVIE_V2: &str = "type Movie @key(fields: \"id\") {\n  id: ID!\n  title: String!\n}\n";
const PRODUCTION: &str = "type Production @key(fields: \"id\") {\n  id: ID!\n}\n";

fn created(number: u64) -> Published {
    Published {
        number,
        created: true,
    }
}

/// Every case, each on its own variant of graph `movies` (the store must be empty).
pub async fn run(store: &dyn Store) {
    publishes_are_numbered_and_kept(store).await;
    identical_publish_creates_no_version(store).await;
    failed_composition_stores_nothing(store).await;
    delete_removes_a_subgraph(store).await;
    rollback_creates_a_version_equal_to_the_old_one(store).await;
    unknown_variants_and_bad_names_are_errors(store).await;
    graphs_and_variants_are_listed(store).await;
}

/// A variant `movies@name` with movie v1, production and movie v2 (versions 1 to 3).
async fn three_versions(store: &dyn Store, name: &str) -> VariantRef {
    let variant = VariantRef::new("movies", name);
    assert!(store.ensure_variant(&variant).await.unwrap());
    assert!(!store.ensure_variant(&variant).await.unwrap());
    for (number, (subgraph, sdl)) in [
        ("movie", MOVIE_V1),
        ("production", PRODUCTION),
        ("movie", MOVIE_V2),
    ]
    .into_iter()
    .enumerate()
    {
        let published = store
            .publish(&variant, publish(subgraph, sdl), compose_ok())
            .await;
        assert_eq!(published.unwrap(), created(number as u64 + 1));
    }
    variant
}

async fn publishes_are_numbered_and_kept(store: &dyn Store) {
    let empty = VariantRef::new("movies", "empty");
    store.ensure_variant(&empty).await.unwrap();
    assert_eq!(store.current_version_number(&empty).await.unwrap(), 0);
    assert_eq!(store.current(&empty).await.unwrap(), None);
    assert!(store.history(&empty, 10).await.unwrap().is_empty());

    let variant = three_versions(store, "prod").await;
    assert_eq!(store.current_version_number(&variant).await.unwrap(), 3);
    let current = store
        .current(&variant)
        .await
        .unwrap()
        .expect("a current version");
    assert_eq!(current.summary.number, 3);
    let names: Vec<_> = current.subgraphs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["movie", "production"]);
    assert_eq!(current.subgraphs[0].sdl, MOVIE_V2);
    assert_eq!(current.supergraph, supergraph_of(&current.subgraphs));

    let history = store.history(&variant, 10).await.unwrap();
    let numbers: Vec<_> = history.iter().map(|v| v.number).collect();
    assert_eq!(numbers, [3, 2, 1]);
    assert!(history[0].created_at > history[1].created_at);
    assert!(history[1].created_at > history[2].created_at);
    assert_eq!(
        (history[2].author.as_str(), history[2].message.as_str()),
        ("alice", "publish movie")
    );
    assert_eq!(history[1].changes.len(), 1);
    assert_eq!(
        (
            history[1].changes[0].subgraph.as_str(),
            history[1].changes[0].kind
        ),
        ("production", ChangeKind::Added)
    );
    let update = &history[0].changes[0];
    assert_eq!(
        (update.subgraph.as_str(), update.kind),
        ("movie", ChangeKind::Updated)
    );
    let diff = update.sdl_diff.as_deref().expect("an SDL diff");
    assert!(
        diff.contains("-  title: String\n+  title: String!\n"),
        "{diff}"
    );
    assert_eq!(store.history(&variant, 2).await.unwrap().len(), 2);

    let first = store
        .version(&variant, 1)
        .await
        .unwrap()
        .expect("version 1");
    assert_eq!(first.subgraphs.len(), 1);
    assert_eq!(first.subgraphs[0].sdl, MOVIE_V1);
    assert_eq!(store.version(&variant, 99).await.unwrap(), None);
    assert_ne!(first.summary.id, current.summary.id);
}

async fn identical_publish_creates_no_version(store: &dyn Store) {
    let variant = three_versions(store, "idempotent").await;
    let again = store
        .publish(&variant, publish("movie", MOVIE_V2), compose_ok())
        .await;
    assert_eq!(
        again.unwrap(),
        Published {
            number: 3,
            created: false
        }
    );
    assert_eq!(store.history(&variant, 10).await.unwrap().len(), 3);

    let mut moved = publish("movie", MOVIE_V2);
    moved.url = "http://movie-2:4000/graphql".into();
    assert_eq!(
        store.publish(&variant, moved, compose_ok()).await.unwrap(),
        created(4)
    );
    let change = &store.history(&variant, 1).await.unwrap()[0].changes[0];
    assert_eq!(
        (change.kind, change.sdl_diff.as_deref()),
        (ChangeKind::Updated, None)
    );
}

async fn failed_composition_stores_nothing(store: &dyn Store) {
    let fresh = VariantRef::new("movies", "broken");
    store.ensure_variant(&fresh).await.unwrap();
    let error = store
        .publish(&fresh, publish("movie", MOVIE_V1), compose_fail())
        .await;
    let error = error.expect_err("composition fails");
    assert!(matches!(error, StoreError::Composition(_)), "{error:?}");
    assert!(
        error.to_string().contains("Movie.id: conflicting types"),
        "{error}"
    );
    assert_eq!(store.current_version_number(&fresh).await.unwrap(), 0);

    let variant = three_versions(store, "compose-fails").await;
    let error = store
        .publish(&variant, publish("talent", "type T"), compose_fail())
        .await;
    assert!(matches!(error, Err(StoreError::Composition(_))));
    let error = store
        .delete_subgraph(&variant, delete("movie"), compose_fail())
        .await;
    assert!(matches!(error, Err(StoreError::Composition(_))));
    assert_eq!(store.current_version_number(&variant).await.unwrap(), 3);
    assert_eq!(
        store
            .current(&variant)
            .await
            .unwrap()
            .unwrap()
            .subgraphs
            .len(),
        2
    );
}

async fn delete_removes_a_subgraph(store: &dyn Store) {
    let variant = three_versions(store, "delete").await;
    let deleted = store
        .delete_subgraph(&variant, delete("production"), compose_ok())
        .await;
    assert_eq!(deleted.unwrap(), created(4));
    let current = store.current(&variant).await.unwrap().unwrap();
    assert_eq!(current.subgraphs.len(), 1);
    assert_eq!(current.summary.author, "bob");
    let change = &current.summary.changes[0];
    assert_eq!(
        (change.subgraph.as_str(), change.kind),
        ("production", ChangeKind::Removed)
    );

    let missing = store
        .delete_subgraph(&variant, delete("production"), compose_ok())
        .await;
    assert!(
        matches!(missing, Err(StoreError::UnknownSubgraph { .. })),
        "{missing:?}"
    );
    assert_eq!(store.current_version_number(&variant).await.unwrap(), 4);
}

async fn rollback_creates_a_version_equal_to_the_old_one(store: &dyn Store) {
    let variant = three_versions(store, "rollback").await;
    assert_eq!(
        store.rollback(&variant, 1, "carol").await.unwrap(),
        created(4)
    );
    let old = store.version(&variant, 1).await.unwrap().unwrap();
    let now = store.current(&variant).await.unwrap().unwrap();
    assert_eq!(
        (now.subgraphs.clone(), now.supergraph.clone()),
        (old.subgraphs, old.supergraph)
    );
    assert_eq!(now.summary.author, "carol");
    assert_eq!(now.summary.message, "rollback to version 1");
    let kinds: Vec<_> = now
        .summary
        .changes
        .iter()
        .map(|c| (c.subgraph.as_str(), c.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("movie", ChangeKind::Updated),
            ("production", ChangeKind::Removed)
        ]
    );

    let missing = store.rollback(&variant, 99, "carol").await;
    assert!(
        matches!(missing, Err(StoreError::UnknownVersion(99))),
        "{missing:?}"
    );
    // A publish after a rollback builds on the rolled-back set.
    let next = store
        .publish(&variant, publish("production", PRODUCTION), compose_ok())
        .await;
    assert_eq!(next.unwrap(), created(5));
}

async fn unknown_variants_and_bad_names_are_errors(store: &dyn Store) {
    let unknown = VariantRef::new("movies", "nowhere");
    let is_unknown = |result: Result<(), StoreError>| matches!(result, Err(StoreError::UnknownVariant(ref name)) if name == "movies@nowhere");
    assert!(is_unknown(store.current(&unknown).await.map(drop)));
    assert!(is_unknown(store.version(&unknown, 1).await.map(drop)));
    assert!(is_unknown(store.history(&unknown, 1).await.map(drop)));
    assert!(is_unknown(
        store.current_version_number(&unknown).await.map(drop)
    ));
    assert!(is_unknown(
        store
            .publish(&unknown, publish("movie", MOVIE_V1), compose_ok())
            .await
            .map(drop)
    ));
    assert!(is_unknown(
        store
            .delete_subgraph(&unknown, delete("movie"), compose_ok())
            .await
            .map(drop)
    ));
    assert!(is_unknown(
        store.rollback(&unknown, 1, "carol").await.map(drop)
    ));

    let bad = store
        .ensure_variant(&VariantRef::new("movies", "has space"))
        .await;
    assert!(matches!(bad, Err(StoreError::InvalidName(_))), "{bad:?}");
    assert!(VariantRef::parse("movies").is_err());
    assert_eq!(
        VariantRef::parse("movies@prod").unwrap(),
        VariantRef::new("movies", "prod")
    );
    let variant = VariantRef::new("movies", "prod");
    let bad = store
        .publish(&variant, publish("", MOVIE_V1), compose_ok())
        .await;
    assert!(matches!(bad, Err(StoreError::InvalidName(_))), "{bad:?}");
}

async fn graphs_and_variants_are_listed(store: &dyn Store) {
    store
        .ensure_variant(&VariantRef::new("books", "staging"))
        .await
        .unwrap();
    assert_eq!(store.list_graphs().await.unwrap(), ["books", "movies"]);
    let variants = store.list_variants("movies").await.unwrap();
    assert_eq!(
        variants,
        [
            "broken",
            "compose-fails",
            "delete",
            "empty",
            "idempotent",
            "prod",
            "rollback"
        ]
    );
    assert!(store.list_variants("none").await.unwrap().is_empty());
}

/// Two stores on one database publish `SUBGRAPHS` different subgraphs to one variant at once:
/// one version per publish, numbered 1..=N without gaps or duplicates, nothing lost.
pub async fn concurrent_publishes_lose_nothing(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    const SUBGRAPHS: u64 = 20;
    let variant = VariantRef::new("race", "prod");
    a.ensure_variant(&variant).await.unwrap();
    let tasks: Vec<_> = (0..SUBGRAPHS)
        .map(|i| {
            let store = Arc::clone(if i % 2 == 0 { &a } else { &b });
            let variant = variant.clone();
            tokio::spawn(async move {
                let change = publish(&format!("s{i:02}"), &format!("type T{i} {{ x: Int }}"));
                store.publish(&variant, change, slow_compose()).await
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        let published = task.await.unwrap().unwrap();
        assert!(published.created);
        numbers.push(published.number);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=SUBGRAPHS).collect::<Vec<_>>());
    check_every_version_grew_by_one(&*b, &variant, SUBGRAPHS).await;
}

/// Composition that takes a moment, to widen the window a lost update would need.
fn slow_compose() -> Compose {
    Box::new(|subgraphs: &[SubgraphRecord]| {
        std::thread::sleep(Duration::from_millis(3));
        Ok(supergraph_of(subgraphs))
    })
}

async fn check_every_version_grew_by_one(store: &dyn Store, variant: &VariantRef, last: u64) {
    assert_eq!(store.current_version_number(variant).await.unwrap(), last);
    let history = store.history(variant, 100).await.unwrap();
    let numbers: Vec<_> = history.iter().map(|v| v.number).collect();
    assert_eq!(numbers, (1..=last).rev().collect::<Vec<_>>());
    for number in 1..=last {
        let version = store.version(variant, number).await.unwrap().unwrap();
        assert_eq!(
            version.subgraphs.len() as u64,
            number,
            "version {number} lost an update"
        );
        assert_eq!(version.summary.changes.len(), 1);
        assert_eq!(version.summary.changes[0].kind, ChangeKind::Added);
    }
    let current = store.current(variant).await.unwrap().unwrap();
    assert_eq!(current.supergraph, supergraph_of(&current.subgraphs));
}

/// Publishes one SDL to `movies@prod` and `movies@staging`, another to prod, and rolls prod
/// back to 1: 5 subgraph rows over 4 versions, but only 2 different SDLs for the store to keep.
pub async fn share_sdls(store: &dyn Store) {
    let prod = VariantRef::new("movies", "prod");
    let staging = VariantRef::new("movies", "staging");
    for variant in [&prod, &staging] {
        store.ensure_variant(variant).await.unwrap();
        let change = publish("movie", MOVIE_V1);
        assert_eq!(
            store.publish(variant, change, compose_ok()).await.unwrap(),
            created(1)
        );
    }
    let change = publish("production", PRODUCTION);
    assert_eq!(
        store.publish(&prod, change, compose_ok()).await.unwrap(),
        created(2)
    );
    assert_eq!(store.rollback(&prod, 1, "carol").await.unwrap(), created(3));
}
