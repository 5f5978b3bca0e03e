//! CORS per the Fetch standard: preflights answered by the gateway, allowed cross-origin
//! responses marked; a request from an origin not allowed goes on unmarked (the browser then
//! withholds the response), and its preflight is refused.

use crate::answer::{Answer, AnswerBody};
use crate::chain::{Exchange, Passed};
use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use std::sync::Arc;
use switchyard_config::{CorsOrigin, CorsPolicy};

#[derive(Debug)]
pub(crate) struct Cors {
    origins: Vec<CorsOrigin>,
    methods: Vec<String>,
    headers: Vec<String>,
    credentials: bool,
    allow_methods: HeaderValue,
    expose: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
}

/// Request headers a browser may send cross-origin without asking (Fetch's safelist).
const SAFELISTED: [&str; 4] = [
    "accept",
    "accept-language",
    "content-language",
    "content-type",
];

impl Cors {
    pub(crate) fn new(p: &CorsPolicy) -> Self {
        let list = |items: &[String]| HeaderValue::try_from(items.join(", ")).ok();
        Self {
            origins: p.origins.clone(),
            methods: p.methods.clone(),
            headers: p.headers.clone(),
            credentials: p.credentials,
            allow_methods: list(&p.methods).unwrap_or(HeaderValue::from_static("GET, HEAD, POST")),
            expose: list(&p.expose).filter(|_| !p.expose.is_empty()),
            max_age: p.max_age.map(|d| HeaderValue::from(d.as_secs())),
        }
    }

    pub(crate) fn apply(
        &self,
        name: &Arc<str>,
        ex: &Exchange<'_>,
        passed: &mut Passed,
    ) -> Result<(), Answer> {
        let Some(origin) = ex.headers.get(header::ORIGIN) else {
            // The answer differs by origin, so caches must key on it even when there is none.
            if !self.any_origin() {
                let vary = (header::VARY, HeaderValue::from_static("origin"));
                passed.response_headers.push(vary);
            }
            return Ok(());
        };
        let allowed = origin.to_str().is_ok_and(|o| self.allows(o));
        let preflight = ex.method == Method::OPTIONS
            && ex
                .headers
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if preflight {
            return Err(self.preflight(name, ex, origin, allowed));
        }
        if allowed {
            self.mark(origin, &mut passed.response_headers);
            if let Some(expose) = &self.expose {
                passed
                    .response_headers
                    .push((header::ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone()));
            }
        } else {
            passed
                .response_headers
                .push((header::VARY, HeaderValue::from_static("origin")));
        }
        Ok(())
    }

    fn allows(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        self.origins.iter().any(|o| match o {
            CorsOrigin::Any => true,
            CorsOrigin::Exact(e) => *e == origin,
            CorsOrigin::Wildcard { scheme, suffix } => origin
                .strip_prefix(scheme.as_str())
                .is_some_and(|authority| wildcard_matches(authority, suffix)),
        })
    }

    /// Whether every origin gets the same answer (`*` without credentials).
    fn any_origin(&self) -> bool {
        !self.credentials && self.origins.contains(&CorsOrigin::Any)
    }

    /// `Access-Control-Allow-Origin` (and credentials, `Vary`) for an allowed origin.
    fn mark(&self, origin: &HeaderValue, out: &mut Vec<(HeaderName, HeaderValue)>) {
        let any = !self.credentials && self.origins.contains(&CorsOrigin::Any);
        let value = if any {
            HeaderValue::from_static("*")
        } else {
            origin.clone()
        };
        out.push((header::ACCESS_CONTROL_ALLOW_ORIGIN, value));
        if self.credentials {
            out.push((
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            ));
        }
        if !any {
            out.push((header::VARY, HeaderValue::from_static("origin")));
        }
    }

    fn preflight(
        &self,
        name: &Arc<str>,
        ex: &Exchange<'_>,
        origin: &HeaderValue,
        allowed: bool,
    ) -> Answer {
        let method = ex.headers.get(header::ACCESS_CONTROL_REQUEST_METHOD);
        let method = method.and_then(|m| m.to_str().ok()).unwrap_or_default();
        let requested = ex.headers.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS);
        let requested: Vec<String> = requested
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let refuse =
            |reason, detail: String| Answer::problem(StatusCode::FORBIDDEN, name, reason, detail);
        if !allowed {
            return refuse(
                "cors_origin",
                "this origin may not call this API".to_owned(),
            );
        }
        if !self.method_allowed(method) {
            return refuse(
                "cors_method",
                format!("method `{method}` is not allowed cross-origin"),
            );
        }
        if let Some(h) = requested.iter().find(|h| !self.header_allowed(h)) {
            return refuse(
                "cors_header",
                format!("header `{h}` is not allowed cross-origin"),
            );
        }
        let mut headers = Vec::with_capacity(6);
        self.mark(origin, &mut headers);
        headers.push((
            header::ACCESS_CONTROL_ALLOW_METHODS,
            self.allow_methods.clone(),
        ));
        if let Ok(list) = HeaderValue::try_from(requested.join(", "))
            && !requested.is_empty()
        {
            headers.push((header::ACCESS_CONTROL_ALLOW_HEADERS, list));
        }
        if let Some(age) = &self.max_age {
            headers.push((header::ACCESS_CONTROL_MAX_AGE, age.clone()));
        }
        Answer {
            status: StatusCode::NO_CONTENT,
            policy: name.clone(),
            reason: "cors_preflight",
            headers,
            body: AnswerBody::Empty,
            violations: Vec::new(),
        }
    }

    fn method_allowed(&self, method: &str) -> bool {
        matches!(method, "GET" | "HEAD" | "POST") || self.methods.iter().any(|m| m == method)
    }

    fn header_allowed(&self, name: &str) -> bool {
        SAFELISTED.contains(&name) || self.headers.iter().any(|h| h == name || h == "*")
    }
}

/// `x.example.com:8443` against `.example.com:8443`: a longer host ending in the suffix's
/// host, on the same port (none on both, or the same number).
fn wildcard_matches(authority: &str, suffix: &str) -> bool {
    let (host, port) = split_port(authority);
    let (suffix_host, suffix_port) = split_port(suffix);
    port == suffix_port && host.len() > suffix_host.len() && host.ends_with(suffix_host)
}

fn split_port(authority: &str) -> (&str, Option<&str>) {
    match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, Some(port))
        }
        _ => (authority, None),
    }
}
