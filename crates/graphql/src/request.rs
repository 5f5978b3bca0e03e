//! A GraphQL request as GraphQL over HTTP carries it: a JSON body (POST) or query parameters (GET).

use apollo_compiler::response::{JsonMap, JsonValue};

/// `query`, `operationName`, `variables` and `extensions` of one request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: JsonMap,
    pub extensions: JsonMap,
}

/// A request body or query string that is not a GraphQL request.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

impl Request {
    /// Reads a POST body: a JSON object with `query` (or only `extensions` for a persisted query).
    pub fn from_json(body: &[u8]) -> Result<Self, BadRequest> {
        let value: JsonValue = serde_json::from_slice(body)
            .map_err(|e| BadRequest(format!("request body is not JSON: {e}")))?;
        let JsonValue::Object(mut map) = value else {
            return Err(BadRequest("request body must be a JSON object".into()));
        };
        Ok(Request {
            query: optional_string(&mut map, "query")?,
            operation_name: optional_string(&mut map, "operationName")?,
            variables: optional_object(map.remove("variables"), "variables")?,
            extensions: optional_object(map.remove("extensions"), "extensions")?,
        })
    }

    /// Reads GET query parameters; `variables` and `extensions` are JSON-encoded.
    pub fn from_query(query: &str) -> Result<Self, BadRequest> {
        let mut request = Request::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value)
                .ok_or_else(|| BadRequest(format!("bad percent-encoding in `{key}`")))?;
            match key {
                "query" => request.query = Some(value),
                "operationName" => request.operation_name = Some(value).filter(|v| !v.is_empty()),
                "variables" => request.variables = json_param(&value, "variables")?,
                "extensions" => request.extensions = json_param(&value, "extensions")?,
                _ => {}
            }
        }
        Ok(request)
    }
}

fn optional_string(map: &mut JsonMap, key: &str) -> Result<Option<String>, BadRequest> {
    match map.remove(key) {
        None | Some(JsonValue::Null) => Ok(None),
        Some(JsonValue::String(s)) => Ok(Some(s.as_str().to_owned())),
        Some(_) => Err(BadRequest(format!("`{key}` must be a string"))),
    }
}

fn optional_object(value: Option<JsonValue>, key: &str) -> Result<JsonMap, BadRequest> {
    match value {
        None | Some(JsonValue::Null) => Ok(JsonMap::new()),
        Some(JsonValue::Object(m)) => Ok(m),
        Some(_) => Err(BadRequest(format!("`{key}` must be an object"))),
    }
}

fn json_param(text: &str, key: &str) -> Result<JsonMap, BadRequest> {
    if text.is_empty() {
        return Ok(JsonMap::new());
    }
    let value = serde_json::from_str::<serde_json::Value>(text)
        .map(serde_json_bytes::Value::from)
        .map_err(|e| BadRequest(format!("`{key}` is not JSON: {e}")))?;
    optional_object(Some(value), key)
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}
