//! Runs a query plan: fetches in parallel where the plan allows, entity representations de-duplicated
//! and fanned back out, subgraph errors rewritten to client paths.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue, ResponseDataPathSegment};
use futures_util::future::join_all;

use crate::plan::{Fetch, PlanNode};

mod answered;
mod decode;
mod entities;
mod inputs;
mod tree;
pub(crate) use answered::Answered;
pub use decode::Decoded;
use entities::Reps;
pub(crate) use tree::{Leaf, Node, NodeId, ROOT, Sym, Tree};

/// One request to a subgraph, as the GraphQL-over-HTTP JSON body.
#[derive(Debug, Clone)]
pub struct SubgraphRequest {
    pub query: String,
    pub variables: JsonMap,
}

impl SubgraphRequest {
    /// Whether the operation is a mutation (the planner writes `mutation` first for those).
    pub fn is_mutation(&self) -> bool {
        self.query.starts_with("mutation")
    }

    /// The request body, `{"query": ..., "variables": ...}`, written straight to JSON (the
    /// variables, representations included, are not copied first).
    pub fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.query.len() + 64);
        out.extend_from_slice(b"{\"query\":");
        // Writing JSON to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &self.query);
        out.extend_from_slice(b",\"variables\":");
        let _ = serde_json::to_writer(&mut out, &self.variables);
        out.push(b'}');
        out
    }
}

/// Why a subgraph gave no usable answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    pub message: String,
    /// A GraphQL error code for `extensions.code`.
    pub code: &'static str,
}

/// A subgraph's decoded answer, shared: concurrent client requests that made one call read the
/// same answer (the executor merges from it by reference, never consumes it).
pub type Answer = Arc<Decoded>;

/// A boxed future answering a subgraph request.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Answer, FetchError>> + Send + 'a>>;

/// How the executor reaches subgraphs; the proxy implements it with its balanced clusters.
pub trait SubgraphClient: Send + Sync {
    /// Sends `request` to subgraph `service` and returns its decoded JSON response.
    fn fetch<'a>(&'a self, service: &'a str, request: SubgraphRequest) -> FetchFuture<'a>;
}

/// Response data and errors as the plan fills them in.
#[derive(Debug, Default)]
pub struct State {
    pub(crate) data: Tree,
    pub errors: Vec<GraphQLError>,
    /// Entity answers received so far, when this request keeps them (queries).
    pub(crate) answered: Answered,
}

impl State {
    /// Merges object `data` into the response data.
    pub fn merge(&mut self, data: &JsonMap) {
        let id = self.data.insert_map(data);
        self.data.merge(ROOT, id);
    }
}

/// Executor settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecOptions {
    /// Pass subgraph error messages to clients (otherwise they are redacted).
    pub expose_subgraph_errors: bool,
    /// Answer `__schema` / `__type`.
    pub introspection: bool,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            expose_subgraph_errors: false,
            introspection: true,
        }
    }
}

/// Runs `node`, filling `state`.
pub async fn run(
    node: &PlanNode,
    state: &Mutex<State>,
    client: &dyn SubgraphClient,
    variables: &JsonMap,
    options: ExecOptions,
) {
    match node {
        PlanNode::Fetch(fetch) => run_fetch(fetch, state, client, variables, options).await,
        PlanNode::Sequence(nodes) => {
            for n in nodes {
                Box::pin(run(n, state, client, variables, options)).await;
            }
        }
        PlanNode::Condition {
            variable,
            include,
            node,
        } => {
            let value = variables.get(variable.as_str()).and_then(|v| v.as_bool());
            if value.unwrap_or(false) == *include {
                Box::pin(run(node, state, client, variables, options)).await;
            }
        }
        PlanNode::Parallel(nodes) => {
            join_all(
                nodes
                    .iter()
                    .map(|n| Box::pin(run(n, state, client, variables, options))),
            )
            .await;
        }
    }
}

/// Response path to an object, for merging and for error paths.
type Path = Vec<ResponseDataPathSegment>;

async fn run_fetch(
    fetch: &Fetch,
    state: &Mutex<State>,
    client: &dyn SubgraphClient,
    variables: &JsonMap,
    options: ExecOptions,
) {
    let mut vars: JsonMap = fetch
        .variables
        .iter()
        .filter_map(|v| {
            variables
                .get(v.as_str())
                .map(|x| (v.as_str().into(), x.clone()))
        })
        .collect();
    let mut asked = None;
    let reps = match &fetch.entity {
        None => Reps::default(),
        Some(entity) => {
            let mut data = lock(state);
            let state = &mut *data;
            let (list, reps) = Reps::collect(&state.data, entity);
            if list.is_empty() {
                return;
            }
            if fetch.repeated && state.answered.on() {
                if let Some(known) = state.answered.all(fetch, &list) {
                    reps.merge_known(&mut state.data, entity, &known);
                    return;
                }
                asked = Some(list.clone());
            }
            vars.insert("representations", JsonValue::Array(list));
            reps
        }
    };
    let request = SubgraphRequest {
        query: fetch.operation.clone(),
        variables: vars,
    };
    let answer = client.fetch(&fetch.service, request).await;
    let mut state = lock(state);
    match answer {
        Ok(body) => {
            merge_answer(fetch, &reps, &body, &mut state, options);
            if let Some(list) = asked {
                state.answered.record(fetch, list, &body);
            }
        }
        Err(e) => {
            let targets = targets(fetch, &reps, &state);
            state.errors.push(fetch_failed(fetch, &e, &targets));
        }
    }
}

/// The client paths of an entity fetch's objects, per representation.
fn targets(fetch: &Fetch, reps: &Reps, state: &State) -> Vec<Vec<Path>> {
    match &fetch.entity {
        Some(entity) => reps.targets(&state.data, entity),
        None => Vec::new(),
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn merge_answer(
    fetch: &Fetch,
    reps: &Reps,
    body: &Answer,
    state: &mut State,
    options: ExecOptions,
) {
    let failed = |message: &str, state: &mut State| {
        let e = FetchError {
            message: message.into(),
            code: "SUBREQUEST_MALFORMED_RESPONSE",
        };
        let targets = targets(fetch, reps, state);
        state.errors.push(fetch_failed(fetch, &e, &targets));
    };
    if !body.is_object() {
        return failed(
            "subgraph answered with something other than a JSON object",
            state,
        );
    }
    let doc = &body.tree;
    let errors = body.field("errors");
    let data = body.field("data");
    if errors.is_none() && data.is_none() {
        return failed("subgraph response has neither `data` nor `errors`", state);
    }
    if let Some(Node::List(errors)) = errors.map(|e| doc.node(e)) {
        let targets = targets(fetch, reps, state);
        for error in errors {
            let rewritten = rewrite_error(fetch, &targets, &doc.to_json(*error), options);
            state.errors.extend(rewritten);
        }
    }
    let data = match data.map(|d| (d, doc.node(d))) {
        None | Some((_, Node::Leaf(Leaf::Null))) => return,
        Some((data, Node::Object(_))) => data,
        Some(_) => return failed("subgraph `data` is not an object", state),
    };
    let Some(entity) = &fetch.entity else {
        let mut copying = state.data.copying(body);
        let data = state.data.copy(&mut copying, data);
        state.data.merge(ROOT, data);
        return;
    };
    match doc.field(data, "_entities").map(|e| doc.node(e)) {
        Some(Node::List(answers)) if answers.len() == reps.count => {
            reps.merge(&mut state.data, entity, body, answers);
        }
        Some(Node::Leaf(Leaf::Null)) => {}
        _ => failed(
            "subgraph `_entities` is not a list with one entry per representation",
            state,
        ),
    }
}

/// A subgraph error, with its path moved to where the client sees it.
fn rewrite_error(
    fetch: &Fetch,
    targets: &[Vec<Path>],
    error: &JsonValue,
    options: ExecOptions,
) -> Vec<GraphQLError> {
    let JsonValue::Object(error) = error else {
        return Vec::new();
    };
    let message = match (options.expose_subgraph_errors, error.get("message")) {
        (true, Some(JsonValue::String(m))) => m.as_str().to_owned(),
        _ => "Subgraph errors redacted".to_owned(),
    };
    let mut extensions = match (options.expose_subgraph_errors, error.get("extensions")) {
        (true, Some(JsonValue::Object(e))) => e.clone(),
        _ => JsonMap::new(),
    };
    extensions.insert("service", JsonValue::String(fetch.service.as_str().into()));
    let sub_path: Vec<ResponseDataPathSegment> = match error.get("path") {
        Some(JsonValue::Array(p)) => p.iter().filter_map(path_segment).collect(),
        _ => Vec::new(),
    };
    let paths: Vec<Path> = match (&fetch.entity, sub_path.as_slice()) {
        (
            Some(_),
            [
                ResponseDataPathSegment::Field(e),
                ResponseDataPathSegment::ListIndex(i),
                rest @ ..,
            ],
        ) if e.as_str() == "_entities" => {
            let objects = targets.get(*i).cloned().unwrap_or_default();
            objects
                .into_iter()
                .map(|mut p| {
                    p.extend(rest.iter().cloned());
                    p
                })
                .collect()
        }
        (Some(_), _) => vec![Vec::new()],
        (None, _) => vec![sub_path],
    };
    paths
        .into_iter()
        .map(|path| GraphQLError {
            message: message.clone(),
            locations: Vec::new(),
            path,
            extensions: extensions.clone(),
        })
        .collect()
}

fn path_segment(value: &JsonValue) -> Option<ResponseDataPathSegment> {
    match value {
        JsonValue::String(s) => apollo_compiler::Name::new(s.as_str())
            .ok()
            .map(ResponseDataPathSegment::Field),
        JsonValue::Number(n) => n
            .as_u64()
            .map(|i| ResponseDataPathSegment::ListIndex(i as usize)),
        _ => None,
    }
}

/// The error a client sees when a subgraph could not be asked or answered badly.
fn fetch_failed(fetch: &Fetch, e: &FetchError, targets: &[Vec<Path>]) -> GraphQLError {
    let mut extensions = JsonMap::new();
    extensions.insert("code", JsonValue::String(e.code.into()));
    extensions.insert("service", JsonValue::String(fetch.service.as_str().into()));
    let path = targets
        .first()
        .and_then(|t| t.first())
        .cloned()
        .unwrap_or_default();
    GraphQLError {
        message: format!("HTTP fetch failed from '{}': {}", fetch.service, e.message),
        locations: Vec::new(),
        path,
        extensions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_body_is_graphql_over_http_json() {
        let mut variables = JsonMap::new();
        variables.insert("representations", serde_json_bytes::json!([{"id": "1"}]));
        let request = SubgraphRequest {
            query: "query($representations: [_Any!]!) { \"x\" }".into(),
            variables,
        };
        let body: serde_json::Value = serde_json::from_slice(&request.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "query": "query($representations: [_Any!]!) { \"x\" }",
                "variables": {"representations": [{"id": "1"}]}
            })
        );
    }
}
