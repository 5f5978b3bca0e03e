//! The validated config: plain data with every value parsed into its type. Only `validate`
//! builds it, so holding a `Config` means holding a config that passed every check.

pub use crate::balancing::*;
use regex::Regex;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub listeners: Vec<Listener>,
    pub routes: Vec<Route>,
    pub clusters: Vec<Cluster>,
    pub policies: Vec<Policy>,
    pub access_log: AccessLogTarget,
    pub drain_timeout: Duration,
    /// This gateway's locality zone.
    pub zone: Option<String>,
    pub admin: Option<Admin>,
    /// The schema registry served by this process.
    pub registry: Option<EmbeddedRegistry>,
}

/// The schema registry embedded in the gateway process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedRegistry {
    pub address: SocketAddr,
    pub store: RegistryStore,
    pub token: Option<Secret>,
    /// Hosts a publish by introspection may reach (`name` or `*.suffix`); `None`: any.
    pub introspect_hosts: Option<Vec<String>>,
}

/// Where the embedded registry keeps its versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryStore {
    /// A SQLite file, resolved against the config file's folder.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL URL (it may hold a password).
    Postgres(Secret),
}

/// The admin listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub address: SocketAddr,
    pub token: Option<Secret>,
}

/// A value that never appears in `Debug` output (and so never in logs).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    pub name: String,
    pub address: SocketAddr,
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub header_read_timeout: Duration,
    pub max_request_body_bytes: Option<u64>,
    /// Policies for routes that list none of their own.
    pub policies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLogTarget {
    Off,
    Stdout,
    Stderr,
    File(String),
}

#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    /// Position of the route in the file; the last precedence tie-breaker.
    pub index: usize,
    pub hosts: Vec<HostMatch>,
    pub path: PathMatch,
    /// Upper-case method names; empty means any.
    pub methods: Vec<String>,
    pub headers: Vec<ValueMatch>,
    pub query: Vec<ValueMatch>,
    /// Policy names, applied in order before the action; `None` takes the listener's.
    pub policies: Option<Vec<String>>,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostMatch {
    /// Lower-case host name without port.
    Exact(String),
    /// `*.example.com` stored as `.example.com`: matches any host ending in it.
    Suffix(String),
}

#[derive(Debug, Clone)]
pub enum PathMatch {
    Exact(String),
    Prefix(String),
    Template(PathTemplate),
    Regex(Regex),
}

/// `/movies/{id}/cast/{*rest}` split into segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    pub source: String,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Param(String),
    /// Matches the rest of the path (zero or more segments); only last.
    CatchAll(String),
}

#[derive(Debug, Clone)]
pub struct ValueMatch {
    /// Header names are lower-case; query parameter names as written.
    pub name: String,
    pub kind: ValueKind,
    pub invert: bool,
}

#[derive(Debug, Clone)]
pub enum ValueKind {
    Present,
    Exact(String),
    Regex(Regex),
}

#[derive(Debug, Clone)]
pub enum Action {
    Proxy(ProxyAction),
    Respond(RespondAction),
    Redirect(RedirectAction),
    GraphQL(Box<GraphQLAction>),
}

/// A federated GraphQL endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphQLAction {
    /// Where the supergraph came from, as given, resolved against the config file's folder.
    pub supergraph_path: std::path::PathBuf,
    /// The supergraph SDL, read when the config was loaded (empty for a registry route until
    /// the gateway fetches it).
    pub supergraph_sdl: String,
    /// Where to poll the supergraph from, instead of a file (`supergraph_path` is then empty).
    pub registry: Option<RegistrySource>,
    /// `file:line:column: routes[i].graphql.supergraph`, for errors found when it is compiled.
    pub origin: String,
    pub subgraphs: std::collections::BTreeMap<String, String>,
    pub expose_subgraph_errors: bool,
    pub introspection: bool,
    pub timeout: Duration,
    pub subgraph_path: Option<String>,
    pub limits: GraphQLLimits,
    pub headers: GraphQLHeaders,
    pub subgraph_headers: std::collections::BTreeMap<String, GraphQLHeaders>,
    pub persisted_queries: Option<PersistedQueryManifest>,
    /// Share one subgraph call among concurrent identical ones (queries only).
    pub dedupe: bool,
}

/// A registry variant a GraphQL route takes its supergraph from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistrySource {
    /// Base URL, without a trailing slash; `None` is the registry this gateway embeds.
    pub url: Option<String>,
    pub graph: String,
    pub variant: String,
    pub poll: Duration,
    pub token: Option<String>,
    /// The on-disk copy of the last supergraph applied (remote registries only).
    pub cache: Option<std::path::PathBuf>,
}

impl RegistrySource {
    /// The URL of the variant's current supergraph (`None` for the embedded registry).
    pub fn supergraph_url(&self) -> Option<String> {
        let url = self.url.as_ref()?;
        Some(format!(
            "{url}/graphs/{}/variants/{}/supergraph",
            self.graph, self.variant
        ))
    }

    /// Where the supergraph comes from, for messages.
    pub fn describe(&self) -> String {
        match self.supergraph_url() {
            Some(url) => url,
            None => format!("{}@{} in the embedded registry", self.graph, self.variant),
        }
    }
}

/// A persisted query manifest read with the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistedQueryManifest {
    pub path: std::path::PathBuf,
    pub json: String,
    pub only: bool,
}

/// Header rules of a GraphQL route; names are lower-case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphQLHeaders {
    pub propagate: Vec<String>,
    pub set: Vec<(String, String)>,
    pub response: Vec<String>,
}

/// Operation limits; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphQLLimits {
    pub max_depth: Option<u32>,
    pub max_aliases: Option<u32>,
    pub max_root_fields: Option<u32>,
    pub max_cost: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ProxyAction {
    pub cluster: String,
    pub strip_prefix: Option<String>,
    /// A path template whose `{params}` come from the route's path template.
    pub rewrite: Option<String>,
    pub host_rewrite: Option<String>,
    pub request_headers: HeaderEdits,
    pub response_headers: HeaderEdits,
    pub timeout: Option<Duration>,
}

/// Header names are lower-case; values are checked to be valid header values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderEdits {
    pub remove: Vec<String>,
    pub set: Vec<(String, String)>,
    pub add: Vec<(String, String)>,
}

impl HeaderEdits {
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.set.is_empty() && self.add.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct RespondAction {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct RedirectAction {
    pub to: String,
    pub status: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub name: String,
    pub endpoints: Vec<Endpoint>,
    pub balancing: Balancing,
    pub protocol: UpstreamProtocol,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub idle_timeout: Duration,
    pub retries: RetryPolicy,
    pub max_connections: usize,
    pub max_pending: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port`.
    pub address: String,
    pub weight: u32,
    pub zone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamProtocol {
    Http1,
    Http2,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retries.
    pub attempts: u32,
    pub on: RetryOn,
    pub budget: f64,
    pub min_per_second: u32,
}

/// Which failures of an idempotent request are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetryOn {
    pub connect_failure: bool,
    pub reset: bool,
    pub status_502: bool,
    pub status_503: bool,
    pub status_504: bool,
}

impl RetryOn {
    pub const ALL: Self = Self {
        connect_failure: true,
        reset: true,
        status_502: true,
        status_503: true,
        status_504: true,
    };

    pub fn status(&self, status: u16) -> bool {
        match status {
            502 => self.status_502,
            503 => self.status_503,
            504 => self.status_504,
            _ => false,
        }
    }
}

/// A named gateway policy, applied by the routes and listeners that list it.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    /// `file:line:column: policies[i]`, for errors found when it is compiled.
    pub origin: String,
    pub kind: PolicyKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PolicyKind {
    ApiKey(ApiKeyPolicy),
    Jwt(JwtPolicy),
    BasicAuth(BasicAuthPolicy),
    Authorize(AuthorizePolicy),
    RateLimit(RateLimitPolicy),
    Cors(CorsPolicy),
    BodyLimit(u64),
    RequestHeaders(RequestHeadersPolicy),
    RequestQuery(RequestQueryPolicy),
    OpenApi(OpenApiPolicy),
}

/// Request validation against an OpenAPI document read with the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenApiPolicy {
    pub spec_path: std::path::PathBuf,
    pub spec_text: String,
    pub max_body_bytes: u64,
    pub reject_unknown: bool,
    /// Log and count responses that differ from the document (never changes them).
    pub report_responses: bool,
}

impl PolicyKind {
    /// The request headers this policy sets for the service (lower-case).
    pub fn written_headers(&self) -> Vec<&str> {
        match self {
            PolicyKind::ApiKey(k) => k.forward_id.iter().map(String::as_str).collect(),
            PolicyKind::Jwt(j) => j.forward_claims.iter().map(|(_, h)| h.as_str()).collect(),
            PolicyKind::RequestHeaders(h) => h.set.iter().map(|(n, _)| n.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Where a credential travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Lower-case header name.
    Header(String),
    Query(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyPolicy {
    pub source: CredentialSource,
    pub keys: Vec<ApiKey>,
    pub forward_id: Option<String>,
    pub keep_credential: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub sha256: [u8; 32],
    pub metadata: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuthPolicy {
    pub realm: String,
    pub users: Vec<BasicUser>,
    pub keep_credential: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicUser {
    pub name: String,
    /// A bcrypt hash.
    pub hash: String,
    pub metadata: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JwtPolicy {
    /// Algorithm names as in the JOSE `alg` header (`RS256`, `EdDSA`, ...), all known.
    pub algorithms: Vec<String>,
    pub keys: Vec<JwtKey>,
    /// A JWKS document's text, read with the config.
    pub jwks: Option<String>,
    /// A JWKS document fetched from a URL and refreshed while the policy lives.
    pub jwks_url: Option<JwksUrl>,
    pub issuers: Vec<String>,
    pub audiences: Vec<String>,
    pub leeway: Duration,
    /// Claim -> lower-case header name.
    pub forward_claims: Vec<(String, String)>,
    pub keep_credential: bool,
}

/// A JWKS URL, checked: `http` or `https`, a host, no user info; plain `http` only to a
/// loopback host unless the config allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksUrl {
    pub url: String,
    pub refresh: Duration,
    /// How long after the last good fetch its keys are still used.
    pub max_stale: Duration,
    /// Longest time one fetch may take.
    pub timeout: Duration,
    /// Extra trusted CA certificates (the `ca_file`'s PEM text, read with the config).
    pub ca_pem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtKey {
    pub kid: Option<String>,
    pub material: JwtKeyMaterial,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtKeyMaterial {
    Secret(String),
    Pem(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizePolicy {
    pub rules: Vec<ClaimRule>,
}

/// The claim must hold one of `any_of` (when not empty) and all of `all_of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRule {
    pub claim: String,
    pub any_of: Vec<String>,
    pub all_of: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitPolicy {
    pub requests: u64,
    pub per: Duration,
    pub burst: u64,
    pub key: Vec<RateKey>,
    pub max_keys: usize,
    /// Shared by every gateway through Redis instead of counted per instance.
    pub redis: Option<RedisStore>,
}

/// A Redis server holding shared rate limit state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisStore {
    /// `redis://[user:password@]host:port[/db]`; may hold a password, so never logged.
    pub url: String,
    /// How long one decision may wait for Redis.
    pub timeout: Duration,
    /// When Redis fails or is slow: allow the request (`true`) or refuse it with 503.
    pub fail_open: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateKey {
    ClientIp,
    Route,
    ApiKey,
    /// Lower-case header name.
    Header(String),
    Claim(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsPolicy {
    pub origins: Vec<CorsOrigin>,
    /// Upper-case method names.
    pub methods: Vec<String>,
    /// Lower-case header names.
    pub headers: Vec<String>,
    pub expose: Vec<String>,
    pub credentials: bool,
    pub max_age: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigin {
    Any,
    /// `https://app.example.com`, lower-case.
    Exact(String),
    /// `https://*.example.com` as scheme `https://` and suffix `.example.com`.
    Wildcard {
        scheme: String,
        suffix: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestQueryPolicy {
    /// Parameter name (decoded), value template.
    pub set: Vec<(String, String)>,
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeadersPolicy {
    /// Lower-case name, value template.
    pub set: Vec<(String, String)>,
    pub remove: Vec<String>,
}
