//! Small helpers of the planner over selections: field sets as subgraph selections, variable
//! conditions, `@provides` lookups, list depth.

use apollo_compiler::ast::{DirectiveList, Type};
use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::{Name, Node};

use super::{Condition, Planner};
use crate::sel::{FieldSel, SelSet};

/// A FieldSet (key, requires) as a subgraph selection.
pub(super) fn to_sel(planner: &Planner<'_>, set: &SelectionSet, ty: &Name) -> SelSet {
    let mut out = SelSet::default();
    for field in planner.collect(set, ty) {
        let selection = field
            .selection
            .as_ref()
            .map(|s| to_sel(planner, s, field.ty.inner_named_type()));
        out.add_field(FieldSel {
            alias: field.alias,
            name: field.name,
            arguments: field.arguments,
            directives: field.directives,
            selection,
        });
    }
    out
}

/// The variable conditions of `@skip(if: $v)` / `@include(if: $v)` directives.
pub(super) fn conditions_of(directives: &DirectiveList) -> Vec<Condition> {
    directives
        .iter()
        .filter_map(|d| {
            let include = match d.name.as_str() {
                "include" => true,
                "skip" => false,
                _ => return None,
            };
            match d.specified_argument_by_name("if")?.as_ref() {
                apollo_compiler::ast::Value::Variable(v) => Some(Condition {
                    variable: v.clone(),
                    include,
                }),
                _ => None,
            }
        })
        .collect()
}

/// Whether a `@provides` selection at this level holds `field`.
pub(super) fn provided_has(provided: Option<&SelectionSet>, field: &str) -> bool {
    provided.is_some_and(|set| set_fields(set).any(|f| f.name == field))
}

pub(super) fn provided_child(provided: Option<&SelectionSet>, field: &str) -> Option<SelectionSet> {
    let set = provided?;
    let mut merged: Option<SelectionSet> = None;
    for f in set_fields(set).filter(|f| f.name == field) {
        match &mut merged {
            Some(m) => m.selections.extend(f.selection_set.selections.clone()),
            None => merged = Some(f.selection_set.clone()),
        }
    }
    merged
}

/// Fields of a selection set, looking through inline fragments.
pub(super) fn set_fields(
    set: &SelectionSet,
) -> Box<dyn Iterator<Item = &Node<apollo_compiler::executable::Field>> + '_> {
    Box::new(set.selections.iter().flat_map(|s| match s {
        Selection::Field(f) => Box::new(std::iter::once(f)) as Box<dyn Iterator<Item = _>>,
        Selection::InlineFragment(i) => set_fields(&i.selection_set),
        Selection::FragmentSpread(_) => Box::new(std::iter::empty()),
    }))
}

pub(super) fn list_depth(ty: &Type) -> usize {
    match ty {
        Type::List(inner) | Type::NonNullList(inner) => 1 + list_depth(inner),
        _ => 0,
    }
}
