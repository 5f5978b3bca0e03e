//! One JWKS fetch: a GET over HTTP/1.1 (TLS for https) on a fresh connection, within a timeout,
//! with the answer's size capped. Anything but a 200 is a failure; redirects are not followed.

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The largest JWKS document read (real ones are a few KiB).
pub(crate) const MAX_BYTES: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    #[error("HTTP exchange failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("answered {0}, not 200 OK")]
    Status(StatusCode),
    #[error("the document is larger than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("the body cannot be read: {0}")]
    Body(String),
}

/// Where the keys are fetched from, resolved once per policy.
pub(crate) struct Target {
    path: Uri,
    host_header: HeaderValue,
    /// Host to connect to (an IPv6 literal without its brackets) and port.
    host: String,
    port: u16,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    timeout: Duration,
    /// The URL without its query, for logs.
    pub(crate) shown: String,
}

impl Target {
    /// `url` as checked by the config; `ca_pem` adds trusted CAs to Mozilla's roots.
    pub(crate) fn new(url: &str, timeout: Duration, ca_pem: Option<&str>) -> Result<Self, String> {
        let uri: Uri = url.parse().map_err(|e| format!("jwks_url: {e}"))?;
        let https = uri
            .scheme_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("https"));
        let authority = uri.authority().ok_or("jwks_url: no host")?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let tls = if https {
            Some((connector(ca_pem)?, server_name(host)?))
        } else {
            None
        };
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        Ok(Self {
            shown: format!(
                "{}://{authority}{}",
                if https { "https" } else { "http" },
                uri.path()
            ),
            path: path.parse().map_err(|e| format!("jwks_url: {e}"))?,
            host_header: HeaderValue::from_str(authority.as_str()).map_err(|e| e.to_string())?,
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            tls,
            timeout,
        })
    }

    /// The document's bytes, or why there are none.
    pub(crate) async fn fetch(&self) -> Result<Bytes, FetchError> {
        tokio::time::timeout(self.timeout, self.exchange())
            .await
            .map_err(|_| FetchError::Timeout(self.timeout))?
    }

    async fn exchange(&self) -> Result<Bytes, FetchError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(FetchError::Connect)?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => get(tcp, self.request()).await,
            Some((connector, name)) => {
                let tls = connector.connect(name.clone(), tcp).await;
                get(tls.map_err(FetchError::Tls)?, self.request()).await
            }
        }
    }

    fn request(&self) -> Request<Empty<Bytes>> {
        let mut request = Request::new(Empty::new());
        *request.uri_mut() = self.path.clone();
        let headers = request.headers_mut();
        headers.insert(header::HOST, self.host_header.clone());
        let accept = HeaderValue::from_static("application/jwk-set+json, application/json");
        headers.insert(header::ACCEPT, accept);
        headers.insert(header::USER_AGENT, HeaderValue::from_static("switchyard"));
        request
    }
}

/// Sends `request` on `stream` and reads a 200's body, at most [`MAX_BYTES`] of it.
async fn get<S>(stream: S, request: Request<Empty<Bytes>>) -> Result<Bytes, FetchError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let exchange = async move {
        let response = sender.send_request(request).await?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status(response.status()));
        }
        let declared = response.headers().get(header::CONTENT_LENGTH);
        let declared = declared.and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|len| len > MAX_BYTES as u64) {
            return Err(FetchError::TooLarge);
        }
        let body = Limited::new(response.into_body(), MAX_BYTES)
            .collect()
            .await;
        body.map(|b| b.to_bytes()).map_err(|e| {
            if e.is::<LengthLimitError>() {
                FetchError::TooLarge
            } else {
                FetchError::Body(e.to_string())
            }
        })
    };
    tokio::select! {
        result = exchange => result,
        Err(e) = conn => Err(e.into()),
    }
}

/// A TLS client trusting Mozilla's roots and the CAs of `ca_pem`.
fn connector(ca_pem: Option<&str>) -> Result<TlsConnector, String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = ca_pem {
        let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect();
        let certs = certs.map_err(|e| format!("ca_file: {e}"))?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err("ca_file: no usable CA certificate".to_owned());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let mut config = config.with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_owned()).map_err(|e| format!("jwks_url: host `{host}`: {e}"))
}
