//! `switchyard subgraph`: one federation subgraph (SDL + JSON data) as its own process, for
//! benchmarks of GraphQL gateways on loopback (bench/graphql.sh). It is testkit's
//! [`Subgraph`]: GraphQL over HTTP with `_entities` and `_service`, answering from the data
//! file by the rules in crates/graphql/tests/fixtures/README.md. It prints
//! `listening ADDR` once it accepts connections; on SIGTERM or SIGINT it prints its request
//! count as one JSON line and exits.
//!
//! Note: its memory grows with every request served, about 9 KiB each (about 1 GB per 100,000
//! requests; testkit's subgraph keeps every request for tests to look at): bounded runs only.

use anyhow::Context;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use switchyard_testkit::{Subgraph, SubgraphOptions};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};

/// What `switchyard subgraph` was asked to serve.
#[derive(Debug, Clone, clap::Args)]
pub struct SubgraphArgs {
    /// The subgraph's SDL (a federation subgraph schema).
    #[arg(long, value_name = "FILE")]
    pub sdl: PathBuf,
    /// The data it serves: `{"Query": {...}, "entities": {"Type": [rows]}}`.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Address to listen on (port 0 picks a free one; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The subgraph's name, in diagnostics (default: the SDL file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Added before every answer, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,
}

pub fn run(args: SubgraphArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: SubgraphArgs) -> anyhow::Result<ExitCode> {
    let sdl = read(&args.sdl)?;
    let data: serde_json::Value = serde_json::from_str(&read(&args.data)?)
        .with_context(|| format!("{}: not JSON", args.data.display()))?;
    let name = args.name.clone().unwrap_or_else(|| stem(&args.sdl));
    let options = SubgraphOptions {
        latency: Duration::from_millis(args.latency_ms),
        ..SubgraphOptions::default()
    };
    // `Subgraph::start_with` panics (and says why on stderr) when the SDL is unusable; run it
    // as a task so that this is an error exit, not an abort.
    let task_name = name.clone();
    let subgraph =
        tokio::spawn(async move { Subgraph::start_with(&task_name, &sdl, data, options).await })
            .await
            .map_err(|_| anyhow::anyhow!("{}: not a usable subgraph schema", args.sdl.display()))?;
    let address = expose(&subgraph, args.listen).await?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    println!("listening {address}");
    std::io::stdout().flush()?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    let counters = serde_json::json!({
        "name": name,
        "address": address.to_string(),
        "requests": subgraph.request_count(),
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{counters}")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The address clients use. The subgraph itself always binds `127.0.0.1:0`; any other
/// `--listen` gets a listener of its own that relays each connection to it byte for byte.
async fn expose(subgraph: &Subgraph, listen: SocketAddr) -> anyhow::Result<SocketAddr> {
    let inner = subgraph.address();
    if listen.port() == 0 && listen.ip() == inner.ip() {
        return Ok(inner);
    }
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let Ok(mut upstream) = TcpStream::connect(inner).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    Ok(address)
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || "subgraph".to_owned(),
        |s| s.to_string_lossy().into_owned(),
    )
}
