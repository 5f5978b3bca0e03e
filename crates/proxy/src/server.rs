//! Listeners: accept TCP connections and serve HTTP/1.1 and h2c on each (hyper-util's auto
//! builder), with header limits, a header-read timeout, and graceful shutdown.

use crate::framing::{self, AmbiguousFraming};
use crate::pipeline::{Peer, handle};
use crate::state::Shared;
use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::sync::Arc;
use switchyard_config::Listener;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Builds the connection builder for one listener's limits.
fn builder(config: &Listener) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(8192))
        .max_headers(config.max_headers);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(1024);
    builder
}

/// Accepts connections until `stop` fires, then drains them through `graceful`.
pub async fn serve(
    listener: TcpListener,
    config: Listener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    graceful: Arc<std::sync::Mutex<Option<GracefulShutdown>>>,
) {
    let builder = Arc::new(builder(&config));
    let max_line = config.max_header_bytes.max(8192);
    loop {
        let (stream, client) = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(listener = %config.name, error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (stream, verdicts) = framing::watch(stream, max_line, config.header_read_timeout);
        let shared = Arc::clone(&shared);
        let peer = Peer::new(client, &config.name);
        let max_body = config.max_request_body_bytes;
        let service = service_fn(move |mut req: Request<Incoming>| {
            if verdicts.next_is_ambiguous() {
                req.extensions_mut().insert(AmbiguousFraming);
            }
            let runtime = shared.runtime.load_full();
            let peer = peer.clone();
            // Boxed: the request future is several KiB, and hyper keeps room for it in every
            // connection, idle or not; boxing makes an idle connection cost only a pointer.
            Box::pin(async move { Ok::<_, Infallible>(handle(runtime, peer, max_body, req).await) })
        });
        let watcher = graceful
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(GracefulShutdown::watcher));
        let builder = Arc::clone(&builder);
        tokio::spawn(async move {
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let result = match watcher {
                Some(w) => w.watch(conn.into_owned()).await,
                None => conn.await,
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}
