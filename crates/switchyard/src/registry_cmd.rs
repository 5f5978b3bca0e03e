//! `switchyard registry`: `serve` runs the schema registry's HTTP API on a store (SQLite file
//! or PostgreSQL); `publish`, `delete`, `history`, `rollback`, `fetch` and `check` are its clients
//! (docs/registry.md). Client commands send `SWITCHYARD_REGISTRY_TOKEN` as the bearer token
//! and exit 1 with the registry's error when it refuses.

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::{Args, Subcommand};
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use serde_json::{Value, json};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use switchyard_registry::http::client::{self, Limits, Reply};
use switchyard_registry::{PostgresStore, ServerConfig, SqliteStore, Store, VariantRef};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

const TOKEN_VAR: &str = "SWITCHYARD_REGISTRY_TOKEN";

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Serve the registry's HTTP API; prints `listening ADDR` once it accepts connections.
    Serve(ServeArgs),
    /// Publish a subgraph's SDL (from a file, or read from the subgraph's `_service { sdl }`).
    Publish(PublishArgs),
    /// Remove a subgraph from a variant.
    Delete(DeleteArgs),
    /// List a variant's versions, newest first.
    History(HistoryArgs),
    /// Make version N the current one again (as a new version).
    Rollback(RollbackArgs),
    /// Print a variant's current supergraph SDL.
    Fetch(Target),
    /// What publishing a subgraph would break for clients, without publishing it; exits 1
    /// when it does not compose or a change is breaking.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: Target,
    /// The subgraph to add or replace.
    #[arg(long)]
    pub name: String,
    /// Its proposed SDL file.
    #[arg(long, value_name = "FILE")]
    pub schema: PathBuf,
    /// Files of operations clients send (one executable document each); given any, a change
    /// is breaking only if one of them uses it.
    #[arg(long = "operations", value_name = "FILE")]
    pub operations: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback needs a token.
    #[arg(long, default_value = "127.0.0.1:4100")]
    pub address: SocketAddr,
    /// `sqlite:PATH` (created on first start) or `postgresql://user@host:port/db`.
    #[arg(long, default_value = "sqlite:./switchyard-registry.db")]
    pub store: String,
    /// Environment variable holding the token that writes must present.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4 * 1024 * 1024)]
    pub body_limit: usize,
    /// A host a publish by introspection may make the registry call (a name, or `*.` and a
    /// domain); repeat for more. Without any, every host.
    #[arg(long = "introspect-host", value_name = "HOST", value_parser = switchyard_config::introspect_host)]
    pub introspect_hosts: Vec<String>,
}

/// Which registry, and which `graph@variant`.
#[derive(Debug, Args)]
pub struct Target {
    /// The registry's base URL.
    #[arg(long, default_value = "http://127.0.0.1:4100")]
    pub registry: String,
    /// `graph@variant`, e.g. `movies@prod`.
    #[arg(value_name = "GRAPH@VARIANT", value_parser = parse_variant)]
    pub variant: VariantRef,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub target: Target,
    /// The subgraph's name.
    #[arg(long)]
    pub name: String,
    /// Where the gateway reaches the subgraph.
    #[arg(long)]
    pub url: String,
    /// The subgraph's SDL file.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "introspect",
        required_unless_present = "introspect"
    )]
    pub schema: Option<PathBuf>,
    /// Let the registry read the SDL from the subgraph's `_service { sdl }` at `--url`.
    #[arg(long)]
    pub introspect: bool,
    #[command(flatten)]
    pub note: Note,
}

/// Who made a change and why, recorded in the version.
#[derive(Debug, Args)]
pub struct Note {
    #[arg(long, short)]
    pub message: Option<String>,
    /// Recorded as the version's author (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub note: Note,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long, value_name = "N")]
    pub to: u64,
    /// Recorded as the version's author (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
}

fn parse_variant(text: &str) -> Result<VariantRef, String> {
    VariantRef::parse(text).map_err(|e| e.to_string())
}

pub fn run(command: RegistryCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        match command {
            RegistryCommand::Serve(args) => serve(args).await,
            RegistryCommand::Publish(args) => publish(args).await,
            RegistryCommand::Delete(args) => delete(args).await,
            RegistryCommand::History(args) => history(args).await,
            RegistryCommand::Rollback(args) => rollback(args).await,
            RegistryCommand::Fetch(target) => fetch(target).await,
            RegistryCommand::Check(args) => check(args).await,
        }
    })
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let token = match &args.token_env {
        Some(var) => {
            let token =
                std::env::var(var).with_context(|| format!("--token-env: ${var} is not set"))?;
            if token.is_empty() {
                bail!("--token-env: ${var} is empty");
            }
            Some(token)
        }
        None => None,
    };
    let config = ServerConfig {
        token,
        body_limit: args.body_limit,
        introspect_hosts: (!args.introspect_hosts.is_empty()).then_some(args.introspect_hosts),
        ..ServerConfig::default()
    };
    switchyard_registry::check_bind(args.address, &config)?;
    let store = open_store(&args.store).await?;
    let listener = TcpListener::bind(args.address)
        .await
        .with_context(|| format!("cannot listen on {}", args.address))?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    println!("listening {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let stop = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    };
    switchyard_registry::serve(listener, store, config, stop).await;
    Ok(ExitCode::SUCCESS)
}

async fn open_store(spec: &str) -> anyhow::Result<Arc<dyn Store>> {
    let now = switchyard_registry::system_now();
    if let Some(path) = spec.strip_prefix("sqlite:") {
        let store = SqliteStore::open(path, now)
            .await
            .with_context(|| format!("cannot open the SQLite store {path}"))?;
        return Ok(Arc::new(store));
    }
    if spec.starts_with("postgresql://") || spec.starts_with("postgres://") {
        let store = PostgresStore::connect(spec, now)
            .await
            .context("cannot connect to the PostgreSQL store")?;
        return Ok(Arc::new(store));
    }
    bail!("--store {spec:?}: use sqlite:PATH or postgresql://...")
}

async fn publish(args: PublishArgs) -> anyhow::Result<ExitCode> {
    let mut body = json!({ "url": args.url });
    match &args.schema {
        Some(path) => {
            let sdl = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            body["sdl"] = Value::String(sdl);
        }
        None => body["introspect"] = Value::Bool(true),
    }
    let path = format!("subgraphs/{}", args.name);
    let reply = call(&args.target, Method::PUT, &path, &args.note, Some(body)).await?;
    report_change(&args.target.variant, &reply)
}

async fn delete(args: DeleteArgs) -> anyhow::Result<ExitCode> {
    let path = format!("subgraphs/{}", args.name);
    let reply = call(&args.target, Method::DELETE, &path, &args.note, None).await?;
    report_change(&args.target.variant, &reply)
}

async fn rollback(args: RollbackArgs) -> anyhow::Result<ExitCode> {
    let note = Note {
        message: None,
        author: args.author,
    };
    let body = json!({ "to": args.to });
    let reply = call(&args.target, Method::POST, "rollback", &note, Some(body)).await?;
    report_change(&args.target.variant, &reply)
}

async fn history(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let path = format!("versions?limit={}", args.limit);
    let reply = call(&args.target, Method::GET, &path, &Note::none(), None).await?;
    let Some(body) = success_json(&reply) else {
        return Ok(failure(&reply));
    };
    let mut out = std::io::stdout().lock();
    for version in body["versions"].as_array().into_iter().flatten() {
        let changes: Vec<String> = version["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{} {}",
                    c["subgraph"].as_str().unwrap_or("?"),
                    c["kind"].as_str().unwrap_or("?")
                )
            })
            .collect();
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            version["version"],
            version["created_at"].as_str().unwrap_or(""),
            version["author"].as_str().unwrap_or(""),
            changes.join(", "),
            version["message"].as_str().unwrap_or(""),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn fetch(target: Target) -> anyhow::Result<ExitCode> {
    let reply = call(&target, Method::GET, "supergraph", &Note::none(), None).await?;
    if !reply.status.is_success() {
        return Ok(failure(&reply));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&reply.body)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

async fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let mut body = json!({ "name": args.name, "sdl": read(&args.schema)? });
    if !args.operations.is_empty() {
        let documents = args
            .operations
            .iter()
            .map(read)
            .collect::<Result<Vec<_>, _>>()?;
        body["operations"] = json!(documents);
    }
    let reply = call(
        &args.target,
        Method::POST,
        "check",
        &Note::none(),
        Some(body),
    )
    .await?;
    let Some(report) = success_json(&reply) else {
        return Ok(failure(&reply));
    };
    let mut out = std::io::stdout().lock();
    for error in report["composition_errors"]
        .as_array()
        .into_iter()
        .flatten()
    {
        writeln!(out, "composition error: {}", error.as_str().unwrap_or(""))?;
    }
    for change in report["changes"].as_array().into_iter().flatten() {
        let text = |key: &str| change[key].as_str().unwrap_or("").to_owned();
        writeln!(
            out,
            "{}\t{}\t{}",
            text("severity"),
            text("coordinate"),
            text("message")
        )?;
    }
    for note in report["notes"].as_array().into_iter().flatten() {
        writeln!(out, "note: {}", note.as_str().unwrap_or(""))?;
    }
    let verdict = match (report["composes"] == true, report["breaking"] == true) {
        (false, _) => "does not compose",
        (true, true) => "breaking",
        (true, false) => "safe",
    };
    writeln!(out, "{}: {verdict}", args.target.variant)?;
    Ok(if verdict == "safe" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

impl Note {
    fn none() -> Self {
        Self {
            message: None,
            author: None,
        }
    }
}

/// One request to `{registry}/graphs/{g}/variants/{v}/{path}`.
async fn call(
    target: &Target,
    method: Method,
    path: &str,
    note: &Note,
    body: Option<Value>,
) -> anyhow::Result<Reply> {
    let at = &target.variant;
    let base = target.registry.trim_end_matches('/');
    let url = format!("{base}/graphs/{}/variants/{}/{path}", at.graph, at.variant);
    let mut headers = HeaderMap::new();
    if let Ok(token) = std::env::var(TOKEN_VAR) {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .with_context(|| format!("${TOKEN_VAR} is not a valid header value"))?;
        headers.insert(header::AUTHORIZATION, value);
    }
    if method != Method::GET {
        let author = note.author.clone().or_else(|| std::env::var("USER").ok());
        header_text(&mut headers, "x-registry-author", author.as_deref())?;
        header_text(&mut headers, "x-registry-message", note.message.as_deref())?;
    }
    let bytes = match body {
        Some(body) => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Bytes::from(body.to_string())
        }
        None => Bytes::new(),
    };
    client::send(method, &url, headers, bytes, Limits::default())
        .await
        .with_context(|| url.clone())
}

fn header_text(
    headers: &mut HeaderMap,
    name: &'static str,
    value: Option<&str>,
) -> anyhow::Result<()> {
    if let Some(value) = value {
        let value = HeaderValue::from_str(value)
            .with_context(|| format!("{name}: use visible ASCII characters only"))?;
        headers.insert(HeaderName::from_static(name), value);
    }
    Ok(())
}

/// Prints `graph@variant: version N (created|unchanged)`, or the registry's error.
fn report_change(at: &VariantRef, reply: &Reply) -> anyhow::Result<ExitCode> {
    let Some(body) = success_json(reply) else {
        return Ok(failure(reply));
    };
    let what = if body["created"] == true {
        "created"
    } else {
        "unchanged"
    };
    println!("{at}: version {} ({what})", body["version"]);
    Ok(ExitCode::SUCCESS)
}

fn success_json(reply: &Reply) -> Option<Value> {
    reply
        .status
        .is_success()
        .then(|| serde_json::from_slice(&reply.body).ok())
        .flatten()
}

/// The registry's error on stderr (its detail, and each composition error), exit code 1.
fn failure(reply: &Reply) -> ExitCode {
    let problem: Option<Value> = serde_json::from_slice(&reply.body).ok();
    match problem.as_ref().and_then(|p| p["detail"].as_str()) {
        Some(detail) => eprintln!("error: {} {detail}", reply.status),
        None => eprintln!("error: {} {}", reply.status, reply.text().trim()),
    }
    ExitCode::FAILURE
}
