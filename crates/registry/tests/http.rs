//! The HTTP API over real sockets (127.0.0.1, port 0) on a SQLite store: publish the demo's
//! three subgraphs, poll the supergraph with ETags, history, one version, rollback, delete,
//! composition errors, bad input, and a subgraph publishing itself by URL.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::{Value, json};
use switchyard_registry::http::client::{self, Limits, Reply};
use switchyard_registry::{ServerConfig, SqliteStore, Store, serve, system_now};
use tokio::net::TcpListener;

const TOKEN: &str = "registry-test-token";
const PROD: &str = "/graphs/movies/variants/prod";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../graphql/tests/fixtures/movies")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// A registry on a fresh SQLite file, served on 127.0.0.1:0.
struct Server {
    base: String,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(config: ServerConfig) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("registry.db"), system_now())
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, store, config, async {
        let _ = stopped.await;
    }));
    Server {
        base,
        _dir: dir,
        _stop: stop,
    }
}

fn with_token() -> ServerConfig {
    ServerConfig {
        token: Some(TOKEN.into()),
        ..ServerConfig::default()
    }
}

impl Server {
    async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            map.append(name, HeaderValue::from_str(value).unwrap());
        }
        let url = format!("{}{path}", self.base);
        let body = Bytes::from(body.to_owned());
        client::send(method, &url, map, body, Limits::default())
            .await
            .unwrap()
    }

    async fn write(&self, method: Method, path: &str, body: &Value) -> Reply {
        let auth = format!("Bearer {TOKEN}");
        let headers = [
            ("authorization", auth.as_str()),
            ("x-registry-author", "ci"),
        ];
        self.call(method, path, &headers, &body.to_string()).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, &[], "").await
    }

    async fn publish(&self, name: &str, sdl: &str) -> Reply {
        let path = format!("{PROD}/subgraphs/{name}");
        let body = json!({"url": format!("http://{name}:4001/graphql"), "sdl": sdl, "message": format!("publish {name}")});
        self.write(Method::PUT, &path, &body).await
    }
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.text()))
}

fn problem(reply: &Reply, status: u16) -> Value {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    assert_eq!(
        reply.headers["content-type"],
        "application/problem+json",
        "{}",
        reply.text()
    );
    let body = json_of(reply);
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

async fn publish_demo(server: &Server) {
    for (i, name) in ["movies", "productions", "talent"].into_iter().enumerate() {
        let reply = server
            .publish(name, &fixture(&format!("{name}.graphql")))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        assert_eq!(json_of(&reply), json!({"version": i + 1, "created": true}));
    }
}

#[tokio::test]
async fn publish_the_demo_and_poll_the_supergraph() {
    let server = start(with_token()).await;
    publish_demo(&server).await;

    // The same SDL again changes nothing.
    let again = server.publish("talent", &fixture("talent.graphql")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(json_of(&again), json!({"version": 3, "created": false}));

    let reply = server.get(&format!("{PROD}/supergraph")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["etag"], "\"3\"");
    assert_eq!(reply.headers["x-registry-version"], "3");
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/graphql")
    );
    let supergraph = switchyard_graphql::Supergraph::parse(&reply.text(), "supergraph.graphql");
    assert!(supergraph.is_ok(), "{:?}", supergraph.err());

    let not_modified = server
        .call(
            Method::GET,
            &format!("{PROD}/supergraph"),
            &[("if-none-match", "\"3\"")],
            "",
        )
        .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.headers["etag"], "\"3\"");
    let stale = server
        .call(
            Method::GET,
            &format!("{PROD}/supergraph"),
            &[("if-none-match", "\"2\"")],
            "",
        )
        .await;
    assert_eq!(stale.status, StatusCode::OK);

    assert_eq!(
        json_of(&server.get("/graphs").await),
        json!({"graphs": ["movies"]})
    );
    assert_eq!(
        json_of(&server.get("/graphs/movies/variants").await),
        json!({"graph": "movies", "variants": ["prod"]})
    );
}

#[tokio::test]
async fn history_one_version_rollback_and_delete() {
    let server = start(with_token()).await;
    publish_demo(&server).await;

    let history = json_of(&server.get(&format!("{PROD}/versions?limit=2")).await);
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 3);
    assert_eq!(versions[0]["author"], "ci");
    assert_eq!(versions[0]["message"], "publish talent");
    assert_eq!(
        versions[0]["changes"],
        json!([{"subgraph": "talent", "kind": "added", "sdl_diff": null}])
    );
    assert!(versions[0]["created_at"].as_str().unwrap().ends_with('Z'));

    let one = json_of(&server.get(&format!("{PROD}/versions/2")).await);
    assert_eq!(one["version"], 2);
    let names: Vec<&str> = one["subgraphs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["movies", "productions"]);
    assert!(one["supergraph"].as_str().unwrap().contains("join__Graph"));

    let rollback = server
        .write(Method::POST, &format!("{PROD}/rollback"), &json!({"to": 1}))
        .await;
    assert_eq!(rollback.status, StatusCode::CREATED, "{}", rollback.text());
    assert_eq!(json_of(&rollback), json!({"version": 4, "created": true}));
    let current = server.get(&format!("{PROD}/supergraph")).await;
    assert_eq!(current.headers["etag"], "\"4\"");
    assert!(!current.text().contains("Talent"));

    // Back to all three, then delete talent (movies and productions still compose).
    server
        .write(Method::POST, &format!("{PROD}/rollback"), &json!({"to": 3}))
        .await;
    let deleted = server
        .write(
            Method::DELETE,
            &format!("{PROD}/subgraphs/talent"),
            &json!(null),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::CREATED, "{}", deleted.text());
    assert_eq!(json_of(&deleted)["version"], 6);
    let gone = server
        .write(
            Method::DELETE,
            &format!("{PROD}/subgraphs/talent"),
            &json!(null),
        )
        .await;
    problem(&gone, 404);
    let unknown = server
        .write(
            Method::POST,
            &format!("{PROD}/rollback"),
            &json!({"to": 99}),
        )
        .await;
    problem(&unknown, 404);
    problem(&server.get(&format!("{PROD}/versions/99")).await, 404);
}

#[tokio::test]
async fn a_composition_error_is_422_with_codes_and_stores_nothing() {
    let server = start(with_token()).await;
    publish_demo(&server).await;
    // Movie.title is String! in movies; a second, non-shareable definition of a different type.
    let clash = "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.7\", import: [\"@key\"])\n\
                 type Query { other: Int }\n\
                 type Movie @key(fields: \"id\") { id: ID! title: Int }\n";
    let reply = server.publish("clash", clash).await;
    let body = problem(&reply, 422);
    let errors = body["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    for error in errors {
        assert!(
            error["code"].is_string() && error["message"].is_string(),
            "{error}"
        );
    }
    assert!(
        errors
            .iter()
            .any(|e| e["type"] == "Movie" && e["field"] == "title"),
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains("movies@prod"));
    let current = server.get(&format!("{PROD}/supergraph")).await;
    assert_eq!(current.headers["etag"], "\"3\"");

    // Invalid SDL: 422 naming the subgraph, with apollo-compiler's message.
    let reply = server.publish("broken", "type Query { x: Nope }").await;
    let body = problem(&reply, 422);
    let error = &body["errors"][0];
    assert_eq!(error["subgraph"], "broken", "{body}");
    assert!(
        error["message"].as_str().unwrap().contains("Nope"),
        "{body}"
    );

    // Deleting what others depend on is refused too (delete movies: Movie.title is gone...).
    let alone = start(with_token()).await;
    let only = alone.publish("talent", &fixture("talent.graphql")).await;
    assert_eq!(only.status, StatusCode::CREATED, "{}", only.text());
    let last = alone
        .write(
            Method::DELETE,
            &format!("{PROD}/subgraphs/talent"),
            &json!(null),
        )
        .await;
    let body = problem(&last, 422);
    assert_eq!(body["errors"][0]["code"], "NO_SUBGRAPHS");
}

#[tokio::test]
async fn bad_input_gets_clear_4xx_answers() {
    let config = ServerConfig {
        body_limit: 64 * 1024,
        ..with_token()
    };
    let server = start(config).await;
    let auth = format!("Bearer {TOKEN}");
    let path = format!("{PROD}/subgraphs/movies");

    let invalid = server
        .call(Method::PUT, &path, &[("authorization", &auth)], "{not json")
        .await;
    problem(&invalid, 400);
    let wrong_shape = server
        .write(
            Method::PUT,
            &path,
            &json!({"url": "http://x", "sdl": "type Query{a:Int}", "introspect": true}),
        )
        .await;
    problem(&wrong_shape, 400);
    let unknown_field = server
        .write(Method::PUT, &path, &json!({"url": "http://x", "sdll": ""}))
        .await;
    problem(&unknown_field, 400);

    let big = json!({"url": "http://x", "sdl": "#".repeat(100 * 1024)}).to_string();
    let oversized = server
        .call(Method::PUT, &path, &[("authorization", &auth)], &big)
        .await;
    problem(&oversized, 413);

    let missing = server.call(Method::PUT, &path, &[], "{}").await;
    problem(&missing, 401);
    assert!(
        missing.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let wrong = server
        .call(
            Method::PUT,
            &path,
            &[("authorization", "Bearer nope")],
            "{}",
        )
        .await;
    problem(&wrong, 401);
    let rollback = server
        .call(Method::POST, &format!("{PROD}/rollback"), &[], "{\"to\":1}")
        .await;
    problem(&rollback, 401);

    problem(&server.get("/graphs/nope/variants").await, 404);
    problem(
        &server.get("/graphs/nope/variants/prod/supergraph").await,
        404,
    );
    problem(
        &server.get("/graphs/nope/variants/prod/versions").await,
        404,
    );
    problem(&server.get("/elsewhere").await, 404);
    problem(&server.get("/graphs/bad%20name/variants").await, 400);
    problem(&server.get(&format!("{PROD}/versions?limit=0")).await, 400);
    let bad_name = server
        .write(
            Method::PUT,
            &format!("{PROD}/subgraphs/no.dots"),
            &json!({}),
        )
        .await;
    problem(&bad_name, 400);

    let wrong_method = server.call(Method::POST, "/graphs", &[], "").await;
    problem(&wrong_method, 405);
    assert_eq!(wrong_method.headers["allow"], "GET, HEAD");
    let wrong_method = server.get(&path).await;
    problem(&wrong_method, 405);
}

#[tokio::test]
async fn without_a_token_writes_are_open_on_loopback_and_refused_elsewhere() {
    let server = start(ServerConfig::default()).await;
    let reply = server
        .call(
            Method::PUT,
            &format!("{PROD}/subgraphs/movies"),
            &[],
            &json!({"url": "http://m", "sdl": fixture("movies.graphql")}).to_string(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let history = json_of(&server.get(&format!("{PROD}/versions")).await);
    assert_eq!(history["versions"][0]["author"], "anonymous");

    let open = ServerConfig::default();
    let error = switchyard_registry::check_bind("0.0.0.0:4100".parse().unwrap(), &open);
    assert!(error.unwrap_err().to_string().contains("without a token"));
    assert!(switchyard_registry::check_bind("127.0.0.1:4100".parse().unwrap(), &open).is_ok());
    assert!(
        switchyard_registry::check_bind("0.0.0.0:4100".parse().unwrap(), &with_token()).is_ok()
    );
}

#[tokio::test]
async fn a_subgraph_publishes_itself_by_url() {
    let server = start(with_token()).await;
    let data: Value = serde_json::from_str(&fixture("movies.json")).unwrap();
    let subgraph =
        switchyard_testkit::Subgraph::start("movies", &fixture("movies.graphql"), data).await;
    let path = format!("{PROD}/subgraphs/movies");
    let reply = server
        .write(
            Method::PUT,
            &path,
            &json!({"url": subgraph.url(), "introspect": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let version = json_of(&server.get(&format!("{PROD}/versions/1")).await);
    assert_eq!(version["subgraphs"][0]["url"], subgraph.url());
    assert_eq!(version["subgraphs"][0]["sdl"], fixture("movies.graphql"));

    // Nothing listening there: a clear 502, not a hang.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", dead.local_addr().unwrap());
    drop(dead);
    let reply = server
        .write(Method::PUT, &path, &json!({"url": url, "introspect": true}))
        .await;
    problem(&reply, 502);
}

#[tokio::test]
async fn check_classifies_a_proposed_subgraph_without_publishing_it() {
    let server = start(with_token()).await;
    publish_demo(&server).await;
    let path = format!("{PROD}/check");
    let movies = fixture("movies.graphql");

    let without_year = movies.replace("  year: Int\n", "");
    let reply = server
        .write(
            Method::POST,
            &path,
            &json!({"name": "movies", "sdl": without_year}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let report = json_of(&reply);
    assert_eq!(report["composes"], true, "{report}");
    assert_eq!(report["breaking"], true, "{report}");
    assert!(
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["coordinate"] == "Movie.year"),
        "{report}"
    );

    // With operations that do not use Movie.year, removing it breaks nobody.
    let operations = ["{ movies { id title } }"];
    let body = json!({"name": "movies", "sdl": without_year, "operations": operations});
    let report = json_of(&server.write(Method::POST, &path, &body).await);
    assert_eq!(report["breaking"], false, "{report}");

    let broken = json!({"name": "movies", "sdl": "type Query { x: Nope }"});
    let report = json_of(&server.write(Method::POST, &path, &broken).await);
    assert_eq!(report["composes"], false, "{report}");

    // Nothing was published, and checks need the token like other POSTs.
    assert_eq!(
        server.get(&format!("{PROD}/supergraph")).await.headers["etag"],
        "\"3\""
    );
    problem(&server.call(Method::POST, &path, &[], "{}").await, 401);
    let unknown = server
        .write(
            Method::POST,
            "/graphs/movies/variants/nope/check",
            &json!({"name": "m", "sdl": movies}),
        )
        .await;
    problem(&unknown, 404);
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_while_reading() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = ServerConfig {
        body_limit: 1024,
        ..ServerConfig::default()
    };
    let server = start(config).await;
    let address = server.base.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let chunk = "x".repeat(4096);
    let request = format!(
        "PUT {PROD}/subgraphs/movies HTTP/1.1\r\nhost: r\r\ntransfer-encoding: chunked\r\n\
         connection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    let read = stream.read_to_string(&mut answer);
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("the registry answers, it does not hang")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn a_body_that_never_arrives_is_408_not_a_hang() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = ServerConfig {
        body_timeout: std::time::Duration::from_millis(200),
        ..ServerConfig::default()
    };
    let server = start(config).await;
    let address = server.base.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "PUT {PROD}/subgraphs/movies HTTP/1.1\r\nhost: r\r\ncontent-length: 100\r\n\r\n{{\"url\""
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let read = stream.read(&mut answer);
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("the registry answers, it does not hang")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn introspection_reaches_only_the_hosts_allowed() {
    let data: Value = serde_json::from_str(&fixture("movies.json")).unwrap();
    let subgraph =
        switchyard_testkit::Subgraph::start("movies", &fixture("movies.graphql"), data).await;
    let path = format!("{PROD}/subgraphs/movies");
    let body = json!({"url": subgraph.url(), "introspect": true});
    let allowing = |hosts: &[&str]| ServerConfig {
        introspect_hosts: Some(hosts.iter().map(|h| (*h).to_owned()).collect()),
        ..with_token()
    };

    let server = start(allowing(&["subgraphs.internal", "*.svc.cluster.local"])).await;
    let reply = server.write(Method::PUT, &path, &body).await;
    let answer = problem(&reply, 403);
    assert_eq!(
        answer["type"],
        "https://switchyard.dev/problems/registry/introspection_forbidden"
    );
    assert_eq!(
        subgraph.request_count(),
        0,
        "nothing was sent to the subgraph"
    );
    // Publishing the SDL itself is not affected.
    let sdl = json!({"url": subgraph.url(), "sdl": fixture("movies.graphql")});
    let reply = server.write(Method::PUT, &path, &sdl).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());

    let server = start(allowing(&["127.0.0.1"])).await;
    let reply = server.write(Method::PUT, &path, &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
}

#[tokio::test]
async fn stopping_closes_idle_keep_alive_connections_and_returns() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("registry.db"), system_now())
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        Arc::new(store),
        ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let mut conn = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {PROD}/supergraph HTTP/1.1\r\nhost: registry\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).await.unwrap();
    assert!(
        head.starts_with(b"HTTP/1.1 "),
        "an answer on a kept-alive connection"
    );
    stop.send(()).unwrap();
    let bound = std::time::Duration::from_secs(3);
    tokio::time::timeout(bound, server)
        .await
        .expect("serve returns once its connections are drained")
        .unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(bound, conn.read_to_end(&mut rest)).await;
    assert!(
        read.is_ok(),
        "the idle connection was closed, not left open"
    );
}
