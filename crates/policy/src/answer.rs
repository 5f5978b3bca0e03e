//! What a policy answers instead of the service: a status, headers, and an RFC 9457
//! `application/problem+json` body naming the policy and the reason.

use http::{HeaderName, HeaderValue, StatusCode};
use std::sync::Arc;

/// The gateway's own answer to a request a policy stopped.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    /// The policy that answered.
    pub policy: Arc<str>,
    /// A short machine-readable code, e.g. `expired`, `unknown_key`, `rate_limited`.
    pub reason: &'static str,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: AnswerBody,
    /// Each rule the request broke (request validation), listed in the problem document.
    pub violations: Vec<Violation>,
}

/// One broken rule: where (a JSON pointer such as `/query/limit` or `/body/cast/0`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub pointer: String,
    pub message: String,
}

impl Violation {
    pub fn new(pointer: String, message: String) -> Self {
        Self { pointer, message }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerBody {
    /// No body (a CORS preflight).
    Empty,
    /// A problem document with this human-readable detail.
    Problem(String),
}

impl Answer {
    pub fn problem(
        status: StatusCode,
        policy: &Arc<str>,
        reason: &'static str,
        detail: String,
    ) -> Self {
        Self {
            status,
            policy: policy.clone(),
            reason,
            headers: Vec::new(),
            body: AnswerBody::Problem(detail),
            violations: Vec::new(),
        }
    }

    /// 400: the credential comes more than once, and the service might read another copy
    /// than the one checked.
    pub(crate) fn ambiguous(policy: &Arc<str>, what: &str) -> Self {
        let detail = format!("the request carries more than one {what}");
        Self::problem(
            StatusCode::BAD_REQUEST,
            policy,
            "credentials_ambiguous",
            detail,
        )
    }

    /// Whether `name` occurs more than once in `headers`.
    pub(crate) fn repeated(
        headers: &http::HeaderMap,
        name: impl http::header::AsHeaderName,
    ) -> bool {
        headers.get_all(name).iter().nth(1).is_some()
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The problem document's bytes, or `None` for an empty body.
    pub fn body_bytes(&self) -> Option<Vec<u8>> {
        let AnswerBody::Problem(detail) = &self.body else {
            return None;
        };
        let mut doc = serde_json::json!({
            "type": format!("urn:switchyard:problem:{}", self.reason),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": detail,
            "policy": &*self.policy,
            "reason": self.reason,
        });
        if !self.violations.is_empty() {
            let errors = self
                .violations
                .iter()
                .map(|v| serde_json::json!({"pointer": v.pointer, "message": v.message}));
            doc["errors"] = serde_json::Value::Array(errors.collect());
        }
        serde_json::to_vec(&doc).ok()
    }
}

/// `application/problem+json`.
pub const PROBLEM_JSON: HeaderValue = HeaderValue::from_static("application/problem+json");
