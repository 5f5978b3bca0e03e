//! Entity fetches: choosing the subgraph and key to jump to, sharing a fetch between sibling
//! fields and object types, and planning representation inputs (keys, `@requires`).

use std::collections::BTreeSet;

use apollo_compiler::Name;
use apollo_compiler::executable::SelectionSet;

use super::fields::*;
use super::*;

impl Planner<'_> {
    /// Plans `field` in an entity fetch to another subgraph (or a new fetch to the same one, for
    /// a field whose `@requires` must be fetched first).
    pub(super) fn plan_jump(
        &mut self,
        pos: &Pos,
        parent: &Name,
        field: &Collected,
        avoid: &[GraphId],
    ) -> Result<BTreeSet<usize>, PlanError> {
        let (graph, entity_ty) = self.jump_target(pos, parent, field, avoid)?;
        // The fetch is needed only when the field is (its own `@skip`/`@include` included).
        let mut conditioned = pos.clone();
        for condition in conditions_of(&field.directives) {
            if !conditioned.conditions.contains(&condition) {
                conditioned.conditions.push(condition);
            }
        }
        let group = self.entity_group(&conditioned, graph, &entity_ty, parent)?;
        let entity_pos = pos.at_entity_root(group, &entity_ty);
        // An `@interfaceObject` subgraph knows the field on the interface, not on `parent`.
        let mut produced = self.plan_field(&entity_pos, &entity_ty, field, &[])?;
        produced.insert(group);
        Ok(produced)
    }

    /// The subgraph to jump to for `parent.field`, and the entity type to ask it for.
    pub(super) fn jump_target(
        &self,
        pos: &Pos,
        parent: &Name,
        field: &Collected,
        avoid: &[GraphId],
    ) -> Result<(GraphId, Name), PlanError> {
        let current = self.groups[pos.group].graph;
        let candidates: Vec<(GraphId, Name)> = self
            .sg
            .graphs_resolving(parent, &field.name, self.labels)
            .into_iter()
            .filter(|g| !avoid.contains(g))
            .filter_map(|g| self.entity_type_in(g, parent).map(|t| (g, t)))
            .collect();
        if candidates.is_empty() {
            let graph = self
                .sg
                .graphs_resolving(parent, &field.name, self.labels)
                .first()
                .map(|g| self.sg.subgraphs[*g].name.clone());
            return Err(match graph {
                Some(graph) => PlanError::NoKey {
                    ty: parent.to_string(),
                    field: field.name.to_string(),
                    graph,
                },
                None => PlanError::Unresolvable(format!("{parent}.{}", field.name)),
            });
        }
        let existing = candidates.iter().find(|(g, t)| {
            let rewrite = (t != parent).then(|| t.clone());
            self.entity_groups
                .contains_key(&(pos.group, *g, pos.path.clone(), rewrite))
        });
        let direct = candidates.iter().find(|(g, t)| {
            self.sg.keys(*g, t).any(|k| {
                k.resolvable && self.key_local(current, pos, parent, &k.fields.selection_set)
            })
        });
        Ok(existing.or(direct).unwrap_or(&candidates[0]).clone())
    }

    /// The type `graph` knows `parent` by as an entity: itself, or an `@interfaceObject` it implements.
    pub(super) fn entity_type_in(&self, graph: GraphId, parent: &Name) -> Option<Name> {
        let resolvable = |t: &Name| self.sg.keys(graph, t).any(|k| k.resolvable);
        if self.sg.has_type(graph, parent) && resolvable(parent) {
            return Some(parent.clone());
        }
        let object = self.sg.schema.get_object(parent)?;
        object
            .implements_interfaces
            .iter()
            .map(|i| i.name.clone())
            .find(|i| self.sg.is_interface_object(graph, i) && resolvable(i))
    }

    /// Whether every field of a key is resolvable at `pos` in `graph` without another fetch.
    pub(super) fn key_local(
        &self,
        graph: GraphId,
        pos: &Pos,
        parent: &Name,
        key: &SelectionSet,
    ) -> bool {
        self.collect(key, parent).iter().all(|f| {
            let here = self
                .sg
                .resolution(graph, parent, &f.name, self.labels)
                .is_some()
                || provided_has(pos.provided.as_ref(), &f.name);
            let nested = match &f.selection {
                Some(sub) => self.key_local(graph, pos, f.ty.inner_named_type(), sub),
                None => true,
            };
            here && nested
        })
    }

    /// The entity fetch to `graph` for objects at `pos` (shared by sibling fields, and by
    /// objects of other types at the same place).
    pub(super) fn entity_group(
        &mut self,
        pos: &Pos,
        graph: GraphId,
        entity_ty: &Name,
        parent: &Name,
    ) -> Result<usize, PlanError> {
        let typename_as = (entity_ty != parent).then(|| entity_ty.clone());
        let id = (pos.group, graph, pos.path.clone(), typename_as.clone());
        let group = match self.entity_groups.get(&id).copied() {
            Some(group) => {
                // Needed when any of the fields sharing it is: only common conditions remain.
                self.groups[group]
                    .conditions
                    .retain(|c| pos.conditions.contains(c));
                group
            }
            None => {
                self.groups.push(Group {
                    graph,
                    entity: Some(EntityFetch {
                        path: pos.path.clone(),
                        tys: Vec::new(),
                        typename_as,
                        inputs: SelSet::default(),
                        keys: HashMap::new(),
                        origins: HashMap::new(),
                    }),
                    sel: SelSet::default(),
                    deps: BTreeSet::new(),
                    conditions: pos.conditions.clone(),
                });
                let group = self.groups.len() - 1;
                self.entity_groups.insert(id, group);
                group
            }
        };
        self.add_entity_type(group, pos, graph, entity_ty, parent)?;
        Ok(group)
    }

    /// Makes entity fetch `group` ask for `entity_ty` and take objects of type `parent` at `pos`.
    pub(super) fn add_entity_type(
        &mut self,
        group: usize,
        pos: &Pos,
        graph: GraphId,
        entity_ty: &Name,
        parent: &Name,
    ) -> Result<(), PlanError> {
        let entity = self.groups[group].entity.as_ref().expect("entity group");
        if !entity.tys.contains(entity_ty) {
            let key = self.choose_key(pos, graph, entity_ty, parent)?;
            self.groups[group].sel.add_on(entity_ty);
            let entity = self.groups[group].entity.as_mut().expect("entity group");
            entity.tys.push(entity_ty.clone());
            entity.keys.insert(entity_ty.clone(), key);
        }
        if !self.inputs_planned.insert((group, pos.steps.clone())) {
            return Ok(());
        }
        let entity = self.groups[group].entity.as_ref().expect("entity group");
        let key = entity.keys[entity_ty].clone();
        self.plan_key_inputs(pos, parent, &key, graph, group)?;
        let mut inputs = SelSet::default();
        inputs.add_field(FieldSel::leaf(name("__typename")));
        inputs.merge(&to_sel(self, &key, parent));
        let entity = self.groups[group].entity.as_mut().expect("entity group");
        entity
            .origins
            .entry(parent.clone())
            .or_insert_with(|| pos.clone());
        entity
            .inputs
            .merge(&SelSet(vec![Sel::On(parent.clone(), inputs)]));
        Ok(())
    }

    /// Plans `__typename` and the key at `pos` for entity fetch `group`.
    pub(super) fn plan_key_inputs(
        &mut self,
        pos: &Pos,
        parent: &Name,
        key: &SelectionSet,
        graph: GraphId,
        group: usize,
    ) -> Result<(), PlanError> {
        let mut typename = SelectionSet::new(parent.clone());
        typename.push(self.typename_field(parent));
        let mut deps = self.plan_inputs(pos, parent, &typename, graph)?;
        deps.extend(self.plan_inputs(pos, parent, key, graph)?);
        self.groups[group].deps.extend(deps);
        Ok(())
    }

    pub(super) fn typename_field(&self, parent: &Name) -> apollo_compiler::executable::Field {
        let def = self
            .sg
            .schema
            .type_field(parent, "__typename")
            .expect("__typename exists on every composite type")
            .node
            .clone();
        apollo_compiler::executable::Field::new(name("__typename"), def)
    }

    /// A key of `entity_ty` in `graph`: preferably one the current fetch can provide itself.
    pub(super) fn choose_key(
        &self,
        pos: &Pos,
        graph: GraphId,
        entity_ty: &Name,
        parent: &Name,
    ) -> Result<SelectionSet, PlanError> {
        let current = self.groups[pos.group].graph;
        let keys: Vec<_> = self
            .sg
            .keys(graph, entity_ty)
            .filter(|k| k.resolvable)
            .collect();
        let local = keys
            .iter()
            .find(|k| self.key_local(current, pos, parent, &k.fields.selection_set));
        local
            .or(keys.first())
            .map(|k| k.fields.selection_set.clone())
            .ok_or_else(|| PlanError::NoKey {
                ty: entity_ty.to_string(),
                field: String::new(),
                graph: self.sg.subgraphs[graph].name.clone(),
            })
    }

    /// Plans representation inputs (key fields, `@requires`) at the origin position, never via
    /// `target` itself; returns the fetches they come from.
    pub(super) fn plan_inputs(
        &mut self,
        pos: &Pos,
        parent: &Name,
        fields: &SelectionSet,
        target: GraphId,
    ) -> Result<BTreeSet<usize>, PlanError> {
        let mut produced = BTreeSet::new();
        let mut deeper = pos.clone();
        deeper.depth += 1;
        for field in self.collect(fields, parent) {
            produced.extend(self.plan_field(&deeper, parent, &field, &[target])?);
        }
        Ok(produced)
    }

    /// Adds a field's `@requires` to the inputs of entity fetch `group`, fetched at its origin.
    pub(super) fn add_requires(
        &mut self,
        group: usize,
        parent: &Name,
        requires: &SelectionSet,
    ) -> Result<(), PlanError> {
        let entity = self.groups[group]
            .entity
            .as_ref()
            .expect("requires at an entity root");
        let origin = entity
            .origins
            .get(parent)
            .or_else(|| entity.origins.values().next())
            .cloned()
            .expect("an entity fetch has an origin");
        let graph = self.groups[group].graph;
        let deps = self.plan_inputs(&origin, parent, requires, graph)?;
        let fields = to_sel(self, requires, parent);
        let entity = self.groups[group].entity.as_mut().expect("entity group");
        entity
            .inputs
            .merge(&SelSet(vec![Sel::On(parent.clone(), fields)]));
        self.groups[group].deps.extend(deps);
        Ok(())
    }
}
