//! Shapes merged subgraph data into the client's response: its field order and aliases, only what it
//! asked for, and GraphQL null propagation for non-null fields.

use apollo_compiler::ast::Type;
use apollo_compiler::executable::{ExecutableDocument, SelectionSet};
use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue, ResponseDataPathSegment};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Schema};

use crate::collect::{self, Conditions};

/// Walks the client's selections over `data`.
pub struct Shaper<'a> {
    pub schema: &'a Schema,
    pub doc: &'a ExecutableDocument,
    pub variables: &'a JsonMap,
    pub errors: &'a mut Vec<GraphQLError>,
}

/// A null that must replace the nearest nullable ancestor.
struct NullBubble;

impl Shaper<'_> {
    /// The response `data` for the root selection; `None` when null reached the root.
    pub fn root(
        &mut self,
        set: &SelectionSet,
        root_type: &Name,
        data: &JsonMap,
    ) -> Option<JsonMap> {
        let mut path = Vec::new();
        self.object(set, root_type, data, &mut path).ok()
    }

    fn object(
        &mut self,
        set: &SelectionSet,
        static_type: &Name,
        data: &JsonMap,
        path: &mut Vec<ResponseDataPathSegment>,
    ) -> Result<JsonMap, NullBubble> {
        let runtime = self.runtime_type(static_type, data);
        let fields = collect::collect(
            self.schema,
            self.doc,
            set,
            &runtime,
            Conditions::Evaluate(self.variables),
        );
        let mut out = JsonMap::new();
        for field in fields {
            let first = field.first();
            let key = first.response_key();
            if first.name == "__typename" {
                out.insert(key.as_str(), JsonValue::String(runtime.as_str().into()));
                continue;
            }
            let raw = data.get(key.as_str()).unwrap_or(&JsonValue::Null);
            if matches!(first.name.as_str(), "__schema" | "__type") {
                out.insert(key.as_str(), raw.clone());
                continue;
            }
            path.push(ResponseDataPathSegment::Field(key.clone()));
            let selection = field.selection();
            let value = self.value(&first.definition.ty, raw, selection.as_deref(), path);
            path.pop();
            out.insert(key.as_str(), value?);
        }
        Ok(out)
    }

    fn value(
        &mut self,
        ty: &Type,
        raw: &JsonValue,
        selection: Option<&SelectionSet>,
        path: &mut Vec<ResponseDataPathSegment>,
    ) -> Result<JsonValue, NullBubble> {
        if ty.is_non_null() {
            let value = self.nullable(ty, raw, selection, path)?;
            if value.is_null() {
                self.null_error(path);
                return Err(NullBubble);
            }
            return Ok(value);
        }
        Ok(self
            .nullable(ty, raw, selection, path)
            .unwrap_or(JsonValue::Null))
    }

    fn nullable(
        &mut self,
        ty: &Type,
        raw: &JsonValue,
        selection: Option<&SelectionSet>,
        path: &mut Vec<ResponseDataPathSegment>,
    ) -> Result<JsonValue, NullBubble> {
        match (ty, raw) {
            (_, JsonValue::Null) => Ok(JsonValue::Null),
            (Type::List(item) | Type::NonNullList(item), JsonValue::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, raw_item) in items.iter().enumerate() {
                    path.push(ResponseDataPathSegment::ListIndex(i));
                    let value = self.value(item, raw_item, selection, path);
                    path.pop();
                    out.push(value?);
                }
                Ok(JsonValue::Array(out))
            }
            (Type::List(_) | Type::NonNullList(_), _) => Ok(JsonValue::Null),
            (_, JsonValue::Object(map)) => match selection {
                Some(set) => Ok(JsonValue::Object(self.object(
                    set,
                    ty.inner_named_type(),
                    map,
                    path,
                )?)),
                None => Ok(JsonValue::Null),
            },
            (_, leaf) if selection.is_none() => Ok(leaf.clone()),
            _ => Ok(JsonValue::Null),
        }
    }

    /// The object type of `data`: its `__typename` when that names an object type, else the
    /// static type.
    fn runtime_type(&self, static_type: &Name, data: &JsonMap) -> Name {
        let named = data
            .get("__typename")
            .and_then(|t| t.as_str())
            .and_then(|t| match self.schema.types.get(t) {
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
