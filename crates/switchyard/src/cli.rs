//! Command-line arguments, and the commands that need no running gateway (`check`, `schema`).

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Switchyard: an edge gateway (request-aware) on top of a load balancer (server-aware).
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve with a config file; reloads on SIGHUP and when the file changes.
    Run {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Validate a config file without starting (exit 1 and every error if invalid).
    Check {
        #[arg(value_name = "FILE")]
        config: PathBuf,
    },
    /// Print the JSON Schema of the config file, for editors.
    Schema,
    /// Start demo backends and the gateway in front of them, with an embedded config.
    Demo {
        /// Port for the gateway (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Benchmarking: one real backend (service time, concurrency limit, sick or slow spells).
    Backend(crate::backend_cmd::BackendArgs),
    /// Benchmarking: open-loop HTTP/1.1 load at a fixed rate; every request's latency to CSV.
    Loadgen(crate::loadgen::LoadgenArgs),
    /// Benchmarking: one federation subgraph (SDL + JSON data) served over GraphQL over HTTP.
    Subgraph(crate::subgraph_cmd::SubgraphArgs),
    /// The schema registry: serve it, or publish, delete, roll back and fetch through it.
    #[command(subcommand)]
    Registry(crate::registry_cmd::RegistryCommand),
    /// The balancing lab: simulate scenarios with every algorithm; a Markdown table to stdout.
    Sim(crate::sim_cmd::SimArgs),
    /// Print the config form (`sha256:...`) of an API key read from stdin, for `api_key`
    /// policies; the key itself never goes in the config.
    HashKey,
}

pub fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let loaded = switchyard_config::load(path).map_err(|e| e.to_string());
    // Policies are built too, so a key that does not parse is reported here, not at start.
    let built = loaded.and_then(|config| {
        let time = switchyard_policy::Timebase::system();
        switchyard_policy::Policies::compile(&config.policies, &time, None)
            .map(|_| config)
            .map_err(|e| e.to_string())
    });
    match built {
        Ok(config) => {
            println!(
                "{}: ok ({} listeners, {} routes, {} clusters)",
                path.display(),
                config.listeners.len(),
                config.routes.len(),
                config.clusters.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{errors}");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub fn hash_key() -> anyhow::Result<ExitCode> {
    let mut key = String::new();
    std::io::stdin().read_line(&mut key)?;
    let key = key.trim_end_matches(['\r', '\n']);
    if key.is_empty() {
        eprintln!("give the key on stdin, e.g.: printf %s \"$KEY\" | switchyard hash-key");
        return Ok(ExitCode::FAILURE);
    }
    println!("{}", switchyard_policy::key_hash(key));
    Ok(ExitCode::SUCCESS)
}

pub fn schema() -> anyhow::Result<ExitCode> {
    println!(
        "{}",
        serde_json::to_string_pretty(&switchyard_config::json_schema())?
    );
    Ok(ExitCode::SUCCESS)
}
