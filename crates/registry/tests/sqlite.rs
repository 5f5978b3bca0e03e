//! The store suite against SQLite, plus its migrations.

mod suite;

use std::sync::Arc;

use switchyard_registry::{SqliteStore, Store, StoreError, VariantRef};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("registry.db"), suite::clock())
        .await
        .unwrap();
    suite::run(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_connections_publishing_concurrently_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    let (a, b) = tokio::join!(
        SqliteStore::open(path.clone(), suite::clock()),
        SqliteStore::open(path.clone(), suite::clock())
    );
    suite::concurrent_publishes_lose_nothing(Arc::new(a.unwrap()), Arc::new(b.unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_data_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/dir/registry.db");
    let variant = VariantRef::new("movies", "prod");
    {
        let store = SqliteStore::open(path.clone(), suite::clock())
            .await
            .unwrap();
        suite::share_sdls(&store).await;
    }
    let store = SqliteStore::open(path.clone(), suite::clock())
        .await
        .unwrap();
    assert_eq!(store.current_version_number(&variant).await.unwrap(), 3);
    drop(store);

    let raw = rusqlite::Connection::open(&path).unwrap();
    let count: i64 = raw
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(count, 1, "re-open applied no migration twice");
    let count = |table: &str| -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        raw.query_row(&sql, [], |row| row.get(0)).unwrap()
    };
    assert_eq!(
        (count("version_subgraphs"), count("sdls")),
        (5, 2),
        "SDLs stored once"
    );
    raw.execute("INSERT INTO schema_migrations VALUES (2, 0)", [])
        .unwrap();
    drop(raw);

    let error = SqliteStore::open(path, suite::clock())
        .await
        .expect_err("too new");
    assert!(
        matches!(error, StoreError::SchemaTooNew { found: 2, known: 1 }),
        "{error:?}"
    );
    assert!(error.to_string().contains("upgrade Switchyard"), "{error}");
}
