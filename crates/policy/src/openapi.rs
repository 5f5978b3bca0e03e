//! Request validation against an OpenAPI 3.0 or 3.1 document: the operation is found by
//! method and path template, its path, query and header parameters are coerced to their
//! schemas' types and validated, and a JSON body is validated once the proxy has read it
//! ([`BodyCheck`]). Every violation is reported with its JSON pointer (`/query/limit`,
//! `/body/cast/0/name`). Schemas are compiled once per config (`spec.rs`).

mod response;
mod spec;

pub use response::ResponseCheck;

use crate::answer::{Answer, Violation};
use crate::chain::{Exchange, Passed};
use crate::metrics::PolicyMetrics;
use http::{HeaderValue, Method, StatusCode, header};
use jsonschema::Validator;
use serde_json::Value;
use std::sync::Arc;
use switchyard_config::OpenApiPolicy;
use switchyard_core::percent_decode;

#[derive(Debug)]
pub(crate) struct OpenApi {
    /// Templates by their number of segments; in each, most specific first (more literal
    /// segments), so a request is compared only with templates of its own length.
    paths: Vec<Vec<PathEntry>>,
    max_body: u64,
    reject_unknown: bool,
    /// Responses are checked and mismatches counted here (report-only) when set.
    responses: Option<response::Reporter>,
}

#[derive(Debug)]
struct PathEntry {
    template: Vec<Segment>,
    operations: Vec<(Method, Arc<Operation>)>,
    allow: HeaderValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug)]
pub(crate) struct Operation {
    params: Vec<Param>,
    body: Option<Body>,
    responses: response::Responses,
}

#[derive(Debug)]
struct Param {
    name: String,
    location: Location,
    required: bool,
    /// How the text of the value is read before validation.
    shape: Shape,
    validator: Validator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Location {
    Path,
    Query,
    Header,
}

/// The JSON type a parameter's text becomes: a scalar, or a list of scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Scalar(Scalar),
    List(Scalar),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    Integer,
    Number,
    Boolean,
    Text,
}

#[derive(Debug)]
struct Body {
    required: bool,
    /// Declared media types, lower-case (`application/json`, `*/*` ...).
    media: Vec<String>,
    json: Option<Validator>,
}

/// A body the proxy must read (up to `max_bytes`) and hand to [`BodyCheck::check`] before
/// the request goes on.
#[derive(Debug, Clone)]
pub struct BodyCheck {
    operation: Arc<Operation>,
    policy: Arc<str>,
    pub max_bytes: u64,
}

impl OpenApi {
    pub(crate) fn new(
        name: &str,
        p: &OpenApiPolicy,
        metrics: &PolicyMetrics,
    ) -> Result<Self, String> {
        let entries =
            spec::compile(&p.spec_text).map_err(|e| format!("{}: {e}", p.spec_path.display()))?;
        let mut paths: Vec<Vec<PathEntry>> = Vec::new();
        for entry in entries {
            let len = entry.template.len();
            if paths.len() <= len {
                paths.resize_with(len + 1, Vec::new);
            }
            paths[len].push(entry);
        }
        let responses = p
            .report_responses
            .then(|| response::Reporter::new(name, p.max_body_bytes, metrics));
        Ok(Self {
            paths,
            max_body: p.max_body_bytes,
            reject_unknown: p.reject_unknown,
            responses,
        })
    }

    pub(crate) fn apply(
        &self,
        name: &Arc<str>,
        ex: &Exchange<'_>,
        passed: &mut Passed,
    ) -> Result<(), Answer> {
        let Some((entry, params)) = self.find(ex.uri.path()) else {
            return self.unknown(name, StatusCode::NOT_FOUND, None);
        };
        let method = if ex.method == Method::HEAD {
            &Method::GET
        } else {
            ex.method
        };
        let Some((_, operation)) = entry.operations.iter().find(|(m, _)| m == method) else {
            return self.unknown(name, StatusCode::METHOD_NOT_ALLOWED, Some(&entry.allow));
        };
        let mut violations = Vec::new();
        for param in &operation.params {
            param.check(ex, &params, &mut violations);
        }
        if !violations.is_empty() {
            return Err(invalid(name, violations));
        }
        if let Some(reporter) = &self.responses {
            passed.response_check = Some(reporter.check(operation, ex));
        }
        if operation.body.is_some() {
            passed.body_check = Some(BodyCheck {
                operation: operation.clone(),
                policy: name.clone(),
                max_bytes: self.max_body,
            });
        }
        Ok(())
    }

    fn find(&self, path: &str) -> Option<(&PathEntry, Vec<(&str, String)>)> {
        let len = path.split('/').count() - 1;
        self.paths.get(len)?.iter().find_map(|entry| {
            let params = matches(&entry.template, path)?;
            Some((entry, params))
        })
    }

    fn unknown(
        &self,
        name: &Arc<str>,
        status: StatusCode,
        allow: Option<&HeaderValue>,
    ) -> Result<(), Answer> {
        if !self.reject_unknown {
            return Ok(());
        }
        let (reason, detail) = if status == StatusCode::NOT_FOUND {
            ("unknown_operation", "the API has no operation at this path")
        } else {
            (
                "method_not_allowed",
                "the API has no operation for this method at this path",
            )
        };
        let answer = Answer::problem(status, name, reason, detail.to_owned());
        Err(match allow {
            Some(allow) => answer.with_header(header::ALLOW, allow.clone()),
            None => answer,
        })
    }
}

/// The path's parameters (decoded) if it fits the template of as many segments; a template
/// that does not fit costs no allocation.
fn matches<'t>(template: &'t [Segment], path: &str) -> Option<Vec<(&'t str, String)>> {
    let pairs = || template.iter().zip(path.split('/').skip(1));
    let fits = pairs().all(|(t, s)| match t {
        Segment::Literal(l) => l == s,
        Segment::Param(_) => !s.is_empty(),
    });
    if !fits {
        return None;
    }
    let params = pairs().filter_map(|(t, s)| match t {
        Segment::Param(p) => Some((p.as_str(), percent_decode(s, false))),
        Segment::Literal(_) => None,
    });
    Some(params.collect())
}

impl Param {
    fn check(&self, ex: &Exchange<'_>, path: &[(&str, String)], out: &mut Vec<Violation>) {
        let texts: Vec<String> = match self.location {
            Location::Path => path
                .iter()
                .filter(|(n, _)| *n == self.name)
                .map(|(_, v)| v.clone())
                .collect(),
            Location::Query => query_values(ex.uri.query().unwrap_or_default(), &self.name),
            Location::Header => ex
                .headers
                .get_all(self.name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_owned)
                .collect(),
        };
        let pointer = || format!("/{}/{}", self.location.name(), self.name);
        if texts.is_empty() {
            if self.required {
                out.push(Violation::new(pointer(), "is required".to_owned()));
            }
            return;
        }
        let value = match self.shape {
            Shape::Scalar(s) => s.read(&texts[0]),
            Shape::List(s) => {
                let items = texts.iter().flat_map(|t| t.split(',')).map(|t| s.read(t));
                Value::Array(items.collect())
            }
        };
        // The fast yes/no first: collecting errors costs more, and is needed only on a no.
        if self.validator.is_valid(&value) {
            return;
        }
        let pointer = pointer();
        for error in self.validator.iter_errors(&value) {
            let at = format!("{pointer}{}", error.instance_path());
            out.push(Violation::new(at, error.to_string()));
        }
    }
}

impl Location {
    fn name(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
        }
    }
}

impl Scalar {
    /// The text as this type when it reads as one; as a string otherwise, so the schema
    /// reports the type error.
    fn read(self, text: &str) -> Value {
        let parsed = match self {
            Scalar::Integer => text.parse::<i64>().ok().map(Value::from),
            Scalar::Number => text
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number),
            Scalar::Boolean => match text {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            Scalar::Text => None,
        };
        parsed.unwrap_or_else(|| Value::String(text.to_owned()))
    }
}

impl BodyCheck {
    /// The answer when the body could not be read: too large (413), or cut off (400).
    pub fn unreadable(&self, too_large: bool, limit: u64) -> Answer {
        if too_large {
            let detail = format!("the request body is larger than {limit} bytes");
            return Answer::problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                &self.policy,
                "body_too_large",
                detail,
            );
        }
        let detail = "the request body could not be read".to_owned();
        Answer::problem(
            StatusCode::BAD_REQUEST,
            &self.policy,
            "body_unreadable",
            detail,
        )
    }

    /// Validates a body the proxy has read; `Err` is the answer to send instead.
    pub fn check(&self, content_type: Option<&str>, body: &[u8]) -> Result<(), Box<Answer>> {
        let Some(spec) = &self.operation.body else {
            return Ok(());
        };
        if body.is_empty() {
            if spec.required {
                let v = Violation::new("/body".to_owned(), "a request body is required".to_owned());
                return Err(Box::new(invalid(&self.policy, vec![v])));
            }
            return Ok(());
        }
        let media = media_type(content_type);
        if !spec.media.iter().any(|m| media_matches(m, &media)) {
            let detail = format!(
                "the body's media type `{media}` is not one of [{}]",
                spec.media.join(", ")
            );
            let status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return Err(Box::new(Answer::problem(
                status,
                &self.policy,
                "unsupported_media_type",
                detail,
            )));
        }
        let Some(validator) = spec.json.as_ref().filter(|_| is_json(&media)) else {
            return Ok(());
        };
        let value: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                let v = Violation::new("/body".to_owned(), format!("not valid JSON: {e}"));
                return Err(Box::new(invalid(&self.policy, vec![v])));
            }
        };
        if validator.is_valid(&value) {
            return Ok(());
        }
        let violations: Vec<Violation> = validator
            .iter_errors(&value)
            .map(|e| Violation::new(format!("/body{}", e.instance_path()), e.to_string()))
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(Box::new(invalid(&self.policy, violations)))
        }
    }
}

fn invalid(name: &Arc<str>, violations: Vec<Violation>) -> Answer {
    let detail = match violations.len() {
        1 => "the request breaks 1 rule of the API's OpenAPI document".to_owned(),
        n => format!("the request breaks {n} rules of the API's OpenAPI document"),
    };
    let mut answer = Answer::problem(StatusCode::BAD_REQUEST, name, "request_invalid", detail);
    answer.violations = violations;
    answer
}

/// The media type of a `Content-Type` value, lower-case, without parameters.
fn media_type(content_type: Option<&str>) -> String {
    content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// `declared` (`application/json`, `application/*`, `*/*`) covers `media`.
fn media_matches(declared: &str, media: &str) -> bool {
    match declared.split_once('/') {
        Some(("*", "*")) => true,
        Some((kind, "*")) => media.split('/').next() == Some(kind),
        _ => declared == media,
    }
}

/// Every value of `name` in a query string, percent-decoded (`+` is a space). A name with no
/// escape in it is compared as it is, without decoding.
fn query_values(query: &str, name: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let same = if k.contains(['%', '+']) {
                percent_decode(k, true) == name
            } else {
                k == name
            };
            same.then(|| percent_decode(v, true))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_decoded_and_repeated_names_kept() {
        assert_eq!(query_values("tag=a&x=1&tag=b%2Cc", "tag"), ["a", "b,c"]);
    }
}
