//! Reading requests and writing JSON answers: the body under a size cap and a timeout, the
//! author and message headers.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Registry;
use super::problem::{Answer, Problem};

/// `x-registry-author` (default "anonymous") and `x-registry-message`.
pub(crate) fn author_and_message(headers: &HeaderMap) -> Result<(String, Option<String>), Problem> {
    let text = |name: &str| -> Result<Option<String>, Problem> {
        headers
            .get(name)
            .map(|v| {
                v.to_str()
                    .map(str::to_owned)
                    .map_err(|_| Problem::bad_request(format!("{name} must be visible ASCII")))
            })
            .transpose()
    };
    let author = text("x-registry-author")?.unwrap_or_else(|| "anonymous".to_owned());
    Ok((author, text("x-registry-message")?))
}

/// Reads at most the configured number of bytes and parses them as `T`.
pub(crate) async fn read_json<T: DeserializeOwned>(
    registry: &Registry,
    req: Request<Incoming>,
) -> Result<T, Problem> {
    let limit = registry.config.body_limit;
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let timeout = registry.config.body_timeout;
    let read = Limited::new(req.into_body(), limit).collect();
    let bytes = tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| {
            Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!("the request body did not arrive within {timeout:?}"),
            )
        })?
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                too_large()
            } else {
                Problem::bad_request(format!("cannot read the request body: {e}"))
            }
        })?
        .to_bytes();
    serde_json::from_slice(&bytes)
        .map_err(|e| Problem::bad_request(format!("the body is not the expected JSON: {e}")))
}

pub(crate) fn json_answer(status: StatusCode, body: &Value) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let kind = HeaderValue::from_static("application/json");
    response.headers_mut().insert(header::CONTENT_TYPE, kind);
    response
}
