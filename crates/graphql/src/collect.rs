//! GraphQL's CollectFields: the fields a selection set asks of an object of one runtime type.

use std::borrow::Cow;

use apollo_compiler::ast::{DirectiveList, Value};
use apollo_compiler::executable::{ExecutableDocument, Field, Selection, SelectionSet};
use apollo_compiler::response::JsonMap;
use apollo_compiler::{Name, Node, Schema};

/// The fields sharing one response key, with the `@skip`/`@include` conditions still open.
/// Fields are shared nodes of the document (cloning one is a reference count).
#[derive(Debug, Clone)]
pub struct Collected {
    pub fields: Vec<Node<Field>>,
    pub conditions: DirectiveList,
}

impl Collected {
    pub fn first(&self) -> &Node<Field> {
        &self.fields[0]
    }

    /// All sub-selections of the merged fields, as one selection set (borrowed when there is
    /// only one field, the common case, so shaping a large response copies no selections).
    pub fn selection(&self) -> Option<Cow<'_, SelectionSet>> {
        let first = &self.first().selection_set;
        if first.selections.is_empty() {
            return None;
        }
        if self.fields.len() == 1 {
            return Some(Cow::Borrowed(first));
        }
        let mut merged = first.clone();
        for f in &self.fields[1..] {
            merged
                .selections
                .extend(f.selection_set.selections.iter().cloned());
        }
        Some(Cow::Owned(merged))
    }
}

/// How `@skip`/`@include` with variables are treated.
#[derive(Clone, Copy)]
pub enum Conditions<'v> {
    /// Planning: keep them, to pass on to subgraphs.
    Keep,
    /// Shaping the response: evaluate them with these variable values.
    Evaluate(&'v JsonMap),
}

/// Collects `set` for objects of type `runtime` (an object type, or an abstract type itself).
pub fn collect(
    schema: &Schema,
    doc: &ExecutableDocument,
    set: &SelectionSet,
    runtime: &Name,
    conditions: Conditions<'_>,
) -> Vec<Collected> {
    let mut out = Vec::new();
    let cx = Cx {
        schema,
        doc,
        runtime,
        conditions,
    };
    cx.collect_into(set, &DirectiveList::default(), &mut out);
    out
}

struct Cx<'a, 's, 'v> {
    schema: &'s Schema,
    doc: &'a ExecutableDocument,
    runtime: &'s Name,
    conditions: Conditions<'v>,
}

impl<'a> Cx<'a, '_, '_> {
    fn collect_into(
        &self,
        set: &'a SelectionSet,
        inherited: &DirectiveList,
        out: &mut Vec<Collected>,
    ) {
        for selection in &set.selections {
            let Some(conditions) = self.conditions_of(inherited, selection.directives()) else {
                continue;
            };
            match selection {
                Selection::Field(f) => push(out, f, conditions),
                Selection::InlineFragment(inline) => {
                    let applies = inline
                        .type_condition
                        .as_ref()
                        .is_none_or(|c| self.applies(c));
                    if applies {
                        self.collect_into(&inline.selection_set, &conditions, out);
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let Some(fragment) = self.doc.fragments.get(&spread.fragment_name) else {
                        continue;
                    };
                    if self.applies(fragment.type_condition()) {
                        self.collect_into(&fragment.selection_set, &conditions, out);
                    }
                }
            }
        }
    }

    /// The conditions in force for a selection, or `None` when it is skipped.
    fn conditions_of(
        &self,
        inherited: &DirectiveList,
        own: &DirectiveList,
    ) -> Option<DirectiveList> {
        let mut out = inherited.clone();
        for d in own.iter() {
            let skip = match d.name.as_str() {
                "skip" => true,
                "include" => false,
                _ => continue,
            };
            let Some(value) = d.specified_argument_by_name("if") else {
                continue;
            };
            let known = match (value.as_ref(), self.conditions) {
                (Value::Boolean(b), _) => Some(*b),
                (Value::Variable(v), Conditions::Evaluate(vars)) => Some(
                    vars.get(v.as_str())
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false),
                ),
                _ => None,
            };
            match known {
                Some(b) if b == skip => return None,
                Some(_) => {}
                None if !out.0.contains(d) => out.0.push(d.clone()),
                None => {}
            }
        }
        Some(out)
    }

    fn applies(&self, condition: &Name) -> bool {
        condition == self.runtime || self.schema.is_subtype(condition, self.runtime)
    }
}

fn push(out: &mut Vec<Collected>, field: &Node<Field>, conditions: DirectiveList) {
    let key = field.response_key();
    match out.iter_mut().find(|c| c.first().response_key() == key) {
        Some(existing) => {
            existing.fields.push(field.clone());
            if existing.conditions != conditions {
                existing.conditions = DirectiveList::default();
            }
        }
        None => out.push(Collected {
            fields: vec![field.clone()],
            conditions,
        }),
    }
}
