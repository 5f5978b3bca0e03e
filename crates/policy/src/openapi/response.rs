//! Report-only response validation: the service's status, media type and JSON body are
//! checked against the operation's `responses`; each mismatch is counted and logged (at most
//! one line a second per policy), and the response goes to the client unchanged.

use super::{Operation, is_json, media_matches, media_type};
use crate::answer::Violation;
use crate::chain::Exchange;
use crate::metrics::PolicyMetrics;
use crate::throttle::LogThrottle;
use http::StatusCode;
use jsonschema::Validator;
use prometheus_client::metrics::counter::Counter;
use serde_json::Value;
use std::sync::Arc;

/// A key of an operation's `responses`; sorted, exact codes come before classes and
/// `default`, which is the order they are tried in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum StatusPattern {
    Exact(u16),
    /// `2XX`: the hundreds digit.
    Class(u16),
    Default,
}

impl StatusPattern {
    pub(crate) fn parse(key: &str) -> Option<Self> {
        if key == "default" {
            return Some(Self::Default);
        }
        let upper = key.to_ascii_uppercase();
        if let Some(digit) = upper.strip_suffix("XX") {
            return digit
                .parse()
                .ok()
                .filter(|d| (1..=5).contains(d))
                .map(Self::Class);
        }
        upper
            .parse()
            .ok()
            .filter(|c| (100..600).contains(c))
            .map(Self::Exact)
    }

    fn covers(self, status: u16) -> bool {
        match self {
            Self::Exact(code) => code == status,
            Self::Class(digit) => status / 100 == digit,
            Self::Default => true,
        }
    }
}

/// What one documented response allows.
#[derive(Debug)]
pub(crate) struct ResponseSpec {
    /// Declared media types, lower-case; empty: the document says nothing of a body.
    pub(crate) media: Vec<String>,
    pub(crate) json: Option<Validator>,
}

#[derive(Debug, Default)]
pub(crate) struct Responses {
    pub(crate) by_status: Vec<(StatusPattern, Arc<ResponseSpec>)>,
}

/// One policy's reporting: its counter, log throttle and body limit.
#[derive(Debug)]
pub(crate) struct Reporter {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    policy: Arc<str>,
    max_bytes: u64,
    mismatches: Counter,
    log: LogThrottle,
}

impl Reporter {
    pub(crate) fn new(policy: &str, max_bytes: u64, metrics: &PolicyMetrics) -> Self {
        let shared = Shared {
            policy: Arc::from(policy),
            max_bytes,
            mismatches: metrics.response_mismatches(policy),
            log: LogThrottle::default(),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// The check for the response to this request.
    pub(crate) fn check(&self, operation: &Arc<Operation>, ex: &Exchange<'_>) -> ResponseCheck {
        ResponseCheck {
            shared: Arc::clone(&self.shared),
            operation: Arc::clone(operation),
            request: format!("{} {}", ex.method, ex.uri.path()),
            route: ex.route.to_owned(),
            body: None,
            violations: Vec::new(),
        }
    }
}

/// The response of one request, to check against its operation: the head first
/// ([`ResponseCheck::head`]), then, when the document gives a JSON schema for it, the body
/// ([`ResponseCheck::finish`]).
#[derive(Debug)]
pub struct ResponseCheck {
    shared: Arc<Shared>,
    operation: Arc<Operation>,
    /// `GET /movies/7`, for the log.
    request: String,
    route: String,
    /// The schema the body must meet, once the head chose one.
    body: Option<Arc<ResponseSpec>>,
    violations: Vec<Violation>,
}

impl ResponseCheck {
    /// Checks the status and media type. `Some(limit)`: the body has a JSON schema to meet;
    /// read up to `limit` bytes of it and pass them to [`ResponseCheck::finish`].
    pub fn head(&mut self, status: StatusCode, content_type: Option<&str>) -> Option<u64> {
        let responses = &self.operation.responses.by_status;
        if responses.is_empty() {
            return None;
        }
        let code = status.as_u16();
        let Some((_, spec)) = responses.iter().find(|(p, _)| p.covers(code)) else {
            let detail = format!("status {code} is not documented for this operation");
            self.violations
                .push(Violation::new("/status".to_owned(), detail));
            return None;
        };
        let media = media_type(content_type);
        if spec.media.is_empty() || status == StatusCode::NO_CONTENT {
            return None;
        }
        if !spec.media.iter().any(|m| media_matches(m, &media)) {
            let detail = format!(
                "media type `{media}` is not one of [{}]",
                spec.media.join(", ")
            );
            self.violations
                .push(Violation::new("/header/content-type".to_owned(), detail));
            return None;
        }
        if spec.json.is_none() || !is_json(&media) {
            return None;
        }
        self.body = Some(Arc::clone(spec));
        Some(self.shared.max_bytes)
    }

    /// Checks the body, if it was read (`None`: larger than the limit, or cut off), reports
    /// every mismatch found, and returns them.
    pub fn finish(mut self, body: Option<&[u8]>) -> Vec<Violation> {
        if let (Some(spec), Some(bytes)) = (&self.body, body.filter(|b| !b.is_empty()))
            && let Some(validator) = &spec.json
        {
            match serde_json::from_slice::<Value>(bytes) {
                Ok(value) if validator.is_valid(&value) => {}
                Ok(value) => {
                    self.violations
                        .extend(validator.iter_errors(&value).map(|e| {
                            Violation::new(format!("/body{}", e.instance_path()), e.to_string())
                        }))
                }
                Err(e) => self.violations.push(Violation::new(
                    "/body".to_owned(),
                    format!("not valid JSON: {e}"),
                )),
            }
        }
        self.report();
        self.violations
    }

    fn report(&self) {
        if self.violations.is_empty() {
            return;
        }
        self.shared.mismatches.inc();
        if self.shared.log.allow() {
            let found: Vec<String> = self
                .violations
                .iter()
                .map(|v| format!("{}: {}", v.pointer, v.message))
                .collect();
            tracing::warn!(
                policy = %self.shared.policy,
                route = %self.route,
                request = %self.request,
                mismatches = %found.join("; "),
                "the response does not match the OpenAPI document (reported, not changed)"
            );
        }
    }
}
