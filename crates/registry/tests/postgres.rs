//! The store suite against a real PostgreSQL server (started per test), plus its migrations.

mod suite;

use std::sync::Arc;

use switchyard_registry::{PostgresStore, Store, StoreError, VariantRef};
use switchyard_testkit::PostgresServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_passes_the_suite() {
    let server = PostgresServer::start();
    let store = PostgresStore::connect(&server.url(), suite::clock())
        .await
        .unwrap();
    suite::run(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_publishing_concurrently_lose_nothing() {
    let server = PostgresServer::start();
    let url = server.url();
    let (a, b) = tokio::join!(
        PostgresStore::connect(&url, suite::clock()),
        PostgresStore::connect(&url, suite::clock())
    );
    suite::concurrent_publishes_lose_nothing(Arc::new(a.unwrap()), Arc::new(b.unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_keeps_data_and_a_newer_schema_is_refused() {
    let server = PostgresServer::start();
    let url = server.url();
    let variant = VariantRef::new("movies", "prod");
    {
        let store = PostgresStore::connect(&url, suite::clock()).await.unwrap();
        suite::share_sdls(&store).await;
    }
    let store = PostgresStore::connect(&url, suite::clock()).await.unwrap();
    assert_eq!(store.current_version_number(&variant).await.unwrap(), 3);
    drop(store);

    let (raw, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let count: i64 = raw
        .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1, "reconnecting applied no migration twice");
    for (table, expected) in [("version_subgraphs", 5), ("sdls", 2)] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let count: i64 = raw.query_one(&sql, &[]).await.unwrap().get(0);
        assert_eq!(count, expected, "{table}: SDLs stored once");
    }
    raw.execute("INSERT INTO schema_migrations VALUES (2, 0)", &[])
        .await
        .unwrap();

    let error = PostgresStore::connect(&url, suite::clock())
        .await
        .expect_err("too new");
    assert!(
        matches!(error, StoreError::SchemaTooNew { found: 2, known: 1 }),
        "{error:?}"
    );

    let missing = format!("{}/nope", url.strip_suffix("/postgres").unwrap());
    let error = PostgresStore::connect(&missing, suite::clock())
        .await
        .expect_err("no database");
    assert!(
        error
            .to_string()
            .contains("database \"nope\" does not exist"),
        "{error}"
    );
}

#[tokio::test]
async fn connecting_to_no_server_is_an_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://postgres@127.0.0.1:{port}/postgres");
    let error = PostgresStore::connect(&url, suite::clock())
        .await
        .expect_err("no server");
    assert!(matches!(error, StoreError::Postgres(_)), "{error:?}");
}
