//! The config as the user writes it: serde types mirroring the YAML, with positions on the
//! values that later checks refer to. `validate` turns these into [`crate::Config`].

use crate::located::Located;
use crate::raw_balancing::*;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole config file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Addresses the gateway accepts client traffic on.
    pub listeners: Vec<RawListener>,
    /// Routes, matched by the precedence rule in docs/routing.md.
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    /// Upstream services (groups of endpoints) that routes proxy to.
    #[serde(default)]
    pub clusters: Vec<RawCluster>,
    /// Named gateway policies (authentication, rate limits, CORS, ...) that routes list.
    #[serde(default)]
    pub policies: Vec<crate::raw_policy::RawPolicy>,
    /// One JSON line per request.
    #[serde(default)]
    pub access_log: Option<RawAccessLog>,
    /// This gateway's locality zone, for clusters with `prefer_local_zone`.
    #[serde(default)]
    pub zone: Option<String>,
    /// How long in-flight requests may run after SIGTERM before the process exits (default 15s).
    #[serde(default)]
    pub drain_timeout: Option<Located<String>>,
    /// The admin listener (`/metrics`, `/ready`), separate from client traffic (default: off).
    #[serde(default)]
    pub admin: Option<RawAdmin>,
    /// Serve the schema registry from this process (default: off). GraphQL routes whose
    /// `registry` has no `url` take their supergraph from it.
    #[serde(default)]
    pub registry: Option<RawEmbeddedRegistry>,
}

/// The schema registry embedded in the gateway: its HTTP API on its own listener (loopback by
/// default; any other address needs a token) and its store.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEmbeddedRegistry {
    /// `host:port` of the registry's HTTP API (default `127.0.0.1:4100`).
    #[serde(default)]
    pub address: Option<Located<String>>,
    /// `sqlite:PATH` (relative to this config file, created on first start; default
    /// `sqlite:switchyard-registry.db`) or `postgresql://user@host:port/db`.
    #[serde(default)]
    pub store: Option<Located<String>>,
    /// Bearer token writes must carry; required off loopback. Use `${VAR}`.
    #[serde(default)]
    pub token: Option<Located<String>>,
    /// Hosts a publish by introspection may make the registry call (`name` or `*.suffix`);
    /// absent: any host.
    #[serde(default)]
    pub introspect_hosts: Option<Vec<Located<String>>>,
}

/// The admin listener: loopback by default; any other address needs a token.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    /// `host:port` (default `127.0.0.1:9901`).
    #[serde(default)]
    pub address: Option<Located<String>>,
    /// Bearer token every admin request must carry; required off loopback. Use `${VAR}`.
    #[serde(default)]
    pub token: Option<Located<String>>,
}

/// A TCP address the gateway listens on (HTTP/1.1 and h2c on the same port).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawListener {
    pub name: Located<String>,
    /// `host:port`, e.g. `127.0.0.1:8080` (port 0 picks a free port).
    pub address: Located<String>,
    /// Largest request head (request line plus headers) in bytes; beyond it: 431 (default 16384).
    #[serde(default)]
    pub max_header_bytes: Option<Located<u64>>,
    /// Most header fields in one request; beyond it: 431 (default 100).
    #[serde(default)]
    pub max_headers: Option<Located<u64>>,
    /// Time allowed for a client to send a request head (default 10s), against slowloris.
    #[serde(default)]
    pub header_read_timeout: Option<Located<String>>,
    /// Largest request body in bytes; beyond it: 413 (default: no limit).
    #[serde(default)]
    pub max_request_body_bytes: Option<Located<u64>>,
    /// Policies applied to routes that list none of their own.
    #[serde(default)]
    pub policies: Vec<Located<String>>,
}

/// A route: what it matches and what it does.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub name: Located<String>,
    #[serde(default, rename = "match")]
    pub matches: RawMatch,
    /// Policies applied in order before the action (default: the listener's).
    #[serde(default)]
    pub policies: Option<Vec<Located<String>>>,
    /// Forward to a cluster.
    #[serde(default)]
    pub proxy: Option<RawProxyAction>,
    /// Answer directly.
    #[serde(default)]
    pub respond: Option<RawRespondAction>,
    /// Answer with a redirect.
    #[serde(default)]
    pub redirect: Option<RawRedirectAction>,
    /// Serve a federated GraphQL API over the subgraphs of a supergraph.
    #[serde(default)]
    pub graphql: Option<RawGraphQLAction>,
}

/// What a request must look like to take a route. Every given condition must hold.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// Host names: exact (`api.example.com`) or wildcard (`*.example.com`); empty means any host.
    #[serde(default)]
    pub hosts: Vec<Located<String>>,
    /// Path condition (default: any path, i.e. `prefix: /`).
    #[serde(default)]
    pub path: Option<RawPathMatch>,
    /// Methods, e.g. `[GET, HEAD]`; empty means any method.
    #[serde(default)]
    pub methods: Vec<Located<String>>,
    #[serde(default)]
    pub headers: Vec<RawValueMatch>,
    #[serde(default)]
    pub query: Vec<RawValueMatch>,
}

/// Exactly one of the four path conditions.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPathMatch {
    pub exact: Option<Located<String>>,
    pub prefix: Option<Located<String>>,
    /// A template such as `/movies/{id}`; `{name}` matches one segment, `{*rest}` the remainder.
    pub template: Option<Located<String>>,
    /// A regular expression matched against the whole path.
    pub regex: Option<Located<String>>,
}

/// A condition on a header or query parameter: `present`, `exact` or `regex` (at most one of
/// `exact`/`regex`; neither means "is present").
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawValueMatch {
    pub name: Located<String>,
    pub exact: Option<Located<String>>,
    pub regex: Option<Located<String>>,
    /// Invert the condition: the route matches when this one does not.
    #[serde(default)]
    pub invert: bool,
}

/// Forward the request to a cluster.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProxyAction {
    pub cluster: Located<String>,
    /// Remove this prefix from the path before forwarding.
    #[serde(default)]
    pub strip_prefix: Option<Located<String>>,
    /// Replace the path with this template, filled from the route's `{params}`.
    #[serde(default)]
    pub rewrite: Option<Located<String>>,
    /// Send this `Host` upstream instead of the client's.
    #[serde(default)]
    pub host_rewrite: Option<Located<String>>,
    #[serde(default)]
    pub request_headers: RawHeaderEdits,
    #[serde(default)]
    pub response_headers: RawHeaderEdits,
    /// Override the cluster's request timeout for this route.
    #[serde(default)]
    pub timeout: Option<Located<String>>,
}

/// Header edits, applied in the order remove, set, add.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHeaderEdits {
    /// Append a value (keeps existing values).
    #[serde(default)]
    pub add: BTreeMap<String, Located<String>>,
    /// Replace all values.
    #[serde(default)]
    pub set: BTreeMap<String, Located<String>>,
    #[serde(default)]
    pub remove: Vec<Located<String>>,
}

/// Answer with a fixed response.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRespondAction {
    pub status: Located<u16>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub headers: BTreeMap<String, Located<String>>,
}

/// Serve a federated GraphQL API: plan each operation over the supergraph's subgraphs and answer
/// with one coalesced response. Subgraph calls go through clusters (balanced, health checked).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGraphQLAction {
    /// Supergraph SDL file (as composed by `rover supergraph compose` or Switchyard's registry),
    /// relative to this config file. Exactly one of `supergraph` and `registry`.
    #[serde(default)]
    pub supergraph: Option<Located<String>>,
    /// Take the supergraph from a registry variant, polled for new versions.
    #[serde(default)]
    pub registry: Option<RawRegistrySource>,
    /// Subgraph name -> cluster. A subgraph not listed goes to the cluster of the same name.
    #[serde(default)]
    pub subgraphs: BTreeMap<String, Located<String>>,
    /// Show subgraph error messages to clients (default: redacted).
    #[serde(default)]
    pub expose_subgraph_errors: bool,
    /// Concurrent client requests that need the very same subgraph call (same subgraph, query,
    /// variables and headers) share one call (default true). Never for mutations, nor for a
    /// subgraph whose response headers are passed back to clients.
    #[serde(default)]
    pub dedupe: Option<bool>,
    /// Answer `__schema` / `__type` introspection (default true).
    #[serde(default)]
    pub introspection: Option<bool>,
    /// Deadline for the whole operation, all subgraph calls included (default 30s).
    #[serde(default)]
    pub timeout: Option<Located<String>>,
    /// Path of each subgraph call (default: the path of the subgraph's URL in the supergraph).
    #[serde(default)]
    pub subgraph_path: Option<Located<String>>,
    /// Limits checked before planning; 0 turns one off.
    #[serde(default)]
    pub limits: RawGraphQLLimits,
    /// Header rules for every subgraph call.
    #[serde(default)]
    pub headers: RawGraphQLHeaders,
    /// More header rules for the calls to one subgraph (added to `headers`).
    #[serde(default)]
    pub subgraph_headers: BTreeMap<String, RawGraphQLHeaders>,
    /// Known operations, and whether only they may run.
    #[serde(default)]
    pub persisted_queries: Option<RawPersistedQueries>,
}

/// A registry variant a GraphQL route takes its supergraph from.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRegistrySource {
    /// The registry's base URL (`http://host:port`); without it, the registry this gateway
    /// embeds (the top-level `registry`).
    #[serde(default)]
    pub url: Option<Located<String>>,
    pub graph: Located<String>,
    pub variant: Located<String>,
    /// How often to ask for a new version (default 1s).
    #[serde(default)]
    pub poll: Option<Located<String>>,
    /// Bearer token sent with each request (reads need none unless the registry asks).
    #[serde(default)]
    pub token: Option<Located<String>>,
    /// A file (relative to this config file) keeping the last supergraph applied, read at
    /// start when the registry cannot be reached. Only with `url`.
    #[serde(default)]
    pub cache: Option<Located<String>>,
}

/// A persisted query manifest (Apollo's format or `{id: body}`), relative to this config file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPersistedQueries {
    pub manifest: Located<String>,
    /// Allow-list mode: refuse every operation not in the manifest (default false).
    #[serde(default)]
    pub only: bool,
}

/// Which headers travel between the client and the subgraphs.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGraphQLHeaders {
    /// Client request headers passed on to subgraphs (e.g. `authorization`).
    #[serde(default)]
    pub propagate: Vec<Located<String>>,
    /// Headers set on subgraph requests.
    #[serde(default)]
    pub set: BTreeMap<String, Located<String>>,
    /// Subgraph response headers passed back to the client, every value of every subgraph
    /// (e.g. `set-cookie`).
    #[serde(default)]
    pub response: Vec<Located<String>>,
}

/// Operation limits of a GraphQL route (defaults: depth 32, aliases 64, root fields 32,
/// estimated cost off; 0 means no limit).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGraphQLLimits {
    #[serde(default)]
    pub max_depth: Option<Located<u32>>,
    #[serde(default)]
    pub max_aliases: Option<Located<u32>>,
    #[serde(default)]
    pub max_root_fields: Option<Located<u32>>,
    /// Each field costs 1; everything under a list field counts `first`/`last`/`limit` times
    /// (10 when the field has none of those arguments).
    #[serde(default)]
    pub max_cost: Option<Located<u64>>,
}

/// Answer with a redirect to `to` (a URL or path; `{params}` from the route are filled in).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRedirectAction {
    pub to: Located<String>,
    /// 301, 302, 303, 307 or 308 (default 302).
    #[serde(default)]
    pub status: Option<Located<u16>>,
}

/// An upstream service: its endpoints and how to talk to them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub name: Located<String>,
    /// Static endpoints (may be empty when `discovery` supplies them).
    #[serde(default)]
    pub endpoints: Vec<RawEndpoint>,
    /// `edge` (default), `round_robin` (smooth weighted; alias `weighted_round_robin`),
    /// `random`, `least_request`, `peak_ewma`, `ring_hash` or `maglev`.
    #[serde(default)]
    pub balancer: Option<Located<String>>,
    /// Slow start for new endpoints: a duration, or `off` (default 90s for edge, else off).
    #[serde(default)]
    pub warm_up: Option<Located<String>>,
    /// When the endpoint picked already holds as many requests as its capacity learned from
    /// utilization reports, wait up to this long for a request to the cluster to finish and
    /// pick again, rather than send one it would shed: a duration, or `off` (default 50ms for
    /// edge, else off). After the wait the request is sent anyway.
    #[serde(default)]
    pub capacity_wait: Option<Located<String>>,
    /// What `ring_hash` and `maglev` hash (default: the client IP).
    #[serde(default)]
    pub hash_on: Option<Located<RawHashOn>>,
    #[serde(default)]
    pub edge: Option<RawEdge>,
    /// `least_request`'s bias on active requests when weights differ (default 1.0).
    #[serde(default)]
    pub least_request_bias: Option<Located<f64>>,
    /// Response header with the endpoint's ORCA load report (default `endpoint-load-metrics`);
    /// it is removed before the response reaches the client.
    #[serde(default)]
    pub utilization_header: Option<Located<String>>,
    /// Below this share of available endpoints, balance over all of them (default 0.5).
    #[serde(default)]
    pub panic_threshold: Option<Located<f64>>,
    #[serde(default)]
    pub outlier_detection: Option<RawOutlier>,
    #[serde(default)]
    pub health_check: Option<Located<RawHealthCheck>>,
    /// Prefer endpoints in the gateway's own `zone` while they have capacity.
    #[serde(default)]
    pub prefer_local_zone: bool,
    #[serde(default)]
    pub discovery: Option<Located<RawDiscovery>>,
    /// `http1` (default) or `http2` (prior knowledge, h2c).
    #[serde(default)]
    pub protocol: Option<Located<String>>,
    /// Default 1s.
    #[serde(default)]
    pub connect_timeout: Option<Located<String>>,
    /// Time until the response head arrives (default 15s); beyond it: 504.
    #[serde(default)]
    pub request_timeout: Option<Located<String>>,
    /// How long an unused pooled connection is kept (default 60s).
    #[serde(default)]
    pub idle_timeout: Option<Located<String>>,
    #[serde(default)]
    pub retries: Option<RawRetries>,
    /// Most requests in flight to this cluster (default 1024).
    #[serde(default)]
    pub max_connections: Option<Located<u64>>,
    /// Most requests waiting for a slot when `max_connections` is reached (default 1024); beyond: 503.
    #[serde(default)]
    pub max_pending: Option<Located<u64>>,
}

/// One upstream instance.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    /// `host:port`.
    pub address: Located<String>,
    /// Relative share of traffic (default 1).
    #[serde(default)]
    pub weight: Option<Located<u32>>,
    /// Locality zone, for `prefer_local_zone`.
    #[serde(default)]
    pub zone: Option<String>,
}

/// When and how often to retry a failed attempt on another endpoint.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    /// Retries after the first attempt (default 1).
    #[serde(default)]
    pub attempts: Option<Located<u32>>,
    /// Any of `connect_failure`, `reset`, `502`, `503`, `504` (default all).
    #[serde(default)]
    pub on: Vec<Located<String>>,
    /// Retries allowed as a fraction of requests over the last 10 s (default 0.2).
    #[serde(default)]
    pub budget: Option<Located<f64>>,
    /// Retries per second always allowed whatever the budget (default 10).
    #[serde(default)]
    pub min_per_second: Option<Located<u32>>,
}

/// Where access log lines go.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAccessLog {
    /// `stdout` (default), `stderr`, `off`, or a file path.
    pub to: Located<String>,
}
