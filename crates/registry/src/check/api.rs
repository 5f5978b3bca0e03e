//! The client-facing API schema of a supergraph: its types minus the `join__*`, `link__*` and
//! `core__*` machinery, minus spec directives, minus everything `@inaccessible`. A small copy of
//! what `switchyard-graphql`'s `api_schema` does, so the registry does not depend on the gateway.

use apollo_compiler::Schema;
use apollo_compiler::ast::{DirectiveList as AstDirectives, FieldDefinition};
use apollo_compiler::schema::{Component, ExtendedType};
use apollo_compiler::validation::Valid;

/// Type-system directives clients see.
const KEPT: [&str; 3] = ["deprecated", "specifiedBy", "oneOf"];

/// Derives the API schema from a supergraph's SDL.
pub(crate) fn derive(supergraph_sdl: &str) -> Result<Valid<Schema>, String> {
    // Composition validated the supergraph already: parse only, validate the API schema.
    let mut api = Schema::parse(supergraph_sdl, "supergraph.graphql")
        .map_err(|e| format!("supergraph: {}", super::messages(&e.errors)))?;
    api.types
        .retain(|name, ty| !is_machinery(name) && !ty.directives().has("inaccessible"));
    api.directive_definitions.retain(|name, _| {
        matches!(name.as_str(), "skip" | "include") || KEPT.contains(&name.as_str())
    });
    api.schema_definition.make_mut().directives.0.clear();
    let kept: Vec<_> = api.types.keys().cloned().collect();
    let exists = |n: &str| {
        kept.iter().any(|k| k == n) || matches!(n, "String" | "Int" | "Float" | "Boolean" | "ID")
    };
    for ty in api.types.values_mut() {
        prune_type(ty, &exists);
    }
    api.validate()
        .map_err(|e| format!("API schema: {}", super::messages(&e.errors)))
}

fn prune_type(ty: &mut ExtendedType, exists: &dyn Fn(&str) -> bool) {
    match ty {
        ExtendedType::Object(o) => {
            let o = o.make_mut();
            o.directives.0.retain(|d| KEPT.contains(&d.name.as_str()));
            o.implements_interfaces.retain(|i| exists(i));
            o.fields.retain(|_, f| keep_field(f, exists));
            o.fields
                .values_mut()
                .for_each(|f| prune_field(f.make_mut()));
        }
        ExtendedType::Interface(i) => {
            let i = i.make_mut();
            i.directives.0.retain(|d| KEPT.contains(&d.name.as_str()));
            i.implements_interfaces.retain(|n| exists(n));
            i.fields.retain(|_, f| keep_field(f, exists));
            i.fields
                .values_mut()
                .for_each(|f| prune_field(f.make_mut()));
        }
        ExtendedType::Union(u) => {
            let u = u.make_mut();
            u.directives.0.retain(|d| KEPT.contains(&d.name.as_str()));
            u.members.retain(|m| exists(m));
        }
        ExtendedType::Enum(e) => {
            let e = e.make_mut();
            e.directives.0.retain(|d| KEPT.contains(&d.name.as_str()));
            e.values.retain(|_, v| !v.directives.has("inaccessible"));
            for v in e.values.values_mut() {
                keep_only_client(&mut v.make_mut().directives);
            }
        }
        ExtendedType::InputObject(i) => {
            let i = i.make_mut();
            i.directives.0.retain(|d| KEPT.contains(&d.name.as_str()));
            i.fields.retain(|_, f| !f.directives.has("inaccessible"));
            for f in i.fields.values_mut() {
                keep_only_client(&mut f.make_mut().directives);
            }
        }
        ExtendedType::Scalar(s) => {
            s.make_mut()
                .directives
                .0
                .retain(|d| KEPT.contains(&d.name.as_str()));
        }
    }
}

fn keep_field(f: &Component<FieldDefinition>, exists: &dyn Fn(&str) -> bool) -> bool {
    !f.directives.has("inaccessible") && exists(f.ty.inner_named_type())
}

fn prune_field(f: &mut FieldDefinition) {
    keep_only_client(&mut f.directives);
    f.arguments.retain(|a| !a.directives.has("inaccessible"));
    for a in &mut f.arguments {
        keep_only_client(&mut a.make_mut().directives);
    }
}

fn keep_only_client(directives: &mut AstDirectives) {
    directives.0.retain(|d| KEPT.contains(&d.name.as_str()));
}

fn is_machinery(name: &str) -> bool {
    name.starts_with("join__") || name.starts_with("link__") || name.starts_with("core__")
}
