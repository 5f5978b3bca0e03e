//! A real Apollo Federation subgraph for gateway tests: an SDL plus JSON data, served as
//! GraphQL over HTTP on a loopback port.
//!
//! Root fields read `data["Query"]` (`data["Mutation"]`); an object of type `T` is completed
//! by the first row of `data["entities"][T]` that agrees with it on every field they share;
//! a field with arguments and no stored value looks its rows up in its type's table;
//! `{"$error": "message"}` raises a field error; `_entities` and `_service` work as the
//! federation spec says. See [`Subgraph::start`].

mod execute;
mod request;
mod resolve;
mod schema;

use bytes::Bytes;
use execute::Outcome;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use resolve::Resolver;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use resolve::ComputedField;

/// How a subgraph behaves beyond its SDL and data.
#[derive(Default, Clone)]
pub struct SubgraphOptions {
    /// Added before every answer (after the request is read and recorded).
    pub latency: Duration,
    /// Called first for every field (federation's `_entities`/`_service` aside) with
    /// (type, field, object incl. representation fields, arguments); `Some` is the field's value.
    pub computed: Option<Arc<ComputedField>>,
    /// Added to every response.
    pub response_headers: Vec<(String, String)>,
    /// Answer every request with this HTTP status and a JSON `{"errors": [...]}` body.
    pub status: Option<u16>,
}

impl std::fmt::Debug for SubgraphOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubgraphOptions")
            .field("latency", &self.latency)
            .field("computed", &self.computed.is_some())
            .field("response_headers", &self.response_headers)
            .field("status", &self.status)
            .finish()
    }
}

struct Shared {
    name: String,
    sdl: String,
    schema: apollo_compiler::validation::Valid<apollo_compiler::Schema>,
    data: Value,
    options: SubgraphOptions,
    requests: Mutex<Vec<Value>>,
    headers: Mutex<Vec<http::HeaderMap>>,
    count: std::sync::atomic::AtomicUsize,
}

/// Requests a subgraph keeps for inspection (all of them are counted).
pub const KEPT_REQUESTS: usize = 1024;

/// A running subgraph; stops accepting and closes its connections when dropped.
pub struct Subgraph {
    address: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Subgraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subgraph")
            .field("name", &self.shared.name)
            .field("address", &self.address)
            .finish()
    }
}

impl Subgraph {
    /// Starts on `127.0.0.1:0`. Panics, showing the diagnostics, when the SDL is not a usable
    /// subgraph schema.
    pub async fn start(name: &str, sdl: &str, data: Value) -> Subgraph {
        Self::start_with(name, sdl, data, SubgraphOptions::default()).await
    }

    pub async fn start_with(
        name: &str,
        sdl: &str,
        data: Value,
        options: SubgraphOptions,
    ) -> Subgraph {
        let schema = schema::build(name, sdl)
            .unwrap_or_else(|errors| panic!("subgraph {name}: unusable SDL:\n{errors}"));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind subgraph");
        let address = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            sdl: sdl.to_owned(),
            schema,
            data,
            options,
            requests: Mutex::new(Vec::new()),
            headers: Mutex::new(Vec::new()),
            count: std::sync::atomic::AtomicUsize::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Subgraph {
            address,
            shared,
            task,
        }
    }

    /// `http://127.0.0.1:PORT/graphql` (any path is served).
    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Every request received, in order, recorded on arrival (before any latency): a `POST`
    /// body as JSON (its text as a JSON string when it is not JSON), a `GET`'s parameters as
    /// `{"query", "variables", "operationName"}`. Only the first [`KEPT_REQUESTS`] are kept,
    /// so a long-running subgraph (the demo, benchmarks) does not grow without bound.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.recorded().clone()
    }

    /// The headers of the requests kept by [`Subgraph::requests`], in order.
    pub fn request_headers(&self) -> Vec<http::HeaderMap> {
        let headers = self.shared.headers.lock();
        headers.unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Every request received, kept or not.
    pub fn request_count(&self) -> usize {
        self.shared.count.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for Subgraph {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Shared {
    fn recorded(&self) -> std::sync::MutexGuard<'_, Vec<Value>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn resolver(&self) -> Resolver<'_> {
        Resolver {
            schema: &self.schema,
            data: &self.data,
            sdl: &self.sdl,
            computed: self.options.computed.as_deref(),
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| answer(Arc::clone(&shared), req));
            let builder = Builder::new(TokioExecutor::new());
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn answer(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let get = parts.method == Method::GET;
    let recorded = request::recorded(get, parts.uri.query(), &body);
    let seen = shared
        .count
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if seen < KEPT_REQUESTS {
        shared.recorded().push(recorded.clone());
        let headers = shared.headers.lock();
        headers
            .unwrap_or_else(PoisonError::into_inner)
            .push(parts.headers.clone());
    }
    if !shared.options.latency.is_zero() {
        tokio::time::sleep(shared.options.latency).await;
    }
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let (status, media_type, body) = match shared.options.status {
        Some(status) => forced(&shared.name, status),
        None => respond(&shared, &parts.method, &recorded, accept),
    };
    Ok(finish(&shared.options, status, media_type, &body))
}

/// The answer every request gets under `SubgraphOptions::status`.
fn forced(name: &str, status: u16) -> (StatusCode, &'static str, Value) {
    let message = format!("subgraph {name} answers every request with HTTP {status}");
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        request::JSON,
        json!({ "errors": [{ "message": message }] }),
    )
}

fn respond(
    shared: &Shared,
    method: &Method,
    recorded: &Value,
    accept: Option<&str>,
) -> (StatusCode, &'static str, Value) {
    let media_type = request::media_type(accept);
    let error = |status, message: &str| {
        (
            status,
            media_type,
            json!({ "errors": [{ "message": message }] }),
        )
    };
    if method != Method::GET && method != Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, "use GET or POST");
    }
    let graphql = match request::graphql_request(recorded) {
        Ok(graphql) => graphql,
        Err(malformed) => return error(StatusCode::BAD_REQUEST, &malformed.0),
    };
    match execute::execute(&shared.resolver(), &graphql, method == Method::GET) {
        Outcome::Response(body) => (StatusCode::OK, media_type, body),
        Outcome::MutationOverGet => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations need POST, not GET",
        ),
    }
}

fn finish(
    options: &SubgraphOptions,
    status: StatusCode,
    media_type: &'static str,
    body: &Value,
) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, media_type);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response = response.header(header::ALLOW, "GET, POST");
    }
    for (name, value) in &options.response_headers {
        response = response.header(name, value);
    }
    let body = Full::new(Bytes::from(body.to_string()));
    response
        .body(body)
        .unwrap_or_else(|e| panic!("subgraph response header: {e}"))
}
