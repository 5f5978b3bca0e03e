//! The query planner: splits an operation into fetches per subgraph, linked by entity keys and `@requires`.
//!
//! The planner walks the client's selections from the root. A field the current subgraph can resolve
//! (its own, or `@provides`d on the way) stays in the current fetch; any other field opens (or joins)
//! an entity fetch to a subgraph that can resolve it, whose representations need `__typename`, a key of
//! that subgraph, and the field's `@requires`. Those inputs are themselves planned like client fields at
//! the parent position, so keys only another subgraph knows, and `@requires` chains across several
//! subgraphs, become further fetches. Abstract types expand into one fragment per possible type in the
//! subgraph. The fetch groups form a DAG that [`crate::plan`] turns into `Sequence`/`Parallel` nodes.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};

use apollo_compiler::ast::{DirectiveList, Type};
use apollo_compiler::executable::{ExecutableDocument, Operation, SelectionSet};
use apollo_compiler::{Name, Node};

use crate::collect::{self, Conditions};
use crate::error::PlanError;
use crate::plan::{self, PathSeg, Plan};
use crate::sel::{FieldSel, Sel, SelSet, Step};
use crate::supergraph::{GraphId, Supergraph, name};

mod entity;
mod fields;
mod interface_object;

use fields::{conditions_of, list_depth, provided_child, provided_has};

const MAX_DEPTH: usize = 32;

/// A client field after field collection: same response key merged, fragments applied.
#[derive(Debug, Clone)]
struct Collected {
    alias: Option<Name>,
    name: Name,
    arguments: Vec<Node<apollo_compiler::ast::Argument>>,
    directives: DirectiveList,
    ty: Type,
    selection: Option<SelectionSet>,
}

/// Where an entity fetch merges and what its representations hold.
#[derive(Debug, Clone)]
pub(crate) struct EntityFetch {
    pub path: Vec<PathSeg>,
    /// The types named in `... on T` inside `_entities` (several when objects of different
    /// types at the same place go to the same subgraph).
    pub tys: Vec<Name>,
    /// Set when representations must carry another `__typename` (an `@interfaceObject`).
    pub typename_as: Option<Name>,
    /// `... on <object type> { __typename key requires }` for each type of object at `path`.
    pub inputs: SelSet,
    keys: HashMap<Name, SelectionSet>,
    /// Where the objects of each type are in the parent fetch (to plan their `@requires`).
    origins: HashMap<Name, Pos>,
}

/// One fetch to one subgraph.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub graph: GraphId,
    pub entity: Option<EntityFetch>,
    pub sel: SelSet,
    pub deps: BTreeSet<usize>,
    /// Conditions under which the fetch is needed at all.
    pub conditions: Vec<Condition>,
}

/// A place in a fetch's selection and in the response.
#[derive(Debug, Clone)]
struct Pos {
    group: usize,
    steps: Vec<Step>,
    path: Vec<PathSeg>,
    provided: Option<SelectionSet>,
    /// True at the top of an entity fetch, where `@requires` fields can be representation inputs.
    entity_root: bool,
    depth: usize,
    /// `@skip`/`@include` conditions on variables that hold along the path to here.
    conditions: Vec<Condition>,
}

impl Pos {
    /// The top of entity fetch `group`, inside its `... on ty`, for the objects at this position.
    fn at_entity_root(&self, group: usize, ty: &Name) -> Pos {
        Pos {
            group,
            steps: vec![Step::On(ty.clone())],
            path: self.path.clone(),
            provided: None,
            entity_root: true,
            depth: self.depth + 1,
            conditions: self.conditions.clone(),
        }
    }
}

/// A variable a fetch is conditioned on: run when it is `include` (true for `@include`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Condition {
    pub variable: Name,
    pub include: bool,
}

/// Plans one operation of a document against a supergraph.
pub struct Planner<'a> {
    sg: &'a Supergraph,
    doc: &'a ExecutableDocument,
    labels: &'a BTreeSet<String>,
    groups: Vec<Group>,
    /// (origin group, graph, path, type) -> group, so sibling fields share one entity fetch.
    entity_groups: HashMap<(usize, GraphId, Vec<PathSeg>, Option<Name>), usize>,
    /// (entity fetch, position) pairs whose representation inputs are planned.
    inputs_planned: HashSet<(usize, Vec<Step>)>,
}

impl<'a> Planner<'a> {
    /// Plans `operation` with the progressive-override labels in `labels` switched on.
    pub fn plan(
        sg: &'a Supergraph,
        doc: &'a ExecutableDocument,
        operation: &'a Operation,
        labels: &'a BTreeSet<String>,
    ) -> Result<Plan, PlanError> {
        let mut planner = Planner {
            sg,
            doc,
            labels,
            groups: Vec::new(),
            entity_groups: HashMap::new(),
            inputs_planned: HashSet::new(),
        };
        planner.plan_root(operation)?;
        Ok(plan::build(sg, operation, planner.groups))
    }

    fn plan_root(&mut self, operation: &Operation) -> Result<(), PlanError> {
        let root = operation.object_type().clone();
        let sequential = operation.is_mutation();
        let mut previous: Option<usize> = None;
        for field in self.collect(&operation.selection_set, &root) {
            if matches!(field.name.as_str(), "__schema" | "__type" | "__typename") {
                continue;
            }
            let graph = self.root_graph(&root, &field, previous)?;
            let group = match previous.filter(|g| self.groups[*g].graph == graph) {
                Some(g) => g,
                None if sequential => self.new_root_group(graph, previous),
                None => self.root_group_for(graph),
            };
            previous = Some(group);
            let pos = Pos {
                group,
                steps: Vec::new(),
                path: Vec::new(),
                provided: None,
                entity_root: false,
                depth: 0,
                conditions: Vec::new(),
            };
            self.plan_field(&pos, &root, &field, &[])?;
        }
        Ok(())
    }

    /// The subgraph for a root field: the one already queried if it can, else the one that
    /// resolves most of the field's own sub-selection.
    fn root_graph(
        &self,
        root: &Name,
        field: &Collected,
        previous: Option<usize>,
    ) -> Result<GraphId, PlanError> {
        let candidates = self.sg.graphs_resolving(root, &field.name, self.labels);
        if let Some(g) = previous.map(|g| self.groups[g].graph)
            && candidates.contains(&g)
        {
            return Ok(g);
        }
        let existing: Vec<GraphId> = self
            .groups
            .iter()
            .filter(|g| g.entity.is_none())
            .map(|g| g.graph)
            .collect();
        let score = |g: &GraphId| {
            let reused = usize::from(existing.contains(g));
            (self.local_share(*g, field), reused)
        };
        candidates
            .iter()
            .copied()
            .max_by_key(|g| score(g))
            .ok_or_else(|| PlanError::Unresolvable(format!("{root}.{}", field.name)))
    }

    /// How many of `field`'s direct sub-fields `graph` resolves itself.
    fn local_share(&self, graph: GraphId, field: &Collected) -> usize {
        let Some(sel) = &field.selection else {
            return 0;
        };
        let ty = field.ty.inner_named_type();
        self.collect(sel, ty)
            .iter()
            .filter(|f| {
                self.sg
                    .resolution(graph, ty, &f.name, self.labels)
                    .is_some()
            })
            .count()
    }

    fn root_group_for(&mut self, graph: GraphId) -> usize {
        let found = self
            .groups
            .iter()
            .position(|g| g.entity.is_none() && g.graph == graph);
        found.unwrap_or_else(|| self.new_root_group(graph, None))
    }

    fn new_root_group(&mut self, graph: GraphId, after: Option<usize>) -> usize {
        self.groups.push(Group {
            graph,
            entity: None,
            sel: SelSet::default(),
            deps: after.into_iter().collect(),
            conditions: Vec::new(),
        });
        self.groups.len() - 1
    }

    /// Plans one field at `pos`; returns the fetches that produce it (and its sub-selection).
    fn plan_field(
        &mut self,
        pos: &Pos,
        parent: &Name,
        field: &Collected,
        avoid: &[GraphId],
    ) -> Result<BTreeSet<usize>, PlanError> {
        if pos.depth > MAX_DEPTH {
            return Err(PlanError::TooDeep(format!("{parent}.{}", field.name)));
        }
        let graph = self.groups[pos.group].graph;
        let local = self.local(graph, pos, parent, field);
        if local == Some(None)
            && let Some(sibling) = self.better_sibling(pos, parent, field)
        {
            return self.plan_in_group(pos, sibling, parent, field);
        }
        match local {
            Some(requires) if requires.is_none() || pos.entity_root => {
                if let Some(requires) = requires {
                    self.add_requires(pos.group, parent, &requires)?;
                }
                self.plan_local(pos, parent, field)
            }
            _ => self.plan_jump(pos, parent, field, avoid),
        }
    }

    /// An entity fetch already going from `pos` to another subgraph that resolves more of
    /// `field`'s sub-selection than this one does (so nested fields need no fetch of their own).
    fn better_sibling(&self, pos: &Pos, parent: &Name, field: &Collected) -> Option<usize> {
        field.selection.as_ref()?;
        let graph = self.groups[pos.group].graph;
        let here = self.local_share(graph, field);
        self.entity_groups
            .iter()
            .filter(|((origin, g, path, rewrite), group)| {
                let has_type = self.groups[**group]
                    .entity
                    .as_ref()
                    .is_some_and(|e| e.tys.contains(parent));
                *origin == pos.group
                    && *g != graph
                    && *path == pos.path
                    && rewrite.is_none()
                    && has_type
            })
            .filter(|((_, g, _, _), _)| {
                self.sg
                    .resolution(*g, parent, &field.name, self.labels)
                    .is_some_and(|r| r.requires.is_none())
            })
            .filter(|((_, g, _, _), _)| self.local_share(*g, field) > here)
            .map(|(_, group)| *group)
            .min()
    }

    /// Plans `field` inside existing entity fetch `group` (whose objects are those at `pos`).
    fn plan_in_group(
        &mut self,
        pos: &Pos,
        group: usize,
        parent: &Name,
        field: &Collected,
    ) -> Result<BTreeSet<usize>, PlanError> {
        let entity = self.groups[group].entity.as_ref().expect("entity");
        let entity_ty = match &entity.typename_as {
            Some(iface) => iface.clone(),
            None => parent.clone(),
        };
        let entity_pos = pos.at_entity_root(group, &entity_ty);
        let mut produced = self.plan_field(&entity_pos, &entity_ty, field, &[])?;
        produced.insert(group);
        Ok(produced)
    }

    /// `Some(requires)` when `graph` resolves the field at `pos` (its `@requires`, if any).
    fn local(
        &self,
        graph: GraphId,
        pos: &Pos,
        parent: &Name,
        field: &Collected,
    ) -> Option<Option<SelectionSet>> {
        if field.name == "__typename" {
            return Some(None);
        }
        if provided_has(pos.provided.as_ref(), &field.name) {
            return Some(None);
        }
        let resolution = self
            .sg
            .resolution(graph, parent, &field.name, self.labels)?;
        Some(resolution.requires.map(|r| r.selection_set.clone()))
    }

    fn plan_local(
        &mut self,
        pos: &Pos,
        parent: &Name,
        field: &Collected,
    ) -> Result<BTreeSet<usize>, PlanError> {
        let graph = self.groups[pos.group].graph;
        let sel = FieldSel {
            alias: field.alias.clone(),
            name: field.name.clone(),
            arguments: field.arguments.clone(),
            directives: field.directives.clone(),
            selection: None,
        };
        let step = self.groups[pos.group].sel.at_mut(&pos.steps).add_field(sel);
        let mut produced = BTreeSet::from([pos.group]);
        let Some(selection) = &field.selection else {
            return Ok(produced);
        };
        let provides = self
            .sg
            .resolution(graph, parent, &field.name, self.labels)
            .and_then(|r| r.provides)
            .map(|p| p.selection_set.clone());
        let provided = provides.or_else(|| provided_child(pos.provided.as_ref(), &field.name));
        let mut child = pos.clone();
        child.steps.push(step);
        child.path.push(PathSeg::Key(
            field.alias.clone().unwrap_or(field.name.clone()),
        ));
        child
            .path
            .extend(std::iter::repeat_n(PathSeg::List, list_depth(&field.ty)));
        child.provided = provided;
        child.entity_root = false;
        child.depth += 1;
        for condition in conditions_of(&field.directives) {
            if !child.conditions.contains(&condition) {
                child.conditions.push(condition);
            }
        }
        produced.extend(self.plan_selection(&child, field.ty.inner_named_type(), selection)?);
        Ok(produced)
    }

    /// Plans a selection set at `pos` whose parent type is `ty` (maybe abstract).
    fn plan_selection(
        &mut self,
        pos: &Pos,
        ty: &Name,
        selection: &SelectionSet,
    ) -> Result<BTreeSet<usize>, PlanError> {
        let graph = self.groups[pos.group].graph;
        let mut produced = BTreeSet::new();
        if self.sg.is_interface_object(graph, ty) {
            return self.plan_interface_object(pos, ty, selection);
        }
        if !self.is_abstract(ty) {
            for field in self.jumps_first(graph, pos, ty, self.collect(selection, ty)) {
                produced.extend(self.plan_field(pos, ty, &field, &[])?);
            }
            return Ok(produced);
        }
        self.groups[pos.group]
            .sel
            .at_mut(&pos.steps)
            .add_field(FieldSel::leaf(name("__typename")));
        for object in self.sg.possible_types(graph, ty) {
            let fields = self.collect(selection, &object);
            if fields.is_empty() {
                continue;
            }
            let step = self.groups[pos.group]
                .sel
                .at_mut(&pos.steps)
                .add_on(&object);
            let mut child = pos.clone();
            child.steps.push(step);
            for field in fields {
                produced.extend(self.plan_field(&child, &object, &field, &[])?);
            }
        }
        Ok(produced)
    }

    /// Fields this subgraph cannot resolve first, so that the entity fetches they open exist
    /// when the local fields with sub-selections are placed (see `better_sibling`).
    fn jumps_first(
        &self,
        graph: GraphId,
        pos: &Pos,
        ty: &Name,
        fields: Vec<Collected>,
    ) -> Vec<Collected> {
        let (local, remote): (Vec<_>, Vec<_>) = fields
            .into_iter()
            .partition(|f| self.local(graph, pos, ty, f) == Some(None) && f.selection.is_some());
        remote.into_iter().chain(local).collect()
    }

    fn is_abstract(&self, ty: &str) -> bool {
        matches!(
            self.sg.schema.types.get(ty),
            Some(apollo_compiler::schema::ExtendedType::Interface(_))
                | Some(apollo_compiler::schema::ExtendedType::Union(_))
        )
    }

    /// The client fields asked of objects of type `ty` (fragments applied, keys merged).
    fn collect(&self, set: &SelectionSet, ty: &Name) -> Vec<Collected> {
        collect::collect(&self.sg.schema, self.doc, set, ty, Conditions::Keep)
            .into_iter()
            .map(|c| Collected {
                alias: c.first().alias.clone(),
                name: c.first().name.clone(),
                arguments: c.first().arguments.clone(),
                directives: c.conditions.clone(),
                ty: c.first().definition.ty.clone(),
                selection: c.selection().map(Cow::into_owned),
            })
            .collect()
    }
}
