//! The `switchyard` binary: reads like a table of contents of the commands.

mod alloc;
mod backend_cmd;
mod cli;
mod demo;
mod loadgen;
mod registry_cmd;
mod serve;
mod sim_cmd;
mod subgraph_cmd;

use clap::Parser;

use std::process::ExitCode;

fn main() -> ExitCode {
    alloc::tune();
    let cli = cli::Cli::parse();
    init_tracing();
    let result = match cli.command {
        cli::Command::Run { config } => serve::run(&config),
        cli::Command::Check { config } => cli::check(&config),
        cli::Command::Schema => cli::schema(),
        cli::Command::Demo { port } => demo::run(port),
        cli::Command::Backend(args) => backend_cmd::run(args),
        cli::Command::Loadgen(args) => loadgen::run(args),
        cli::Command::Subgraph(args) => subgraph_cmd::run(args),
        cli::Command::Sim(args) => sim_cmd::run(args),
        cli::Command::Registry(command) => registry_cmd::run(command),
        cli::Command::HashKey => cli::hash_key(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Diagnostics go to stderr (the access log has stdout); `RUST_LOG` filters them.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
