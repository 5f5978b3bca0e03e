//! The merged supergraph before printing: every type with where it comes from.

use apollo_compiler::ast::{Type, Value};
use apollo_compiler::collections::IndexMap;
use apollo_compiler::{Name, Node};

/// Index of a subgraph in the composition's input order.
pub(crate) type Graph = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Interface,
    Union,
    Enum,
    Input,
    Scalar,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Object => "an object type",
            Kind::Interface => "an interface",
            Kind::Union => "a union",
            Kind::Enum => "an enum",
            Kind::Input => "an input object type",
            Kind::Scalar => "a scalar",
        }
    }
}

/// How one subgraph defines a type.
#[derive(Debug, Clone)]
pub(crate) struct TypeSource {
    pub graph: Graph,
    /// `(fields, resolvable)` of each `@key`.
    pub keys: Vec<(String, bool)>,
    pub extension: bool,
    pub interface_object: bool,
}

/// Client-visible directives carried into the supergraph.
#[derive(Debug, Clone, Default)]
pub(crate) struct Marks {
    pub inaccessible: bool,
    pub tags: Vec<String>,
    pub deprecated: Option<Option<String>>,
}

#[derive(Debug, Clone)]
pub(crate) struct MergedType {
    pub name: Name,
    pub kind: Kind,
    pub description: Option<String>,
    pub sources: Vec<TypeSource>,
    pub fields: IndexMap<Name, MergedField>,
    pub implements: IndexMap<Name, ()>,
    pub implements_in: Vec<(Graph, Name)>,
    pub members: IndexMap<Name, ()>,
    pub members_in: Vec<(Graph, Name)>,
    pub values: IndexMap<Name, MergedValue>,
    pub marks: Marks,
    pub specified_by: Option<String>,
    /// Whether the enum appears in input (arguments, input fields) and output positions.
    pub used_as_input: bool,
    pub used_as_output: bool,
}

impl MergedType {
    pub fn new(name: Name, kind: Kind) -> Self {
        MergedType {
            name,
            kind,
            description: None,
            sources: Vec::new(),
            fields: IndexMap::default(),
            implements: IndexMap::default(),
            implements_in: Vec::new(),
            members: IndexMap::default(),
            members_in: Vec::new(),
            values: IndexMap::default(),
            marks: Marks::default(),
            specified_by: None,
            used_as_input: false,
            used_as_output: false,
        }
    }

    pub fn has_graph(&self, graph: Graph) -> bool {
        self.sources.iter().any(|s| s.graph == graph)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct MergedValue {
    pub description: Option<String>,
    pub graphs: Vec<Graph>,
    pub marks: Marks,
}

/// A field of an object, interface or input type (and, for `args`, an argument).
#[derive(Debug, Clone)]
pub(crate) struct MergedField {
    pub description: Option<String>,
    pub ty: Type,
    pub default: Option<Node<Value>>,
    pub args: IndexMap<Name, MergedField>,
    pub sources: Vec<FieldSource>,
    pub marks: Marks,
    /// Added to an object from an `@interfaceObject` of one of its interfaces.
    pub from_interface_object: bool,
}

/// How one subgraph defines a field.
#[derive(Debug, Clone)]
pub(crate) struct FieldSource {
    pub graph: Graph,
    pub ty: Type,
    pub external: bool,
    pub shareable: bool,
    pub requires: Option<String>,
    pub provides: Option<String>,
    pub override_from: Option<String>,
    pub override_label: Option<String>,
    pub used_overridden: bool,
    /// Overridden without a label and not needed by a key or `@requires`: left out.
    pub dropped: bool,
    /// A field selected by a key or `@requires` of its subgraph.
    pub used_in_selection: bool,
}

impl FieldSource {
    /// Whether the subgraph answers this field for the gateway.
    pub fn resolves(&self) -> bool {
        let overridden_with_label = self.override_label.is_some() && self.override_from.is_none();
        !(self.external || self.dropped || self.used_overridden || overridden_with_label)
    }
}
