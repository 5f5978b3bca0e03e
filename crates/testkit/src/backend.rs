//! A configurable real HTTP backend (HTTP/1.1 and h2c) on a loopback port.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;
use switchyard_orca::LoadReportLayer;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tower::Layer;
use tower::util::MapRequest;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How a backend behaves when the request does not say otherwise.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    pub name: String,
    /// Added before every answer (changed at run time by [`Backend::set_latency`]).
    pub latency: Duration,
    /// Status for every answer (unless the query sets one).
    pub status: u16,
    /// Cut every connection without answering (a crashed or resetting server).
    pub drop_all: bool,
    /// Answer `503` at once, without handling the request, when more than this many requests
    /// would be in flight (a server with a concurrency limit that sheds load).
    pub concurrency_limit: Option<usize>,
    /// Add an ORCA load report, `endpoint-load-metrics: TEXT application_utilization=U`, to
    /// every answer, where U is requests in flight (this one included) over
    /// `concurrency_limit`, or over 100 without a limit.
    pub report_utilization: bool,
}

impl BackendConfig {
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            latency: Duration::ZERO,
            status: 200,
            drop_all: false,
            concurrency_limit: None,
            report_utilization: false,
        }
    }

    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn drop_all(mut self) -> Self {
        self.drop_all = true;
        self
    }

    pub fn concurrency_limit(mut self, limit: usize) -> Self {
        self.concurrency_limit = Some(limit);
        self
    }

    pub fn report_utilization(mut self) -> Self {
        self.report_utilization = true;
        self
    }

    /// Counts requests in flight for all connections; reports and sheds as configured.
    fn load_layer(&self) -> LoadReportLayer {
        let mut layer = LoadReportLayer::new(self.concurrency_limit.unwrap_or(100));
        if !self.report_utilization {
            layer = layer.without_header();
        }
        if let Some(limit) = self.concurrency_limit {
            layer = layer.shed_above(limit);
        }
        layer
    }
}

struct State {
    config: BackendConfig,
    /// Every request that arrived, including those shed by the concurrency limit.
    requests: AtomicU64,
    hits: AtomicU64,
    connections: AtomicU64,
    /// Connections accepted and not yet closed.
    open: AtomicU64,
    status_override: AtomicU16,
    latency_us: AtomicU64,
    load: LoadReportLayer,
}

/// A running backend; stops accepting and closes its connections when dropped.
pub struct Backend {
    address: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("name", &self.state.config.name)
            .field("address", &self.address)
            .finish()
    }
}

impl Backend {
    pub async fn start(config: BackendConfig) -> Self {
        Self::start_on("127.0.0.1:0".parse().expect("literal address"), config).await
    }

    /// Starts on a given address (e.g. to bring a backend back on its old port, which a
    /// backend just dropped may hold for a moment: binding is retried for up to 5 s).
    pub async fn start_on(address: SocketAddr, config: BackendConfig) -> Self {
        let listener = bind(address).await;
        let address = listener.local_addr().expect("local addr");
        let state = Arc::new(State {
            requests: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            open: AtomicU64::new(0),
            status_override: AtomicU16::new(0),
            latency_us: AtomicU64::new(micros(config.latency)),
            load: config.load_layer(),
            config,
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        Self {
            address,
            state,
            task,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn name(&self) -> &str {
        &self.state.config.name
    }

    /// Requests this backend has handled (not those shed by its concurrency limit).
    pub fn hits(&self) -> u64 {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Requests that arrived, handled or shed: `requests() - hits()` were shed with 503.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// TCP connections this backend has accepted.
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// TCP connections open now (accepted, not yet closed by either side).
    pub fn open_connections(&self) -> u64 {
        self.state.open.load(Ordering::SeqCst)
    }

    /// Answers every later request with `status` (0 restores the configured behaviour).
    pub fn set_status(&self, status: u16) {
        self.state.status_override.store(status, Ordering::SeqCst);
    }

    /// Adds `latency` before every later answer (an instance turning slow, or well again).
    /// A request's `delay_ms` still overrides it.
    pub fn set_latency(&self, latency: Duration) {
        self.state
            .latency_us
            .store(micros(latency), Ordering::SeqCst);
    }

    /// Requests in flight now, from arrival until the response head is ready.
    pub fn in_flight(&self) -> usize {
        self.state.load.in_flight()
    }
}

async fn bind(address: SocketAddr) -> TcpListener {
    let mut tries = 0;
    loop {
        match TcpListener::bind(address).await {
            Ok(listener) => return listener,
            Err(e) if tries < 250 && e.kind() == std::io::ErrorKind::AddrInUse => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("bind backend on {address}: {e}"),
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        state.connections.fetch_add(1, Ordering::SeqCst);
        state.open.fetch_add(1, Ordering::SeqCst);
        let state = Arc::clone(&state);
        connections.spawn(async move {
            let closed = Arc::clone(&state);
            let kill = Arc::new(Notify::new());
            let killer = Arc::clone(&kill);
            let load = state.load.clone();
            let arrived = Arc::clone(&state);
            let name =
                http::HeaderValue::from_str(&state.config.name).expect("name is a header value");
            let handler =
                tower::service_fn(move |req| answer(Arc::clone(&state), Arc::clone(&killer), req));
            // Shed answers (made by the load layer) carry the backend's name too.
            let named = Named {
                inner: load.layer(handler),
                name,
            };
            let counted = MapRequest::new(named, move |req| {
                arrived.requests.fetch_add(1, Ordering::SeqCst);
                req
            });
            let service = TowerToHyperService::new(counted);
            let builder = Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = kill.notified() => {}
            }
            closed.open.fetch_sub(1, Ordering::SeqCst);
        });
        while connections.try_join_next().is_some() {}
    }
}

/// Sets `x-backend: NAME` on every response of the inner service.
#[derive(Clone)]
struct Named<S> {
    inner: S,
    name: http::HeaderValue,
}

impl<S, Req, B> tower::Service<Req> for Named<S>
where
    S: tower::Service<Req, Response = Response<B>>,
    S::Future: Send + 'static,
    B: 'static,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response<B>, S::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let future = self.inner.call(req);
        let name = self.name.clone();
        Box::pin(async move {
            let mut response = future.await?;
            response.headers_mut().insert("x-backend", name);
            Ok(response)
        })
    }
}

fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

async fn answer(
    state: Arc<State>,
    kill: Arc<Notify>,
    req: Request<Incoming>,
) -> Result<Response<BoxBody<Bytes, BoxError>>, Infallible> {
    state.hits.fetch_add(1, Ordering::SeqCst);
    let query = req.uri().query().unwrap_or_default().to_owned();
    let delay = query_value(&query, "delay_ms")
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis);
    let latency = Duration::from_micros(state.latency_us.load(Ordering::SeqCst));
    let wait = delay.unwrap_or(latency);
    // A zero sleep still waits for the timer's next millisecond tick: skip it.
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    if state.config.drop_all || query_value(&query, "drop").is_some() {
        // Close this connection without answering: the client sees it cut.
        kill.notify_one();
        return std::future::pending().await;
    }
    let described = describe(&state.config.name, &req);
    let body_bytes = count_body(req.into_body()).await;
    let status = match state.status_override.load(Ordering::SeqCst) {
        0 => query_value(&query, "status")
            .and_then(|s| s.parse().ok())
            .unwrap_or(state.config.status),
        s => s,
    };
    let (body, kind) = match query_value(&query, "bytes").and_then(|b| b.parse::<u64>().ok()) {
        Some(n) => (stream_bytes(n), "application/octet-stream"),
        None => {
            let mut json = described;
            json["body_bytes"] = body_bytes.into();
            (full(json.to_string()), "application/json")
        }
    };
    let mut response = Response::new(body);
    let kind = http::HeaderValue::from_static(kind);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, kind);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        "x-backend",
        state.config.name.parse().expect("name is a header value"),
    );
    Ok(response)
}

fn describe(name: &str, req: &Request<Incoming>) -> serde_json::Value {
    let headers: serde_json::Map<String, serde_json::Value> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned().into(),
            )
        })
        .collect();
    serde_json::json!({
        "backend": name,
        "method": req.method().as_str(),
        "path": req.uri().path(),
        "query": req.uri().query(),
        "version": format!("{:?}", req.version()),
        "headers": headers,
    })
}

async fn count_body(mut body: Incoming) -> u64 {
    let mut total = 0;
    while let Some(Ok(frame)) = body.frame().await {
        total += frame.data_ref().map_or(0, |d| d.len() as u64);
    }
    total
}

fn full(text: String) -> BoxBody<Bytes, BoxError> {
    http_body_util::Full::new(Bytes::from(text))
        .map_err(|never| match never {})
        .boxed()
}

/// `n` bytes in 64 KiB chunks, generated as they are sent (never held in memory at once).
fn stream_bytes(n: u64) -> BoxBody<Bytes, BoxError> {
    const CHUNK: u64 = 64 * 1024;
    let chunk = Bytes::from(vec![b'x'; CHUNK as usize]);
    let frames = futures_util::stream::unfold(n, move |left| {
        let chunk = chunk.clone();
        async move {
            (left > 0).then(|| {
                let take = left.min(CHUNK);
                (
                    Ok::<_, BoxError>(Frame::data(chunk.slice(..take as usize))),
                    left - take,
                )
            })
        }
    });
    StreamBody::new(frames).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Client;
    use std::time::Instant;

    const REPORT: &str = "endpoint-load-metrics";

    async fn until_in_flight(backend: &Backend, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while backend.in_flight() != n {
            assert!(Instant::now() < deadline, "never {n} in flight");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn plain_backend_sends_no_report() {
        let backend = Backend::start(BackendConfig::named("a")).await;
        let reply = Client::http1(backend.address()).get("/").await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header(REPORT), None);
        assert_eq!(backend.hits(), 1);
    }

    #[tokio::test]
    async fn reports_utilization_over_its_limit() {
        let config = BackendConfig::named("a").report_utilization();
        let backend = Backend::start(config).await;
        let reply = Client::http1(backend.address()).get("/").await;
        assert_eq!(
            reply.header(REPORT),
            Some("TEXT application_utilization=0.010")
        );

        let config = BackendConfig::named("b")
            .concurrency_limit(4)
            .report_utilization();
        let backend = Backend::start(config).await;
        let reply = Client::http1(backend.address()).get("/").await;
        assert_eq!(
            reply.header(REPORT),
            Some("TEXT application_utilization=0.250")
        );
    }

    #[tokio::test]
    async fn sheds_beyond_its_concurrency_limit() {
        let config = BackendConfig::named("a")
            .concurrency_limit(2)
            .report_utilization()
            .latency(Duration::from_secs(30));
        let backend = Backend::start(config).await;
        let client = Client::http1(backend.address());
        let held: Vec<_> = (0..2)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.get("/?delay_ms=400").await })
            })
            .collect();
        until_in_flight(&backend, 2).await;

        let shed = client.get("/").await;
        assert_eq!(shed.status, 503);
        assert_eq!(shed.header("x-backend"), Some("a"));
        assert_eq!(
            shed.header(REPORT),
            Some("TEXT application_utilization=1.000")
        );
        for reply in held {
            let reply = reply.await.unwrap();
            assert_eq!(reply.status, 200);
            let reported = switchyard_orca::parse(reply.header(REPORT).unwrap().as_bytes());
            assert!(reported.is_some_and(|u| u >= 0.5), "{reported:?}");
        }
        assert_eq!(backend.hits(), 2, "the shed request was handled");
        assert_eq!(backend.requests(), 3, "the shed request was not counted");
        assert_eq!(backend.in_flight(), 0);
    }

    #[tokio::test]
    async fn latency_changes_at_run_time() {
        let config = BackendConfig::named("a").latency(Duration::from_secs(30));
        let backend = Backend::start(config).await;
        backend.set_latency(Duration::ZERO);
        let client = Client::http1(backend.address());
        let started = Instant::now();
        assert_eq!(client.get("/").await.status, 200);
        assert!(started.elapsed() < Duration::from_secs(5));

        backend.set_latency(Duration::from_millis(200));
        let started = Instant::now();
        assert_eq!(client.get("/").await.status, 200);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}
