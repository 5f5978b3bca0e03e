//! `switchyard demo`: real backends started in-process and the gateway in front of them, on
//! an embedded config. No files, no setup.

mod fleet;
mod graph;

use anyhow::Context;
use std::process::ExitCode;
use std::time::Duration;
use switchyard_proxy::Gateway;
use switchyard_testkit::{Backend, BackendConfig, Client};

const DEMO_CONFIG: &str = include_str!("demo.yaml");
/// The demo's API key (its hash is in demo.yaml) and JWT secret: demo values, public on purpose.
const API_KEY: &str = "switchyard-demo-key";
const JWT_SECRET: &str = "switchyard-demo-secret-not-for-production-use";

pub fn run(port: u16) -> anyhow::Result<ExitCode> {
    crate::serve::runtime()?.block_on(async {
        let movies_a = Backend::start(BackendConfig::named("movies-a")).await;
        let movies_b = Backend::start(BackendConfig::named("movies-b")).await;
        let talent =
            Backend::start(BackendConfig::named("talent").latency(Duration::from_millis(20))).await;
        let fleet = fleet::Fleet::start().await;
        let graph = graph::Graph::start().await?;
        let access_log = std::env::temp_dir().join("switchyard-demo-access.log");
        let yaml = DEMO_CONFIG
            .replace("{port}", &port.to_string())
            .replace("{access_log}", &access_log.display().to_string())
            .replace("{movies_a}", &movies_a.address().to_string())
            .replace("{movies_b}", &movies_b.address().to_string())
            .replace("{talent}", &talent.address().to_string())
            .replace("{registry_store}", &graph.store().display().to_string())
            .replace("{graph_movies}", &graph.endpoints("movies"))
            .replace("{graph_productions}", &graph.endpoints("productions"))
            .replace("{graph_talent}", &graph.endpoints("talent"))
            .replace("{jwt_secret}", JWT_SECRET);
        let config = switchyard_config::parse(
            &yaml.replace("{fleet_endpoints}", &fleet.endpoints(false)),
            "demo.yaml",
        )?;
        let grown = switchyard_config::parse(
            &yaml.replace("{fleet_endpoints}", &fleet.endpoints(true)),
            "demo.yaml",
        )?;
        let gateway = Gateway::start(&config).await?;
        let address = gateway.addresses()[0].1;
        let registry = gateway
            .registry_address()
            .context("the demo config embeds a registry")?;
        graph.publish(registry, address).await?;
        print_tour(address, &access_log);
        print_registry_tour(registry);
        if let Some(admin) = gateway.admin_address() {
            println!("Metrics (Prometheus/OpenMetrics text): curl -s http://{admin}/metrics");
            println!(
                "What the balancer knows of each instance (in flight, error score, latency, \
                 utilization, learned capacity):\n  curl -s http://{admin}/clusters\n"
            );
        }
        tokio::spawn(fleet::run(
            fleet,
            Client::http1(address),
            gateway.reload_handle(),
            grown,
        ));
        tokio::signal::ctrl_c().await?;
        crate::serve::drain(gateway).await;
        drop(graph);
        Ok(ExitCode::SUCCESS)
    })
}

fn print_registry_tour(registry: std::net::SocketAddr) {
    let at = format!("--registry http://{registry} {}", graph::VARIANT);
    println!(
        "Schema registry, embedded in the gateway on http://{registry}: the three subgraphs published\n\
         themselves there and /graphql serves the supergraph it composed. A publish is served at once."
    );
    println!("  switchyard registry history {at}");
    println!("  switchyard registry fetch {at}              # the composed supergraph");
    println!(
        "  switchyard registry check {at} --name talent --schema talent.graphql   # what would break\n"
    );
}

fn print_policy_tour(base: &str) {
    println!(
        "\nGateway policies (answers are application/problem+json saying which rule and why):"
    );
    println!("  curl -s {base}/protected/key/1                              # 401: no API key");
    println!(
        "  curl -s -H 'x-api-key: {API_KEY}' {base}/protected/key/1  # 200; the 6th in a minute gets 429"
    );
    let reader = demo_token(&["movies:read"]);
    let guest = demo_token(&[]);
    println!(
        "  curl -s -H 'authorization: Bearer {reader}' {base}/protected/token/1\n      # 200: a JWT with scope movies:read"
    );
    println!(
        "  curl -s -H 'authorization: Bearer {guest}' {base}/protected/token/1\n      # 403: a valid JWT without the scope"
    );
}

/// An HS256 token for the demo's `jwt` policy, valid for a day.
fn demo_token(scopes: &[&str]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = serde_json::json!({
        "sub": "demo-user", "iss": "switchyard-demo", "scope": scopes.join(" "), "exp": now + 86_400,
    });
    let key = jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes());
    key.and_then(|k| jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &k))
        .unwrap_or_default()
}

fn print_tour(address: std::net::SocketAddr, access_log: &std::path::Path) {
    let base = format!("http://{address}");
    println!("Switchyard demo: gateway on {base}, eight real backends behind it.");
    println!(
        "Access log (one JSON line per request): tail -f {}",
        access_log.display()
    );
    println!("Ctrl-C drains and stops.\n");
    println!("Try:");
    println!(
        "  curl -s {base}/movies/42                 # template route, round robin over movies-a/movies-b"
    );
    println!(
        "  curl -s {base}/api/talent/7              # prefix stripped: backend sees /talent/7"
    );
    println!("  curl -s -H 'x-canary: 1' {base}/movies/1 # header match: goes to movies-b only");
    println!("  curl -s {base}/healthz                   # direct response from the gateway");
    println!(
        "  curl -s {base}/graphql -H 'content-type: application/json' \\\n      -d '{{\"query\": \"{}\"}}'\n      # federated GraphQL: one answer from the movies, productions and talent subgraphs",
        graph::DEMO_QUERY
    );
    println!("  curl -si {base}/old/movies/9             # redirect to /movies/9");
    println!("  curl -s {base}/nope                      # 404 as application/problem+json");
    println!("  curl -s --http2-prior-knowledge {base}/movies/3   # h2c on the same port");
    println!("  curl -s '{base}/movies/5?delay_ms=3000'  # 504 after the route's 1s timeout");
    println!(
        "  curl -si {base}/fleet | grep x-backend   # the edge balancer's pick among five instances"
    );
    print_policy_tour(&base);
    println!();
    println!("Watch the edge balancer: the demo sends 300 requests/s to /fleet and prints each");
    println!(
        "instance's share every 5 s. fleet-slow is 3x slower throughout; fleet-flaky answers 503"
    );
    println!(
        "in 1 ms from 20 s to 40 s; fleet-late joins at 15 s, 4x slower for its first 10 s.\n"
    );
}
