//! The compiled config: route table, clusters and log, built once per config and published
//! through an `ArcSwap`. A request holds its `Arc<Runtime>` until it ends, so a reload never
//! disturbs requests in flight.

use crate::access_log::AccessLog;
use crate::cluster::Cluster;
use crate::graphql::GraphQLRoute;
use crate::headers::HeaderEdits;
use crate::metrics::{Metrics, RouteMetrics};
use crate::router::RouteTable;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use switchyard_config::{AccessLogTarget, Action, Config, Listener, Segment};
use switchyard_policy::{Chain, Policies, Timebase};

/// Why a config could not be turned into a runtime.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot open the access log: {0}")]
    AccessLog(std::io::Error),
    /// A route that validated but cannot be built (e.g. a supergraph that does not load).
    #[error("{0}")]
    Route(String),
    /// A policy that validated but cannot be built (e.g. a PEM that is not a key).
    #[error(transparent)]
    Policy(#[from] switchyard_policy::PolicyError),
}

/// Everything a request needs, for one config generation.
#[derive(Debug)]
pub struct Runtime {
    pub routes: RouteTable<Routed>,
    pub policies: Policies,
    /// Listener name -> the policies of routes that list none (only listeners that have some).
    pub listener_policies: HashMap<String, Chain>,
    pub clusters: HashMap<String, Arc<Cluster>>,
    pub listeners: Vec<Listener>,
    pub access_log: AccessLog,
    pub access_log_target: AccessLogTarget,
    pub drain_timeout: Duration,
    pub metrics: Arc<Metrics>,
    /// The counts of requests no route matched.
    pub unrouted: Arc<RouteMetrics>,
}

/// A route's action and its policies (`None`: the listener's).
#[derive(Debug)]
pub struct Routed {
    pub action: RouteAction,
    pub policies: Option<Chain>,
    pub metrics: Arc<RouteMetrics>,
}

/// A route's action with everything parsed.
#[derive(Debug)]
pub enum RouteAction {
    Proxy(ProxyRoute),
    Respond(RespondRoute),
    Redirect {
        to: String,
        status: http::StatusCode,
    },
    GraphQL(GraphQLRoute),
}

#[derive(Debug)]
pub struct ProxyRoute {
    pub cluster: Arc<Cluster>,
    pub strip_prefix: Option<String>,
    pub rewrite: Option<Vec<Segment>>,
    pub host_rewrite: Option<HeaderValue>,
    pub request_headers: HeaderEdits,
    pub response_headers: HeaderEdits,
    pub timeout: Duration,
}

#[derive(Debug)]
pub struct RespondRoute {
    pub status: http::StatusCode,
    pub body: Bytes,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Runtime {
    /// Builds the runtime for `config`, keeping clusters (and their balancer state and pools)
    /// and the log writer from `previous` where their config is unchanged.
    pub fn build(
        config: &Config,
        previous: Option<&Runtime>,
        metrics: &Arc<Metrics>,
    ) -> Result<Self, BuildError> {
        let clusters: HashMap<String, Arc<Cluster>> = config
            .clusters
            .iter()
            .map(|c| {
                let old = previous.and_then(|p| p.clusters.get(&c.name));
                let unchanged = old.filter(|old| old.config == *c && old.zone == config.zone);
                let cluster = unchanged.cloned().unwrap_or_else(|| {
                    Cluster::new(
                        c.clone(),
                        config.zone.clone(),
                        old.map(|o| &**o),
                        metrics.clusters.events(&c.name),
                    )
                });
                (c.name.clone(), cluster)
            })
            .collect();
        let policies = Policies::compile_counted(
            &config.policies,
            &Timebase::system(),
            previous.map(|p| &p.policies),
            &metrics.policy,
        )?;
        let mut routes = Vec::with_capacity(config.routes.len());
        for route in &config.routes {
            let built = match &route.action {
                Action::GraphQL(g) => Some(RouteAction::GraphQL(crate::graphql_route::build(
                    g,
                    &clusters,
                    previous.and_then(|p| p.graphql_gateway(&g.supergraph_sdl)),
                )?)),
                other => action(other, &clusters),
            };
            if let Some(action) = built {
                let policies = route.policies.as_deref().map(|names| policies.chain(names));
                let routed = Routed {
                    action,
                    policies,
                    metrics: metrics.route(&route.name),
                };
                routes.push((route.clone(), routed));
            }
        }
        let access_log = match previous.filter(|p| p.access_log_target == config.access_log) {
            Some(p) => p.access_log.clone(),
            None => AccessLog::start(&config.access_log).map_err(BuildError::AccessLog)?,
        };
        let listener_policies = config
            .listeners
            .iter()
            .filter(|l| !l.policies.is_empty())
            .map(|l| (l.name.clone(), policies.chain(&l.policies)))
            .collect();
        Ok(Self {
            routes: RouteTable::new(routes),
            policies,
            listener_policies,
            clusters,
            listeners: config.listeners.clone(),
            access_log,
            access_log_target: config.access_log.clone(),
            drain_timeout: config.drain_timeout,
            metrics: Arc::clone(metrics),
            unrouted: metrics.route(""),
        })
    }
}

impl Runtime {
    /// Supergraph files of the GraphQL routes.
    pub fn source_files(&self) -> Vec<std::path::PathBuf> {
        self.routes
            .actions()
            .flat_map(|a| match &a.action {
                RouteAction::GraphQL(g) => std::iter::once(g.supergraph_path.clone())
                    .filter(|p| !p.as_os_str().is_empty())
                    .chain(g.persisted_queries.as_ref().map(|m| m.path.clone()))
                    .collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// The gateway already serving this supergraph SDL, to keep its plan cache over a reload.
    fn graphql_gateway(
        &self,
        sdl: &str,
    ) -> Option<(
        Arc<switchyard_graphql::Gateway>,
        Option<switchyard_config::PersistedQueryManifest>,
    )> {
        self.routes.actions().find_map(|a| match &a.action {
            RouteAction::GraphQL(g) if g.sdl == sdl => {
                Some((g.gateway.clone(), g.persisted_queries.clone()))
            }
            _ => None,
        })
    }
}

fn action(action: &Action, clusters: &HashMap<String, Arc<Cluster>>) -> Option<RouteAction> {
    Some(match action {
        Action::Proxy(p) => {
            let cluster = Arc::clone(clusters.get(&p.cluster)?);
            let timeout = p.timeout.unwrap_or(cluster.config.request_timeout);
            RouteAction::Proxy(ProxyRoute {
                cluster,
                strip_prefix: p.strip_prefix.clone().filter(|s| s != "/"),
                rewrite: p.rewrite.as_deref().map(template_segments),
                host_rewrite: p
                    .host_rewrite
                    .as_deref()
                    .and_then(|h| HeaderValue::from_str(h).ok()),
                request_headers: HeaderEdits::compile(&p.request_headers),
                response_headers: HeaderEdits::compile(&p.response_headers),
                timeout,
            })
        }
        Action::Respond(r) => RouteAction::Respond(RespondRoute {
            status: http::StatusCode::from_u16(r.status).ok()?,
            body: Bytes::from(r.body.clone()),
            headers: r
                .headers
                .iter()
                .filter_map(|(n, v)| {
                    Some((
                        HeaderName::from_bytes(n.as_bytes()).ok()?,
                        HeaderValue::from_str(v).ok()?,
                    ))
                })
                .collect(),
        }),
        Action::Redirect(r) => RouteAction::Redirect {
            to: r.to.clone(),
            status: http::StatusCode::from_u16(r.status).ok()?,
        },
        Action::GraphQL(_) => return None,
    })
}

/// Splits a rewrite template like `/v1/{id}` into literal and parameter parts.
fn template_segments(template: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push(Segment::Literal(rest[..open].to_owned()));
        let name = rest[open + 1..open + close].trim_start_matches('*');
        out.push(Segment::Param(name.to_owned()));
        rest = &rest[open + close + 1..];
    }
    out.push(Segment::Literal(rest.to_owned()));
    out
}

/// Fills a split template with the route's captured parameters.
pub fn fill_template(segments: &[Segment], params: &[(String, String)]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Literal(text) => out.push_str(text),
            Segment::Param(name) | Segment::CatchAll(name) => {
                if let Some((_, value)) = params.iter().find(|(n, _)| n == name) {
                    out.push_str(value);
                }
            }
        }
    }
    out
}

/// Fills `{name}` in a redirect target.
pub fn fill_string(template: &str, params: &[(String, String)]) -> String {
    fill_template(&template_segments(template), params)
}
