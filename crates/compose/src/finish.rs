//! Rules that need every subgraph merged: `@override` resolution, field sharing, `@external`
//! without a definition, `@interfaceObject` fields, enum and input merging, the root types.

use apollo_compiler::Name;
use apollo_compiler::collections::{HashMap, IndexMap};

use crate::error::codes;
use crate::merge::Merger;
use crate::model::{Kind, MergedType, TypeSource};
use crate::types::{self, Position};

impl Merger<'_> {
    /// Runs every whole-supergraph rule after all subgraphs were added.
    pub fn finish(&mut self) {
        self.resolve_subtypes();
        self.resolve_overrides();
        self.check_sharing();
        self.merge_enums();
        self.intersect_inputs();
        self.copy_interface_object_fields();
        self.complete_query();
    }

    /// Output fields typed differently by subgraphs are fine when one type is a supertype of
    /// all others (an interface they implement, a union they belong to): the supergraph has the
    /// supertype, loosened in nullability as usual.
    fn resolve_subtypes(&mut self) {
        for (ty, field) in std::mem::take(&mut self.pending) {
            let f = &self.types[&ty].fields[&field];
            let names: Vec<&Name> = f.sources.iter().map(|s| s.ty.inner_named_type()).collect();
            let sup = names
                .iter()
                .find(|sup| names.iter().all(|n| n == *sup || self.is_subtype(sup, n)))
                .map(|n| (*n).clone());
            let Some(sup) = sup else {
                let first = &f.sources[0];
                let other = f
                    .sources
                    .iter()
                    .find(|s| s.ty.inner_named_type() != first.ty.inner_named_type())
                    .unwrap_or(first);
                let msg = format!(
                    "type is {} in subgraph \"{}\" but {} in subgraph \"{}\"",
                    first.ty,
                    self.graphs[first.graph].name,
                    other.ty,
                    self.graphs[other.graph].name
                );
                let g = other.graph;
                self.push(codes::FIELD_TYPE_MISMATCH, g, &ty, &field, msg);
                continue;
            };
            let as_sup = |t: &apollo_compiler::ast::Type| types::rename(t, &|_| Some(sup.clone()));
            let mut merged = as_sup(&f.sources[0].ty);
            for s in &f.sources[1..] {
                if let Some(t) = types::merge(&merged, &as_sup(&s.ty), Position::Output) {
                    merged = t;
                }
            }
            self.types[&ty].fields[&field].ty = merged;
        }
    }

    fn is_subtype(&self, sup: &Name, sub: &Name) -> bool {
        let (Some(sup_ty), Some(sub_ty)) = (self.types.get(sup), self.types.get(sub)) else {
            return false;
        };
        match sup_ty.kind {
            Kind::Interface => sub_ty.implements.contains_key(sup),
            Kind::Union => sup_ty.members.contains_key(sub),
            _ => false,
        }
    }

    fn resolve_overrides(&mut self) {
        let index: HashMap<&str, usize> = self
            .graphs
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.as_str(), i))
            .collect();
        let mut errors = Vec::new();
        for ty in self.types.values_mut() {
            for (field_name, field) in ty.fields.iter_mut() {
                let overrides: Vec<(usize, String, Option<String>)> = field
                    .sources
                    .iter()
                    .filter_map(|s| {
                        Some((s.graph, s.override_from.clone()?, s.override_label.clone()))
                    })
                    .collect();
                for (by, from, label) in overrides {
                    let Some(&from_graph) = index.get(from.as_str()) else {
                        continue;
                    };
                    if from_graph == by {
                        continue;
                    }
                    let Some(source) = field.sources.iter_mut().find(|s| s.graph == from_graph)
                    else {
                        continue;
                    };
                    if source.override_from.is_some() {
                        errors.push((by, ty.name.clone(), field_name.clone(), format!("@override(from: \"{from}\") names a subgraph whose field has an @override itself")));
                        source.dropped = true;
                        continue;
                    }
                    if label.is_some() {
                        source.override_label = label;
                    } else if source.used_in_selection {
                        source.used_overridden = true;
                    } else {
                        source.dropped = true;
                    }
                }
            }
        }
        for (g, ty, field, msg) in errors {
            self.push(codes::OVERRIDE_SOURCE_HAS_OVERRIDE, g, &ty, &field, msg);
        }
    }

    fn push(&mut self, code: &'static str, g: usize, ty: &str, field: &str, msg: String) {
        let e = crate::error::CompositionError::new(code, msg)
            .in_subgraph(&self.graphs[g].name)
            .on(ty, Some(field));
        self.errors.push(e);
    }

    fn check_sharing(&mut self) {
        let mut found = Vec::new();
        for ty in self.types.values() {
            if !matches!(ty.kind, Kind::Object | Kind::Interface) {
                continue;
            }
            for (field_name, field) in &ty.fields {
                if !field.sources.is_empty() && field.sources.iter().all(|s| s.external) {
                    let g = field.sources[0].graph;
                    found.push((codes::EXTERNAL_MISSING_ON_BASE, g, ty.name.clone(), field_name.clone(),
                        "field is marked @external in every subgraph that defines it: no subgraph resolves it".to_owned()));
                }
                if ty.kind != Kind::Object {
                    continue;
                }
                let resolving: Vec<_> = field.sources.iter().filter(|s| s.resolves()).collect();
                if resolving.len() < 2 {
                    continue;
                }
                if let Some(bad) = resolving.iter().find(|s| !s.shareable) {
                    let names: Vec<String> = resolving
                        .iter()
                        .map(|s| format!("\"{}\"", self.graphs[s.graph].name))
                        .collect();
                    found.push((codes::INVALID_FIELD_SHARING, bad.graph, ty.name.clone(), field_name.clone(), format!(
                        "non-shareable field is resolved from several subgraphs: {}; it is not marked @shareable in \"{}\"",
                        names.join(" and "), self.graphs[bad.graph].name)));
                }
            }
        }
        for (code, g, ty, field, msg) in found {
            self.push(code, g, &ty, &field, msg);
        }
    }

    /// Objects implementing an interface that some subgraph has as `@interfaceObject` get the
    /// fields that subgraph adds.
    fn copy_interface_object_fields(&mut self) {
        let mut additions: Vec<(Name, Name, crate::model::MergedField)> = Vec::new();
        let mut errors = Vec::new();
        let mut implementers: HashMap<Name, Vec<Name>> = HashMap::default();
        for ty in self.types.values() {
            if ty.kind == Kind::Object {
                for iface in ty.implements.keys() {
                    implementers
                        .entry(iface.clone())
                        .or_default()
                        .push(ty.name.clone());
                }
            }
        }
        for ty in self.types.values() {
            let objects: Vec<usize> = ty
                .sources
                .iter()
                .filter(|s| s.interface_object)
                .map(|s| s.graph)
                .collect();
            if objects.is_empty() {
                continue;
            }
            if ty.sources.iter().all(|s| s.interface_object) {
                errors.push((
                    objects[0],
                    ty.name.clone(),
                    format!(
                        "@interfaceObject type {} is not an interface in any other subgraph",
                        ty.name
                    ),
                ));
                continue;
            }
            for (field_name, field) in &ty.fields {
                if !field.sources.iter().any(|s| objects.contains(&s.graph)) {
                    continue;
                }
                for object in implementers.get(&ty.name).into_iter().flatten() {
                    if !self.types[object].fields.contains_key(field_name) {
                        let mut copy = field.clone();
                        copy.sources.clear();
                        copy.from_interface_object = true;
                        additions.push((object.clone(), field_name.clone(), copy));
                    }
                }
            }
        }
        for (g, ty, msg) in errors {
            let e = crate::error::CompositionError::new(codes::INTERFACE_OBJECT_USAGE_ERROR, msg)
                .in_subgraph(&self.graphs[g].name)
                .on(&ty, None);
            self.errors.push(e);
        }
        for (object, field_name, field) in additions {
            self.types[&object]
                .fields
                .entry(field_name)
                .or_insert(field);
        }
    }

    /// Output-only enums get every value; input-only ones the values all subgraphs share;
    /// enums in both positions must agree.
    fn merge_enums(&mut self) {
        self.note_enum_usage();
        let mut errors = Vec::new();
        for ty in self.types.values_mut() {
            if ty.kind != Kind::Enum {
                continue;
            }
            let n = ty.sources.len();
            let partial: Vec<Name> = ty
                .values
                .iter()
                .filter(|(_, v)| v.graphs.len() < n)
                .map(|(k, _)| k.clone())
                .collect();
            if partial.is_empty() || !ty.used_as_input {
                continue;
            }
            if ty.used_as_output {
                for value in &partial {
                    let missing = ty
                        .sources
                        .iter()
                        .find(|s| !ty.values[value].graphs.contains(&s.graph))
                        .map(|s| s.graph)
                        .unwrap_or(0);
                    errors.push((codes::ENUM_VALUE_MISMATCH, missing, ty.name.clone(), format!(
                        "enum {} is used as both input and output type, and value {value} is not defined in every subgraph defining the enum", ty.name)));
                }
            } else {
                for value in &partial {
                    self.hints.push(format!(
                        "{}.{value}: left out of the supergraph: input enum value not defined in every subgraph that defines the enum (INCONSISTENT_ENUM_VALUE_FOR_INPUT_ENUM)",
                        ty.name
                    ));
                }
                ty.values.retain(|_, v| v.graphs.len() == n);
                if ty.values.is_empty() {
                    errors.push((
                        codes::EMPTY_MERGED_ENUM_TYPE,
                        ty.sources[0].graph,
                        ty.name.clone(),
                        format!(
                            "input enum {} has no value defined in every subgraph",
                            ty.name
                        ),
                    ));
                }
            }
        }
        self.push_type_errors(errors);
    }

    fn push_type_errors(&mut self, errors: Vec<(&'static str, usize, Name, String)>) {
        for (code, g, ty, msg) in errors {
            let e = crate::error::CompositionError::new(code, msg)
                .in_subgraph(&self.graphs[g].name)
                .on(&ty, None);
            self.errors.push(e);
        }
    }

    /// Input types and field arguments keep only what every defining subgraph has.
    fn intersect_inputs(&mut self) {
        let mut errors = Vec::new();
        for ty in self.types.values_mut() {
            if ty.kind == Kind::Input {
                let n = ty.sources.len();
                intersect(
                    &mut ty.fields,
                    n,
                    &ty.name,
                    None,
                    codes::REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH,
                    &mut errors,
                    &mut self.hints,
                );
                if ty.fields.is_empty() {
                    errors.push((
                        codes::EMPTY_MERGED_INPUT_TYPE,
                        ty.sources[0].graph,
                        ty.name.to_string(),
                        None,
                        format!(
                            "input type {} has no field defined in every subgraph that defines it",
                            ty.name
                        ),
                    ));
                }
                continue;
            }
            for (field_name, field) in ty.fields.iter_mut() {
                let n = field.sources.len();
                intersect(
                    &mut field.args,
                    n,
                    &ty.name,
                    Some(field_name),
                    codes::REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH,
                    &mut errors,
                    &mut self.hints,
                );
            }
        }
        for (code, g, ty, field, msg) in errors {
            let e = crate::error::CompositionError::new(code, msg)
                .in_subgraph(&self.graphs[g].name)
                .on(&ty, field.as_deref());
            self.errors.push(e);
        }
    }

    /// Every subgraph has a `Query` type (federation adds `_entities` to it).
    fn complete_query(&mut self) {
        let all = self.graphs.len();
        let query = self
            .types
            .entry(Name::new_unchecked("Query"))
            .or_insert_with(|| MergedType::new(Name::new_unchecked("Query"), Kind::Object));
        for g in 0..all {
            if !query.has_graph(g) {
                query.sources.push(TypeSource {
                    graph: g,
                    keys: Vec::new(),
                    extension: false,
                    interface_object: false,
                });
            }
        }
        query.sources.sort_by_key(|s| s.graph);
        if query.fields.is_empty() {
            self.errors.push(crate::error::CompositionError::new(
                codes::NO_QUERIES,
                "no subgraph defines a Query field",
            ));
        }
    }
}

type InputError = (&'static str, usize, String, Option<String>, String);

fn intersect(
    values: &mut IndexMap<Name, crate::model::MergedField>,
    n: usize,
    ty: &Name,
    field: Option<&Name>,
    code: &'static str,
    errors: &mut Vec<InputError>,
    hints: &mut Vec<String>,
) {
    values.retain(|name, v| {
        if v.sources.len() == n {
            return true;
        }
        hints.push(match field {
            Some(f) => format!("{ty}.{f}({name}:): left out of the supergraph: argument not defined in every subgraph that defines the field (INCONSISTENT_ARGUMENT_PRESENCE)"),
            None => format!("{ty}.{name}: left out of the supergraph: input field not defined in every subgraph that defines the type (INCONSISTENT_INPUT_OBJECT_FIELD)"),
        });
        if let Some(required) = v
            .sources
            .iter()
            .find(|s| s.ty.is_non_null() && v.default.is_none())
        {
            let what = match field {
                Some(f) => format!("argument {f}({name}:) is required"),
                None => format!("field {name} is required"),
            };
            let f = field
                .map(|f| format!("{f}({name}:)"))
                .or_else(|| Some(name.to_string()));
            errors.push((
                code,
                required.graph,
                ty.to_string(),
                f,
                format!(
                    "{what} but not defined in every subgraph that defines {}",
                    field.map_or(ty.as_str(), |f| f.as_str())
                ),
            ));
        }
        false
    });
}
