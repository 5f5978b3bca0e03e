//! A small HTTP/1.1 client (plain `http://` only) with a timeout and a cap on the answer's
//! size: the registry reads subgraph SDLs with it, and `switchyard registry` talks to the
//! registry with it.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// An answer, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0:?} is not an http:// URL with a host")]
    InvalidUrl(String),
    #[error("cannot connect to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("HTTP error: {0}")]
    Http(#[from] hyper::Error),
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("cannot read the answer: {0}")]
    Body(String),
}

/// Limits of one request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// For the whole exchange: connect, send, read the answer.
    pub timeout: Duration,
    /// The largest answer body read, in bytes.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_body: 64 * 1024 * 1024,
        }
    }
}

/// Sends `body` to `url` (an absolute `http://` URL) and reads the whole answer.
pub async fn send(
    method: Method,
    url: &str,
    headers: HeaderMap,
    body: Bytes,
    limits: Limits,
) -> Result<Reply, ClientError> {
    let exchange = exchange(method, url, headers, body, limits.max_body);
    tokio::time::timeout(limits.timeout, exchange)
        .await
        .map_err(|_| ClientError::TimedOut(limits.timeout))?
}

async fn exchange(
    method: Method,
    url: &str,
    headers: HeaderMap,
    body: Bytes,
    max_body: usize,
) -> Result<Reply, ClientError> {
    let invalid = || ClientError::InvalidUrl(url.to_owned());
    let uri: Uri = url.parse().map_err(|_| invalid())?;
    if uri.scheme_str() != Some("http") {
        return Err(invalid());
    }
    let authority = uri.authority().ok_or_else(invalid)?.clone();
    let target = format!(
        "{}:{}",
        authority.host(),
        authority.port_u16().unwrap_or(80)
    );
    let stream = TcpStream::connect(&target)
        .await
        .map_err(|e| ClientError::Connect(target.clone(), e))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .body(Full::new(body))
        .map_err(|_| invalid())?;
    *request.headers_mut() = headers;
    let host = HeaderValue::from_str(authority.as_str()).map_err(|_| invalid())?;
    request.headers_mut().insert(header::HOST, host);
    let response = sender.send_request(request).await?;
    let (parts, incoming) = response.into_parts();
    let body = Limited::new(incoming, max_body)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                ClientError::TooLarge(max_body)
            } else {
                ClientError::Body(e.to_string())
            }
        })?
        .to_bytes();
    Ok(Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}
