//! Named policies compiled once per config, and the ordered chain a route runs per request.

use crate::answer::Answer;
use crate::identity::Identity;
use crate::metrics::PolicyMetrics;
use crate::time::Timebase;
use crate::{PolicyError, api_key, authorize, basic, cors, jwt, openapi, rate_limit, transform};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use switchyard_config::{Policy, PolicyKind};

/// The request as policies see it; they may edit its URI (a query-string key removed) and
/// headers (credentials removed, identity forwarded).
#[derive(Debug)]
pub struct Exchange<'a> {
    pub method: &'a Method,
    pub uri: &'a mut Uri,
    pub headers: &'a mut HeaderMap,
    pub client_ip: IpAddr,
    pub route: &'a str,
    /// The route's path parameters.
    pub params: &'a [(String, String)],
}

/// What the chain leaves for the rest of the request.
#[derive(Debug, Default)]
pub struct Passed {
    pub identity: Option<Identity>,
    /// Headers for the response (CORS, `RateLimit`).
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
    /// The smallest body limit of the chain.
    pub max_body: Option<u64>,
    /// A body the proxy must read and have checked (request validation) before going on.
    pub body_check: Option<openapi::BodyCheck>,
    /// The service's response to check against the API's document (report-only).
    pub response_check: Option<openapi::ResponseCheck>,
}

/// One compiled policy.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) name: Arc<str>,
    pub(crate) rule: Rule,
    /// What it was built from, to keep it (and its limiter state) over a reload that leaves
    /// it unchanged (wherever it moved in the file).
    config: Policy,
}

#[derive(Debug)]
pub(crate) enum Rule {
    ApiKey(api_key::ApiKeys),
    Jwt(Box<jwt::JwtAuth>),
    Basic(basic::BasicAuth),
    Authorize(authorize::Authorize),
    RateLimit(Box<rate_limit::RateLimit>),
    Cors(cors::Cors),
    BodyLimit(u64),
    RequestHeaders(transform::RequestHeaders),
    RequestQuery(transform::RequestQuery),
    OpenApi(Box<openapi::OpenApi>),
}

/// Every policy of a config, by name.
#[derive(Debug, Default)]
pub struct Policies {
    by_name: HashMap<String, Arc<Compiled>>,
}

impl Policies {
    /// Builds each policy; `time` drives rate limits and token expiry. A policy whose config
    /// is unchanged from `previous` is kept as it is, rate limit counts included.
    pub fn compile(
        policies: &[Policy],
        time: &Timebase,
        previous: Option<&Policies>,
    ) -> Result<Self, PolicyError> {
        Self::compile_counted(policies, time, previous, &PolicyMetrics::default())
    }

    /// [`Policies::compile`], with the policies' counters kept in `metrics`.
    pub fn compile_counted(
        policies: &[Policy],
        time: &Timebase,
        previous: Option<&Policies>,
        metrics: &PolicyMetrics,
    ) -> Result<Self, PolicyError> {
        let mut by_name = HashMap::with_capacity(policies.len());
        for p in policies {
            let old = previous.and_then(|prev| prev.by_name.get(&p.name));
            let compiled = match old.filter(|old| old.config.kind == p.kind) {
                Some(old) => Arc::clone(old),
                None => Arc::new(Compiled {
                    name: Arc::from(p.name.as_str()),
                    rule: rule(p, time, metrics)?,
                    config: p.clone(),
                }),
            };
            by_name.insert(p.name.clone(), compiled);
        }
        Ok(Self { by_name })
    }

    /// The chain for a list of policy names (validated to exist by the config).
    pub fn chain(&self, names: &[String]) -> Chain {
        let steps: Vec<Arc<Compiled>> = names
            .iter()
            .filter_map(|n| self.by_name.get(n).cloned())
            .collect();
        let mut guarded: Vec<String> = steps
            .iter()
            .flat_map(|s| s.config.kind.written_headers())
            .map(|h| h.replace('_', "-"))
            .collect();
        guarded.sort_unstable();
        guarded.dedup();
        Chain { steps, guarded }
    }
}

fn rule(p: &Policy, time: &Timebase, metrics: &PolicyMetrics) -> Result<Rule, PolicyError> {
    let error = |message: String| PolicyError {
        origin: p.origin.clone(),
        message,
    };
    Ok(match &p.kind {
        PolicyKind::ApiKey(k) => Rule::ApiKey(api_key::ApiKeys::new(k)),
        PolicyKind::Jwt(j) => Rule::Jwt(Box::new(jwt::JwtAuth::new(j, time).map_err(error)?)),
        PolicyKind::BasicAuth(b) => Rule::Basic(basic::BasicAuth::new(b)),
        PolicyKind::Authorize(a) => Rule::Authorize(authorize::Authorize::new(a)),
        PolicyKind::RateLimit(r) => Rule::RateLimit(Box::new(rate_limit::RateLimit::new(
            &p.name, r, time, metrics,
        ))),
        PolicyKind::Cors(c) => Rule::Cors(cors::Cors::new(c)),
        PolicyKind::BodyLimit(max) => Rule::BodyLimit(*max),
        PolicyKind::OpenApi(o) => Rule::OpenApi(Box::new(
            openapi::OpenApi::new(&p.name, o, metrics).map_err(error)?,
        )),
        PolicyKind::RequestHeaders(h) => Rule::RequestHeaders(transform::RequestHeaders::new(h)),
        PolicyKind::RequestQuery(q) => Rule::RequestQuery(transform::RequestQuery::new(q)),
    })
}

/// A route's policies in order.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    steps: Vec<Arc<Compiled>>,
    /// Headers the chain writes for the service (identity, transforms), with `_` read as `-`.
    guarded: Vec<String>,
}

impl Chain {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Runs the policies in order; the first that answers ends the chain. Only a shared
    /// (Redis) rate limit, a bcrypt check and a JWKS fetch in flight wait on anything.
    pub async fn apply(&self, ex: &mut Exchange<'_>) -> Result<Passed, Box<Answer>> {
        if !self.guarded.is_empty() {
            self.drop_lookalikes(ex.headers);
        }
        let mut passed = Passed::default();
        for step in &self.steps {
            if let Err(mut answer) = step.apply(ex, &mut passed).await {
                // An answer keeps what earlier policies left (CORS, so a page can read a 401
                // or a 429 and its Retry-After).
                answer.headers.append(&mut passed.response_headers);
                return Err(Box::new(answer));
            }
        }
        Ok(passed)
    }
}

impl Chain {
    /// Removes client headers such as `x_user` that a service may read as the `x-user` the
    /// chain writes (CGI, WSGI and PHP map both to `HTTP_X_USER`), so an identity header
    /// cannot be supplied by the client under another spelling.
    fn drop_lookalikes(&self, headers: &mut http::HeaderMap) {
        let lookalikes: Vec<http::HeaderName> = headers
            .keys()
            .filter(|name| name.as_str().contains('_'))
            .filter(|name| self.guarded.contains(&name.as_str().replace('_', "-")))
            .cloned()
            .collect();
        for name in lookalikes {
            headers.remove(name);
        }
    }
}

impl Compiled {
    async fn apply(&self, ex: &mut Exchange<'_>, passed: &mut Passed) -> Result<(), Answer> {
        let name = &self.name;
        match &self.rule {
            Rule::ApiKey(k) => passed.identity = Some(k.authenticate(name, ex)?),
            Rule::Jwt(j) => passed.identity = Some(j.authenticate(name, ex).await?),
            Rule::Basic(b) => passed.identity = Some(b.authenticate(name, ex).await?),
            Rule::Authorize(a) => a.check(name, passed.identity.as_ref())?,
            Rule::RateLimit(r) => r.admit(name, ex, passed).await?,
            Rule::Cors(c) => c.apply(name, ex, passed)?,
            Rule::BodyLimit(max) => body_limit(name, *max, ex, passed)?,
            Rule::RequestHeaders(h) => h.apply(ex, passed.identity.as_ref()),
            Rule::RequestQuery(q) => q.apply(ex, passed.identity.as_ref()),
            Rule::OpenApi(o) => o.apply(name, ex, passed)?,
        }
        Ok(())
    }
}

/// A declared `Content-Length` over the limit is refused at once; a streamed body is cut off
/// at the limit by the proxy (`Passed::max_body`).
fn body_limit(
    name: &Arc<str>,
    max: u64,
    ex: &Exchange<'_>,
    passed: &mut Passed,
) -> Result<(), Answer> {
    let declared = ex.headers.get(header::CONTENT_LENGTH);
    let declared = declared.and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        let detail = format!("the request body is larger than {max} bytes");
        return Err(Answer::problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            name,
            "body_too_large",
            detail,
        ));
    }
    passed.max_body = Some(passed.max_body.map_or(max, |m| m.min(max)));
    Ok(())
}
