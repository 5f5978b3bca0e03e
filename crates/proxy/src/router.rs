//! The route table: built once per config, it finds the route for a request by the precedence
//! rule of docs/routing.md (most specific host, then most specific path, then most conditions,
//! then config order).

use std::collections::HashMap;
use switchyard_config::{HostMatch, PathMatch, Route, Segment, ValueKind, ValueMatch};
use switchyard_core::percent_decode;

/// Path parameters captured by a template route, in template order.
pub type Params = Vec<(String, String)>;

/// What the router needs to know of a request.
#[derive(Debug)]
pub struct RouteQuery<'a> {
    /// Lower-case host without port.
    pub host: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub method: &'a str,
    pub headers: &'a http::HeaderMap,
}

/// Routes, pre-sorted by precedence and indexed by exact host.
#[derive(Debug)]
pub struct RouteTable<R> {
    routes: Vec<(Route, R)>,
    by_host: HashMap<String, Vec<usize>>,
    /// Candidates for hosts with no exact entry: wildcard and host-less routes.
    fallback: Vec<usize>,
}

impl<R> RouteTable<R> {
    /// `routes` pairs each config route with what the proxy built for it.
    pub fn new(routes: Vec<(Route, R)>) -> Self {
        let exact_hosts = routes
            .iter()
            .flat_map(|(r, _)| &r.hosts)
            .filter_map(|h| match h {
                HostMatch::Exact(name) => Some(name.clone()),
                HostMatch::Suffix(_) => None,
            });
        let by_host = exact_hosts
            .map(|host| {
                let mut list: Vec<usize> = (0..routes.len())
                    .filter(|&i| host_rank(&routes[i].0, &host).is_some())
                    .collect();
                list.sort_by_key(|&i| {
                    std::cmp::Reverse((host_rank(&routes[i].0, &host), precedence(&routes[i].0)))
                });
                (host, list)
            })
            .collect();
        let mut fallback: Vec<usize> = (0..routes.len())
            .filter(|&i| {
                routes[i]
                    .0
                    .hosts
                    .iter()
                    .all(|h| matches!(h, HostMatch::Suffix(_)))
            })
            .collect();
        fallback.sort_by_key(|&i| std::cmp::Reverse(precedence(&routes[i].0)));
        Self {
            routes,
            by_host,
            fallback,
        }
    }

    /// What the proxy built for each route, in config order.
    pub fn actions(&self) -> impl Iterator<Item = &R> {
        self.routes.iter().map(|(_, r)| r)
    }

    /// The matching route that ranks first by the precedence rule.
    pub fn find(&self, q: &RouteQuery<'_>) -> Option<(&Route, &R, Params)> {
        let found = match self.by_host.get(q.host) {
            Some(list) => list
                .iter()
                .find_map(|&i| Some((i, matches(&self.routes[i].0, q)?))),
            None => self.find_fallback(q),
        };
        found.map(|(i, params)| (&self.routes[i].0, &self.routes[i].1, params))
    }

    /// For hosts no route names exactly: the longest matching wildcard wins, then precedence.
    fn find_fallback(&self, q: &RouteQuery<'_>) -> Option<(usize, Params)> {
        let mut best: Option<(usize, usize, Params)> = None;
        for &i in &self.fallback {
            let route = &self.routes[i].0;
            let Some(rank) = host_rank(route, q.host) else {
                continue;
            };
            if best
                .as_ref()
                .is_some_and(|(_, best_rank, _)| rank <= *best_rank)
            {
                continue;
            }
            if let Some(params) = matches(route, q) {
                best = Some((i, rank, params));
            }
        }
        best.map(|(i, _, params)| (i, params))
    }
}

/// How specifically `route` names `host`: exact beats the longest wildcard beats no host.
/// `None` if the route does not accept the host at all.
fn host_rank(route: &Route, host: &str) -> Option<usize> {
    if route.hosts.is_empty() {
        return Some(0);
    }
    route
        .hosts
        .iter()
        .filter_map(|h| match h {
            HostMatch::Exact(name) => (name == host).then_some(usize::MAX),
            HostMatch::Suffix(suffix) => (host.len() > suffix.len()
                && host.ends_with(suffix.as_str()))
            .then_some(1 + suffix.len()),
        })
        .max()
}

/// Path specificity, then number of extra conditions, then earlier in the file.
fn precedence(route: &Route) -> (u8, usize, usize, std::cmp::Reverse<usize>) {
    let (kind, len) = match &route.path {
        PathMatch::Exact(p) => (4, p.len()),
        PathMatch::Template(t) => (
            3,
            t.segments
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count(),
        ),
        PathMatch::Regex(_) => (2, 0),
        PathMatch::Prefix(p) => (1, p.len()),
    };
    let conditions =
        usize::from(!route.methods.is_empty()) + route.headers.len() + route.query.len();
    (kind, len, conditions, std::cmp::Reverse(route.index))
}

fn matches(route: &Route, q: &RouteQuery<'_>) -> Option<Params> {
    if !route.methods.is_empty() && !route.methods.iter().any(|m| m == q.method) {
        return None;
    }
    let params = path_matches(&route.path, q.path)?;
    let headers_ok = route.headers.iter().all(|m| header_matches(m, q.headers));
    let query_ok = route.query.iter().all(|m| query_matches(m, q.query));
    (headers_ok && query_ok).then_some(params)
}

fn path_matches(pattern: &PathMatch, path: &str) -> Option<Params> {
    match pattern {
        PathMatch::Exact(p) => (p == path).then(Vec::new),
        PathMatch::Prefix(p) => prefix_matches(p, path).then(Vec::new),
        PathMatch::Regex(re) => re.is_match(path).then(Vec::new),
        PathMatch::Template(t) => template_matches(&t.segments, path),
    }
}

/// `/api` matches `/api` and `/api/x` but not `/apix`; `/api/` matches what starts with it.
fn prefix_matches(prefix: &str, path: &str) -> bool {
    path.starts_with(prefix)
        && (prefix.ends_with('/')
            || path.len() == prefix.len()
            || path.as_bytes()[prefix.len()] == b'/')
}

fn template_matches(segments: &[Segment], path: &str) -> Option<Params> {
    let mut rest = path.strip_prefix('/')?;
    let mut params = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        if let Segment::CatchAll(name) = segment {
            params.push((name.clone(), rest.to_owned()));
            return Some(params);
        }
        let (part, tail) = match rest.split_once('/') {
            Some((part, tail)) => (part, Some(tail)),
            None => (rest, None),
        };
        match segment {
            Segment::Literal(lit) if lit == part => {}
            Segment::Param(name) if !part.is_empty() => {
                params.push((name.clone(), part.to_owned()))
            }
            _ => return None,
        }
        let last = i + 1 == segments.len();
        match (tail, last) {
            (Some(tail), false) => rest = tail,
            (None, true) => return Some(params),
            (Some(_), true) => return None,
            (None, false) => {
                return matches!(segments[i + 1..], [Segment::CatchAll(_)]).then(|| {
                    if let Segment::CatchAll(name) = &segments[i + 1] {
                        params.push((name.clone(), String::new()));
                    }
                    params
                });
            }
        }
    }
    None
}

fn header_matches(m: &ValueMatch, headers: &http::HeaderMap) -> bool {
    let mut values = headers
        .get_all(m.name.as_str())
        .iter()
        .filter_map(|v| v.to_str().ok());
    let found = match &m.kind {
        ValueKind::Present => headers.contains_key(m.name.as_str()),
        ValueKind::Exact(want) => values.any(|v| v == want),
        ValueKind::Regex(re) => values.any(|v| re.is_match(v)),
    };
    found != m.invert
}

fn query_matches(m: &ValueMatch, query: Option<&str>) -> bool {
    let pairs = query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty());
    let mut values = pairs.filter_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(name, true) == m.name).then(|| percent_decode(value, true))
    });
    let found = match &m.kind {
        ValueKind::Present => values.next().is_some(),
        ValueKind::Exact(want) => values.any(|v| &v == want),
        ValueKind::Regex(re) => values.any(|v| re.is_match(&v)),
    };
    found != m.invert
}
