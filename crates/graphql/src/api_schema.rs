//! The API schema: what clients see of a supergraph (no join or link machinery, nothing `@inaccessible`).

use apollo_compiler::Schema;
use apollo_compiler::ast::{DirectiveList as AstDirectives, DirectiveLocation};
use apollo_compiler::schema::{DirectiveList, ExtendedType};
use apollo_compiler::validation::Valid;

use crate::error::LoadError;

/// Type-system directives that stay visible to clients.
const KEPT: [&str; 3] = ["deprecated", "specifiedBy", "oneOf"];

/// Derives the API schema from a supergraph schema.
pub fn derive(supergraph: &Schema) -> Result<Valid<Schema>, LoadError> {
    let mut api = supergraph.clone();
    api.types
        .retain(|name, ty| !is_machinery(name) && !inaccessible(ty.directives()));
    api.directive_definitions
        .retain(|name, def| is_client_directive(name, &def.locations));
    api.schema_definition.make_mut().directives.0.clear();
    let kept: std::collections::HashSet<_> = api.types.keys().cloned().collect();
    let exists = |n: &str| kept.contains(n) || is_built_in_scalar(n);
    for ty in api.types.values_mut() {
        prune_type(ty, &exists);
    }
    api.validate()
        .map_err(|e| LoadError::Invalid(format!("API schema: {}", e.errors)))
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
            let s = s.make_mut();
            s.directives.0.retain(|d| KEPT.contains(&d.name.as_str()));
        }
    }
}

fn keep_field(
    f: &apollo_compiler::schema::Component<apollo_compiler::ast::FieldDefinition>,
    exists: &dyn Fn(&str) -> bool,
) -> bool {
    !f.directives.has("inaccessible") && exists(f.ty.inner_named_type())
}

fn prune_field(f: &mut apollo_compiler::ast::FieldDefinition) {
    keep_only_client(&mut f.directives);
    f.arguments.retain(|a| !a.directives.has("inaccessible"));
    for a in &mut f.arguments {
        keep_only_client(&mut a.make_mut().directives);
    }
}

fn keep_only_client(directives: &mut AstDirectives) {
    directives.0.retain(|d| KEPT.contains(&d.name.as_str()));
}

fn inaccessible(directives: &DirectiveList) -> bool {
    directives.has("inaccessible")
}

/// Types of the linked specs (`join__Graph`, `link__Import`, `core__Purpose`, ...).
fn is_machinery(name: &str) -> bool {
    name.starts_with("join__") || name.starts_with("link__") || name.starts_with("core__")
}

fn is_built_in_scalar(name: &str) -> bool {
    matches!(name, "String" | "Int" | "Float" | "Boolean" | "ID")
}

/// A custom directive a client may use in operations; spec directives are not in the API.
fn is_client_directive(name: &str, locations: &[DirectiveLocation]) -> bool {
    let spec = name.contains("__")
        || matches!(
            name,
            "link"
                | "core"
                | "inaccessible"
                | "tag"
                | "authenticated"
                | "requiresScopes"
                | "policy"
        );
    let built_in = matches!(
        name,
        "skip" | "include" | "deprecated" | "specifiedBy" | "oneOf"
    );
    built_in || (!spec && locations.iter().any(|l| is_executable(*l)))
}

fn is_executable(location: DirectiveLocation) -> bool {
    use DirectiveLocation as L;
    matches!(
        location,
        L::Query
            | L::Mutation
            | L::Subscription
            | L::Field
            | L::FragmentDefinition
            | L::FragmentSpread
            | L::InlineFragment
            | L::VariableDefinition
    )
}
