//! Server-reported utilization in the ORCA format that Envoy and gRPC read.
//!
//! A backend tells its load balancer how busy it is in a response header,
//! `endpoint-load-metrics`, in one of three forms:
//!
//! ```text
//! endpoint-load-metrics: TEXT cpu_utilization=0.42, application_utilization=0.5, named_metrics.foo=1
//! endpoint-load-metrics: JSON {"cpu_utilization":0.42,"application_utilization":0.5}
//! endpoint-load-metrics: BIN CgkJexSuR+F6hD8=
//! ```
//!
//! [`parse`] reads the first two (the balancer's side), [`format_text`] writes the first, and
//! [`LoadReportLayer`] is a tower layer for backends (the testkit's among them) that reports
//! `requests in flight / limit` on every response and can shed load above a concurrency limit
//! with `503 Service Unavailable`.
//!
//! A backend adding the layer, served by hyper through hyper-util's `TowerToHyperService`:
//!
//! ```no_run
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use hyper::body::Incoming;
//! use hyper_util::rt::{TokioExecutor, TokioIo};
//! use hyper_util::server::conn::auto::Builder;
//! use hyper_util::service::TowerToHyperService;
//! use std::convert::Infallible;
//! use switchyard_orca::LoadReportLayer;
//! use tower::Layer;
//!
//! async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from_static(b"hello\n"))))
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! // One layer for the whole server: its in-flight count spans every connection.
//! // Reports in_flight / 64, and answers 503 rather than run a 65th request at once.
//! let load = LoadReportLayer::new(64).shed_above(64);
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     let service = TowerToHyperService::new(load.layer(tower::service_fn(hello)));
//!     tokio::spawn(async move {
//!         let builder = Builder::new(TokioExecutor::new());
//!         let _ = builder.serve_connection(TokioIo::new(stream), service).await;
//!     });
//! }
//! # }
//! ```

mod layer;
mod report;

pub use layer::{DEFAULT_HEADER, LoadReport, LoadReportLayer, ResponseFuture};
pub use report::format_text;

/// The utilization in [0, 1] that an `endpoint-load-metrics` header value reports.
///
/// Reads the `TEXT` form (comma-separated `key=value`, whitespace around either tolerated) and
/// the `JSON` form (an object; the lowerCamelCase field names of the protobuf JSON mapping are
/// accepted too). The form's name is matched ignoring ASCII case.
///
/// As gRPC's weighted round robin does, this is `application_utilization` when present and
/// above zero, else `cpu_utilization`; a report of `application_utilization=0` alone is 0.
/// Other fields (`mem_utilization`, `named_metrics.*`, ...) are not read.
///
/// ORCA lets `cpu_utilization` exceed 1 (a multi-core server adding up its cores); the result
/// is clamped to [0, 1] because the balancer compares endpoints by a fraction of capacity.
///
/// `None` when the value has no utilization field, is in the `BIN` (binary protobuf) form or
/// any other, is not UTF-8 or not well formed, or when either field read is not a finite
/// non-negative number or appears twice. Never panics.
pub fn parse(value: &[u8]) -> Option<f64> {
    report::parse(value)
}
