//! Every reason the gateway answers a request itself, with its status and reason code, and the
//! one place that turns a fault into an `application/problem+json` response (RFC 9457).

use crate::body::ProxyBody;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

/// Why the gateway answered instead of the upstream. Client faults map to 4xx, upstream
/// faults to 502/503/504.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    #[error("no route matches this request")]
    RouteNotFound,
    #[error("an HTTP/1.1 request needs exactly one Host header")]
    BadHost,
    #[error("Content-Length and Transfer-Encoding must not both be present")]
    AmbiguousFraming,
    #[error("the request body is larger than this listener allows")]
    BodyTooLarge,
    #[error("the request body was malformed or cut short")]
    MalformedBody,
    #[error("the request path is not a valid origin-form path")]
    BadPath,
    #[error("this route answers GET and POST only")]
    MethodNotAllowed,
    #[error("the cluster has no endpoint left to try")]
    NoEndpoint,
    #[error("the cluster is at its connection and pending-request limits")]
    Overloaded,
    #[error("could not connect to the upstream")]
    UpstreamConnect,
    #[error("the upstream closed or reset the connection")]
    UpstreamReset,
    #[error("the upstream did not answer in time")]
    UpstreamTimeout,
}

impl Fault {
    pub fn status(self) -> StatusCode {
        match self {
            Fault::RouteNotFound => StatusCode::NOT_FOUND,
            Fault::BadHost | Fault::AmbiguousFraming | Fault::MalformedBody | Fault::BadPath => {
                StatusCode::BAD_REQUEST
            }
            Fault::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Fault::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Fault::NoEndpoint | Fault::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Fault::UpstreamConnect | Fault::UpstreamReset => StatusCode::BAD_GATEWAY,
            Fault::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The stable reason code written to the access log and the problem body.
    pub fn code(self) -> &'static str {
        match self {
            Fault::RouteNotFound => "route_not_found",
            Fault::BadHost => "bad_host",
            Fault::AmbiguousFraming => "ambiguous_framing",
            Fault::BodyTooLarge => "body_too_large",
            Fault::MalformedBody => "malformed_body",
            Fault::BadPath => "bad_path",
            Fault::MethodNotAllowed => "method_not_allowed",
            Fault::NoEndpoint => "no_endpoint",
            Fault::Overloaded => "overloaded",
            Fault::UpstreamConnect => "upstream_connect_failure",
            Fault::UpstreamReset => "upstream_reset",
            Fault::UpstreamTimeout => "upstream_timeout",
        }
    }

    /// Whether the connection should be closed after answering (the framing can't be trusted).
    pub fn closes_connection(self) -> bool {
        matches!(
            self,
            Fault::AmbiguousFraming | Fault::MalformedBody | Fault::BodyTooLarge
        )
    }

    /// The problem+json response for this fault.
    pub fn respond(self) -> Response<ProxyBody> {
        let status = self.status();
        let body = serde_json::json!({
            "type": format!("https://switchyard.dev/problems/{}", self.code()),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.to_string(),
            "code": self.code(),
        });
        let mut response = Response::new(ProxyBody::full(Bytes::from(body.to_string())));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self == Fault::MethodNotAllowed {
            headers.insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        }
        if self.closes_connection() {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
