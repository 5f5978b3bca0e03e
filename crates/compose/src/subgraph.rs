//! One subgraph: its `@link` to federation read, missing definitions added, validated by
//! apollo-compiler.

use std::collections::HashSet;

use apollo_compiler::ast::{Definition, Document, OperationType};
use apollo_compiler::validation::{DiagnosticList, Valid};
use apollo_compiler::{Name, Schema};

use crate::error::{CompositionError, codes};
use crate::prelude;

/// A subgraph as given to [`compose`](crate::compose).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subgraph {
    pub name: String,
    pub url: String,
    pub sdl: String,
}

/// The local names of the federation directives and scalars in one subgraph.
#[derive(Debug, Clone)]
pub(crate) struct FedNames {
    pub key: String,
    pub requires: String,
    pub provides: String,
    pub external: String,
    pub shareable: String,
    pub override_: String,
    pub inaccessible: String,
    pub tag: String,
    pub interface_object: String,
    pub extends: String,
    pub compose_directive: String,
    pub authenticated: String,
    pub requires_scopes: String,
    pub policy: String,
    pub field_set: String,
    pub scope: String,
    pub policy_scalar: String,
}

impl FedNames {
    fn new(prefix: &str) -> Self {
        let p = |s: &str| format!("{prefix}__{s}");
        FedNames {
            key: p("key"),
            requires: p("requires"),
            provides: p("provides"),
            external: p("external"),
            shareable: p("shareable"),
            override_: p("override"),
            inaccessible: p("inaccessible"),
            tag: p("tag"),
            interface_object: p("interfaceObject"),
            extends: p("extends"),
            compose_directive: p("composeDirective"),
            authenticated: p("authenticated"),
            requires_scopes: p("requiresScopes"),
            policy: p("policy"),
            field_set: p("FieldSet"),
            scope: p("Scope"),
            policy_scalar: p("Policy"),
        }
    }

    /// Federation 1 (no `@link`): its directives under their plain names, `_FieldSet`.
    fn federation_1() -> Self {
        FedNames {
            key: "key".into(),
            requires: "requires".into(),
            provides: "provides".into(),
            external: "external".into(),
            extends: "extends".into(),
            tag: "tag".into(),
            inaccessible: "inaccessible".into(),
            field_set: "_FieldSet".into(),
            ..FedNames::new("federation")
        }
    }

    /// Whether these are Federation 1 names.
    pub fn is_federation_1(&self) -> bool {
        self.field_set == "_FieldSet"
    }

    /// Gives the imported element `name` (`@key`, `FieldSet`) the local name `local`.
    fn import(&mut self, name: &str, local: &str) -> bool {
        let slot = match name {
            "@key" => &mut self.key,
            "@requires" => &mut self.requires,
            "@provides" => &mut self.provides,
            "@external" => &mut self.external,
            "@shareable" => &mut self.shareable,
            "@override" => &mut self.override_,
            "@inaccessible" => &mut self.inaccessible,
            "@tag" => &mut self.tag,
            "@interfaceObject" => &mut self.interface_object,
            "@extends" => &mut self.extends,
            "@composeDirective" => &mut self.compose_directive,
            "@authenticated" => &mut self.authenticated,
            "@requiresScopes" => &mut self.requires_scopes,
            "@policy" => &mut self.policy,
            "FieldSet" => &mut self.field_set,
            "Scope" => &mut self.scope,
            "Policy" => &mut self.policy_scalar,
            _ => return false,
        };
        *slot = local.trim_start_matches('@').to_owned();
        true
    }
}

/// A parsed and validated subgraph.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub name: String,
    pub url: String,
    pub schema: Valid<Schema>,
    pub names: FedNames,
    /// The subgraph's names for its query, mutation and subscription root types.
    pub roots: [Option<Name>; 3],
    /// Types the subgraph only extends (`extend type` without a definition, or `@extends`);
    /// empty for Federation 1 subgraphs, where extending is how entities are shared.
    pub extension_only: HashSet<Name>,
    /// A Federation 1 subgraph (no `@link` to federation v2): every field is shareable, and
    /// `@external` on a key field of an extension means nothing.
    pub federation_1: bool,
}

pub(crate) const ROOT_NAMES: [&str; 3] = ["Query", "Mutation", "Subscription"];

impl Parsed {
    /// The supergraph name of a type of this subgraph (root types get their standard names).
    pub fn canonical<'a>(&self, name: &'a str) -> &'a str {
        for (root, standard) in self.roots.iter().zip(ROOT_NAMES) {
            if root.as_ref().is_some_and(|r| r == name) {
                return standard;
            }
        }
        name
    }

    /// Whether `name` is one of this subgraph's root types.
    pub fn is_root(&self, name: &str) -> bool {
        self.roots.iter().flatten().any(|r| r == name)
    }
}

/// Parses and validates one subgraph; errors name the subgraph.
pub(crate) fn parse(subgraph: &Subgraph) -> Result<Parsed, Vec<CompositionError>> {
    let at = |e: CompositionError| e.in_subgraph(&subgraph.name);
    let doc = Document::parse(subgraph.sdl.as_str(), format!("{}.graphql", subgraph.name))
        .map_err(|e| diagnostics(&e.errors, &subgraph.name))?;
    let names = read_link(&doc).map_err(|e| vec![at(e)])?;
    let mut defined = HashSet::new();
    let mut defined_types = HashSet::new();
    let mut extended = Vec::new();
    let mut explicit_roots: [Option<Name>; 3] = [None, None, None];
    for def in &doc.definitions {
        match def {
            Definition::DirectiveDefinition(d) => {
                defined.insert(format!("@{}", d.name));
            }
            Definition::SchemaDefinition(_) | Definition::SchemaExtension(_) => {
                let ops = match def {
                    Definition::SchemaDefinition(s) => &s.root_operations,
                    Definition::SchemaExtension(s) => &s.root_operations,
                    _ => unreachable!(),
                };
                for op in ops {
                    let (kind, ty) = &**op;
                    let i = match kind {
                        OperationType::Query => 0,
                        OperationType::Mutation => 1,
                        OperationType::Subscription => 2,
                    };
                    explicit_roots[i] = Some(ty.clone());
                }
            }
            _ => {
                if let Some(name) = def.name() {
                    defined.insert(name.to_string());
                    if def.is_extension_definition() {
                        extended.push(name.clone());
                    } else {
                        defined_types.insert(name.clone());
                    }
                }
            }
        }
    }
    let needs_query = explicit_roots[0].is_none() && !defined.contains("Query");
    let prelude = prelude::definitions(&names, &defined, needs_query);
    let schema = Schema::builder()
        .adopt_orphan_extensions()
        .add_ast(&doc)
        .parse(prelude, "federation definitions")
        .build()
        .and_then(Schema::validate)
        .map_err(|e| diagnostics(&e.errors, &subgraph.name))?;
    let mut roots: [Option<Name>; 3] = [None, None, None];
    let def = &schema.schema_definition;
    for (i, root) in [&def.query, &def.mutation, &def.subscription]
        .into_iter()
        .enumerate()
    {
        roots[i] = root.as_ref().map(|r| r.name.clone());
    }
    let federation_1 = names.is_federation_1();
    let mut extension_only: HashSet<Name> = extended
        .into_iter()
        .filter(|n| !defined_types.contains(n))
        .collect();
    for (name, ty) in &schema.types {
        if ty.directives().has(names.extends.as_str()) {
            extension_only.insert(name.clone());
        }
    }
    Ok(Parsed {
        name: subgraph.name.clone(),
        url: subgraph.url.clone(),
        schema,
        names,
        roots,
        federation_1,
        extension_only: if federation_1 {
            HashSet::new()
        } else {
            extension_only
        },
    })
}

fn diagnostics(errors: &DiagnosticList, subgraph: &str) -> Vec<CompositionError> {
    errors
        .iter()
        .map(|d| {
            let at = d
                .line_column_range()
                .map(|r| format!(" (line {}, column {})", r.start.line, r.start.column))
                .unwrap_or_default();
            CompositionError::new(codes::INVALID_GRAPHQL, format!("{}{at}", d.error))
                .in_subgraph(subgraph)
        })
        .collect()
}

/// Reads `@link(url: ".../federation/v2.x", as:, import:)` into the local names.
fn read_link(doc: &Document) -> Result<FedNames, CompositionError> {
    let links = doc.definitions.iter().flat_map(|def| match def {
        Definition::SchemaDefinition(s) => s.directives.get_all("link").collect::<Vec<_>>(),
        Definition::SchemaExtension(s) => s.directives.get_all("link").collect(),
        _ => Vec::new(),
    });
    for link in links {
        let url = link
            .specified_argument_by_name("url")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let Some(version) = url.strip_prefix("https://specs.apollo.dev/federation/") else {
            continue;
        };
        if !version.starts_with("v2.") {
            return Err(CompositionError::new(
                codes::UNKNOWN_FEDERATION_LINK_VERSION,
                format!("unsupported federation version {version} in @link(url: \"{url}\")"),
            ));
        }
        let prefix = link
            .specified_argument_by_name("as")
            .and_then(|v| v.as_str())
            .unwrap_or("federation");
        let mut names = FedNames::new(prefix);
        let imports = link
            .specified_argument_by_name("import")
            .and_then(|v| v.as_list())
            .unwrap_or_default();
        for import in imports {
            let (name, local) = match import.as_object() {
                Some(fields) => {
                    let get = |k: &str| {
                        fields
                            .iter()
                            .find(|(n, _)| n == k)
                            .and_then(|(_, v)| v.as_str())
                    };
                    let name = get("name").unwrap_or_default();
                    (name, get("as").unwrap_or(name))
                }
                None => {
                    let name = import.as_str().unwrap_or_default();
                    (name, name)
                }
            };
            if name.starts_with('@') != local.starts_with('@') || !names.import(name, local) {
                return Err(CompositionError::new(
                    codes::INVALID_LINK_DIRECTIVE_USAGE,
                    format!(
                        "cannot import `{name}` as `{local}` from {url}: not a federation definition this composer supports"
                    ),
                ));
            }
        }
        return Ok(names);
    }
    Ok(FedNames::federation_1())
}
