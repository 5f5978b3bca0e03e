//! Runs one GraphQL request against the subgraph's schema and data: parse, validate, pick the
//! operation, coerce variables, execute, and shape the response JSON.

use super::resolve::Resolver;
use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::OperationType;
use apollo_compiler::resolvers::Execution;
use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue};
use serde_json::{Map, Value, json};

/// The `{"query", "variables", "operationName"}` of a GraphQL-over-HTTP request.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GraphqlRequest {
    pub(super) query: String,
    pub(super) variables: Map<String, Value>,
    pub(super) operation_name: Option<String>,
}

/// What came of a request.
pub(super) enum Outcome {
    /// A response: `{"data": ...}` with `errors` if any, or `{"errors": [...]}` alone for a
    /// request error (syntax, validation, variables, unknown operation).
    Response(Value),
    /// A mutation sent with `GET`, which GraphQL over HTTP forbids.
    MutationOverGet,
}

/// The prefix apollo-compiler puts before resolver error messages; stored `$error` messages are
/// reported without it.
const RESOLVER_PREFIX: &str = "resolver error: ";

pub(super) fn execute(resolver: &Resolver<'_>, request: &GraphqlRequest, get: bool) -> Outcome {
    let schema = resolver.schema;
    let document =
        match ExecutableDocument::parse_and_validate(schema, &request.query, "request.graphql") {
            Ok(document) => document,
            Err(invalid) => {
                let errors: Vec<GraphQLError> =
                    invalid.errors.iter().map(|d| d.to_json()).collect();
                return Outcome::Response(json!({ "errors": errors }));
            }
        };
    let operation = match document.operations.get(request.operation_name.as_deref()) {
        Ok(operation) => operation,
        Err(error) => {
            return Outcome::Response(request_error(error.to_graphql_error(&document.sources)));
        }
    };
    if get && operation.operation_type == OperationType::Mutation {
        return Outcome::MutationOverGet;
    }
    let kind = operation.operation_type.default_type_name();
    let root = resolver.root(operation.object_type(), kind.as_str());
    let variables = to_json_map(&request.variables);
    let result = Execution::new(schema, &document)
        .operation(operation)
        .raw_variable_values(&variables)
        .enable_schema_introspection(true)
        .execute_sync(&root);
    let response = match result {
        Ok(response) => serde_json::to_value(response).unwrap_or(Value::Null),
        Err(error) => request_error(error.to_graphql_error(&document.sources)),
    };
    Outcome::Response(without_resolver_prefix(response))
}

fn request_error(error: GraphQLError) -> Value {
    json!({ "errors": [error] })
}

fn to_json_map(variables: &Map<String, Value>) -> JsonMap {
    match JsonValue::from(Value::Object(variables.clone())) {
        JsonValue::Object(map) => map,
        _ => JsonMap::new(),
    }
}

/// Field errors raised by the data keep the stored message, without apollo-compiler's prefix.
fn without_resolver_prefix(mut response: Value) -> Value {
    let errors = response.get_mut("errors").and_then(Value::as_array_mut);
    for error in errors.into_iter().flatten() {
        let Some(Value::String(message)) = error.get_mut("message") else {
            continue;
        };
        if let Some(stripped) = message.strip_prefix(RESOLVER_PREFIX) {
            *message = stripped.to_owned();
        }
    }
    response
}
