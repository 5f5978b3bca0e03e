//! Route checks: match conditions and the one action of each route.

use crate::located::Located;
use crate::model::*;
use crate::raw::*;
use crate::validate::{header_edits, header_map, template_params};
use crate::values::{Checker, is_header_name, is_token, parse_template};
use regex::Regex;
use std::collections::HashSet;

pub(crate) fn route(
    c: &mut Checker,
    r: &RawRoute,
    index: usize,
    path: &str,
    clusters: &HashSet<&str>,
) -> Option<Route> {
    let m = &r.matches;
    let hosts = m
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| host(c, h, &format!("{path}.match.hosts[{i}]")));
    let hosts = hosts.collect::<Vec<_>>();
    let path_match = path_match(c, m.path.as_ref(), &r.name, &format!("{path}.match.path"));
    let methods = m
        .methods
        .iter()
        .enumerate()
        .map(|(i, v)| method(c, v, &format!("{path}.match.methods[{i}]")));
    let methods = methods.collect();
    let headers = value_matches(c, &m.headers, true, &format!("{path}.match.headers"));
    let query = value_matches(c, &m.query, false, &format!("{path}.match.query"));
    let params = match &path_match {
        Some(PathMatch::Template(t)) => t.segments.iter().filter_map(param_name).collect(),
        _ => Vec::new(),
    };
    let action = action(c, r, path, clusters, &params);
    Some(Route {
        name: r.name.value.clone(),
        index,
        hosts,
        path: path_match?,
        methods,
        headers,
        query,
        policies: None,
        action: action?,
    })
}

fn param_name(s: &Segment) -> Option<String> {
    match s {
        Segment::Param(p) | Segment::CatchAll(p) => Some(p.clone()),
        Segment::Literal(_) => None,
    }
}

fn host(c: &mut Checker, h: &Located<String>, path: &str) -> HostMatch {
    let lower = h.value.to_ascii_lowercase();
    let name = lower.strip_prefix("*.").unwrap_or(&lower);
    let valid = !name.is_empty()
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !valid {
        let msg = format!(
            "`{}` is not a host name or a wildcard like *.example.com",
            h.value
        );
        c.error(h, path, &msg);
    }
    match lower.strip_prefix('*') {
        Some(suffix) => HostMatch::Suffix(suffix.to_owned()),
        None => HostMatch::Exact(lower),
    }
}

fn method(c: &mut Checker, m: &Located<String>, path: &str) -> String {
    if !is_token(&m.value) {
        c.error(m, path, &format!("`{}` is not an HTTP method", m.value));
    }
    m.value.to_ascii_uppercase()
}

fn path_match(
    c: &mut Checker,
    raw: Option<&RawPathMatch>,
    route: &Located<String>,
    path: &str,
) -> Option<PathMatch> {
    let Some(p) = raw else {
        return Some(PathMatch::Prefix("/".to_owned()));
    };
    let given = [&p.exact, &p.prefix, &p.template, &p.regex];
    if given.iter().filter(|g| g.is_some()).count() != 1 {
        c.error(
            route,
            path,
            "give exactly one of exact, prefix, template or regex",
        );
        return None;
    }
    if let Some(v) = &p.exact {
        return slash_path(c, v, &format!("{path}.exact"))
            .then(|| PathMatch::Exact(v.value.clone()));
    }
    if let Some(v) = &p.prefix {
        return slash_path(c, v, &format!("{path}.prefix"))
            .then(|| PathMatch::Prefix(v.value.clone()));
    }
    if let Some(v) = &p.template {
        return match parse_template(&v.value) {
            Ok(t) => Some(PathMatch::Template(t)),
            Err(msg) => {
                c.error(v, &format!("{path}.template"), &msg);
                None
            }
        };
    }
    let v = p.regex.as_ref()?;
    regex(c, v, &format!("{path}.regex"), true).map(PathMatch::Regex)
}

fn slash_path(c: &mut Checker, v: &Located<String>, path: &str) -> bool {
    let ok = v.value.starts_with('/');
    if !ok {
        c.error(v, path, &format!("path `{}` must start with `/`", v.value));
    }
    ok
}

fn regex(c: &mut Checker, v: &Located<String>, path: &str, anchored: bool) -> Option<Regex> {
    let pattern = if anchored {
        format!("^(?:{})$", v.value)
    } else {
        v.value.clone()
    };
    // The pattern alone first: inside `^(?:...)$`, `a)|(b` would compile into another regex.
    match Regex::new(&v.value).and_then(|_| Regex::new(&pattern)) {
        Ok(r) => Some(r),
        Err(e) => {
            // regex's syntax errors span lines (pattern, caret, `error: why`); keep the why.
            let text = e.to_string();
            let why = text.lines().last().unwrap_or_default();
            let why = why.strip_prefix("error: ").unwrap_or(why);
            c.error(v, path, &format!("invalid regular expression: {why}"));
            None
        }
    }
}

fn value_matches(
    c: &mut Checker,
    raw: &[RawValueMatch],
    header: bool,
    path: &str,
) -> Vec<ValueMatch> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, v) in raw.iter().enumerate() {
        let path = format!("{path}[{i}]");
        if header && !is_header_name(&v.name.value) {
            let msg = format!("`{}` is not a valid header name", v.name.value);
            c.error(&v.name, &format!("{path}.name"), &msg);
        }
        let kind = match (&v.exact, &v.regex) {
            (Some(_), Some(r)) => {
                c.error(r, &path, "give at most one of exact and regex");
                continue;
            }
            (Some(e), None) => ValueKind::Exact(e.value.clone()),
            (None, Some(r)) => match regex(c, r, &format!("{path}.regex"), true) {
                Some(re) => ValueKind::Regex(re),
                None => continue,
            },
            (None, None) => ValueKind::Present,
        };
        let name = if header {
            v.name.value.to_ascii_lowercase()
        } else {
            v.name.value.clone()
        };
        out.push(ValueMatch {
            name,
            kind,
            invert: v.invert,
        });
    }
    out
}

fn action(
    c: &mut Checker,
    r: &RawRoute,
    path: &str,
    clusters: &HashSet<&str>,
    params: &[String],
) -> Option<Action> {
    let count = [
        r.proxy.is_some(),
        r.respond.is_some(),
        r.redirect.is_some(),
        r.graphql.is_some(),
    ];
    if count.iter().filter(|x| **x).count() != 1 {
        c.error(
            &r.name,
            path,
            "a route needs exactly one of proxy, respond, redirect or graphql",
        );
        return None;
    }
    if let Some(g) = &r.graphql {
        let at = format!("{path}.graphql");
        return graphql(c, g, &at, clusters, &r.name).map(|g| Action::GraphQL(Box::new(g)));
    }
    if let Some(p) = &r.proxy {
        return Some(Action::Proxy(proxy(
            c,
            p,
            &format!("{path}.proxy"),
            clusters,
            params,
        )));
    }
    if let Some(d) = &r.respond {
        return Some(Action::Respond(respond(c, d, &format!("{path}.respond"))));
    }
    let redirect = r.redirect.as_ref()?;
    Some(Action::Redirect(redirect_action(
        c,
        redirect,
        &format!("{path}.redirect"),
        params,
    )))
}

fn proxy(
    c: &mut Checker,
    p: &RawProxyAction,
    path: &str,
    clusters: &HashSet<&str>,
    params: &[String],
) -> ProxyAction {
    if !clusters.contains(p.cluster.value.as_str()) {
        let mut known: Vec<&str> = clusters.iter().copied().collect();
        known.sort_unstable();
        let msg = match known.is_empty() {
            true => format!(
                "unknown cluster `{}`: no clusters are defined",
                p.cluster.value
            ),
            false => format!(
                "unknown cluster `{}` (known: {})",
                p.cluster.value,
                known.join(", ")
            ),
        };
        c.error(&p.cluster, &format!("{path}.cluster"), &msg);
    }
    if let Some(s) = &p.strip_prefix {
        slash_path(c, s, &format!("{path}.strip_prefix"));
    }
    if let Some(rw) = &p.rewrite {
        check_params(c, rw, &format!("{path}.rewrite"), params);
    }
    if let (Some(s), Some(_)) = (&p.strip_prefix, &p.rewrite) {
        c.error(
            s,
            &format!("{path}.strip_prefix"),
            "give strip_prefix or rewrite, not both",
        );
    }
    ProxyAction {
        cluster: p.cluster.value.clone(),
        strip_prefix: p.strip_prefix.as_ref().map(|s| s.value.clone()),
        rewrite: p.rewrite.as_ref().map(|s| s.value.clone()),
        host_rewrite: p.host_rewrite.as_ref().map(|h| host_rewrite(c, h, path)),
        request_headers: header_edits(c, &p.request_headers, &format!("{path}.request_headers")),
        response_headers: header_edits(c, &p.response_headers, &format!("{path}.response_headers")),
        timeout: p
            .timeout
            .as_ref()
            .map(|t| c.duration_or(Some(t), &format!("{path}.timeout"), 15)),
    }
}

fn check_params(c: &mut Checker, v: &Located<String>, path: &str, params: &[String]) {
    for used in template_params(c, v, path) {
        if !params.contains(&used) {
            let msg = format!("`{{{used}}}` is not a parameter of this route's path template");
            c.error(v, path, &msg);
        }
    }
}

fn respond(c: &mut Checker, d: &RawRespondAction, path: &str) -> RespondAction {
    if !(200..=599).contains(&d.status.value) {
        c.error(
            &d.status,
            &format!("{path}.status"),
            "status must be between 200 and 599",
        );
    }
    let headers = header_map(c, &d.headers, &format!("{path}.headers"));
    RespondAction {
        status: d.status.value,
        body: d.body.clone(),
        headers,
    }
}

fn redirect_action(
    c: &mut Checker,
    r: &RawRedirectAction,
    path: &str,
    params: &[String],
) -> RedirectAction {
    let status = r.status.as_ref().map_or(302, |s| s.value);
    if let Some(s) = r
        .status
        .as_ref()
        .filter(|s| ![301, 302, 303, 307, 308].contains(&s.value))
    {
        c.error(
            s,
            &format!("{path}.status"),
            "redirect status must be 301, 302, 303, 307 or 308",
        );
    }
    if r.to.value.starts_with('/') {
        check_params(c, &r.to, &format!("{path}.to"), params);
    }
    RedirectAction {
        to: r.to.value.clone(),
        status,
    }
}

/// `host_rewrite` must be a host with an optional port, sendable as a `Host` header.
fn host_rewrite(c: &mut Checker, h: &Located<String>, path: &str) -> String {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b);
    let valid = !h.value.is_empty() && h.value.bytes().all(allowed);
    if !valid {
        let msg = format!("`{}` is not a host name or host:port", h.value);
        c.error(h, &format!("{path}.host_rewrite"), &msg);
    }
    h.value.clone()
}

fn graphql(
    c: &mut Checker,
    g: &RawGraphQLAction,
    path: &str,
    clusters: &HashSet<&str>,
    route_name: &Located<String>,
) -> Option<GraphQLAction> {
    for (subgraph, cluster) in &g.subgraphs {
        if !clusters.contains(cluster.value.as_str()) {
            let msg = format!("subgraph `{subgraph}`: unknown cluster `{}`", cluster.value);
            c.error(cluster, &format!("{path}.subgraphs.{subgraph}"), &msg);
        }
    }
    if let Some(p) = &g.subgraph_path {
        slash_path(c, p, &format!("{path}.subgraph_path"));
    }
    let timeout = c.duration_or(g.timeout.as_ref(), &format!("{path}.timeout"), 30);
    let (file, sdl, origin, registry) = match (&g.supergraph, &g.registry) {
        (Some(file), None) => {
            let origin = c.origin(file, &format!("{path}.supergraph"));
            let resolved = c.resolve_path(&file.value);
            match std::fs::read_to_string(&resolved) {
                Ok(sdl) => (resolved, sdl, origin, None),
                Err(e) => {
                    let msg = format!("cannot read supergraph file {}: {e}", resolved.display());
                    c.error(file, &format!("{path}.supergraph"), &msg);
                    return None;
                }
            }
        }
        (None, Some(r)) => {
            let origin = match &r.url {
                Some(url) => c.origin(url, &format!("{path}.registry")),
                None => c.origin(&r.graph, &format!("{path}.registry")),
            };
            let source = registry_source(c, r, &format!("{path}.registry"))?;
            (
                std::path::PathBuf::new(),
                String::new(),
                origin,
                Some(source),
            )
        }
        (Some(file), Some(_)) => {
            let msg = "give either supergraph (a file) or registry, not both";
            c.error(file, &format!("{path}.supergraph"), msg);
            return None;
        }
        (None, None) => {
            let msg = "a graphql route needs supergraph (a file) or registry";
            c.error(route_name, path, msg);
            return None;
        }
    };
    let persisted_queries = match &g.persisted_queries {
        None => None,
        Some(p) => {
            let file = c.resolve_path(&p.manifest.value);
            match std::fs::read_to_string(&file) {
                Ok(json) => Some(PersistedQueryManifest {
                    path: file,
                    json,
                    only: p.only,
                }),
                Err(e) => {
                    let msg = format!(
                        "cannot read persisted query manifest {}: {e}",
                        file.display()
                    );
                    c.error(
                        &p.manifest,
                        &format!("{path}.persisted_queries.manifest"),
                        &msg,
                    );
                    return None;
                }
            }
        }
    };
    Some(GraphQLAction {
        supergraph_path: file,
        supergraph_sdl: sdl,
        registry,
        origin,
        subgraphs: g
            .subgraphs
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect(),
        expose_subgraph_errors: g.expose_subgraph_errors,
        dedupe: g.dedupe.unwrap_or(true),
        introspection: g.introspection.unwrap_or(true),
        timeout,
        subgraph_path: g.subgraph_path.as_ref().map(|p| p.value.clone()),
        limits: graphql_limits(&g.limits),
        persisted_queries,
        headers: graphql_headers(c, &g.headers, &format!("{path}.headers")),
        subgraph_headers: g
            .subgraph_headers
            .iter()
            .map(|(name, h)| {
                let at = format!("{path}.subgraph_headers.{name}");
                (name.clone(), graphql_headers(c, h, &at))
            })
            .collect(),
    })
}

fn registry_source(c: &mut Checker, r: &RawRegistrySource, path: &str) -> Option<RegistrySource> {
    let before = c.errors.len();
    let url = r
        .url
        .as_ref()
        .map(|u| u.value.trim_end_matches('/').to_owned());
    if let (Some(given), Some(url)) = (&r.url, &url) {
        let valid_url = url
            .strip_prefix("http://")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/') && !rest.contains(' '));
        if !valid_url {
            let msg = format!(
                "`{}` is not a registry base URL such as http://127.0.0.1:4100 (http only, no path)",
                given.value
            );
            c.error(given, &format!("{path}.url"), &msg);
        }
    }
    for (field, name) in [("graph", &r.graph), ("variant", &r.variant)] {
        let ok = (1..=64).contains(&name.value.len())
            && name
                .value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            let msg = format!(
                "`{}` is not a {field} name (1 to 64 of A-Z a-z 0-9 _ -)",
                name.value
            );
            c.error(name, &format!("{path}.{field}"), &msg);
        }
    }
    let poll = c.duration_or(r.poll.as_ref(), &format!("{path}.poll"), 1);
    if let (Some(cache), None) = (&r.cache, &r.url) {
        let msg = "a cache is for a remote registry (with `url`): the embedded registry's store \
                   is already on disk";
        c.error(cache, &format!("{path}.cache"), msg);
    }
    (c.errors.len() == before).then(|| RegistrySource {
        url,
        graph: r.graph.value.clone(),
        variant: r.variant.value.clone(),
        poll,
        token: r.token.as_ref().map(|t| t.value.clone()),
        cache: r.cache.as_ref().map(|f| c.resolve_path(&f.value)),
    })
}

fn graphql_headers(c: &mut Checker, raw: &RawGraphQLHeaders, path: &str) -> GraphQLHeaders {
    let mut names = |list: &[Located<String>], field: &str| -> Vec<String> {
        list.iter()
            .enumerate()
            .map(|(i, name)| {
                if !is_header_name(name) {
                    let msg = format!("`{}` is not a valid header name", name.value);
                    c.error(name, &format!("{path}.{field}[{i}]"), &msg);
                }
                name.value.to_ascii_lowercase()
            })
            .collect()
    };
    let propagate = names(&raw.propagate, "propagate");
    let response = names(&raw.response, "response");
    GraphQLHeaders {
        propagate,
        set: header_map(c, &raw.set, &format!("{path}.set")),
        response,
    }
}

/// Given limits, defaults for the others, and 0 for "no limit".
fn graphql_limits(raw: &RawGraphQLLimits) -> GraphQLLimits {
    fn pick<T: Copy + PartialEq + Default>(v: Option<&Located<T>>, default: T) -> Option<T> {
        let value = v.map_or(default, |v| v.value);
        (value != T::default()).then_some(value)
    }
    GraphQLLimits {
        max_depth: pick(raw.max_depth.as_ref(), 32),
        max_aliases: pick(raw.max_aliases.as_ref(), 64),
        max_root_fields: pick(raw.max_root_fields.as_ref(), 32),
        // Off unless set: the estimate assumes 10 items per list without `first`, which
        // flags ordinary nested queries (the federation benchmark's estimates at 107,812).
        max_cost: pick(raw.max_cost.as_ref(), 0),
    }
}
