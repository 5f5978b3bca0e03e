//! The admin listener: `/metrics` (Prometheus/OpenMetrics text), `/clusters` (every
//! endpoint's balancer state, JSON) and `/ready`, on its own address (loopback by default),
//! behind a bearer token when one is configured.

use crate::state::Shared;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use std::convert::Infallible;
use std::sync::Arc;
use switchyard_config::Secret;
use tokio::net::TcpListener;
use tokio::sync::watch;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves admin requests until `stop` fires.
pub(crate) async fn serve(
    listener: TcpListener,
    token: Option<Secret>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let token = Arc::new(token);
    loop {
        let stream = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "admin accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (shared, token) = (Arc::clone(&shared), Arc::clone(&token));
        let service = service_fn(move |req: Request<Incoming>| {
            let response = answer(&req, token.as_ref().as_ref(), &shared);
            async move { Ok::<_, Infallible>(response) }
        });
        tokio::spawn(async move {
            let builder = Builder::new(TokioExecutor::new());
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer<B>(req: &Request<B>, token: Option<&Secret>, shared: &Shared) -> Response<Full<Bytes>> {
    if let Some(token) = token
        && !authorized(req, token)
    {
        let mut response = plain(StatusCode::UNAUTHORIZED, "a bearer token is required\n");
        let challenge = HeaderValue::from_static("Bearer realm=\"switchyard-admin\"");
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
        return response;
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
    }
    match req.uri().path() {
        "/metrics" => {
            let runtime = shared.runtime.load();
            let text = runtime.metrics.render(&runtime.clusters);
            let mut response = Response::new(Full::new(Bytes::from(text)));
            let kind = HeaderValue::from_static(OPENMETRICS);
            response.headers_mut().insert(header::CONTENT_TYPE, kind);
            response
        }
        "/clusters" => {
            let document = crate::cluster_report::clusters_json(&shared.runtime.load().clusters);
            let mut response = Response::new(Full::new(Bytes::from(document.to_string())));
            let kind = HeaderValue::from_static("application/json");
            response.headers_mut().insert(header::CONTENT_TYPE, kind);
            response
        }
        "/ready" => plain(StatusCode::OK, "ready\n"),
        _ => plain(
            StatusCode::NOT_FOUND,
            "admin paths: /metrics, /clusters, /ready\n",
        ),
    }
}

/// `Authorization: Bearer <token>`, compared in time independent of where it differs.
fn authorized<B>(req: &Request<B>, token: &Secret) -> bool {
    let mut values = req.headers().get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Some(given) = value.as_bytes().strip_prefix(b"Bearer ") else {
        return false;
    };
    let expected = token.0.as_bytes();
    let differ = given
        .iter()
        .zip(expected)
        .fold(given.len() ^ expected.len(), |acc, (a, b)| {
            acc | usize::from(a ^ b)
        });
    differ == 0
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    let kind = HeaderValue::from_static("text/plain; charset=utf-8");
    response.headers_mut().insert(header::CONTENT_TYPE, kind);
    response
}
