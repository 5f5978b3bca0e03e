//! A loaded supergraph: its schema, its subgraphs, and which subgraph resolves what (join spec v0.1–v0.5).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use apollo_compiler::ast::Value;
use apollo_compiler::executable::FieldSet;
use apollo_compiler::schema::{ExtendedType, Implementers};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema};

use crate::api_schema;
use crate::error::LoadError;

/// Index of a subgraph in [`Supergraph::subgraphs`].
pub type GraphId = usize;

/// One subgraph named by the supergraph's `join__Graph` enum.
#[derive(Debug, Clone)]
pub struct Subgraph {
    pub name: String,
    pub url: String,
}

/// An entity key of a type in one subgraph.
#[derive(Debug, Clone)]
pub struct Key {
    pub fields: Arc<FieldSet>,
    pub resolvable: bool,
}

/// How a type appears in one subgraph.
#[derive(Debug, Clone)]
struct TypeInGraph {
    graph: GraphId,
    keys: Vec<Key>,
    interface_object: bool,
}

/// One subgraph's `@join__field` on a field.
#[derive(Debug, Clone)]
struct FieldSource {
    graph: GraphId,
    requires: Option<Arc<FieldSet>>,
    provides: Option<Arc<FieldSet>>,
    external: bool,
    used_overridden: bool,
    override_from: bool,
    override_label: Option<String>,
}

/// What the planner learns about a field a subgraph can resolve.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    pub requires: Option<Arc<FieldSet>>,
    pub provides: Option<Arc<FieldSet>>,
}

/// A parsed, indexed supergraph; built once per supergraph SDL and shared.
#[derive(Debug)]
pub struct Supergraph {
    pub id: String,
    pub schema: Valid<Schema>,
    pub api: Valid<Schema>,
    pub api_implementers: apollo_compiler::collections::HashMap<Name, Implementers>,
    pub subgraphs: Vec<Subgraph>,
    types: HashMap<Name, Vec<TypeInGraph>>,
    owners: HashMap<Name, GraphId>,
    fields: HashMap<(Name, Name), Vec<FieldSource>>,
    implements: HashMap<(Name, GraphId), Vec<Name>>,
    members: HashMap<(Name, GraphId), Vec<Name>>,
    labels: BTreeSet<String>,
}

impl Supergraph {
    /// Parses and indexes a supergraph SDL; `path` names it in errors.
    pub fn parse(sdl: &str, path: &str) -> Result<Self, LoadError> {
        let schema = Schema::parse_and_validate(sdl, path)
            .map_err(|e| LoadError::Invalid(e.errors.to_string()))?;
        let join = JoinNames::detect(&schema)?;
        let subgraphs = read_graphs(&schema, &join)?;
        let mut graph = Supergraph {
            id: content_id(sdl),
            api: api_schema::derive(&schema)?,
            api_implementers: Default::default(),
            schema,
            subgraphs,
            types: HashMap::new(),
            owners: HashMap::new(),
            fields: HashMap::new(),
            implements: HashMap::new(),
            members: HashMap::new(),
            labels: BTreeSet::new(),
        };
        graph.api_implementers = graph.api.implementers_map();
        graph.index(&join)?;
        Ok(graph)
    }

    /// The subgraph with this name.
    pub fn graph_named(&self, name: &str) -> Option<GraphId> {
        self.subgraphs.iter().position(|s| s.name == name)
    }

    /// Progressive-override labels (e.g. `percent(50)`) used anywhere in the supergraph.
    pub fn override_labels(&self) -> impl Iterator<Item = &str> {
        self.labels.iter().map(String::as_str)
    }

    /// Whether `graph` defines `ty` (types without any `@join__type` are everywhere).
    pub fn has_type(&self, graph: GraphId, ty: &str) -> bool {
        match self.types.get(ty) {
            Some(list) => list.iter().any(|t| t.graph == graph),
            None => true,
        }
    }

    /// Whether `ty` is an `@interfaceObject` (an object standing for an interface) in `graph`.
    pub fn is_interface_object(&self, graph: GraphId, ty: &str) -> bool {
        self.types
            .get(ty)
            .is_some_and(|l| l.iter().any(|t| t.graph == graph && t.interface_object))
    }

    /// The keys `graph` declares for `ty`.
    pub fn keys(&self, graph: GraphId, ty: &str) -> impl Iterator<Item = &Key> {
        self.types
            .get(ty)
            .into_iter()
            .flatten()
            .filter(move |t| t.graph == graph)
            .flat_map(|t| t.keys.iter())
    }

    /// Whether `graph` can resolve `parent.field` (not external, not overridden), and how.
    pub fn resolution(
        &self,
        graph: GraphId,
        parent: &str,
        field: &str,
        labels: &BTreeSet<String>,
    ) -> Option<Resolution> {
        if !self.has_type(graph, parent) {
            // A subgraph may know an object only through an `@interfaceObject` it implements.
            let object = self.schema.get_object(parent)?;
            return object
                .implements_interfaces
                .iter()
                .filter(|i| self.is_interface_object(graph, &i.name))
                .find_map(|i| self.resolution(graph, &i.name, field, labels));
        }
        if field == "__typename" {
            return Some(Resolution::default());
        }
        let Some(sources) = self.fields.get(&(name(parent), name(field))) else {
            return match self.owners.get(parent) {
                // Join v0.1: an extending subgraph resolves the key fields it declares.
                Some(owner) if *owner != graph => self
                    .key_field_in(graph, parent, field)
                    .then(Resolution::default),
                _ => Some(Resolution::default()),
            };
        };
        let Some(source) = sources.iter().find(|s| s.graph == graph) else {
            // Join v0.1 names only the owner on key fields; extending subgraphs know them too.
            let v0_1 = self.owners.contains_key(parent);
            return (v0_1 && self.key_field_in(graph, parent, field)).then(Resolution::default);
        };
        (!source.external && !source.used_overridden && label_allows(source, labels)).then(|| {
            Resolution {
                requires: source.requires.clone(),
                provides: source.provides.clone(),
            }
        })
    }

    /// Whether `field` is a top-level field of a key `graph` declares for `ty`.
    fn key_field_in(&self, graph: GraphId, ty: &str, field: &str) -> bool {
        self.keys(graph, ty)
            .any(|k| k.fields.selection_set.fields().any(|f| f.name == field))
    }

    /// Every subgraph that can resolve `parent.field`.
    pub fn graphs_resolving(
        &self,
        parent: &str,
        field: &str,
        labels: &BTreeSet<String>,
    ) -> Vec<GraphId> {
        (0..self.subgraphs.len())
            .filter(|g| self.resolution(*g, parent, field, labels).is_some())
            .collect()
    }

    /// The object types `graph` may return where `abstract_ty` is expected.
    pub fn possible_types(&self, graph: GraphId, abstract_ty: &str) -> Vec<Name> {
        let all = self.all_possible_types(abstract_ty);
        all.into_iter()
            .filter(|object| self.has_type(graph, object))
            .filter(|object| self.member_in(graph, abstract_ty, object))
            .collect()
    }

    /// The object types of `abstract_ty` in the supergraph (or `[ty]` for an object type).
    pub fn all_possible_types(&self, ty: &str) -> Vec<Name> {
        match self.schema.types.get(ty) {
            Some(ExtendedType::Object(_)) => vec![name(ty)],
            Some(ExtendedType::Union(u)) => u.members.iter().map(|m| m.name.clone()).collect(),
            Some(ExtendedType::Interface(_)) => self
                .schema
                .types
                .iter()
                .filter(|(_, t)| matches!(t, ExtendedType::Object(_)))
                .filter(|(n, _)| self.schema.is_subtype(ty, n))
                .map(|(n, _)| n.clone())
                .collect(),
            _ => Vec::new(),
        }
    }

    fn member_in(&self, graph: GraphId, abstract_ty: &str, object: &str) -> bool {
        let recorded = match self.schema.types.get(abstract_ty) {
            Some(ExtendedType::Union(_)) => self.members.get(&(name(abstract_ty), graph)),
            _ => self.implements.get(&(name(object), graph)),
        };
        match recorded {
            Some(list) => list.iter().any(|n| n == abstract_ty || n == object),
            // Join v0.1 records neither; trust the supergraph then.
            None => !self.records_membership(),
        }
    }

    fn records_membership(&self) -> bool {
        !self.implements.is_empty() || !self.members.is_empty()
    }

    fn index(&mut self, join: &JoinNames) -> Result<(), LoadError> {
        let graphs = graph_enum_names(&self.schema, join);
        let schema = self.schema.clone();
        for (type_name, ty) in &schema.types {
            let directives = ty.directives();
            let mut in_graphs = Vec::new();
            for d in directives.get_all(&join.type_) {
                let graph = enum_arg(d, "graph", &graphs)?;
                in_graphs.push(TypeInGraph {
                    graph,
                    keys: self.keys_of(d, type_name)?,
                    interface_object: bool_arg(d, "isInterfaceObject"),
                });
            }
            if let Some(owner) = directives.get(&join.owner) {
                self.owners
                    .insert(type_name.clone(), enum_arg(owner, "graph", &graphs)?);
            }
            for d in directives.get_all(&join.implements) {
                let graph = enum_arg(d, "graph", &graphs)?;
                let iface = str_arg(d, "interface").unwrap_or_default();
                self.implements
                    .entry((type_name.clone(), graph))
                    .or_default()
                    .push(name(&iface));
            }
            for d in directives.get_all(&join.union_member) {
                let graph = enum_arg(d, "graph", &graphs)?;
                let member = str_arg(d, "member").unwrap_or_default();
                self.members
                    .entry((type_name.clone(), graph))
                    .or_default()
                    .push(name(&member));
            }
            if !in_graphs.is_empty() {
                self.types
                    .insert(type_name.clone(), merge_type_entries(in_graphs));
            }
            self.index_fields(ty, &graphs, join)?;
        }
        Ok(())
    }

    fn index_fields(
        &mut self,
        ty: &ExtendedType,
        graphs: &HashMap<Name, GraphId>,
        join: &JoinNames,
    ) -> Result<(), LoadError> {
        let fields = match ty {
            ExtendedType::Object(o) => &o.fields,
            ExtendedType::Interface(i) => &i.fields,
            _ => return Ok(()),
        };
        for (field_name, def) in fields {
            let field_type = def.ty.inner_named_type().clone();
            let mut sources = Vec::new();
            for d in def.directives.get_all(&join.field) {
                let Some(source) = self.field_source(d, ty.name(), &field_type, graphs)? else {
                    continue;
                };
                if let Some(label) = &source.override_label {
                    self.labels.insert(label.clone());
                }
                sources.push(source);
            }
            if def.directives.get_all(&join.field).next().is_some() {
                self.fields
                    .insert((ty.name().clone(), field_name.clone()), sources);
            }
        }
        Ok(())
    }

    fn field_source(
        &self,
        d: &Node<apollo_compiler::ast::Directive>,
        parent: &Name,
        field_type: &Name,
        graphs: &HashMap<Name, GraphId>,
    ) -> Result<Option<FieldSource>, LoadError> {
        if d.specified_argument_by_name("graph").is_none() {
            return Ok(None);
        }
        let graph = enum_arg(d, "graph", graphs)?;
        let requires = str_arg(d, "requires")
            .map(|f| self.field_set(parent, &f))
            .transpose()?;
        let provides = str_arg(d, "provides")
            .map(|f| self.field_set(field_type, &f))
            .transpose()?;
        Ok(Some(FieldSource {
            graph,
            requires,
            provides,
            external: bool_arg(d, "external"),
            used_overridden: bool_arg(d, "usedOverridden"),
            override_from: str_arg(d, "override").is_some(),
            override_label: str_arg(d, "overrideLabel"),
        }))
    }

    fn keys_of(
        &self,
        d: &Node<apollo_compiler::ast::Directive>,
        ty: &Name,
    ) -> Result<Vec<Key>, LoadError> {
        let Some(fields) = str_arg(d, "key") else {
            return Ok(Vec::new());
        };
        let resolvable = d
            .specified_argument_by_name("resolvable")
            .and_then(|v| v.to_bool())
            .unwrap_or(true);
        Ok(vec![Key {
            fields: self.field_set(ty, &fields)?,
            resolvable,
        }])
    }

    /// Parses a field set (`@key`, `@requires`, `@provides`) on `ty` against the supergraph.
    pub fn field_set(&self, ty: &Name, text: &str) -> Result<Arc<FieldSet>, LoadError> {
        FieldSet::parse_and_validate(&self.schema, ty.clone(), text, "field set")
            .map(|f| Arc::new(f.into_inner()))
            .map_err(|e| LoadError::Invalid(format!("field set `{text}` on {ty}: {}", e.errors)))
    }
}

/// Several `@join__type(graph: G, key: ...)` for the same graph become one entry with many keys.
fn merge_type_entries(entries: Vec<TypeInGraph>) -> Vec<TypeInGraph> {
    let mut merged: Vec<TypeInGraph> = Vec::new();
    for entry in entries {
        match merged.iter_mut().find(|m| m.graph == entry.graph) {
            Some(m) => {
                m.keys.extend(entry.keys);
                m.interface_object |= entry.interface_object;
            }
            None => merged.push(entry),
        }
    }
    merged
}

fn label_allows(source: &FieldSource, labels: &BTreeSet<String>) -> bool {
    match &source.override_label {
        None => true,
        Some(label) => labels.contains(label) == source.override_from,
    }
}

/// Directive names of the join spec, which v0.1 (`@core`) and later (`@link`) spell alike
/// unless the supergraph renames the spec with `as:`.
struct JoinNames {
    graph: Name,
    type_: Name,
    field: Name,
    owner: Name,
    implements: Name,
    union_member: Name,
    graph_enum: Name,
}

impl JoinNames {
    fn detect(schema: &Schema) -> Result<Self, LoadError> {
        let mut prefix = None;
        for d in schema.schema_definition.directives.iter() {
            let url = str_arg(d, "url").or_else(|| str_arg(d, "feature"));
            if url.is_some_and(|u| u.contains("specs.apollo.dev/join/")) {
                prefix = Some(str_arg(d, "as").unwrap_or_else(|| "join".into()));
            }
        }
        let prefix = prefix.ok_or(LoadError::NotASupergraph)?;
        let n = |s: &str| name(&format!("{prefix}__{s}"));
        Ok(JoinNames {
            graph: n("graph"),
            type_: n("type"),
            field: n("field"),
            owner: n("owner"),
            implements: n("implements"),
            union_member: n("unionMember"),
            graph_enum: n("Graph"),
        })
    }
}

fn graph_enum_names(schema: &Schema, join: &JoinNames) -> HashMap<Name, GraphId> {
    let Some(ExtendedType::Enum(e)) = schema.types.get(&join.graph_enum) else {
        return HashMap::new();
    };
    e.values
        .keys()
        .enumerate()
        .map(|(i, n)| (n.clone(), i))
        .collect()
}

fn read_graphs(schema: &Schema, join: &JoinNames) -> Result<Vec<Subgraph>, LoadError> {
    let Some(ExtendedType::Enum(e)) = schema.types.get(&join.graph_enum) else {
        return Err(LoadError::NotASupergraph);
    };
    e.values
        .iter()
        .map(|(value, def)| {
            let d = def.directives.get(&join.graph).ok_or_else(|| {
                LoadError::Invalid(format!(
                    "{} value {value} has no @{}",
                    join.graph_enum, join.graph
                ))
            })?;
            Ok(Subgraph {
                name: str_arg(d, "name").unwrap_or_else(|| value.to_string()),
                url: str_arg(d, "url").unwrap_or_default(),
            })
        })
        .collect()
}

fn str_arg(d: &apollo_compiler::ast::Directive, arg: &str) -> Option<String> {
    d.specified_argument_by_name(arg)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

fn bool_arg(d: &apollo_compiler::ast::Directive, arg: &str) -> bool {
    d.specified_argument_by_name(arg)
        .and_then(|v| v.to_bool())
        .unwrap_or(false)
}

fn enum_arg(
    d: &apollo_compiler::ast::Directive,
    arg: &str,
    graphs: &HashMap<Name, GraphId>,
) -> Result<GraphId, LoadError> {
    let value = d.specified_argument_by_name(arg);
    let graph = value.and_then(|v| match v.as_ref() {
        Value::Enum(e) => graphs.get(e).copied(),
        _ => None,
    });
    graph.ok_or_else(|| LoadError::Invalid(format!("@{} names an unknown graph", d.name)))
}

/// A `Name` from text known to be a valid GraphQL name (it came from a parsed schema).
pub(crate) fn name(s: &str) -> Name {
    Name::new_unchecked(s)
}

/// A short stable id of the SDL's content, for plan caching and registry polling.
pub(crate) fn content_id(sdl: &str) -> String {
    // FNV-1a: stable across builds and platforms, unlike the std hasher.
    let hash = sdl.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}
