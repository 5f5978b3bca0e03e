//! The federated GraphQL service: request in, coalesced response out (validate, plan with a cache,
//! execute, shape).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use apollo_compiler::ExecutableDocument;
use apollo_compiler::ast::OperationType;
use apollo_compiler::executable::Operation;
use apollo_compiler::request::coerce_variable_values;
use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue};
use apollo_compiler::validation::Valid;

use crate::apq::{ApqError, PersistedQueries};
use crate::execute::{self, ExecOptions, State, SubgraphClient};
use crate::limits::Limits;
use crate::plan::Plan;
use crate::planner::Planner;
use crate::request::Request;
use crate::shape::Shaper;
use crate::supergraph::Supergraph;

/// Most prepared operations kept; the cache starts over when full.
const PLAN_CACHE_SIZE: usize = 2048;

/// A validated operation with its plan, shared by every request that sends the same text.
#[derive(Debug)]
pub struct Prepared {
    pub doc: Valid<ExecutableDocument>,
    pub operation_name: Option<String>,
    pub plan: Plan,
}

impl Prepared {
    /// The operation the request selected.
    pub fn operation(&self) -> &Operation {
        self.doc
            .operations
            .get(self.operation_name.as_deref())
            .expect("operation checked when prepared")
    }
}

/// A GraphQL response, serialized, and the HTTP status it goes with.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The JSON body (`errors` first when there are any, then `data`).
    pub body: Vec<u8>,
}

type CacheKey = (String, Option<String>, BTreeSet<String>);

/// The plan cache key of one request (see [`Gateway::plan_key`]).
#[derive(Debug, Clone)]
pub struct PlanKey(CacheKey);

/// One supergraph served: shared by all requests, rebuilt when the supergraph changes.
#[derive(Debug)]
pub struct Gateway {
    supergraph: Arc<Supergraph>,
    options: ExecOptions,
    limits: Limits,
    cache: Mutex<HashMap<CacheKey, Arc<Prepared>>>,
    persisted: PersistedQueries,
}

impl Gateway {
    pub fn new(supergraph: Arc<Supergraph>, options: ExecOptions, limits: Limits) -> Self {
        Gateway {
            supergraph,
            options,
            limits,
            cache: Mutex::new(HashMap::new()),
            persisted: PersistedQueries::default(),
        }
    }

    /// Uses `persisted` (a manifest, maybe in allow-list mode) for persisted queries.
    pub fn with_persisted_queries(mut self, persisted: PersistedQueries) -> Self {
        self.persisted = persisted;
        self
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Fills in the query of an automatic-persisted-query request (or remembers its query).
    pub fn resolve_persisted(&self, request: &mut Request) -> Result<(), Response> {
        self.persisted.resolve(request).map_err(|e| match e {
            ApqError::NotFound => {
                let mut r = request_error("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND");
                r.status = 200;
                r
            }
            ApqError::HashMismatch => request_error(
                "provided sha256Hash does not match the query",
                "PERSISTED_QUERY_HASH_MISMATCH",
            ),
            ApqError::NotAllowed => request_error(
                "operation is not in the persisted query list",
                "PERSISTED_QUERY_NOT_IN_LIST",
            ),
        })
    }

    pub fn options(&self) -> ExecOptions {
        self.options
    }

    pub fn supergraph(&self) -> &Arc<Supergraph> {
        &self.supergraph
    }

    /// Validates and plans `request` (from the cache when seen before).
    pub fn prepare(&self, request: &Request) -> Result<Arc<Prepared>, Response> {
        let key = self.plan_key(request)?;
        match self.cached(&key) {
            Some(hit) => Ok(hit),
            None => self.prepare_uncached(key),
        }
    }

    /// What a request's plan is cached under: its text, operation name and the progressive
    /// override labels drawn for it.
    pub fn plan_key(&self, request: &Request) -> Result<PlanKey, Response> {
        let query = request
            .query
            .as_deref()
            .ok_or_else(|| request_error("request has no query", "BAD_REQUEST"))?;
        Ok(PlanKey((
            query.to_owned(),
            request.operation_name.clone(),
            self.active_labels(),
        )))
    }

    /// The prepared operation for `key`, if planned before.
    pub fn cached(&self, key: &PlanKey) -> Option<Arc<Prepared>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(&key.0).cloned()
    }

    /// Validates and plans (CPU work: callers on an async runtime run it on a blocking thread).
    pub fn prepare_uncached(&self, key: PlanKey) -> Result<Arc<Prepared>, Response> {
        let (query, operation_name, labels) = &key.0;
        let prepared = Arc::new(self.plan(query, operation_name.clone(), labels)?);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= PLAN_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(key.0, prepared.clone());
        Ok(prepared)
    }

    fn plan(
        &self,
        query: &str,
        operation_name: Option<String>,
        labels: &BTreeSet<String>,
    ) -> Result<Prepared, Response> {
        let sg = &self.supergraph;
        let doc = ExecutableDocument::parse_and_validate(&sg.api, query, "query.graphql")
            .map_err(|e| validation_errors(&e.errors))?;
        let operation = doc
            .operations
            .get(operation_name.as_deref())
            .map_err(|e| request_error(&e.message().to_string(), "BAD_REQUEST"))?;
        if operation.is_subscription() {
            return Err(request_error(
                "subscriptions are not supported",
                "BAD_REQUEST",
            ));
        }
        self.limits
            .check(&doc, operation)
            .map_err(|message| request_error(&message, "OPERATION_LIMIT_EXCEEDED"))?;
        let plan = Planner::plan(sg, &doc, operation, labels)
            .map_err(|e| request_error(&e.to_string(), "QUERY_PLANNING_FAILED"))?;
        Ok(Prepared {
            doc,
            operation_name,
            plan,
        })
    }

    /// Progressive-override labels switched on for this request (`percent(N)`: N % of requests).
    fn active_labels(&self) -> BTreeSet<String> {
        self.supergraph
            .override_labels()
            .filter(|label| label_on(label))
            .map(str::to_owned)
            .collect()
    }

    /// Answers one request.
    pub async fn execute(&self, request: &Request, client: &dyn SubgraphClient) -> Response {
        let prepared = match self.prepare(request) {
            Ok(p) => p,
            Err(response) => return response,
        };
        self.run(&prepared, &request.variables, client).await
    }

    /// Runs a prepared operation with `variables`.
    pub async fn run(
        &self,
        prepared: &Prepared,
        variables: &JsonMap,
        client: &dyn SubgraphClient,
    ) -> Response {
        let sg = &self.supergraph;
        let operation = prepared.operation();
        let variables = match coerce_variable_values(&sg.api, operation, variables) {
            Ok(v) => v,
            Err(e) => {
                let error = e.to_graphql_error(&prepared.doc.sources);
                return error_response(vec![error], "BAD_USER_INPUT");
            }
        };
        let mut state = State::default();
        if operation.operation_type == OperationType::Query {
            state.answered = execute::Answered::kept();
        }
        if has_introspection(operation) && !self.options.introspection {
            return request_error("introspection is disabled", "INTROSPECTION_DISABLED");
        }
        if has_introspection(operation) {
            match apollo_compiler::introspection::partial_execute(
                &sg.api,
                &sg.api_implementers,
                &prepared.doc,
                operation,
                &variables,
            ) {
                Ok(r) => state.merge(&r.data.unwrap_or_default()),
                Err(e) => {
                    let error = e.to_graphql_error(&prepared.doc.sources);
                    return error_response(vec![error], "INTROSPECTION_FAILED");
                }
            }
        }
        let state = Mutex::new(state);
        if let Some(root) = &prepared.plan.root {
            execute::run(root, &state, client, &variables, self.options).await;
        }
        let State {
            data, mut errors, ..
        } = state.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut shaper = Shaper::new(&sg.api, &prepared.doc, &variables, &mut errors, &data);
        let mut shaped = Vec::with_capacity(4096);
        shaper.write_root(
            &operation.selection_set,
            operation.object_type(),
            &mut shaped,
        );
        response(&shaped, errors)
    }
}

fn has_introspection(operation: &Operation) -> bool {
    operation
        .selection_set
        .fields()
        .any(|f| matches!(f.name.as_str(), "__schema" | "__type"))
}

/// Whether a progressive-override label is on for this request.
fn label_on(label: &str) -> bool {
    let percent = label
        .strip_prefix("percent(")
        .and_then(|l| l.strip_suffix(')'))
        .and_then(|n| n.trim().parse::<f64>().ok());
    match percent {
        Some(p) => fastrand::f64() * 100.0 < p,
        None => false,
    }
}

/// The response around `data`, already written as JSON.
fn response(data: &[u8], errors: Vec<GraphQLError>) -> Response {
    let mut body = Vec::with_capacity(data.len() + 16);
    body.push(b'{');
    if !errors.is_empty() {
        body.extend_from_slice(b"\"errors\":");
        let _ = serde_json::to_writer(&mut body, &errors_json(errors));
        body.push(b',');
    }
    body.extend_from_slice(b"\"data\":");
    body.extend_from_slice(data);
    body.push(b'}');
    Response { status: 200, body }
}

fn errors_json(errors: Vec<GraphQLError>) -> JsonValue {
    serde_json_bytes::to_value(errors).unwrap_or(JsonValue::Null)
}

/// A request error: no `data`, status 400 (GraphQL over HTTP, `application/graphql-response+json`).
pub fn request_error(message: &str, code: &str) -> Response {
    let mut extensions = JsonMap::new();
    extensions.insert("code", JsonValue::String(code.into()));
    let error = GraphQLError {
        message: message.to_owned(),
        locations: Vec::new(),
        path: Vec::new(),
        extensions,
    };
    error_response(vec![error], code)
}

fn error_response(mut errors: Vec<GraphQLError>, code: &str) -> Response {
    for e in &mut errors {
        e.extensions
            .entry("code")
            .or_insert_with(|| JsonValue::String(code.into()));
    }
    let mut body = JsonMap::new();
    body.insert("errors", errors_json(errors));
    Response {
        status: 400,
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

fn validation_errors(diagnostics: &apollo_compiler::validation::DiagnosticList) -> Response {
    let errors = diagnostics
        .iter()
        .map(|d| {
            let mut e = d.to_json();
            e.extensions.insert(
                "code",
                JsonValue::String("GRAPHQL_VALIDATION_FAILED".into()),
            );
            e
        })
        .collect();
    error_response(errors, "GRAPHQL_VALIDATION_FAILED")
}
