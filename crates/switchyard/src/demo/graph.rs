//! The demo's federated graph: Movie, Production and Talent subgraphs (real GraphQL servers on
//! loopback), three instances of Talent, each subgraph publishing itself to the registry
//! embedded in the gateway (which composes the supergraph the `/graphql` route serves).

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use switchyard_registry::http::client::{self, Limits};
use switchyard_testkit::{Client, Subgraph, SubgraphOptions};

/// The registry variant the demo's `/graphql` route follows.
pub const VARIANT: &str = "movies@demo";
const SUBGRAPHS: [(&str, &str, &str); 3] = [
    (
        "movies",
        include_str!("../../../graphql/tests/fixtures/movies/movies.graphql"),
        include_str!("../../../graphql/tests/fixtures/movies/movies.json"),
    ),
    (
        "productions",
        include_str!("../../../graphql/tests/fixtures/movies/productions.graphql"),
        include_str!("../../../graphql/tests/fixtures/movies/productions.json"),
    ),
    (
        "talent",
        include_str!("../../../graphql/tests/fixtures/movies/talent.graphql"),
        include_str!("../../../graphql/tests/fixtures/movies/talent.json"),
    ),
];
/// Instances of the talent subgraph behind the `edge` balancer.
const TALENT_INSTANCES: usize = 3;

/// The running subgraphs and the folder of the registry's store.
pub struct Graph {
    pub subgraphs: Vec<Subgraph>,
    pub store_dir: PathBuf,
}

impl Graph {
    pub async fn start() -> anyhow::Result<Graph> {
        let mut subgraphs = Vec::new();
        for (name, sdl, data) in SUBGRAPHS {
            let instances = if name == "talent" {
                TALENT_INSTANCES
            } else {
                1
            };
            for _ in 0..instances {
                let data = serde_json::from_str(data)?;
                let options = SubgraphOptions::default();
                subgraphs.push(Subgraph::start_with(name, sdl, data, options).await);
            }
        }
        let store_dir =
            std::env::temp_dir().join(format!("switchyard-demo-{}", std::process::id()));
        Ok(Graph {
            subgraphs,
            store_dir,
        })
    }

    /// The registry's store, fresh for each run.
    pub fn store(&self) -> PathBuf {
        self.store_dir.join("registry.db")
    }

    /// Each subgraph publishes itself to the gateway's registry (the registry reads its
    /// `_service { sdl }`), then waits until the gateway serves the composed supergraph.
    pub async fn publish(&self, registry: SocketAddr, gateway: SocketAddr) -> anyhow::Result<()> {
        for name in ["movies", "productions", "talent"] {
            let Some(subgraph) = self.subgraphs.iter().find(|s| s.name() == name) else {
                continue;
            };
            let (graph, variant) = VARIANT.split_once('@').unwrap_or(("movies", "demo"));
            let url =
                format!("http://{registry}/graphs/{graph}/variants/{variant}/subgraphs/{name}");
            let body = serde_json::json!({
                "url": subgraph.url(), "introspect": true, "message": format!("{name} starts"),
            });
            let mut headers = HeaderMap::new();
            headers.insert("x-registry-author", HeaderValue::from_static("demo"));
            let body = Bytes::from(body.to_string());
            let reply = client::send(Method::PUT, &url, headers, body, Limits::default())
                .await
                .with_context(|| format!("publishing {name} to the embedded registry"))?;
            if !reply.status.is_success() {
                bail!("publishing {name}: HTTP {}: {}", reply.status, reply.text());
            }
        }
        served(gateway).await
    }

    /// `{address: ...}` entries of every instance of subgraph `name`, for the config.
    pub fn endpoints(&self, name: &str) -> String {
        self.subgraphs
            .iter()
            .filter(|s| s.name() == name)
            .map(|s| format!("{{ address: \"{}\" }}", s.address()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Drop for Graph {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.store_dir);
    }
}

/// Waits (at most 10 s) until the gateway's `/graphql` answers a query.
async fn served(gateway: SocketAddr) -> anyhow::Result<()> {
    let client = Client::http1(gateway);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if client.get("/graphql?query=%7B__typename%7D").await.status == 200 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("the gateway did not serve the published supergraph within 10 s")
}

/// The query the demo suggests: one answer coalesced from all three subgraphs.
pub const DEMO_QUERY: &str =
    "{ movie(id: \\\"2\\\") { title production { name } cast { name movies { title } } } }";
