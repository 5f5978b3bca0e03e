//! The `policies:` section as the user writes it: named gateway policies that routes and
//! listeners list by name (docs/policies.md).

use crate::located::Located;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A named policy; exactly one of the kinds below.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub name: Located<String>,
    /// Authenticate with an API key from a header or query parameter.
    #[serde(default)]
    pub api_key: Option<RawApiKey>,
    /// Authenticate with a JSON Web Token (`Authorization: Bearer ...`).
    #[serde(default)]
    pub jwt: Option<RawJwt>,
    /// Authenticate with a user name and password (`Authorization: Basic ...`).
    #[serde(default)]
    pub basic_auth: Option<RawBasicAuth>,
    /// Require claims (or scopes) of the authenticated identity; 403 otherwise.
    #[serde(default)]
    pub authorize: Option<RawAuthorize>,
    /// Limit the request rate per key (GCRA); 429 beyond it.
    #[serde(default)]
    pub rate_limit: Option<RawRateLimit>,
    /// Cross-origin resource sharing: answer preflights, mark allowed responses.
    #[serde(default)]
    pub cors: Option<RawCors>,
    /// Largest request body in bytes; beyond it: 413.
    #[serde(default)]
    pub body_limit: Option<Located<u64>>,
    /// Validate requests against an OpenAPI 3.0 or 3.1 document; 400 with every violation.
    #[serde(default)]
    pub openapi: Option<RawOpenApi>,
    /// Edit the request's headers; values may use `{identity.id}`, `{claim.NAME}`,
    /// `{meta.NAME}` and `{param.NAME}`.
    #[serde(default)]
    pub request_headers: Option<RawRequestHeaders>,
    /// Edit the request's query string; values may use the same placeholders.
    #[serde(default)]
    pub request_query: Option<RawRequestQuery>,
}

/// API keys. Keys are stored as hashes: `sha256:` and 64 hex digits (`switchyard hash-key`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawApiKey {
    /// Header carrying the key (default `x-api-key` when `query` is not given).
    #[serde(default)]
    pub header: Option<Located<String>>,
    /// Query parameter carrying the key.
    #[serde(default)]
    pub query: Option<Located<String>>,
    #[serde(default)]
    pub keys: Vec<RawKey>,
    /// A YAML file holding more keys in the same form, relative to this config file.
    #[serde(default)]
    pub keys_file: Option<Located<String>>,
    /// Send the key's id upstream in this header.
    #[serde(default)]
    pub forward_id: Option<Located<String>>,
    /// Keep the key itself in the request sent upstream (default false: removed).
    #[serde(default)]
    pub keep_credential: bool,
}

/// One API key.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    pub id: Located<String>,
    /// `sha256:<64 hex digits>` of the key.
    pub hash: Located<String>,
    /// Facts about the key's owner, usable in `request_headers` as `{meta.NAME}`.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// HTTP Basic authentication against bcrypt password hashes.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBasicAuth {
    /// Shown by browsers in the login prompt (default `switchyard`).
    #[serde(default)]
    pub realm: Option<Located<String>>,
    #[serde(default)]
    pub users: Vec<RawBasicUser>,
    /// An htpasswd file (`name:$2y$...` lines, bcrypt only), relative to this config file.
    #[serde(default)]
    pub htpasswd: Option<Located<String>>,
    /// Keep `Authorization` in the request sent upstream (default false).
    #[serde(default)]
    pub keep_credential: bool,
}

/// One user of a `basic_auth` policy.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBasicUser {
    pub name: Located<String>,
    /// A bcrypt hash (`$2y$...`, as `htpasswd -nB` writes).
    pub hash: Located<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// JSON Web Tokens.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJwt {
    /// Accepted algorithms, e.g. `[RS256, ES256]`; nothing else is tried.
    pub algorithms: Vec<Located<String>>,
    /// Keys given inline.
    #[serde(default)]
    pub keys: Vec<RawJwtKey>,
    /// A JWKS document (`{"keys": [...]}`) relative to this config file.
    #[serde(default)]
    pub jwks_file: Option<Located<String>>,
    /// A JWKS document fetched from a URL and refreshed in the background.
    #[serde(default)]
    pub jwks_url: Option<RawJwksUrl>,
    /// Accepted `iss` values (default: any).
    #[serde(default)]
    pub issuers: Vec<Located<String>>,
    /// Accepted `aud` values; the token must name one (default: any).
    #[serde(default)]
    pub audiences: Vec<Located<String>>,
    /// Clock skew allowed on `exp` and `nbf` (default 30s).
    #[serde(default)]
    pub leeway: Option<Located<String>>,
    /// Claims sent upstream: claim -> header (e.g. `sub: x-user`).
    #[serde(default)]
    pub forward_claims: BTreeMap<String, Located<String>>,
    /// Keep the `Authorization` header in the request sent upstream (default true).
    #[serde(default)]
    pub keep_credential: Option<bool>,
}

/// Where to fetch a JWKS document, how often, and how long its keys outlive failed fetches.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJwksUrl {
    /// `https://host[:port]/path`; `http://` only for a loopback host (or with
    /// `allow_insecure_http`).
    pub url: Located<String>,
    /// Time between fetches (default 5m).
    #[serde(default)]
    pub refresh: Option<Located<String>>,
    /// How long the last good keys are used while fetches fail (default 1h); after that,
    /// tokens are refused with `jwks_unavailable`.
    #[serde(default)]
    pub max_stale: Option<Located<String>>,
    /// Longest time one fetch may take, connecting included (default 2s).
    #[serde(default)]
    pub timeout: Option<Located<String>>,
    /// Extra trusted CA certificates (PEM), relative to this config file.
    #[serde(default)]
    pub ca_file: Option<Located<String>>,
    /// Allow `http://` to a host that is not loopback: anyone on the path could then swap the
    /// keys and sign their own tokens (default false).
    #[serde(default)]
    pub allow_insecure_http: bool,
}

/// One inline JWT key: exactly one of `secret` (HS*), `pem` (RS*, PS*, ES*, EdDSA public key).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJwtKey {
    /// Matches the token's `kid`; a key without one serves tokens without `kid`.
    #[serde(default)]
    pub kid: Option<Located<String>>,
    #[serde(default)]
    pub secret: Option<Located<String>>,
    #[serde(default)]
    pub pem: Option<Located<String>>,
}

/// Claim requirements; all rules must hold.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAuthorize {
    /// Shorthand for a rule on the `scope` claim (space-separated or a list).
    #[serde(default)]
    pub scopes: Option<RawClaimRule>,
    /// Claim name -> rule.
    #[serde(default)]
    pub claims: BTreeMap<String, RawClaimRule>,
}

/// The claim must hold at least one of `any_of` and every one of `all_of`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawClaimRule {
    #[serde(default)]
    pub any_of: Vec<String>,
    #[serde(default)]
    pub all_of: Vec<String>,
}

/// A rate limit: `requests` per `per`, with bursts of up to `burst` (default: `requests`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub requests: Located<u64>,
    /// A duration such as `1s` or `1m`.
    pub per: Located<String>,
    #[serde(default)]
    pub burst: Option<Located<u64>>,
    /// What is counted separately: any of `client_ip`, `route`, `api_key`, `header:NAME`,
    /// `claim:NAME` (default `[client_ip]`); several combine.
    #[serde(default)]
    pub key: Vec<Located<String>>,
    /// Most distinct keys held in memory (default 100000); idle ones are evicted first.
    #[serde(default)]
    pub max_keys: Option<Located<u64>>,
    /// Share the limit among every gateway instance through this Redis.
    #[serde(default)]
    pub redis: Option<RawRedis>,
}

/// Shared rate limit state in Redis: one round trip per decision (an atomic script).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRedis {
    /// `redis://host:port` (a password may come from `${ENV}`).
    pub url: Located<String>,
    /// Longest wait for one decision (default 50ms).
    #[serde(default)]
    pub timeout: Option<Located<String>>,
    /// When Redis fails or is slower than `timeout`: `allow` (default) or `deny` (503).
    #[serde(default)]
    pub on_failure: Option<Located<String>>,
}

/// CORS (the Fetch standard).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCors {
    /// Origins such as `https://app.example.com`, `https://*.example.com`, or `*`.
    pub allow_origins: Vec<Located<String>>,
    /// Default `[GET, HEAD, POST]`.
    #[serde(default)]
    pub allow_methods: Vec<Located<String>>,
    #[serde(default)]
    pub allow_headers: Vec<Located<String>>,
    #[serde(default)]
    pub expose_headers: Vec<Located<String>>,
    #[serde(default)]
    pub allow_credentials: bool,
    /// How long a browser may cache a preflight answer (e.g. `10m`).
    #[serde(default)]
    pub max_age: Option<Located<String>>,
}

/// Request validation against an OpenAPI document.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOpenApi {
    /// The OpenAPI document (YAML or JSON), relative to this config file.
    pub spec: Located<String>,
    /// Largest JSON body read for validation (default 1 MiB); beyond it: 413.
    #[serde(default)]
    pub max_body_bytes: Option<Located<u64>>,
    /// A request no operation of the document describes: `reject` (default; 404, or 405 for a
    /// known path with another method) or `allow`.
    #[serde(default)]
    pub unknown_operations: Option<Located<String>>,
    /// Check the service's responses against the document: `off` (default) or `report` (log
    /// and count each mismatch; the response goes to the client unchanged).
    #[serde(default)]
    pub responses: Option<Located<String>>,
}

/// Query-string edits on the request sent upstream, applied in the order remove, set; a set
/// parameter replaces every value of that name the client sent.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRequestQuery {
    #[serde(default)]
    pub set: BTreeMap<String, Located<String>>,
    #[serde(default)]
    pub remove: Vec<Located<String>>,
}

/// Header edits on the request sent upstream, applied in the order remove, set.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRequestHeaders {
    #[serde(default)]
    pub set: BTreeMap<String, Located<String>>,
    #[serde(default)]
    pub remove: Vec<Located<String>>,
}
