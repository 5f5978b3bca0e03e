//! A test client over real sockets: HTTP/1.1 or h2c (prior knowledge), pooled.

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;

/// A response read to the end.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends requests to one address.
#[derive(Debug, Clone)]
pub struct Client {
    address: SocketAddr,
    inner: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    pub fn http1(address: SocketAddr) -> Self {
        Self {
            address,
            inner: HyperClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub fn h2c(address: SocketAddr) -> Self {
        let inner = HyperClient::builder(TokioExecutor::new())
            .http2_only(true)
            .build_http();
        Self { address, inner }
    }

    /// Builds a request to `path` on this client's address with the given `Host`.
    pub fn request(&self, method: Method, host: &str, path: &str) -> http::request::Builder {
        let uri = format!("http://{}{}", self.address, path);
        let builder = Request::builder().method(method).uri(uri);
        if host.is_empty() {
            builder
        } else {
            builder.header("host", host)
        }
    }

    pub async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<Reply, hyper_util::client::legacy::Error> {
        let response = self.inner.request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        Ok(Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    pub async fn get(&self, path: &str) -> Reply {
        let request = self
            .request(Method::GET, "", path)
            .body(Full::default())
            .expect("valid request");
        self.send(request).await.expect("request failed")
    }

    /// Sends `total` GETs of `path` from `concurrency` clients at once, each client one
    /// request after another; returns how many failed (no answer, or not `200`).
    pub async fn get_many(&self, path: &str, total: usize, concurrency: usize) -> usize {
        let clients = (0..concurrency).map(|_| async {
            let mut failed = 0;
            for _ in 0..total / concurrency {
                let request = self
                    .request(Method::GET, "", path)
                    .body(Full::default())
                    .expect("valid request");
                if !matches!(self.send(request).await, Ok(r) if r.status == 200) {
                    failed += 1;
                }
            }
            failed
        });
        futures_util::future::join_all(clients).await.iter().sum()
    }
}
