//! The demo's federated graph: Movie, Production and Talent subgraphs (real GraphQL servers on
//! loopback), three instances of Talent, and the supergraph composed from them.

use std::path::PathBuf;
use switchyard_testkit::{Subgraph, SubgraphOptions};

const SUPERGRAPH: &str = include_str!("../../../graphql/tests/fixtures/movies/supergraph.graphql");
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

/// The running subgraphs and the supergraph file the gateway loads.
pub struct Graph {
    pub subgraphs: Vec<Subgraph>,
    pub supergraph: PathBuf,
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
        let supergraph = std::env::temp_dir().join(format!(
            "switchyard-demo-supergraph-{}.graphql",
            std::process::id()
        ));
        std::fs::write(&supergraph, SUPERGRAPH)?;
        Ok(Graph {
            subgraphs,
            supergraph,
        })
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
        let _ = std::fs::remove_file(&self.supergraph);
    }
}

/// The query the demo suggests: one answer coalesced from all three subgraphs.
pub const DEMO_QUERY: &str =
    "{ movie(id: \\\"2\\\") { title production { name } cast { name movies { title } } } }";
