//! Planning where a subgraph sees an interface as an `@interfaceObject` (it cannot tell the
//! concrete type, so that part of the selection goes to a subgraph that can).

use std::collections::BTreeSet;

use apollo_compiler::Name;
use apollo_compiler::executable::{Selection, SelectionSet};

use super::*;

impl Planner<'_> {
    /// Plans a selection on an interface that this subgraph sees as an `@interfaceObject`: the
    /// interface's own fields here, the concrete type (`__typename`, fragments on implementations)
    /// from a subgraph where the interface is an entity with a key.
    pub(super) fn plan_interface_object(
        &mut self,
        pos: &Pos,
        ty: &Name,
        selection: &SelectionSet,
    ) -> Result<BTreeSet<usize>, PlanError> {
        let mut produced = BTreeSet::new();
        for field in self.collect(selection, ty) {
            produced.extend(self.plan_field(pos, ty, &field, &[])?);
        }
        let Some(concrete) = self.concrete_part(selection, ty) else {
            return Ok(produced);
        };
        let graph = self.groups[pos.group].graph;
        let target = (0..self.sg.subgraphs.len())
            .filter(|g| *g != graph && !self.sg.is_interface_object(*g, ty))
            .find(|g| self.sg.has_type(*g, ty) && self.sg.keys(*g, ty).any(|k| k.resolvable))
            .ok_or_else(|| PlanError::Unresolvable(format!("concrete type of {ty}")))?;
        let group = self.entity_group(pos, target, ty, ty)?;
        let entity_pos = pos.at_entity_root(group, ty);
        produced.extend(self.plan_selection(&entity_pos, ty, &concrete)?);
        produced.insert(group);
        Ok(produced)
    }

    /// `__typename` and the fragments on other types than `ty` itself, if the selection has any.
    pub(super) fn concrete_part(
        &self,
        selection: &SelectionSet,
        ty: &Name,
    ) -> Option<SelectionSet> {
        let mut out = SelectionSet::new(ty.clone());
        for s in &selection.selections {
            let condition = match s {
                Selection::Field(f) if f.name == "__typename" => {
                    out.push(s.clone());
                    continue;
                }
                Selection::Field(_) => continue,
                Selection::InlineFragment(i) => i.type_condition.clone(),
                Selection::FragmentSpread(f) => self
                    .doc
                    .fragments
                    .get(&f.fragment_name)
                    .map(|d| d.type_condition().clone()),
            };
            if condition.is_some_and(|c| c != *ty) {
                out.push(s.clone());
            }
        }
        (!out.selections.is_empty()).then_some(out)
    }
}
