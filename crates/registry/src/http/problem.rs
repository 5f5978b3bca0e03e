//! The one place that turns a failure into an answer: `application/problem+json` (RFC 9457),
//! `{"type", "title", "status", "detail"}` like the gateway's, plus `errors` for compositions.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Value, json};
use switchyard_compose::CompositionErrors;

use crate::{StoreError, VariantRef};

pub(crate) type Answer = Response<Full<Bytes>>;

/// A request that failed, with what the client should know.
#[derive(Debug)]
pub(crate) struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Composition errors, each with code, subgraph, type, field and message.
    pub errors: Option<Value>,
    /// Methods the path accepts, for 405.
    pub allow: Option<&'static str>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: None,
            allow: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut problem = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this path accepts {allow}"),
        );
        problem.allow = Some(allow);
        problem
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "writes need Authorization: Bearer <token>",
        )
    }

    /// 422 listing every composition error.
    pub fn composition(variant: &str, errors: &CompositionErrors) -> Self {
        let list: Vec<Value> = errors
            .errors
            .iter()
            .map(|e| {
                json!({
                    "code": e.code,
                    "subgraph": e.subgraph,
                    "type": e.type_name,
                    "field": e.field,
                    "message": e.message,
                })
            })
            .collect();
        let mut problem = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "composition_failed",
            format!("{variant} would not compose: {errors}"),
        );
        problem.errors = Some(Value::Array(list));
        problem
    }

    pub fn respond(self) -> Answer {
        let mut body = json!({
            "type": format!("https://switchyard.dev/problems/registry/{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some(errors) = self.errors {
            body["errors"] = errors;
        }
        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        let kind = HeaderValue::from_static("application/problem+json");
        headers.insert(header::CONTENT_TYPE, kind);
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = HeaderValue::from_static("Bearer realm=\"switchyard-registry\"");
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

impl Problem {
    /// A store error from a change to `at`: a composition failure names the variant.
    pub fn store(error: StoreError, at: &VariantRef) -> Self {
        match error {
            StoreError::Composition(inner) => match inner.downcast::<CompositionErrors>() {
                Ok(errors) => Self::composition(&at.to_string(), &errors),
                Err(other) => Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "composition_failed",
                    other.to_string(),
                ),
            },
            other => other.into(),
        }
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UnknownVariant(_)
            | StoreError::UnknownSubgraph { .. }
            | StoreError::UnknownVersion(_) => Self::not_found(error.to_string()),
            StoreError::InvalidName(_) => Self::bad_request(error.to_string()),
            StoreError::Composition(inner) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "composition_failed",
                inner.to_string(),
            ),
            other => {
                tracing::error!(error = %other, "registry store failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store_failed",
                    other.to_string(),
                )
            }
        }
    }
}
