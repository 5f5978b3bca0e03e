//! `RawConfig -> Config`: every semantic check, collecting all errors with their positions.

use crate::error::ConfigErrors;
use crate::located::Located;
use crate::model::*;
use crate::raw::*;
use crate::values::{Checker, is_header_name, is_header_value, parse_template};
use std::collections::HashSet;

/// Checks `raw` and builds the typed config; `file` names the source in errors.
pub fn validate(raw: RawConfig, file: &str) -> Result<Config, ConfigErrors> {
    let mut c = Checker::new(file);
    let policy_names: HashSet<&str> = raw.policies.iter().map(|p| p.name.as_str()).collect();
    let policies = crate::policy::policies(&mut c, &raw.policies);
    let listeners = listeners(&mut c, &raw.listeners, &policy_names);
    let clusters = clusters(&mut c, &raw.clusters);
    let names: HashSet<&str> = clusters.iter().map(|k| k.name.as_str()).collect();
    let routes = routes(&mut c, &raw.routes, &names, &policy_names);
    let access_log = access_log(raw.access_log.as_ref());
    let drain_timeout = c.duration_or(raw.drain_timeout.as_ref(), "drain_timeout", 15);
    let admin = raw.admin.as_ref().and_then(|a| admin(&mut c, a));
    let registry = raw
        .registry
        .as_ref()
        .and_then(|r| crate::embedded::registry(&mut c, r));
    if raw.registry.is_none() {
        crate::embedded::check_sources(&mut c, &raw.routes);
    }
    crate::embedded::check_cache_files(&mut c, &raw.routes);
    c.finish(Config {
        listeners,
        routes,
        clusters,
        policies,
        access_log,
        drain_timeout,
        zone: raw.zone.clone(),
        admin,
        registry,
    })
}

/// The admin listener: an address off loopback needs a token, and a token must be long
/// enough not to be guessed.
fn admin(c: &mut Checker, raw: &RawAdmin) -> Option<Admin> {
    let address = match &raw.address {
        Some(a) => c.socket_addr(a, "admin.address")?,
        None => std::net::SocketAddr::from(([127, 0, 0, 1], 9901)),
    };
    if let Some(token) = &raw.token
        && token.value.len() < 16
    {
        c.error(token, "admin.token", "a token needs at least 16 characters");
        return None;
    }
    if let (None, Some(at)) = (&raw.token, &raw.address)
        && !address.ip().is_loopback()
    {
        let msg = format!(
            "the admin listener on {address} is off loopback: give it a `token` (or bind it \
             to 127.0.0.1)"
        );
        c.error(at, "admin.address", &msg);
        return None;
    }
    Some(Admin {
        address,
        token: raw.token.as_ref().map(|t| Secret(t.value.clone())),
    })
}

fn listeners(c: &mut Checker, raw: &[RawListener], policies: &HashSet<&str>) -> Vec<Listener> {
    if raw.is_empty() {
        c.error_at(1, 1, "listeners", "at least one listener is required");
    }
    let mut seen = HashSet::new();
    raw.iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let path = format!("listeners[{i}]");
            c.unique(&mut seen, &l.name, &format!("{path}.name"));
            let address = c.socket_addr(&l.address, &format!("{path}.address"));
            let listener = Listener {
                name: l.name.value.clone(),
                address: address?,
                max_header_bytes: c.size_or(
                    l.max_header_bytes.as_ref(),
                    &format!("{path}.max_header_bytes"),
                    16 * 1024,
                    1024,
                ),
                max_headers: c.size_or(
                    l.max_headers.as_ref(),
                    &format!("{path}.max_headers"),
                    100,
                    1,
                ),
                header_read_timeout: c.duration_or(
                    l.header_read_timeout.as_ref(),
                    &format!("{path}.header_read_timeout"),
                    10,
                ),
                max_request_body_bytes: l.max_request_body_bytes.as_ref().map(|v| v.value),
                policies: crate::policy::names(
                    c,
                    &l.policies,
                    policies,
                    &format!("{path}.policies"),
                ),
            };
            Some(listener)
        })
        .collect()
}

fn access_log(raw: Option<&RawAccessLog>) -> AccessLogTarget {
    match raw.map(|a| a.to.value.as_str()) {
        None | Some("stdout") => AccessLogTarget::Stdout,
        Some("stderr") => AccessLogTarget::Stderr,
        Some("off") => AccessLogTarget::Off,
        Some(path) => AccessLogTarget::File(path.to_owned()),
    }
}

fn clusters(c: &mut Checker, raw: &[RawCluster]) -> Vec<Cluster> {
    let mut seen = HashSet::new();
    raw.iter()
        .enumerate()
        .map(|(i, k)| {
            let path = format!("clusters[{i}]");
            c.unique(&mut seen, &k.name, &format!("{path}.name"));
            cluster(c, k, &path)
        })
        .collect()
}

fn cluster(c: &mut Checker, k: &RawCluster, path: &str) -> Cluster {
    if k.endpoints.is_empty() && k.discovery.is_none() {
        c.error(
            &k.name,
            &format!("{path}.endpoints"),
            "a cluster needs at least one endpoint",
        );
    }
    let endpoints = k
        .endpoints
        .iter()
        .enumerate()
        .map(|(j, e)| endpoint(c, e, &format!("{path}.endpoints[{j}]")))
        .collect();
    Cluster {
        name: k.name.value.clone(),
        endpoints,
        balancing: crate::balancing::balancing(c, k, path),
        protocol: protocol(c, k.protocol.as_ref(), &format!("{path}.protocol")),
        connect_timeout: c.duration_or(
            k.connect_timeout.as_ref(),
            &format!("{path}.connect_timeout"),
            1,
        ),
        request_timeout: c.duration_or(
            k.request_timeout.as_ref(),
            &format!("{path}.request_timeout"),
            15,
        ),
        idle_timeout: c.duration_or(k.idle_timeout.as_ref(), &format!("{path}.idle_timeout"), 60),
        retries: retries(c, k.retries.as_ref(), &format!("{path}.retries")),
        max_connections: c.size_or(
            k.max_connections.as_ref(),
            &format!("{path}.max_connections"),
            1024,
            1,
        ),
        max_pending: c.size_or(
            k.max_pending.as_ref(),
            &format!("{path}.max_pending"),
            1024,
            0,
        ),
    }
}

fn endpoint(c: &mut Checker, e: &RawEndpoint, path: &str) -> Endpoint {
    c.host_port(&e.address, &format!("{path}.address"));
    let weight = e.weight.as_ref().map_or(1, |w| w.value);
    if let Some(w) = e.weight.as_ref().filter(|w| w.value == 0) {
        c.error(w, &format!("{path}.weight"), "weight must be at least 1");
    }
    Endpoint {
        address: e.address.value.clone(),
        weight,
        zone: e.zone.clone(),
    }
}

fn protocol(c: &mut Checker, raw: Option<&Located<String>>, path: &str) -> UpstreamProtocol {
    match raw.map(|b| b.value.as_str()) {
        None | Some("http1") => UpstreamProtocol::Http1,
        Some("http2") => UpstreamProtocol::Http2,
        Some(other) => {
            let msg = format!("unknown protocol `{other}`; expected `http1` or `http2`");
            c.error(raw.expect("matched Some"), path, &msg);
            UpstreamProtocol::Http1
        }
    }
}

fn retries(c: &mut Checker, raw: Option<&RawRetries>, path: &str) -> RetryPolicy {
    let Some(r) = raw else {
        return RetryPolicy {
            attempts: 1,
            on: RetryOn::ALL,
            budget: 0.2,
            min_per_second: 10,
        };
    };
    let budget = r.budget.as_ref().map_or(0.2, |b| b.value);
    if let Some(b) = r
        .budget
        .as_ref()
        .filter(|b| !(0.0..=1.0).contains(&b.value))
    {
        c.error(
            b,
            &format!("{path}.budget"),
            "budget is a fraction between 0 and 1",
        );
    }
    RetryPolicy {
        attempts: r.attempts.as_ref().map_or(1, |a| a.value),
        on: retry_on(c, &r.on, path),
        budget,
        min_per_second: r.min_per_second.as_ref().map_or(10, |m| m.value),
    }
}

fn retry_on(c: &mut Checker, raw: &[Located<String>], path: &str) -> RetryOn {
    if raw.is_empty() {
        return RetryOn::ALL;
    }
    let mut on = RetryOn::default();
    for (i, cond) in raw.iter().enumerate() {
        match cond.value.as_str() {
            "connect_failure" => on.connect_failure = true,
            "reset" => on.reset = true,
            "502" => on.status_502 = true,
            "503" => on.status_503 = true,
            "504" => on.status_504 = true,
            other => {
                let msg = format!(
                    "unknown retry condition `{other}`; expected connect_failure, reset, 502, 503 or 504"
                );
                c.error(cond, &format!("{path}.on[{i}]"), &msg);
            }
        }
    }
    on
}

fn routes(
    c: &mut Checker,
    raw: &[RawRoute],
    clusters: &HashSet<&str>,
    policies: &HashSet<&str>,
) -> Vec<Route> {
    let mut seen = HashSet::new();
    raw.iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let path = format!("routes[{i}]");
            c.unique(&mut seen, &r.name, &format!("{path}.name"));
            let mut route = crate::route::route(c, r, i, &path, clusters)?;
            route.policies = r
                .policies
                .as_ref()
                .map(|names| crate::policy::names(c, names, policies, &format!("{path}.policies")));
            Some(route)
        })
        .collect()
}

pub(crate) fn header_edits(c: &mut Checker, raw: &RawHeaderEdits, path: &str) -> HeaderEdits {
    let set = header_map(c, &raw.set, &format!("{path}.set"));
    let add = header_map(c, &raw.add, &format!("{path}.add"));
    let remove = raw
        .remove
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if !is_header_name(name) {
                let msg = format!("`{}` is not a valid header name", name.value);
                c.error(name, &format!("{path}.remove[{i}]"), &msg);
            }
            name.value.to_ascii_lowercase()
        })
        .collect();
    HeaderEdits { remove, set, add }
}

/// Checks a `name: value` map of headers found at `path` (`set`, `add`, a respond's `headers`).
pub(crate) fn header_map(
    c: &mut Checker,
    map: &std::collections::BTreeMap<String, Located<String>>,
    path: &str,
) -> Vec<(String, String)> {
    map.iter()
        .map(|(name, value)| {
            let field = format!("{path}.{name}");
            if !is_header_name(name) {
                c.error(
                    value,
                    &field,
                    &format!("`{name}` is not a valid header name"),
                );
            }
            if !is_header_value(&value.value) {
                c.error(
                    value,
                    &field,
                    "header value has characters a header cannot hold",
                );
            }
            (name.to_ascii_lowercase(), value.value.clone())
        })
        .collect()
}

/// Used by route checks for templates in `rewrite` and `redirect.to`.
pub(crate) fn template_params(c: &mut Checker, value: &Located<String>, path: &str) -> Vec<String> {
    match parse_template(&value.value) {
        Ok(t) => t
            .segments
            .into_iter()
            .filter_map(|s| match s {
                Segment::Param(p) | Segment::CatchAll(p) => Some(p),
                Segment::Literal(_) => None,
            })
            .collect(),
        Err(msg) => {
            c.error(value, path, &msg);
            Vec::new()
        }
    }
}

impl Checker {
    pub(crate) fn finish(self, config: Config) -> Result<Config, ConfigErrors> {
        if self.errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(self.errors))
        }
    }
}
