//! Which schema coordinates operations use.
//!
//! Per operation (fragments it spreads included, transitively): every type selected on
//! (parent types, field types, type conditions), `Parent>Condition` for each fragment whose
//! type condition differs from the type it is spread in, every `Type.field` selected, every
//! `Type.field(arg:)` passed, every input field and enum value written as a literal, and for
//! variables everything reachable from the variable's type (its input fields and enum values:
//! a variable's value is not known).

use std::collections::HashSet;

use apollo_compiler::ast::Value;
use apollo_compiler::executable::{ExecutableDocument, Fragment, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Node, Schema};

use super::{SchemaChangeKind as K, SkippedOperation};

/// One valid operation and what it uses.
pub(crate) struct Used {
    pub name: String,
    coordinates: HashSet<String>,
}

impl Used {
    pub fn uses(&self, key: &str) -> bool {
        self.coordinates.contains(key)
    }
}

/// What an operation must use for a change to affect it.
pub(crate) fn key(kind: K, coordinate: &str) -> String {
    match kind {
        // A new required argument breaks every selection of the field; a changed default
        // changes the answer of selections that leave the argument out.
        K::RequiredArgumentAdded | K::ArgumentDefaultChanged => coordinate
            .split_once('(')
            .map_or(coordinate, |(field, _)| field)
            .to_owned(),
        // A new required input field breaks every use of the input type; a changed default
        // affects them; a new enum value reaches every operation that reads or sends the enum.
        K::RequiredInputFieldAdded | K::InputFieldDefaultChanged | K::EnumValueAdded => coordinate
            .split_once('.')
            .map_or(coordinate, |(ty, _)| ty)
            .to_owned(),
        _ => coordinate.to_owned(),
    }
}

pub(crate) fn collect(
    schema: &Valid<Schema>,
    documents: &[String],
    skipped: &mut Vec<SkippedOperation>,
) -> Vec<Used> {
    let mut out = Vec::new();
    for (i, source) in documents.iter().enumerate() {
        let doc = match ExecutableDocument::parse_and_validate(schema, source, format!("#{i}")) {
            Ok(doc) => doc,
            Err(e) => {
                skipped.push(SkippedOperation {
                    document: format!("#{i}"),
                    reason: super::messages(&e.errors),
                });
                continue;
            }
        };
        for op in doc.operations.iter() {
            let mut walker = Walker {
                schema,
                doc: &doc,
                seen_fragments: HashSet::new(),
                coordinates: HashSet::new(),
            };
            for v in &op.variables {
                walker.input_type(v.ty.inner_named_type());
            }
            walker.selection_set(&op.selection_set);
            out.push(Used {
                name: op
                    .name
                    .as_ref()
                    .map_or_else(|| format!("#{i}"), ToString::to_string),
                coordinates: walker.coordinates,
            });
        }
    }
    out
}

struct Walker<'a> {
    schema: &'a Schema,
    doc: &'a ExecutableDocument,
    seen_fragments: HashSet<String>,
    coordinates: HashSet<String>,
}

impl Walker<'_> {
    fn add(&mut self, c: String) -> bool {
        self.coordinates.insert(c)
    }

    fn selection_set(&mut self, set: &SelectionSet) {
        self.add(set.ty.to_string());
        for selection in &set.selections {
            match selection {
                Selection::Field(f) => {
                    let parent = &set.ty;
                    let field = format!("{parent}.{}", f.name);
                    self.add(f.definition.ty.inner_named_type().to_string());
                    for arg in &f.arguments {
                        self.add(format!("{field}({}:)", arg.name));
                        if let Some(def) = f.definition.argument_by_name(&arg.name) {
                            self.value(def.ty.inner_named_type(), &arg.value);
                        }
                    }
                    self.add(field);
                    self.selection_set(&f.selection_set);
                }
                Selection::InlineFragment(inline) => {
                    self.spread(&set.ty, &inline.selection_set.ty);
                    self.selection_set(&inline.selection_set);
                }
                Selection::FragmentSpread(spread) => {
                    let fragment: Option<&Node<Fragment>> =
                        self.doc.fragments.get(&spread.fragment_name);
                    if let Some(fragment) = fragment {
                        self.spread(&set.ty, &fragment.selection_set.ty);
                        if self.seen_fragments.insert(spread.fragment_name.to_string()) {
                            self.selection_set(&fragment.selection_set);
                        }
                    }
                }
            }
        }
    }

    /// A fragment on `condition` spread where `parent` is selected: `Parent>Condition`, what a
    /// removed union member or interface implementation breaks.
    fn spread(&mut self, parent: &str, condition: &str) {
        if parent != condition {
            self.add(format!("{parent}>{condition}"));
        }
    }

    /// A literal (or variable) given where `ty` is expected.
    fn value(&mut self, ty: &str, value: &Value) {
        self.add(ty.to_owned());
        match value {
            Value::Variable(_) => self.input_type(ty),
            Value::Enum(v) => {
                self.add(format!("{ty}.{v}"));
            }
            Value::List(items) => {
                for item in items {
                    self.value(ty, item);
                }
            }
            Value::Object(fields) => {
                let Some(ExtendedType::InputObject(input)) = self.schema.types.get(ty) else {
                    return;
                };
                for (name, v) in fields {
                    self.add(format!("{ty}.{name}"));
                    if let Some(def) = input.fields.get(name) {
                        self.value(def.ty.inner_named_type(), v);
                    }
                }
            }
            _ => {}
        }
    }

    /// Everything reachable from a variable's type (each type walked once: `Type.*` marks it).
    fn input_type(&mut self, ty: &str) {
        self.add(ty.to_owned());
        if !self.add(format!("{ty}.*")) {
            return;
        }
        match self.schema.types.get(ty) {
            Some(ExtendedType::Enum(e)) => {
                for v in e.values.keys() {
                    self.add(format!("{ty}.{v}"));
                }
            }
            Some(ExtendedType::InputObject(input)) => {
                for (name, def) in &input.fields {
                    self.add(format!("{ty}.{name}"));
                    self.input_type(def.ty.inner_named_type());
                }
            }
            _ => {}
        }
    }
}
