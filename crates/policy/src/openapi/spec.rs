//! Reading an OpenAPI document into the operation table: YAML or JSON, 3.0 schemas brought to
//! JSON Schema 2020-12 (`nullable`, boolean `exclusiveMinimum`), `$ref`s followed, and one
//! compiled validator per parameter and body, all referring into the document itself.

use super::response::{ResponseSpec, Responses, StatusPattern};
use super::{Body, Location, Operation, Param, PathEntry, Scalar, Segment, Shape};
use http::{HeaderValue, Method};
use jsonschema::{Draft, Registry, Validator};
use serde_json::{Value, json};
use std::sync::Arc;

/// The document's URI inside the validators' registry (never fetched).
const DOC: &str = "https://switchyard.invalid/openapi";

const METHODS: [(&str, Method); 8] = [
    ("get", Method::GET),
    ("put", Method::PUT),
    ("post", Method::POST),
    ("delete", Method::DELETE),
    ("options", Method::OPTIONS),
    ("head", Method::HEAD),
    ("patch", Method::PATCH),
    ("trace", Method::TRACE),
];

pub(super) fn compile(text: &str) -> Result<Vec<PathEntry>, String> {
    let mut doc = parse(text)?;
    let version = match doc.get("openapi") {
        Some(Value::String(v)) => v.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    if version.starts_with("3.0") {
        to_2020_12(&mut doc);
    } else if !version.starts_with("3.1") {
        return Err(format!("`openapi: {version}` is not 3.0 or 3.1"));
    }
    let registry = Registry::new()
        .draft(Draft::Draft202012)
        .add(DOC, doc.clone())
        .and_then(|b| b.prepare())
        .map_err(|e| format!("the document cannot be used as a schema registry: {e}"))?;
    let ctx = Ctx {
        doc: &doc,
        registry: &registry,
    };
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("the document has no `paths`")?;
    let mut entries = Vec::with_capacity(paths.len());
    for (template, item) in paths {
        entries.push(ctx.path(template, item)?);
    }
    // More literal segments first: `/movies/latest` before `/movies/{id}`.
    entries.sort_by_key(|e| {
        let params = e
            .template
            .iter()
            .filter(|s| matches!(s, Segment::Param(_)))
            .count();
        (params, std::cmp::Reverse(e.template.len()))
    });
    Ok(entries)
}

fn parse(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))
    } else {
        serde_saphyr::from_str(text).map_err(|e| format!("not valid YAML: {e}"))
    }
}

struct Ctx<'a> {
    doc: &'a Value,
    registry: &'a Registry<'a>,
}

impl Ctx<'_> {
    fn path(&self, template: &str, item: &Value) -> Result<PathEntry, String> {
        let (item_at, item) = self.follow(&pointer(&["paths", template]), item)?;
        let shared = item
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut operations = Vec::new();
        for (key, method) in METHODS {
            let Some(op) = item.get(key) else { continue };
            let at = format!("{item_at}/{key}");
            let op = self
                .operation(&at, op, &shared, &format!("{item_at}/parameters"))
                .map_err(|e| format!("{} {template}: {e}", key.to_uppercase()))?;
            operations.push((method, Arc::new(op)));
        }
        let allow: Vec<&str> = operations.iter().map(|(m, _)| m.as_str()).collect();
        Ok(PathEntry {
            template: segments(template),
            allow: HeaderValue::try_from(allow.join(", ")).unwrap_or(HeaderValue::from_static("")),
            operations,
        })
    }

    fn operation(
        &self,
        at: &str,
        op: &Value,
        shared: &[Value],
        shared_at: &str,
    ) -> Result<Operation, String> {
        let own = op
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut params: Vec<Param> = Vec::new();
        // The operation's own parameters override the path's of the same name and place.
        let own_params = own
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("{at}/parameters/{i}"), p));
        let shared_params = shared
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("{shared_at}/{i}"), p));
        for (p_at, p) in own_params.chain(shared_params) {
            if let Some(param) = self.param(&p_at, p)?
                && !params
                    .iter()
                    .any(|q| q.name == param.name && q.location == param.location)
            {
                params.push(param);
            }
        }
        let body = match op.get("requestBody") {
            Some(b) => Some(self.body(&format!("{at}/requestBody"), b)?),
            None => None,
        };
        let responses = self.responses(&format!("{at}/responses"), op.get("responses"))?;
        Ok(Operation {
            params,
            body,
            responses,
        })
    }

    /// The operation's responses by status: exact codes first, then classes (`2XX`), then
    /// `default`.
    fn responses(&self, at: &str, responses: Option<&Value>) -> Result<Responses, String> {
        let Some(map) = responses.and_then(Value::as_object) else {
            return Ok(Responses::default());
        };
        let mut by_status = Vec::with_capacity(map.len());
        for (key, response) in map {
            let Some(status) = StatusPattern::parse(key) else {
                continue; // not a status: an extension such as `x-...`
            };
            let spec = self.body(&format!("{at}/{}", escape(key)), response)?;
            let spec = ResponseSpec {
                media: spec.media,
                json: spec.json,
            };
            by_status.push((status, Arc::new(spec)));
        }
        by_status.sort_by_key(|(status, _)| *status);
        Ok(Responses { by_status })
    }

    fn param(&self, at: &str, p: &Value) -> Result<Option<Param>, String> {
        let (at, p) = self.follow(at, p)?;
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .ok_or(format!("{at}: a parameter without `name`"))?;
        let location = match p.get("in").and_then(Value::as_str) {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some("header") => Location::Header,
            _ => return Ok(None), // cookies are not validated
        };
        let name = if location == Location::Header {
            name.to_ascii_lowercase()
        } else {
            name.to_owned()
        };
        let Some(schema) = p.get("schema") else {
            return Ok(None); // `content`-encoded parameters are not validated
        };
        let (_, resolved) = self.follow(&format!("{at}/schema"), schema)?;
        Ok(Some(Param {
            name,
            location,
            required: location == Location::Path
                || p.get("required").and_then(Value::as_bool).unwrap_or(false),
            shape: self.shape(resolved),
            validator: self.validator(&format!("{at}/schema"))?,
        }))
    }

    fn body(&self, at: &str, b: &Value) -> Result<Body, String> {
        let (at, b) = self.follow(at, b)?;
        let content = b
            .get("content")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let media: Vec<String> = content.keys().map(|m| m.to_ascii_lowercase()).collect();
        let json_media = content.iter().find(|(m, v)| {
            let m = m.to_ascii_lowercase();
            (m == "application/json" || m.ends_with("+json") || m == "*/*")
                && v.get("schema").is_some()
        });
        let json = match json_media {
            Some((m, _)) => Some(self.validator(&format!("{at}/content/{}/schema", escape(m)))?),
            None => None,
        };
        Ok(Body {
            required: b.get("required").and_then(Value::as_bool).unwrap_or(false),
            media,
            json,
        })
    }

    /// How a parameter's text is read: its schema's type, or its items' for an array.
    fn shape(&self, schema: &Value) -> Shape {
        if schema_type(schema) == Some("array") {
            let items = schema
                .get("items")
                .map(|i| self.follow("", i).map_or(i, |(_, v)| v));
            Shape::List(items.map_or(Scalar::Text, |i| scalar(schema_type(i))))
        } else {
            Shape::Scalar(scalar(schema_type(schema)))
        }
    }

    /// A validator for the schema at `at` (a JSON pointer into the document).
    fn validator(&self, at: &str) -> Result<Validator, String> {
        let wrapper = json!({ "$ref": format!("{DOC}#{}", encode_fragment(at)) });
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(self.registry)
            .should_validate_formats(true)
            .build(&wrapper)
            .map_err(|e| format!("{at}: {e}"))
    }

    /// Follows `$ref`s (local ones only) from `value` found at pointer `at`.
    fn follow<'v>(&'v self, at: &str, mut value: &'v Value) -> Result<(String, &'v Value), String> {
        let mut at = at.to_owned();
        for _ in 0..32 {
            let Some(target) = value.get("$ref").and_then(Value::as_str) else {
                return Ok((at, value));
            };
            let pointer = target.strip_prefix('#').ok_or(format!(
                "{at}: only local `$ref`s (#/...) are supported, not `{target}`"
            ))?;
            value = self
                .doc
                .pointer(pointer)
                .ok_or(format!("{at}: `$ref: {target}` points at nothing"))?;
            at = pointer.to_owned();
        }
        Err(format!("{at}: `$ref`s go round in a loop"))
    }
}

fn schema_type(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    }
}

fn scalar(t: Option<&str>) -> Scalar {
    match t {
        Some("integer") => Scalar::Integer,
        Some("number") => Scalar::Number,
        Some("boolean") => Scalar::Boolean,
        _ => Scalar::Text,
    }
}

fn segments(template: &str) -> Vec<Segment> {
    template
        .split('/')
        .skip(1)
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name.to_owned()),
                None => Segment::Literal(s.to_owned()),
            },
        )
        .collect()
}

/// A JSON pointer from its unescaped tokens.
fn pointer(tokens: &[&str]) -> String {
    tokens.iter().map(|t| format!("/{}", escape(t))).collect()
}

/// One JSON pointer token, escaped (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer as a URI fragment: everything but unreserved characters and `/` encoded.
fn encode_fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for b in pointer.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// OpenAPI 3.0's schema dialect in 2020-12 terms, in place: `nullable: true` adds `null` to
/// the type, boolean `exclusiveMinimum`/`exclusiveMaximum` become the numeric form.
fn to_2020_12(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true))
                && let Some(Value::String(t)) = map.get("type").cloned()
            {
                map.insert("type".to_owned(), json!([t, "null"]));
            }
            for (flag, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                if let Some(Value::Bool(exclusive)) = map.get(flag).cloned() {
                    map.remove(flag);
                    if exclusive && let Some(limit) = map.remove(bound) {
                        map.insert(flag.to_owned(), limit);
                    }
                }
            }
            for child in map.values_mut() {
                to_2020_12(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_2020_12),
        _ => {}
    }
}
