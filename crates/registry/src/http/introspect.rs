//! A subgraph publishing itself by URL: the registry POSTs `{ _service { sdl } }` to it.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use serde_json::Value;

use super::ServerConfig;
use super::client::{self, Limits};

const QUERY: &str = r#"{"query":"{ _service { sdl } }"}"#;

/// The subgraph's SDL as its `_service` field gives it, or why not.
pub(crate) async fn fetch_sdl(url: &str, config: &ServerConfig) -> Result<String, String> {
    let mut headers = HeaderMap::new();
    let json = HeaderValue::from_static("application/json");
    headers.insert(header::CONTENT_TYPE, json.clone());
    headers.insert(header::ACCEPT, json);
    let limits = Limits {
        timeout: config.introspect_timeout,
        max_body: config.introspect_limit,
    };
    let reply = client::send(
        Method::POST,
        url,
        headers,
        Bytes::from_static(QUERY.as_bytes()),
        limits,
    )
    .await
    .map_err(|e| format!("cannot read _service {{ sdl }} from {url}: {e}"))?;
    if !reply.status.is_success() {
        return Err(format!(
            "cannot read _service {{ sdl }} from {url}: it answered {}",
            reply.status
        ));
    }
    let answer: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| format!("{url} answered _service {{ sdl }} with invalid JSON: {e}"))?;
    match answer.pointer("/data/_service/sdl") {
        Some(Value::String(sdl)) => Ok(sdl.clone()),
        _ => {
            let errors = answer
                .get("errors")
                .map_or_else(String::new, |e| format!(": {e}"));
            Err(format!("{url} gave no _service.sdl{errors}"))
        }
    }
}
