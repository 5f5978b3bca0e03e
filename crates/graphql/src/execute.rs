//! Runs a query plan: fetches in parallel where the plan allows, entity representations de-duplicated
//! and fanned back out, subgraph errors rewritten to client paths.

use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasher as _;
use std::pin::Pin;
use std::sync::Mutex;

use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue, ResponseDataPathSegment};
use futures_util::future::join_all;

use crate::plan::{Fetch, PathSeg, PlanNode};
use crate::sel::{Sel, SelSet};

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

    /// The request body: `{"query": ..., "variables": ...}`.
    pub fn to_json(&self) -> JsonValue {
        let mut body = JsonMap::new();
        body.insert("query", JsonValue::String(self.query.as_str().into()));
        body.insert("variables", JsonValue::Object(self.variables.clone()));
        JsonValue::Object(body)
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

/// A boxed future answering a subgraph request.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<JsonValue, FetchError>> + Send + 'a>>;

/// How the executor reaches subgraphs; the proxy implements it with its balanced clusters.
pub trait SubgraphClient: Send + Sync {
    /// Sends `request` to subgraph `service` and returns its decoded JSON response.
    fn fetch<'a>(&'a self, service: &'a str, request: SubgraphRequest) -> FetchFuture<'a>;
}

/// Response data and errors as the plan fills them in.
#[derive(Debug, Default)]
pub struct State {
    pub data: JsonMap,
    pub errors: Vec<GraphQLError>,
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
    let targets = match &fetch.entity {
        None => Vec::new(),
        Some(entity) => {
            let data = lock(state);
            let (reps, targets) = representations(&data.data, entity);
            if reps.is_empty() {
                return;
            }
            vars.insert("representations", JsonValue::Array(reps));
            targets
        }
    };
    let request = SubgraphRequest {
        query: fetch.operation.clone(),
        variables: vars,
    };
    let answer = client.fetch(&fetch.service, request).await;
    let mut state = lock(state);
    match answer {
        Ok(body) => merge_answer(fetch, &targets, body, &mut state, options),
        Err(e) => state.errors.push(fetch_failed(fetch, &e, &targets)),
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// The de-duplicated representations for an entity fetch, and for each the objects it stands for.
fn representations(
    data: &JsonMap,
    entity: &crate::plan::EntityStep,
) -> (Vec<JsonValue>, Vec<Vec<Path>>) {
    // Only each object's representation is copied out, never the object itself.
    let mut selected = Vec::new();
    let mut path = Vec::new();
    for source in &entity.sources {
        collect_objects(data, &source.path, &mut path, &mut |p, object| {
            let typename = object.get("__typename").and_then(|t| t.as_str());
            if typename.is_some_and(|t| source.types.iter().any(|x| x == t))
                && let Some(rep) = select(object, &entity.inputs)
            {
                selected.push((p.clone(), rep));
            }
        });
    }
    let mut reps: Vec<JsonValue> = Vec::new();
    let mut targets: Vec<Vec<Path>> = Vec::new();
    // Keyed by the representation's hash; equal hashes are compared in full.
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    let hasher = std::hash::RandomState::new();
    for (p, mut rep) in selected {
        if let (Some(name), JsonValue::Object(map)) = (&entity.typename_as, &mut rep) {
            map.insert("__typename", JsonValue::String(name.as_str().into()));
        }
        let same = index.entry(hasher.hash_one(&rep)).or_default();
        match same.iter().find(|i| reps[**i] == rep) {
            Some(i) => targets[*i].push(p),
            None => {
                same.push(reps.len());
                reps.push(rep);
                targets.push(vec![p]);
            }
        }
    }
    (reps, targets)
}

/// Calls `f` with every object at `segs` below `data`.
fn collect_objects(
    data: &JsonMap,
    segs: &[PathSeg],
    path: &mut Path,
    f: &mut dyn FnMut(&Path, &JsonMap),
) {
    let Some((first, rest)) = segs.split_first() else {
        return f(path, data);
    };
    let PathSeg::Key(key) = first else {
        return;
    };
    path.push(ResponseDataPathSegment::Field(key.clone()));
    if let Some(value) = data.get(key.as_str()) {
        collect_value(value, rest, path, f);
    }
    path.pop();
}

fn collect_value(
    value: &JsonValue,
    segs: &[PathSeg],
    path: &mut Path,
    f: &mut dyn FnMut(&Path, &JsonMap),
) {
    match (value, segs.first()) {
        (JsonValue::Array(items), Some(PathSeg::List)) => {
            for (i, item) in items.iter().enumerate() {
                path.push(ResponseDataPathSegment::ListIndex(i));
                collect_value(item, &segs[1..], path, f);
                path.pop();
            }
        }
        (JsonValue::Object(map), _) => collect_objects(map, segs, path, f),
        _ => {}
    }
}

/// The part of `object` that `inputs` selects; `None` when a selected field is missing.
fn select(object: &JsonMap, inputs: &SelSet) -> Option<JsonValue> {
    let mut out = JsonMap::new();
    select_into(object, inputs, &mut out)?;
    Some(JsonValue::Object(out))
}

fn select_into(object: &JsonMap, inputs: &SelSet, out: &mut JsonMap) -> Option<()> {
    for sel in &inputs.0 {
        match sel {
            Sel::Field(f) => {
                let key = f.response_key().as_str();
                let value = object.get(key)?;
                let value = match &f.selection {
                    Some(sub) => select_value(value, sub)?,
                    None => value.clone(),
                };
                out.insert(key, value);
            }
            Sel::On(ty, sub) => {
                let typename = object.get("__typename").and_then(|t| t.as_str());
                if typename == Some(ty.as_str()) {
                    select_into(object, sub, out)?;
                }
            }
        }
    }
    Some(())
}

fn select_value(value: &JsonValue, sub: &SelSet) -> Option<JsonValue> {
    match value {
        JsonValue::Object(map) => select(map, sub),
        JsonValue::Array(items) => items
            .iter()
            .map(|i| select_value(i, sub))
            .collect::<Option<Vec<_>>>()
            .map(JsonValue::Array),
        other => Some(other.clone()),
    }
}

fn merge_answer(
    fetch: &Fetch,
    targets: &[Vec<Path>],
    body: JsonValue,
    state: &mut State,
    options: ExecOptions,
) {
    let JsonValue::Object(mut body) = body else {
        let e = FetchError {
            message: "subgraph answered with something other than a JSON object".into(),
            code: "SUBREQUEST_MALFORMED_RESPONSE",
        };
        state.errors.push(fetch_failed(fetch, &e, targets));
        return;
    };
    let errors = body.remove("errors");
    let data = body.remove("data");
    if errors.is_none() && data.is_none() {
        let e = FetchError {
            message: "subgraph response has neither `data` nor `errors`".into(),
            code: "SUBREQUEST_MALFORMED_RESPONSE",
        };
        state.errors.push(fetch_failed(fetch, &e, targets));
        return;
    }
    if let Some(JsonValue::Array(errors)) = errors {
        for error in errors {
            state
                .errors
                .extend(rewrite_error(fetch, targets, error, options));
        }
    }
    let malformed = |message: &str, state: &mut State| {
        let e = FetchError {
            message: message.into(),
            code: "SUBREQUEST_MALFORMED_RESPONSE",
        };
        state.errors.push(fetch_failed(fetch, &e, targets));
    };
    let data = match data {
        None | Some(JsonValue::Null) => return,
        Some(JsonValue::Object(data)) => data,
        Some(_) => return malformed("subgraph `data` is not an object", state),
    };
    if fetch.entity.is_none() {
        deep_merge(&mut state.data, data);
        return;
    }
    let mut data = data;
    let entities = match data.remove("_entities") {
        Some(JsonValue::Array(entities)) if entities.len() == targets.len() => entities,
        Some(JsonValue::Null) => return,
        _ => {
            return malformed(
                "subgraph `_entities` is not a list with one entry per representation",
                state,
            );
        }
    };
    let asked: &[apollo_compiler::Name] = fetch.entity.as_ref().map_or(&[], |e| &e.tys);
    for (entity, paths) in entities.into_iter().zip(targets) {
        let JsonValue::Object(entity) = entity else {
            continue;
        };
        let last = paths.len().saturating_sub(1);
        let mut entity = Some(entity);
        for (k, path) in paths.iter().enumerate() {
            // The last object takes the answer itself; the others a copy.
            let answer = if k == last {
                entity.take().unwrap_or_default()
            } else {
                entity.clone().unwrap_or_default()
            };
            if let Some(target) = object_at(&mut state.data, path) {
                // An interface's name (from an `@interfaceObject`) gives way to the concrete type.
                let known = target.get("__typename").and_then(|t| t.as_str());
                let abstract_name = known.is_some_and(|k| asked.iter().any(|t| t == k));
                if abstract_name && answer.contains_key("__typename") {
                    target.remove("__typename");
                }
                deep_merge(target, answer);
            }
        }
    }
}

fn object_at<'a>(
    data: &'a mut JsonMap,
    path: &[ResponseDataPathSegment],
) -> Option<&'a mut JsonMap> {
    let mut current = data;
    let mut iter = path.iter().peekable();
    while let Some(seg) = iter.next() {
        let ResponseDataPathSegment::Field(key) = seg else {
            return None;
        };
        let mut value = current.get_mut(key.as_str())?;
        while let Some(ResponseDataPathSegment::ListIndex(i)) = iter.peek() {
            value = value.as_array_mut()?.get_mut(*i)?;
            iter.next();
        }
        current = value.as_object_mut()?;
    }
    Some(current)
}

/// Merges `source` into `target`: objects field by field, lists item by item.
pub(crate) fn deep_merge(target: &mut JsonMap, source: JsonMap) {
    for (key, value) in source {
        if key.as_str() == "__typename" && target.contains_key("__typename") {
            continue;
        }
        match (target.get_mut(key.as_str()), value) {
            (Some(JsonValue::Object(t)), JsonValue::Object(s)) => deep_merge(t, s),
            (Some(JsonValue::Array(t)), JsonValue::Array(s)) if t.len() == s.len() => {
                for (ti, si) in t.iter_mut().zip(s) {
                    match (ti, si) {
                        (JsonValue::Object(to), JsonValue::Object(so)) => deep_merge(to, so),
                        (ti, si) => *ti = si,
                    }
                }
            }
            (_, value) => {
                target.insert(key, value);
            }
        }
    }
}

/// A subgraph error, with its path moved to where the client sees it.
fn rewrite_error(
    fetch: &Fetch,
    targets: &[Vec<Path>],
    error: JsonValue,
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
