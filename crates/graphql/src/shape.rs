//! Shapes merged subgraph data into the client's response, written straight to JSON: its field
//! order and aliases, only what it asked for, and GraphQL null propagation for non-null fields.

use apollo_compiler::ast::Type;
use apollo_compiler::executable::{ExecutableDocument, SelectionSet};
use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue, ResponseDataPathSegment};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Schema};

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use crate::collect::{self, Collected, Conditions};

/// Walks the client's selections over `data`.
pub struct Shaper<'a> {
    schema: &'a Schema,
    doc: &'a ExecutableDocument,
    variables: &'a JsonMap,
    errors: &'a mut Vec<GraphQLError>,
    /// Field collection per (selection set of the document, runtime type): done once per
    /// request, not once per object (a list of 100 objects of one type collects once).
    collected: HashMap<(usize, Name), Rc<[Collected]>, ahash::RandomState>,
}

/// A selection set, and whether it is the document's own (then its address is stable for the
/// whole request and keys the field collection cache) rather than a merged copy.
#[derive(Clone, Copy)]
struct SetRef<'s> {
    set: &'s SelectionSet,
    in_document: bool,
}

impl<'s> From<&'s Cow<'_, SelectionSet>> for SetRef<'s> {
    fn from(set: &'s Cow<'_, SelectionSet>) -> Self {
        SetRef {
            set,
            in_document: matches!(set, Cow::Borrowed(_)),
        }
    }
}

/// A null that must replace the nearest nullable ancestor.
struct NullBubble;

/// What a value wrote.
enum Written {
    Value,
    Null,
}

/// A GraphQL name as a JSON string (names need no escaping).
fn write_name(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.push(b'"');
}

fn write_json(out: &mut Vec<u8>, value: &JsonValue) {
    // Writing JSON to a Vec cannot fail.
    let _ = serde_json::to_writer(out, value);
}

impl<'a> Shaper<'a> {
    pub fn new(
        schema: &'a Schema,
        doc: &'a ExecutableDocument,
        variables: &'a JsonMap,
        errors: &'a mut Vec<GraphQLError>,
    ) -> Self {
        Shaper {
            schema,
            doc,
            variables,
            errors,
            collected: HashMap::default(),
        }
    }

    /// Writes the response `data` for the root selection to `out` as JSON: `null` when a null
    /// reached the root.
    pub fn write_root(
        &mut self,
        set: &SelectionSet,
        root_type: &Name,
        data: &JsonMap,
        out: &mut Vec<u8>,
    ) {
        let mut path = Vec::new();
        let set = SetRef {
            set,
            in_document: true,
        };
        let mark = out.len();
        if self.object(set, root_type, data, &mut path, out).is_err() {
            out.truncate(mark);
            out.extend_from_slice(b"null");
        }
    }

    /// The fields `set` asks of a `runtime` object, cached when `set` is the document's own.
    fn collected(&mut self, set: SetRef<'_>, runtime: &Name) -> Rc<[Collected]> {
        let collect = |s: &Self| -> Rc<[Collected]> {
            let conditions = Conditions::Evaluate(s.variables);
            collect::collect(s.schema, s.doc, set.set, runtime, conditions).into()
        };
        if !set.in_document {
            return collect(self);
        }
        let key = (std::ptr::from_ref(set.set) as usize, runtime.clone());
        if let Some(fields) = self.collected.get(&key) {
            return fields.clone();
        }
        let fields = collect(self);
        self.collected.insert(key, fields.clone());
        fields
    }

    fn object(
        &mut self,
        set: SetRef<'_>,
        static_type: &Name,
        data: &JsonMap,
        path: &mut Vec<ResponseDataPathSegment>,
        out: &mut Vec<u8>,
    ) -> Result<(), NullBubble> {
        let runtime = self.runtime_type(static_type, data);
        let fields = self.collected(set, &runtime);
        out.push(b'{');
        for (n, field) in fields.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let first = field.first();
            let key = first.response_key();
            write_name(out, key);
            out.push(b':');
            if first.name == "__typename" {
                write_name(out, &runtime);
                continue;
            }
            let raw = crate::json::field(data, key.as_str()).unwrap_or(&JsonValue::Null);
            if matches!(first.name.as_str(), "__schema" | "__type") {
                write_json(out, raw);
                continue;
            }
            path.push(ResponseDataPathSegment::Field(key.clone()));
            let selection = field.selection();
            let written = self.value(
                &first.definition.ty,
                raw,
                selection.as_ref().map(SetRef::from),
                path,
                out,
            );
            path.pop();
            written?;
        }
        out.push(b'}');
        Ok(())
    }

    /// Writes one value of type `ty`. A null in a non-null position bubbles up to the nearest
    /// nullable ancestor, which discards what it wrote and writes `null` instead.
    fn value(
        &mut self,
        ty: &Type,
        raw: &JsonValue,
        selection: Option<SetRef<'_>>,
        path: &mut Vec<ResponseDataPathSegment>,
        out: &mut Vec<u8>,
    ) -> Result<(), NullBubble> {
        let mark = out.len();
        match (
            self.nullable(ty, raw, selection, path, out),
            ty.is_non_null(),
        ) {
            (Ok(Written::Null), true) => {
                self.null_error(path);
                Err(NullBubble)
            }
            (Ok(_), _) => Ok(()),
            (Err(bubble), true) => Err(bubble),
            (Err(NullBubble), false) => {
                out.truncate(mark);
                out.extend_from_slice(b"null");
                Ok(())
            }
        }
    }

    fn nullable(
        &mut self,
        ty: &Type,
        raw: &JsonValue,
        selection: Option<SetRef<'_>>,
        path: &mut Vec<ResponseDataPathSegment>,
        out: &mut Vec<u8>,
    ) -> Result<Written, NullBubble> {
        match (ty, raw) {
            (Type::List(item) | Type::NonNullList(item), JsonValue::Array(items)) => {
                out.push(b'[');
                for (i, raw_item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    path.push(ResponseDataPathSegment::ListIndex(i));
                    let written = self.value(item, raw_item, selection, path, out);
                    path.pop();
                    written?;
                }
                out.push(b']');
                Ok(Written::Value)
            }
            (Type::List(_) | Type::NonNullList(_), _) | (_, JsonValue::Null) => {
                out.extend_from_slice(b"null");
                Ok(Written::Null)
            }
            (_, JsonValue::Object(map)) => match selection {
                Some(set) => {
                    self.object(set, ty.inner_named_type(), map, path, out)?;
                    Ok(Written::Value)
                }
                None => {
                    out.extend_from_slice(b"null");
                    Ok(Written::Null)
                }
            },
            (_, leaf) if selection.is_none() => {
                write_json(out, leaf);
                Ok(Written::Value)
            }
            _ => {
                out.extend_from_slice(b"null");
                Ok(Written::Null)
            }
        }
    }

    /// The object type of `data`: its `__typename` when that names an object type, else the
    /// static type.
    fn runtime_type(&self, static_type: &Name, data: &JsonMap) -> Name {
        let typename = crate::json::typename(data);
        if typename == Some(static_type.as_str()) {
            return static_type.clone();
        }
        let named = typename.and_then(|t| match self.schema.types.get(t) {
            Some(ExtendedType::Object(o)) => Some(o.name.clone()),
            _ => None,
        });
        named.unwrap_or_else(|| static_type.clone())
    }

    /// Records why a non-null field is null, unless a subgraph error already explains it.
    fn null_error(&mut self, path: &[ResponseDataPathSegment]) {
        let explained = self
            .errors
            .iter()
            .any(|e| e.path.is_empty() || e.path.starts_with(path) || path.starts_with(&e.path));
        if !explained {
            self.errors.push(GraphQLError {
                message: "Cannot return null for non-nullable field".into(),
                locations: Vec::new(),
                path: path.to_vec(),
                extensions: JsonMap::new(),
            });
        }
    }
}
