//! The registry's HTTP API: JSON over hyper, graph and variant in the path
//! (`/graphs/movies/variants/prod/...`), writes behind a bearer token (docs/registry.md,
//! "HTTP API"). [`serve`] runs the server on a bound listener; [`client`] is the small HTTP
//! client the registry uses for introspection and the CLI uses for its commands.

mod auth;
mod body;
mod check;
pub mod client;
mod handle;
mod introspect;
mod problem;
mod route;
mod view;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::Store;

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// How the server behaves; [`ServerConfig::default`] is what `switchyard registry serve` uses.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Writes need `Authorization: Bearer <token>` when set; reads are always open.
    pub token: Option<String>,
    /// Request bodies over this many bytes are refused with 413.
    pub body_limit: usize,
    /// How long fetching a subgraph's `_service { sdl }` may take.
    pub introspect_timeout: Duration,
    /// The largest introspection answer accepted, in bytes.
    pub introspect_limit: usize,
    /// How long a client may take to send a request body (408 after).
    pub body_timeout: Duration,
    /// The hosts a publish by introspection may make the registry call (`name`, or
    /// `*.example.com` for any name under it); `None`: any host.
    pub introspect_hosts: Option<Vec<String>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            token: None,
            body_limit: 4 * 1024 * 1024,
            introspect_timeout: Duration::from_secs(10),
            introspect_limit: 4 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            introspect_hosts: None,
        }
    }
}

/// Why the server refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "refusing to serve the registry on {0} without a token: writes would be open to the \
         network. Set a token (--token-env VAR) or bind a loopback address (127.0.0.1)"
    )]
    OpenWrites(SocketAddr),
}

/// Refuses a non-loopback address when no token protects writes.
pub fn check_bind(address: SocketAddr, config: &ServerConfig) -> Result<(), StartError> {
    if config.token.is_none() && !address.ip().is_loopback() {
        return Err(StartError::OpenWrites(address));
    }
    Ok(())
}

/// What every request handler shares.
pub(crate) struct Registry {
    pub store: Arc<dyn Store>,
    pub config: ServerConfig,
}

/// Serves the API on `listener` until `stop` completes, then drains: each open connection
/// finishes the request it is on and closes (idle keep-alive connections close at once), for
/// at most [`DRAIN_TIMEOUT`]; whatever remains is dropped.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    config: ServerConfig,
    stop: impl Future<Output = ()>,
) {
    let registry = Arc::new(Registry { store, config });
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "registry accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let registry = Arc::clone(&registry);
        let service = service_fn(move |req: hyper::Request<Incoming>| {
            let registry = Arc::clone(&registry);
            async move { Ok::<_, Infallible>(handle::answer(&registry, req).await) }
        });
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            // A client that never finishes its headers does not hold a connection forever.
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let _ = watcher.watch(conn.into_owned()).await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("registry connections still open after the drain timeout: dropped");
    }
}

/// How long [`serve`] waits for open connections after `stop`.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
