//! GraphQL over HTTP on the way in and out: a request from a `POST` JSON body or `GET` query
//! string, and the response media type from `Accept`.

use super::execute::GraphqlRequest;
use serde_json::{Map, Value};
use switchyard_core::percent_decode;

pub(super) const GRAPHQL_RESPONSE: &str = "application/graphql-response+json; charset=utf-8";
pub(super) const JSON: &str = "application/json; charset=utf-8";

/// Why an HTTP request carries no GraphQL request (answered with `400`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Malformed(pub(super) String);

/// The request as JSON, as recorded: the body of a `POST` (its text as a JSON string when it
/// is not JSON), the `{"query", "variables", "operationName"}` parameters of a `GET`.
pub(super) fn recorded(get: bool, query_string: Option<&str>, body: &[u8]) -> Value {
    if get {
        return from_query_string(query_string.unwrap_or_default());
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// The GraphQL request in a recorded body or parameter set.
pub(super) fn graphql_request(recorded: &Value) -> Result<GraphqlRequest, Malformed> {
    let malformed = |message: &str| Malformed(message.to_owned());
    let object = recorded
        .as_object()
        .ok_or_else(|| malformed("the request body must be a JSON object"))?;
    let query = object.get("query").and_then(Value::as_str);
    let query = query.ok_or_else(|| malformed("the request has no query string"))?;
    let operation_name = match object.get("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err(malformed("operationName must be a string")),
    };
    Ok(GraphqlRequest {
        query: query.to_owned(),
        variables: variables(object.get("variables"))?,
        operation_name,
    })
}

fn variables(value: Option<&Value>) -> Result<Map<String, Value>, Malformed> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(Malformed("variables must be a JSON object".to_owned())),
        },
        Some(_) => Err(Malformed("variables must be a JSON object".to_owned())),
    }
}

/// `query`, `variables` (parsed when it is JSON) and `operationName` from a query string.
fn from_query_string(query_string: &str) -> Value {
    let mut object = Map::new();
    for pair in query_string.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (percent_decode(name, true), percent_decode(value, true));
        let value = match name.as_str() {
            "variables" | "extensions" => {
                serde_json::from_str(&value).unwrap_or(Value::String(value))
            }
            _ => Value::String(value),
        };
        object.insert(name, value);
    }
    Value::Object(object)
}

/// `application/json` when the client accepts that and not `application/graphql-response+json`;
/// otherwise (including no `Accept`) the GraphQL response media type.
pub(super) fn media_type(accept: Option<&str>) -> &'static str {
    match accept {
        Some(accept)
            if accept.contains("application/json")
                && !accept.contains("application/graphql-response+json") =>
        {
            JSON
        }
        _ => GRAPHQL_RESPONSE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_strings() {
        assert_eq!(percent_decode("a%20b+c%7B%zz", true), "a b c{%zz");
        let recorded = recorded(
            true,
            Some("query=%7B+a+%7D&variables=%7B%22x%22%3A1%7D"),
            b"",
        );
        assert_eq!(
            recorded,
            serde_json::json!({"query": "{ a }", "variables": {"x": 1}})
        );
        let request = graphql_request(&recorded).unwrap();
        assert_eq!(request.variables["x"], 1);
    }

    #[test]
    fn rejects_requests_without_a_query() {
        assert!(graphql_request(&Value::String("x".into())).is_err());
        assert!(graphql_request(&serde_json::json!({"variables": {}})).is_err());
        assert!(graphql_request(&serde_json::json!({"query": "{a}", "variables": 3})).is_err());
    }

    #[test]
    fn negotiates_the_media_type() {
        assert_eq!(media_type(None), GRAPHQL_RESPONSE);
        assert_eq!(media_type(Some("application/json")), JSON);
        let both = "application/graphql-response+json, application/json;q=0.9";
        assert_eq!(media_type(Some(both)), GRAPHQL_RESPONSE);
    }
}
