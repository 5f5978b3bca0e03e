//! Merging the subgraphs' types into one supergraph model, with the errors merging finds.

use std::collections::HashSet;

use apollo_compiler::ast::{Directive, Type};
use apollo_compiler::collections::IndexMap;
use apollo_compiler::schema::{ExtendedType, FieldDefinition, InputValueDefinition};
use apollo_compiler::{Name, Node};

use crate::error::{CompositionError, codes};
use crate::model::{
    FieldSource, Graph, Kind, Marks, MergedField, MergedType, MergedValue, TypeSource,
};
use crate::rules::{Facts, is_external, str_arg};
use crate::subgraph::{Parsed, ROOT_NAMES};
use crate::types::{self, Position};

/// The merged types, keyed by supergraph name, in first-seen order.
pub(crate) struct Merger<'a> {
    pub graphs: &'a [Parsed],
    pub types: IndexMap<Name, MergedType>,
    pub errors: Vec<CompositionError>,
    pub hints: Vec<String>,
    /// Output fields whose subgraphs name different types of the same shape.
    pub pending: Vec<(Name, Name)>,
}

impl<'a> Merger<'a> {
    pub fn new(graphs: &'a [Parsed]) -> Self {
        Merger {
            graphs,
            types: IndexMap::default(),
            errors: Vec::new(),
            hints: Vec::new(),
            pending: Vec::new(),
        }
    }

    fn error(
        &mut self,
        code: &'static str,
        g: Option<Graph>,
        ty: &str,
        field: Option<&str>,
        msg: String,
    ) {
        let mut e = CompositionError::new(code, msg).on(ty, field);
        if let Some(g) = g {
            e = e.in_subgraph(&self.graphs[g].name);
        }
        self.errors.push(e);
    }

    /// Adds every type of subgraph `g`.
    pub fn add(&mut self, g: Graph, facts: &Facts) {
        let p = &self.graphs[g];
        for (local, ty) in &p.schema.types {
            if ty.is_built_in() || is_machinery(p, local) {
                continue;
            }
            let name = Name::new_unchecked(p.canonical(local));
            let interface_object = ty.directives().has(p.names.interface_object.as_str());
            let kind = match ty {
                ExtendedType::Object(_) if interface_object => Kind::Interface,
                ExtendedType::Object(_) => Kind::Object,
                ExtendedType::Interface(_) => Kind::Interface,
                ExtendedType::Union(_) => Kind::Union,
                ExtendedType::Enum(_) => Kind::Enum,
                ExtendedType::InputObject(_) => Kind::Input,
                ExtendedType::Scalar(_) => Kind::Scalar,
            };
            let merged = self
                .types
                .entry(name.clone())
                .or_insert_with(|| MergedType::new(name.clone(), kind));
            if merged.kind != kind {
                let first = &self.graphs[merged.sources[0].graph].name;
                let msg = format!(
                    "type {name} is {} in subgraph \"{first}\" but {} in subgraph \"{}\"",
                    merged.kind.describe(),
                    kind.describe(),
                    p.name
                );
                self.error(codes::TYPE_KIND_MISMATCH, Some(g), &name, None, msg);
                continue;
            }
            if merged.description.is_none() {
                merged.description = ty.description().map(|d| d.to_string());
            }
            merge_marks(&mut merged.marks, p, ty.directives().iter().map(|d| &***d));
            let keys = ty
                .directives()
                .get_all(p.names.key.as_str())
                .map(|k| {
                    let resolvable = k
                        .specified_argument_by_name("resolvable")
                        .and_then(|v| v.to_bool());
                    (str_arg(k, "fields").to_owned(), resolvable.unwrap_or(true))
                })
                .collect();
            merged.sources.push(TypeSource {
                graph: g,
                keys,
                extension: p.extension_only.contains(local),
                interface_object,
            });
            match ty {
                ExtendedType::Object(o) => {
                    self.add_implements(g, &name, o.implements_interfaces.iter().map(|i| &i.name));
                    self.add_fields(g, facts, ty, &name, &o.fields);
                }
                ExtendedType::Interface(i) => {
                    self.add_implements(g, &name, i.implements_interfaces.iter().map(|i| &i.name));
                    self.add_fields(g, facts, ty, &name, &i.fields);
                }
                ExtendedType::Union(u) => {
                    let merged = &mut self.types[&name];
                    for member in &u.members {
                        let member = Name::new_unchecked(p.canonical(&member.name));
                        merged.members.insert(member.clone(), ());
                        merged.members_in.push((g, member));
                    }
                }
                ExtendedType::Enum(e) => {
                    let merged = &mut self.types[&name];
                    for (value, def) in &e.values {
                        let v = merged
                            .values
                            .entry(value.clone())
                            .or_insert_with(|| MergedValue {
                                description: None,
                                graphs: Vec::new(),
                                marks: Marks::default(),
                            });
                        if v.description.is_none() {
                            v.description = def.description.as_ref().map(|d| d.to_string());
                        }
                        v.graphs.push(g);
                        merge_marks(&mut v.marks, p, def.directives.iter().map(|d| &**d));
                    }
                }
                ExtendedType::InputObject(i) => {
                    let fields: Vec<&Node<InputValueDefinition>> =
                        i.fields.values().map(|f| &f.node).collect();
                    self.add_inputs(g, &name, None, fields);
                }
                ExtendedType::Scalar(s) => {
                    if let Some(d) = s.directives.get("specifiedBy") {
                        self.types[&name].specified_by = Some(str_arg(d, "url").to_owned());
                    }
                }
            }
        }
    }

    fn add_implements<'n>(
        &mut self,
        g: Graph,
        name: &Name,
        interfaces: impl Iterator<Item = &'n Name>,
    ) {
        let p = &self.graphs[g];
        let merged = &mut self.types[name];
        for iface in interfaces {
            let iface = Name::new_unchecked(p.canonical(iface));
            merged.implements.insert(iface.clone(), ());
            merged.implements_in.push((g, iface));
        }
    }

    fn add_fields(
        &mut self,
        g: Graph,
        facts: &Facts,
        ty: &ExtendedType,
        name: &Name,
        fields: &IndexMap<Name, apollo_compiler::schema::Component<FieldDefinition>>,
    ) {
        let p = &self.graphs[g];
        let n = &p.names;
        // A type-level @shareable covers the fields of its own definition or extension only.
        let shareable_origins: Vec<_> = ty
            .directives()
            .get_all(n.shareable.as_str())
            .map(|d| d.origin.clone())
            .collect();
        let root = p.is_root(ty.name());
        for (field_name, def) in fields {
            if root && (field_name == "_service" || field_name == "_entities") {
                continue;
            }
            let key = (ty.name().clone(), field_name.clone());
            if facts.unused_external.contains(&key) {
                continue;
            }
            let field_ty = canonical_type(p, &def.ty);
            let directive = |d: &str| def.directives.get(d);
            let source = FieldSource {
                graph: g,
                ty: field_ty.clone(),
                external: is_external(p, ty, def)
                    && !(p.federation_1 && facts.key_fields.contains(&key)),
                shareable: p.federation_1
                    || shareable_origins.contains(&def.origin)
                    || def.directives.has(n.shareable.as_str())
                    || facts.key_fields.contains(&key),
                requires: directive(&n.requires).map(|d| str_arg(d, "fields").to_owned()),
                provides: directive(&n.provides).map(|d| str_arg(d, "fields").to_owned()),
                override_from: directive(&n.override_).map(|d| str_arg(d, "from").to_owned()),
                override_label: directive(&n.override_)
                    .and_then(|d| d.specified_argument_by_name("label"))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                used_overridden: false,
                dropped: false,
                used_in_selection: facts.key_fields.contains(&key)
                    || facts.requires_fields.contains(&key),
            };
            let merged = &mut self.types[name];
            let mut conflict = None;
            match merged.fields.get_mut(field_name) {
                None => {
                    merged.fields.insert(
                        field_name.clone(),
                        MergedField {
                            description: def.description.as_ref().map(|d| d.to_string()),
                            ty: field_ty,
                            default: None,
                            args: IndexMap::default(),
                            sources: vec![source],
                            marks: Marks::default(),
                            from_interface_object: false,
                        },
                    );
                }
                Some(field) => {
                    match types::merge(&field.ty, &field_ty, Position::Output) {
                        Some(t) => field.ty = t,
                        // Different named types may still be a subtype and its supertype:
                        // decided once every type is merged.
                        None if types::same_shape(&field.ty, &field_ty) => {
                            let entry = (name.clone(), field_name.clone());
                            if !self.pending.contains(&entry) {
                                self.pending.push(entry);
                            }
                        }
                        None => conflict = Some(field.sources[0].graph),
                    }
                    if field.description.is_none() {
                        field.description = def.description.as_ref().map(|d| d.to_string());
                    }
                    field.sources.push(source);
                }
            }
            let field = &mut self.types[name].fields[field_name];
            merge_marks(&mut field.marks, p, def.directives.iter().map(|d| &**d));
            if let Some(first) = conflict {
                let msg = format!(
                    "type is {} in subgraph \"{}\" but {} in subgraph \"{}\"",
                    field.sources[0].ty, self.graphs[first].name, def.ty, p.name
                );
                self.error(
                    codes::FIELD_TYPE_MISMATCH,
                    Some(g),
                    name,
                    Some(field_name),
                    msg,
                );
            }
            let args: Vec<&Node<InputValueDefinition>> = def.arguments.iter().collect();
            self.add_inputs(g, name, Some(field_name), args);
        }
    }

    /// Merges input values: the fields of an input type (`field` is `None`) or a field's arguments.
    fn add_inputs(
        &mut self,
        g: Graph,
        name: &Name,
        field: Option<&Name>,
        values: Vec<&Node<InputValueDefinition>>,
    ) {
        let p = &self.graphs[g];
        let mut errors = Vec::new();
        let merged = &mut self.types[name];
        let map = match field {
            Some(f) => &mut merged.fields[f].args,
            None => &mut merged.fields,
        };
        for def in values {
            let ty = canonical_type(p, &def.ty);
            let source = FieldSource {
                graph: g,
                ty: ty.clone(),
                external: false,
                shareable: true,
                requires: None,
                provides: None,
                override_from: None,
                override_label: None,
                used_overridden: false,
                dropped: false,
                used_in_selection: false,
            };
            match map.get_mut(&def.name) {
                None => {
                    map.insert(
                        def.name.clone(),
                        MergedField {
                            description: def.description.as_ref().map(|d| d.to_string()),
                            ty,
                            default: def.default_value.clone(),
                            args: IndexMap::default(),
                            sources: vec![source],
                            marks: Marks::default(),
                            from_interface_object: false,
                        },
                    );
                }
                Some(v) => {
                    match types::merge(&v.ty, &ty, Position::Input) {
                        Some(t) => v.ty = t,
                        None => errors.push((
                            codes::FIELD_ARGUMENT_TYPE_MISMATCH,
                            def.name.clone(),
                            format!(
                                "type is {} in subgraph \"{}\" but {} in subgraph \"{}\"",
                                v.sources[0].ty,
                                self.graphs[v.sources[0].graph].name,
                                def.ty,
                                p.name
                            ),
                        )),
                    }
                    match (&v.default, &def.default_value) {
                        (Some(a), Some(b)) if a.to_string() != b.to_string() => errors.push((
                            codes::FIELD_ARGUMENT_DEFAULT_MISMATCH,
                            def.name.clone(),
                            format!("default value is {a} in subgraph \"{}\" but {b} in subgraph \"{}\"", self.graphs[v.sources[0].graph].name, p.name),
                        )),
                        (None, Some(b)) => v.default = Some(b.clone()),
                        _ => {}
                    }
                    if v.description.is_none() {
                        v.description = def.description.as_ref().map(|d| d.to_string());
                    }
                    v.sources.push(source);
                }
            }
            merge_marks(
                &mut map[&def.name].marks,
                p,
                def.directives.iter().map(|d| &**d),
            );
        }
        for (code, value, msg) in errors {
            let (ty, f) = match field {
                Some(f) => (name.as_str(), format!("{f}({value}:)")),
                None => (name.as_str(), value.to_string()),
            };
            let code = if field.is_none() && code == codes::FIELD_ARGUMENT_TYPE_MISMATCH {
                codes::FIELD_TYPE_MISMATCH
            } else {
                code
            };
            self.error(code, Some(g), ty, Some(&f), msg);
        }
    }

    /// Records where enums are used, for deciding how their values merge.
    pub fn note_enum_usage(&mut self) {
        let mut inputs = HashSet::new();
        let mut outputs = HashSet::new();
        for ty in self.types.values() {
            for field in ty.fields.values() {
                let named = field.ty.inner_named_type().clone();
                if ty.kind == Kind::Input {
                    inputs.insert(named)
                } else {
                    outputs.insert(named)
                };
                for arg in field.args.values() {
                    inputs.insert(arg.ty.inner_named_type().clone());
                }
            }
        }
        for (name, ty) in self.types.iter_mut() {
            ty.used_as_input = inputs.contains(name);
            ty.used_as_output = outputs.contains(name);
        }
    }
}

/// Names that belong to the link and federation machinery, not to the subgraph's own schema.
fn is_machinery(p: &Parsed, name: &str) -> bool {
    let n = &p.names;
    name.starts_with("link__")
        || name.starts_with("federation__")
        || matches!(name, "_Any" | "_Service" | "_Entity")
        || name == n.field_set
        || name == n.scope
        || name == n.policy_scalar
}

/// A subgraph type with root type names replaced by the standard ones.
fn canonical_type(p: &Parsed, ty: &Type) -> Type {
    if p.roots
        .iter()
        .zip(ROOT_NAMES)
        .all(|(r, s)| r.as_ref().is_none_or(|r| r == s))
    {
        return ty.clone();
    }
    types::rename(ty, &|n: &str| {
        let i = p
            .roots
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| r == n))?;
        Some(Name::new_unchecked(ROOT_NAMES[i]))
    })
}

fn merge_marks<'d>(marks: &mut Marks, p: &Parsed, directives: impl Iterator<Item = &'d Directive>) {
    for d in directives {
        if d.name == p.names.inaccessible.as_str() {
            marks.inaccessible = true;
        } else if d.name == p.names.tag.as_str() {
            let name = str_arg(d, "name").to_owned();
            if !marks.tags.contains(&name) {
                marks.tags.push(name);
            }
        } else if d.name == "deprecated" && marks.deprecated.is_none() {
            let reason = d
                .specified_argument_by_name("reason")
                .and_then(|v| v.as_str());
            marks.deprecated = Some(reason.map(str::to_owned));
        }
    }
}
