//! Data-driven field resolution: root fields from `data["Query"]`, objects completed from
//! `data["entities"]` tables, argument lookups, `$error` fields and `_entities`/`_service`.

use apollo_compiler::Schema;
use apollo_compiler::ast::{FieldDefinition, Type};
use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::JsonMap;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use serde_json::{Map, Value};

/// Computes a field's value from (type, field, object incl. representation fields, arguments);
/// `None` falls back to the stored data.
pub type ComputedField =
    dyn Fn(&str, &str, &Map<String, Value>, &Map<String, Value>) -> Option<Value> + Send + Sync;

/// Everything resolution reads; shared by every object of one request.
pub(super) struct Resolver<'s> {
    pub(super) schema: &'s Valid<Schema>,
    pub(super) data: &'s Value,
    pub(super) sdl: &'s str,
    pub(super) computed: Option<&'s ComputedField>,
}

/// An object value: its concrete type and its fields (stored row merged with what referred to it).
pub(super) struct Object<'s> {
    resolver: &'s Resolver<'s>,
    type_name: String,
    fields: Map<String, Value>,
}

impl ObjectValue for Object<'_> {
    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let resolver: &'a Resolver<'a> = self.resolver;
        let arguments = to_serde_map(info.arguments());
        if let Some(special) = resolver.federation_field(self, info.field_name(), &arguments) {
            return Ok(special);
        }
        let definition = info.field_definition();
        let value = self.value(info.field_name(), definition, &arguments);
        resolver.resolve(&definition.ty, value)
    }
}

impl Object<'_> {
    /// Computed, else stored, else looked up by arguments, else null.
    fn value(
        &self,
        field: &str,
        definition: &FieldDefinition,
        arguments: &Map<String, Value>,
    ) -> Value {
        let computed = self.resolver.computed;
        if let Some(value) =
            computed.and_then(|f| f(&self.type_name, field, &self.fields, arguments))
        {
            return value;
        }
        if let Some(value) = self.fields.get(field) {
            return truncated(value, arguments);
        }
        if definition.arguments.is_empty() {
            return Value::Null;
        }
        self.resolver
            .lookup(&definition.ty, arguments)
            .unwrap_or(Value::Null)
    }
}

impl<'s> Resolver<'s> {
    /// The root object of an operation on `type_name` (`data[type_name]`, else `data[kind]`).
    pub(super) fn root(&'s self, type_name: &str, kind: &str) -> Object<'s> {
        let stored = self.data.get(type_name).or_else(|| self.data.get(kind));
        Object {
            resolver: self,
            type_name: type_name.to_owned(),
            fields: stored
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// `_entities` and `_service` on the query type, which the server answers itself.
    fn federation_field(
        &'s self,
        object: &Object<'_>,
        field: &str,
        arguments: &Map<String, Value>,
    ) -> Option<ResolvedValue<'s>> {
        let query = self.schema.schema_definition.query.as_ref()?;
        if object.type_name != query.name.as_str() {
            return None;
        }
        match field {
            "_entities" => Some(self.entities(arguments)),
            "_service" => {
                let fields = Map::from_iter([("sdl".to_owned(), Value::from(self.sdl))]);
                Some(ResolvedValue::object(self.object_of("_Service", fields)))
            }
            _ => None,
        }
    }

    /// Resolves a JSON value as a value of GraphQL type `ty`.
    fn resolve(&'s self, ty: &Type, value: Value) -> Result<ResolvedValue<'s>, FieldError> {
        if let Some(message) = raised_error(&value) {
            return Err(FieldError { message });
        }
        let named = ty.inner_named_type().as_str();
        match value {
            Value::Null => Ok(ResolvedValue::null()),
            Value::Array(items) if ty.is_list() => Ok(self.list(ty.item_type(), items)),
            Value::Object(fields) if self.is_composite(named) => {
                Ok(ResolvedValue::object(self.object(named, fields)?))
            }
            leaf => Ok(ResolvedValue::leaf(coerce_leaf(named, leaf))),
        }
    }

    fn list(&'s self, item: &Type, items: Vec<Value>) -> ResolvedValue<'s> {
        let resolved: Vec<_> = items.into_iter().map(|v| self.resolve(item, v)).collect();
        ResolvedValue::List(Box::new(resolved.into_iter()))
    }

    fn is_composite(&self, name: &str) -> bool {
        matches!(
            self.schema.types.get(name),
            Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_))
        )
    }

    /// An object found where `declared` is expected: typed by its `__typename`, else by the
    /// declared type, else by the first possible type whose table has a matching row.
    fn object(
        &'s self,
        declared: &str,
        fields: Map<String, Value>,
    ) -> Result<Object<'s>, FieldError> {
        let type_name = match fields.get("__typename").and_then(Value::as_str) {
            Some(name) => name.to_owned(),
            None => self
                .concrete_type(declared, &fields)
                .ok_or_else(|| FieldError {
                    message: format!(
                        "cannot tell which {declared} this object is: give it a __typename"
                    ),
                })?,
        };
        Ok(self.object_of(&type_name, fields))
    }

    fn concrete_type(&self, declared: &str, fields: &Map<String, Value>) -> Option<String> {
        if self.schema.get_object(declared).is_some() {
            return Some(declared.to_owned());
        }
        let possible = self.possible_types(declared);
        let matching = possible.iter().find(|t| self.find_row(t, fields).is_some());
        let only = (possible.len() == 1).then(|| possible[0]);
        matching.copied().or(only).map(str::to_owned)
    }

    /// The object types that implement an interface or belong to a union.
    fn possible_types(&self, abstract_type: &str) -> Vec<&'s str> {
        let schema: &'s Schema = self.schema;
        schema
            .types
            .iter()
            .filter(|(name, ty)| ty.is_object() && schema.is_subtype(abstract_type, name))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// `fields` of type `type_name`, completed by the first agreeing row of its table.
    fn object_of(&'s self, type_name: &str, fields: Map<String, Value>) -> Object<'s> {
        let mut merged = self
            .find_row(type_name, &fields)
            .cloned()
            .unwrap_or_default();
        merged.extend(fields);
        Object {
            resolver: self,
            type_name: type_name.to_owned(),
            fields: merged,
        }
    }

    fn table(&self, type_name: &str) -> Option<&'s [Value]> {
        let table = self.data.get("entities")?.get(type_name)?;
        table.as_array().map(Vec::as_slice)
    }

    fn find_row(
        &self,
        type_name: &str,
        object: &Map<String, Value>,
    ) -> Option<&'s Map<String, Value>> {
        let rows = self.table(type_name)?.iter().filter_map(Value::as_object);
        rows.into_iter().find(|row| agrees(object, row))
    }

    /// Rows of the return type's table whose fields equal the arguments (`first` truncates).
    fn lookup(&self, ty: &Type, arguments: &Map<String, Value>) -> Option<Value> {
        let named = ty.inner_named_type().as_str();
        let rows = &self.rows_of(named)?;
        let filters: Vec<(&String, &Value)> = arguments
            .iter()
            .filter(|(name, value)| *name != "first" && !value.is_null())
            .filter(|(name, _)| self.is_row_field(named, rows, name))
            .collect();
        let mut matches = rows.iter().filter(|row| {
            filters
                .iter()
                .all(|(name, value)| row.get(name).is_some_and(|v| loosely_equal(v, value)))
        });
        if !ty.is_list() {
            return Some(matches.next().cloned().unwrap_or(Value::Null));
        }
        let first = arguments.get("first").and_then(Value::as_u64);
        let first = first.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        Some(Value::Array(matches.take(first).cloned().collect()))
    }

    /// The table of `type_name`; for an abstract type without one, the rows of its possible
    /// types' tables, each with its `__typename`.
    fn rows_of(&self, type_name: &str) -> Option<Vec<Value>> {
        if let Some(rows) = self.table(type_name) {
            return Some(rows.to_vec());
        }
        let mut found = false;
        let mut rows = Vec::new();
        for possible in self.possible_types(type_name) {
            let Some(table) = self.table(possible) else {
                continue;
            };
            found = true;
            rows.extend(table.iter().map(|row| with_typename(row, possible)));
        }
        found.then_some(rows)
    }

    /// Whether an argument names a field of the type or of some row (else it does not filter).
    fn is_row_field(&self, type_name: &str, rows: &[Value], name: &str) -> bool {
        self.schema.type_field(type_name, name).is_ok()
            || rows.iter().any(|r| r.get(name).is_some())
    }

    fn entities(&'s self, arguments: &Map<String, Value>) -> ResolvedValue<'s> {
        let representations = arguments.get("representations").and_then(Value::as_array);
        let items: Vec<_> = representations
            .into_iter()
            .flatten()
            .map(|r| self.entity(r))
            .collect();
        ResolvedValue::List(Box::new(items.into_iter()))
    }

    /// One `_entities` item: the matching row merged with the representation (which wins),
    /// the representation alone when no row matches, null for a type that is no entity here.
    fn entity(&'s self, representation: &Value) -> Result<ResolvedValue<'s>, FieldError> {
        let fields = representation.as_object().ok_or_else(|| FieldError {
            message: "a representation must be an object".to_owned(),
        })?;
        let type_name = fields
            .get("__typename")
            .and_then(Value::as_str)
            .ok_or_else(|| FieldError {
                message: "a representation needs a __typename".to_owned(),
            })?;
        let concrete = match self.schema.get_interface(type_name) {
            Some(_) => self.concrete_type(type_name, fields),
            None => Some(type_name.to_owned()),
        };
        Ok(
            match concrete.filter(|t| self.schema.is_subtype("_Entity", t)) {
                Some(t) => ResolvedValue::object(self.object_of(&t, fields.clone())),
                None => ResolvedValue::null(),
            },
        )
    }
}

fn with_typename(row: &Value, type_name: &str) -> Value {
    let mut row = row.clone();
    if let Some(fields) = row.as_object_mut() {
        fields.insert("__typename".to_owned(), Value::from(type_name));
    }
    row
}

/// The message of a stored `{"$error": "message"}`.
fn raised_error(value: &Value) -> Option<String> {
    let error = value.as_object()?.get("$error")?;
    Some(
        error
            .as_str()
            .map_or_else(|| error.to_string(), str::to_owned),
    )
}

/// Whether a row agrees with every field it shares with the object (at least one, `__typename`
/// aside).
fn agrees(object: &Map<String, Value>, row: &Map<String, Value>) -> bool {
    let mut shared = object
        .iter()
        .filter(|(name, _)| *name != "__typename")
        .filter_map(|(name, value)| Some((value, row.get(name)?)))
        .peekable();
    shared.peek().is_some() && shared.all(|(a, b)| loosely_equal(a, b))
}

/// JSON equality where a number equals its decimal string ("1" == 1, as for an ID) and objects
/// compare on the fields they share.
fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .all(|(name, v)| b.get(name).is_none_or(|w| loosely_equal(v, w))),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| loosely_equal(v, w))
        }
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            n.to_string() == *s
        }
        _ => a == b,
    }
}

/// Stored JSON to what the leaf type's result coercion gives: integers as `Float`, numbers as
/// `String` or `ID` (which serializes as a string).
fn coerce_leaf(named: &str, value: Value) -> Value {
    match (named, &value) {
        ("Float", Value::Number(n)) if !n.is_f64() => n.as_f64().map_or(value, Value::from),
        ("String" | "ID", Value::Number(n)) => Value::String(n.to_string()),
        _ => value,
    }
}

fn to_serde_map(arguments: &JsonMap) -> Map<String, Value> {
    match serde_json::to_value(arguments) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// A stored list cut to the `first` argument, when there is one.
fn truncated(value: &Value, arguments: &Map<String, Value>) -> Value {
    match (value, arguments.get("first").and_then(Value::as_u64)) {
        (Value::Array(items), Some(n)) => {
            Value::Array(items.iter().take(n as usize).cloned().collect())
        }
        _ => value.clone(),
    }
}
